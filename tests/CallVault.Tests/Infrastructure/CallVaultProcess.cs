using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace CallVault.Tests.Infrastructure;

/// <summary>
/// The built CallVault executable run as a real process: CLI verbs, and <c>serve</c> on a free loopback port.
/// The dll is the one next to this test assembly's build (src/CallVault/bin/&lt;Configuration&gt;/net10.0);
/// building it is the test script's job.
/// </summary>
public static class CallVaultProcess
{
    public static string DllPath { get; } = FindDll();

    static string FindDll()
    {
        // .../tests/CallVault.Tests/bin/<Configuration>/net10.0/
        var assemblyDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = assemblyDir.Name;
        var configuration = assemblyDir.Parent!.Name;
        var dll = Path.Combine(RepoPaths.Root, "src", "CallVault", "bin", configuration, framework, "CallVault.dll");
        Assert.True(File.Exists(dll), $"{dll} does not exist: build src/CallVault ({configuration}) first");
        return dll;
    }

    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string[] StdoutLines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
    }

    static ProcessStartInfo StartInfo(IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add(DllPath);
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        // The test run's own settings must not leak into the program under test.
        info.Environment.Remove("CALLVAULT_DB");
        info.Environment.Remove("CALLVAULT_URLS");
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
            info.Environment[name] = value;
        return info;
    }

    /// <summary>Runs a CLI verb to its end.</summary>
    public static async Task<Result> RunAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string?>? environment = null)
    {
        using var process = Process.Start(StartInfo(args, environment))!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"CallVault {string.Join(' ', args)} did not finish in 60 s");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts <c>serve</c> and waits until /healthz answers.</summary>
    public static async Task<Server> ServeAsync(string database, params string[] extraArgs)
    {
        var port = FreePort();
        var url = $"http://127.0.0.1:{port}";
        var process = Process.Start(StartInfo(["serve", "--db", database, "--urls", url, .. extraArgs], null))!;
        var server = new Server(process, new Uri(url));
        await server.WaitUntilHealthyAsync();
        return server;
    }

    public sealed class Server : IAsyncDisposable
    {
        readonly Process _process;
        readonly StringBuilder _output = new();
        readonly HttpClient _health = new();

        internal Server(Process process, Uri baseAddress)
        {
            _process = process;
            BaseAddress = baseAddress;
            process.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public Uri BaseAddress { get; }

        public int ProcessId => _process.Id;

        public string Output
        {
            get { lock (_output) return _output.ToString(); }
        }

        internal async Task WaitUntilHealthyAsync()
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (DateTime.UtcNow < deadline)
            {
                Assert.False(_process.HasExited, $"the server exited with {(_process.HasExited ? _process.ExitCode : 0)}:\n{Output}");
                try
                {
                    if ((await _health.GetAsync(new Uri(BaseAddress, "/healthz"))).StatusCode == HttpStatusCode.OK)
                        return;
                }
                catch (HttpRequestException)
                {
                }
                await Task.Delay(50);
            }
            throw new TimeoutException($"the server did not become healthy:\n{Output}");
        }

        /// <summary>Waits for a line of output that <paramref name="match"/> accepts.</summary>
        public async Task<string> WaitForLineAsync(Func<string, bool> match)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (DateTime.UtcNow < deadline)
            {
                var line = Output.Split('\n').Select(l => l.Trim()).FirstOrDefault(match);
                if (line is not null)
                    return line;
                await Task.Delay(20);
            }
            throw new TimeoutException($"no such line in the server's output:\n{Output}");
        }

        public HttpClient ClientWithKey(string key)
        {
            var client = new HttpClient { BaseAddress = BaseAddress };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            return client;
        }

        /// <summary>Asks the process to stop (SIGTERM, as a service manager does) and waits for its exit code.</summary>
        public async Task<int> StopAsync()
        {
            Assert.Equal(0, Kill(_process.Id, 15));
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await _process.WaitForExitAsync(timeout.Token);
            return _process.ExitCode;
        }

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        static extern int Kill(int pid, int signal);

        /// <summary>Kills the process at once (SIGKILL): no shutdown, no flushing, like a crash.</summary>
        public async Task KillAsync()
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        public async ValueTask DisposeAsync()
        {
            await KillAsync();
            _process.Dispose();
            _health.Dispose();
        }
    }
}
