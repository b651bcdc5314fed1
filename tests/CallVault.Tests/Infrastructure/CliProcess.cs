using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CallVault.Tests.Infrastructure;

/// <summary>The CallVault executable run as a separate process (dotnet CallVault.dll ...), as a user runs it.</summary>
sealed class CliProcess : IAsyncDisposable
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "CallVault.dll");

    readonly Process _process;
    readonly StringBuilder _stdout = new();
    readonly StringBuilder _stderr = new();

    CliProcess(Process process) => _process = process;

    public Process Process => _process;
    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    public static CliProcess Start(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        start.ArgumentList.Add(Dll);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        start.Environment["DOTNET_NOLOGO"] = "1";
        var process = new Process { StartInfo = start };
        var cli = new CliProcess(process);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (cli._stdout) cli._stdout.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (cli._stderr) cli._stderr.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();
        return cli;
    }

    /// <summary>Runs to the end; the exit code with everything printed.</summary>
    public static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string[] args, TimeSpan? timeout = null)
    {
        await using var cli = Start(args);
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(3));
        await cli._process.WaitForExitAsync(cts.Token);
        cli._process.WaitForExit(); // drains the output readers
        return (cli._process.ExitCode, cli.Stdout, cli.Stderr);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts <c>serve</c> on a free loopback port and waits until /healthz answers.</summary>
    public static async Task<(CliProcess Server, Uri Url)> ServeAsync(string database)
    {
        for (var attempt = 0; ; attempt++)
        {
            var url = new Uri($"http://127.0.0.1:{FreePort()}");
            var server = Start("serve", "--db", database, "--urls", url.ToString().TrimEnd('/'));
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (DateTime.UtcNow < deadline && !server._process.HasExited)
            {
                try
                {
                    if ((await http.GetAsync(new Uri(url, "/healthz"))).IsSuccessStatusCode)
                        return (server, url);
                }
                catch (HttpRequestException)
                {
                }
                catch (TaskCanceledException)
                {
                }
                await Task.Delay(100);
            }
            var error = server.Stderr + server.Stdout;
            await server.DisposeAsync();
            if (attempt >= 2)
                throw new InvalidOperationException("serve did not start: " + error);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}
