using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CallVault.Store;
using CallVault.Tests.Infrastructure;

namespace CallVault.Client.Tests.Infrastructure;

/// <summary>
/// The real CallVault executable serving on a free loopback port, on a database of its own, for tests of the
/// command line. Tests share one per class and keep apart by each using workspaces of their own.
/// </summary>
public sealed class ServerProcess : IAsyncLifetime
{
    readonly StringBuilder _log = new();
    TestDatabase _database = null!;
    Process _process = null!;

    public Uri Url { get; private set; } = null!;

    /// <summary>The built CallVault.dll (copied beside the tests with its runtimeconfig).</summary>
    public static string Executable => typeof(Program).Assembly.Location;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        Url = new Uri($"http://127.0.0.1:{FreePort()}");
        _process = StartDotnet([Executable, "serve", "--db", _database.ConnectionString, "--urls", Url.ToString().TrimEnd('/')], _log);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"the server exited with code {_process.ExitCode}:\n{_log}");
            try
            {
                if ((await http.GetAsync(new Uri(Url, "/healthz"))).StatusCode == HttpStatusCode.OK)
                    return;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            if (deadline.Elapsed > TimeSpan.FromSeconds(60))
                throw new TimeoutException($"the server did not answer /healthz within 60 s:\n{_log}");
            await Task.Delay(100);
        }
    }

    /// <summary>Creates a workspace with a key in the server's database, as <c>keys create</c> does.</summary>
    public async Task<string> CreateKeyAsync(string workspace)
    {
        await using var store = await CallStores.OpenAsync(_database.ConnectionString, CancellationToken.None);
        return await ApiKeys.CreateAsync(store, workspace, CancellationToken.None);
    }

    /// <summary>Starts <c>dotnet</c> with arguments, collecting its output into <paramref name="output"/>.</summary>
    public static Process StartDotnet(IEnumerable<string> arguments, StringBuilder output, IDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
            start.Environment[name] = value;
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async Task DisposeAsync()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        await _database.DisposeAsync();
    }
}
