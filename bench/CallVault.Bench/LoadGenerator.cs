using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace CallVault.Bench;

sealed record LoadResult(double RequestsPerSecond, double P99Ms, long Errors);

/// <summary>
/// Runs wrk (32 connections, bounded duration) against one path of the server, cycling through the given
/// POST bodies with a generated Lua script.
/// </summary>
sealed partial class LoadGenerator(BenchOptions options)
{
    public const int Connections = 32;

    /// <summary>
    /// Runs the load on two paths in turn, <paramref name="rounds"/> times each (the load time split evenly), after
    /// 3 s of warm-up on each. On this shared machine the speed of the whole box drifts over tens of seconds
    /// (the fixed answer alone has measured anywhere from 5,000 to 10,600 requests/s between runs); alternating
    /// puts both paths under the same drift, so that their ratio compares the server, not the moment. Requests/s
    /// is the mean of the rounds (they last equally long), p99 the worst round's, errors the sum.
    /// </summary>
    public async Task<(LoadResult First, LoadResult Second)> RunAlternatingAsync(string first, string second, IReadOnlyList<string> bodies, int rounds)
    {
        var script = await WriteScriptAsync(bodies);
        if (!options.Quick)
        {
            await WrkAsync(script, first, 3); // warm-up, not reported
            await WrkAsync(script, second, 3);
        }
        var seconds = Math.Max(1, options.LoadSeconds / rounds);
        var a = new List<LoadResult>(rounds);
        var b = new List<LoadResult>(rounds);
        for (var round = 0; round < rounds; round++)
        {
            a.Add(Parse(await WrkAsync(script, first, seconds)));
            b.Add(Parse(await WrkAsync(script, second, seconds)));
        }
        return (Combine(a), Combine(b));
    }

    static LoadResult Combine(List<LoadResult> rounds) =>
        new(rounds.Average(r => r.RequestsPerSecond), rounds.Max(r => r.P99Ms), rounds.Sum(r => r.Errors));

    static LoadResult Parse(string output)
    {
        var rps = double.Parse(RequestsPerSecond().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
        var p99 = P99().Match(output) is { Success: true } m ? ToMs(m.Groups[1].Value, m.Groups[2].Value) : double.NaN;
        var errors = NonSuccess().Match(output) is { Success: true } e ? long.Parse(e.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        var socketErrors = SocketErrors().Match(output);
        if (socketErrors.Success)
            errors += socketErrors.Groups.Values.Skip(1).Sum(g => long.Parse(g.Value, CultureInfo.InvariantCulture));
        return new LoadResult(rps, p99, errors);
    }

    /// <summary>Runs the load for a while without reporting it.</summary>
    public async Task WarmUpAsync(string path, IReadOnlyList<string> bodies, int seconds) =>
        await WrkAsync(await WriteScriptAsync(bodies), path, seconds);

    async Task<string> WriteScriptAsync(IReadOnlyList<string> bodies)
    {
        var script = Path.Combine(options.WorkDir, "load.lua");
        var lua = new StringBuilder();
        lua.AppendLine("local bodies = {");
        foreach (var body in bodies)
            lua.Append("  [==[").Append(body).AppendLine("]==],");
        lua.AppendLine("}");
        lua.AppendLine("local i = 0");
        lua.AppendLine("wrk.method = \"POST\"");
        lua.AppendLine("wrk.headers[\"Content-Type\"] = \"application/json\"");
        lua.AppendLine("wrk.headers[\"Authorization\"] = \"Bearer \" .. os.getenv(\"CALLVAULT_BENCH_KEY\")");
        lua.AppendLine("request = function()");
        lua.AppendLine("  i = i + 1");
        lua.AppendLine("  return wrk.format(nil, nil, nil, bodies[(i % #bodies) + 1])");
        lua.AppendLine("end");
        await File.WriteAllTextAsync(script, lua.ToString());
        return script;
    }

    async Task<string> WrkAsync(string script, string path, int seconds)
    {
        var start = new ProcessStartInfo("wrk")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "-t2", $"-c{Connections}", $"-d{seconds}s", "--timeout", "10s", "--latency", "-s", script, options.Url.TrimEnd('/') + path })
            start.ArgumentList.Add(arg);
        start.Environment["CALLVAULT_BENCH_KEY"] = options.Key;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start wrk");
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"wrk failed: {error}{output}");
        return output;
    }

    static double ToMs(string value, string unit) =>
        double.Parse(value, CultureInfo.InvariantCulture) * unit switch { "us" => 0.001, "ms" => 1, "s" => 1000, _ => double.NaN };

    [GeneratedRegex(@"Requests/sec:\s+([0-9.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"\s99%\s+([0-9.]+)(us|ms|s)")]
    private static partial Regex P99();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex NonSuccess();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrors();
}
