using System.Diagnostics;
using System.Text.Json;
using CallVault.Tests.Infrastructure;

namespace CallVault.Tests.Webhooks;

/// <summary>
/// Signs webhook bodies with the official retell-sdk 4.20.0 (<c>Retell.sign</c>), run by node from
/// tests/CallVault.Tests/Webhooks/retell-sign, installed there from its package-lock.json on first use.
/// </summary>
static class RetellSdkSigner
{
    static readonly SemaphoreSlim InstallLock = new(1, 1);
    static string Folder => Path.Combine(RepoPaths.Root, "tests", "CallVault.Tests", "Webhooks", "retell-sign");

    public sealed record Request(string Body, string Key, long? Timestamp = null);

    public static async Task<string> SignAsync(string body, string key, long? timestamp = null) =>
        (await SignAllAsync([new Request(body, key, timestamp)]))[0];

    /// <summary>The x-retell-signature header of each body, in one node run.</summary>
    public static async Task<IReadOnlyList<string>> SignAllAsync(IReadOnlyList<Request> requests)
    {
        await EnsureInstalledAsync();
        var input = JsonSerializer.Serialize(requests.Select(r => new { body = r.Body, key = r.Key, timestamp = r.Timestamp }));
        var (code, stdout, stderr) = await RunAsync("node", ["sign.js"], input);
        Assert.True(code == 0, $"node sign.js failed: {stderr}");
        return JsonSerializer.Deserialize<string[]>(stdout)!;
    }

    static async Task EnsureInstalledAsync()
    {
        await InstallLock.WaitAsync();
        try
        {
            if (File.Exists(Path.Combine(Folder, "node_modules", "retell-sdk", "package.json")))
                return;
            var (code, _, stderr) = await RunAsync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], null);
            Assert.True(code == 0, $"npm ci in {Folder} failed: {stderr}");
        }
        finally
        {
            InstallLock.Release();
        }
    }

    static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string file, string[] args, string? input)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = Folder, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (input is not null)
            await process.StandardInput.WriteAsync(input);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
