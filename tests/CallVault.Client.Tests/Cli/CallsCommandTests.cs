using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using CallVault.Cli;
using CallVault.Client.Models;
using CallVault.Client.Tests.Infrastructure;
using Spectre.Console;
using Spectre.Console.Testing;

namespace CallVault.Client.Tests.Cli;

/// <summary>The <c>calls</c> verbs, run in-process on a test console, against the real server running as a process.</summary>
public class CallsCommandTests(ServerProcess server) : IClassFixture<ServerProcess>
{
    sealed record CliRun(int ExitCode, string Output, string Error)
    {
        public string[] Lines => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    async Task<CliRun> RunAsync(int width, params string[] args)
    {
        var console = new TestConsole().Width(width);
        var error = new StringWriter();
        var code = await CallVaultCli.RunAsync(args, console, new StandardError(error, IsTerminal: false));
        return new CliRun(code, console.Output, error.ToString());
    }

    /// <summary>A workspace of this test's own with the given calls, and the options that reach it.</summary>
    async Task<string[]> WorkspaceWithAsync(IEnumerable<Call> calls)
    {
        var workspace = "ws-" + Guid.NewGuid().ToString("N");
        var key = await server.CreateKeyAsync(workspace);
        var client = new CallVaultClient(key, server.Url);
        await client.ImportCallsAsync(calls);
        return ["--url", server.Url.ToString(), "--api-key", key];
    }

    static string Local(int minute) =>
        TestCalls.Epoch.AddMinutes(minute).ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    [Fact]
    public async Task ListAsATableShowsOneAlignedRowPerCallWithLocalStartTimes()
    {
        var connection = await WorkspaceWithAsync(
        [
            TestCalls.Phone("c1", "agent_alpha", minute: 1, seconds: 90),
            TestCalls.Phone("c2", "b", minute: 2, seconds: 3725, sentiment: UserSentiment.Negative, successful: false),
        ]);

        var run = await RunAsync(200, ["calls", "list", .. connection, "--format", "table", "--sort", "asc"]);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(3, run.Lines.Length);
        var header = run.Lines[0];
        Assert.StartsWith("CALL ID", header);
        string[] columns = ["START (LOCAL)", "AGENT", "TYPE", "STATUS", "DURATION", "SENTIMENT", "SUCCESSFUL", "FROM", "TO"];
        string[][] expected =
        [
            [Local(1), "agent_alpha", "phone_call", "ended", "1m30s", "Positive", "true", "+15550001", "+15550002"],
            [Local(2), "b", "phone_call", "ended", "1h02m", "Negative", "false", "+15550001", "+15550002"],
        ];
        for (var row = 0; row < 2; row++)
        {
            Assert.StartsWith($"c{row + 1} ", run.Lines[row + 1]);
            for (var i = 0; i < columns.Length; i++)
                Assert.Equal(expected[row][i], run.Lines[row + 1][header.IndexOf(columns[i], StringComparison.Ordinal)..].Split("  ")[0].Trim());
        }
    }

    [Fact]
    public async Task TableLinesAreCutToTheTerminalWidth()
    {
        var connection = await WorkspaceWithAsync([TestCalls.Phone("c1", "agent_alpha", minute: 1)]);

        var run = await RunAsync(50, ["calls", "list", .. connection, "--format", "table"]);

        Assert.Equal(0, run.ExitCode);
        Assert.All(run.Lines, line => Assert.True(line.Length <= 50, $"{line.Length} characters: {line}"));
        Assert.EndsWith("…", run.Lines[1]);
        Assert.StartsWith("c1", run.Lines[1]);
    }

    [Fact]
    public async Task ListWritesJsonWhenTheOutputIsNotATerminal()
    {
        var connection = await WorkspaceWithAsync(TestCalls.Series(3));

        var run = await RunAsync(80, ["calls", "list", .. connection]);

        Assert.Equal(0, run.ExitCode);
        var calls = JsonDocument.Parse(run.Output).RootElement;
        Assert.Equal(["c03", "c02", "c01"], calls.EnumerateArray().Select(c => c.GetProperty("call_id").GetString()));
        Assert.Equal("+15550001", calls[0].GetProperty("from_number").GetString());
        Assert.Equal("Positive", calls[0].GetProperty("call_analysis").GetProperty("user_sentiment").GetString());
    }

    [Fact]
    public async Task CsvHasTheHeaderOfExportAndOneQuotedRowPerCall()
    {
        var connection = await WorkspaceWithAsync([TestCalls.Phone("c1", "sales, \"west\"", minute: 1, seconds: 90)]);

        var run = await RunAsync(80, ["calls", "list", .. connection, "--format", "csv"]);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(
            "call_id,call_type,agent_id,call_status,direction,from_number,to_number,start_time_utc,start_timestamp,end_timestamp,duration_ms," +
            "disconnection_reason,opt_out_sensitive_data_storage,e2e_latency_p50,combined_cost,call_summary,user_sentiment,call_successful," +
            "in_voicemail,custom_analysis_data,metadata,recording_url,public_log_url,transcript\r\n" +
            "c1,phone_call,\"sales, \"\"west\"\"\",ended,inbound,+15550001,+15550002,2024-05-01T10:01:00.000Z,1714557660000,1714557750000,90000," +
            ",,,,The user asked about opening hours.,Positive,true,,,,,,\r\n",
            run.Output);
    }

    [Fact]
    public async Task FiltersOfTheCommandLineReachTheServer()
    {
        var connection = await WorkspaceWithAsync(
        [
            TestCalls.Phone("short-happy", "a1", minute: 1, seconds: 30),
            TestCalls.Phone("long-happy", "a1", minute: 2, seconds: 600),
            TestCalls.Phone("long-sad", "a1", minute: 3, seconds: 600, sentiment: UserSentiment.Negative, successful: false),
            TestCalls.Phone("other-agent", "a2", minute: 4, seconds: 600),
            TestCalls.Phone("too-late", "a1", minute: 60, seconds: 600),
        ]);
        var until = TestCalls.Epoch.AddMinutes(30).ToString("O", CultureInfo.InvariantCulture);
        var since = TestCalls.Epoch.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);

        var happyLong = await RunAsync(80, ["calls", "list", .. connection, "--format", "ndjson", "--agent", "a1", "--status", "ended",
            "--min-duration", "5m", "--max-duration", "600000", "--since", since, "--until", until, "--successful", "true", "--sort", "asc"]);
        var eitherMood = await RunAsync(80, ["calls", "list", .. connection, "--format", "ndjson", "--sentiment", "negative", "--sentiment", "Positive",
            "--type", "phone_call", "--direction", "inbound", "--from-number", "+15550001", "--to-number", "+15550002", "--min-duration", "90s", "--sort", "desc"]);

        Assert.Equal(0, happyLong.ExitCode);
        Assert.Equal(["long-happy"], happyLong.Lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("call_id").GetString()));
        Assert.Equal(["too-late", "other-agent", "long-sad", "long-happy"],
            eitherMood.Lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("call_id").GetString()));
    }

    [Fact]
    public async Task AllWalksEveryPage()
    {
        var connection = await WorkspaceWithAsync(TestCalls.Series(7));

        var ndjson = await RunAsync(80, ["calls", "list", .. connection, "--all", "--limit", "2", "--format", "ndjson", "--sort", "asc"]);
        var json = await RunAsync(80, ["calls", "list", .. connection, "--all", "--limit", "3", "--format", "json"]);
        var table = await RunAsync(200, ["calls", "list", .. connection, "--all", "--limit", "3", "--format", "table"]);

        Assert.Equal(0, ndjson.ExitCode);
        Assert.Equal(Enumerable.Range(1, 7).Select(i => $"c{i:00}"), ndjson.Lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("call_id").GetString()));
        Assert.Equal(Enumerable.Range(1, 7).Reverse().Select(i => $"c{i:00}"),
            JsonDocument.Parse(json.Output).RootElement.EnumerateArray().Select(c => c.GetProperty("call_id").GetString()));
        Assert.Equal(8, table.Lines.Length);
        Assert.Single(table.Lines, l => l.StartsWith("CALL ID", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OnATerminalListShowsATableByDefaultAndAllReportsProgressPageByPage()
    {
        var connection = await WorkspaceWithAsync(TestCalls.Series(5));
        var console = new TestConsole().Width(120);
        var screen = new StringWriter();
        console.Profile.Out = new FakeTerminal(screen);
        var error = new StringWriter();

        var code = await CallVaultCli.RunAsync(["calls", "list", .. connection, "--all", "--limit", "2", "--sort", "asc"], console,
            new StandardError(error, IsTerminal: true));

        Assert.Equal(0, code);
        var lines = screen.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("CALL ID", lines[0]);
        Assert.Equal(["c01", "c02", "c03", "c04", "c05"], lines[1..].Select(l => l[..3]));
        var progress = error.ToString();
        Assert.Contains("2 calls so far, fetching the next page...", progress);
        Assert.Contains("4 calls so far, fetching the next page...", progress);
        Assert.EndsWith("5 calls." + Environment.NewLine, progress);
    }

    sealed class FakeTerminal(TextWriter writer) : IAnsiConsoleOutput
    {
        public TextWriter Writer => writer;
        public bool IsTerminal => true;
        public int Width => 120;
        public int Height => 40;
        public void SetEncoding(Encoding encoding) { }
    }

    [Fact]
    public async Task GetPrintsTheCallAndDeleteRemovesIt()
    {
        var connection = await WorkspaceWithAsync(TestCalls.Series(2));

        var got = await RunAsync(80, ["calls", "get", "c01", .. connection]);
        var deleted = await RunAsync(80, ["calls", "delete", "c01", .. connection]);
        var left = await RunAsync(80, ["calls", "list", .. connection, "--format", "ndjson"]);
        var gone = await RunAsync(80, ["calls", "get", "c01", .. connection]);

        Assert.Equal(0, got.ExitCode);
        var call = JsonDocument.Parse(got.Output).RootElement;
        Assert.Equal(("c01", "a1", 90000), (call.GetProperty("call_id").GetString(), call.GetProperty("agent_id").GetString(),
            call.GetProperty("end_timestamp").GetInt64() - call.GetProperty("start_timestamp").GetInt64()));
        Assert.Equal((0, "Deleted call c01.\n"), (deleted.ExitCode, deleted.Output));
        Assert.Single(left.Lines);
        Assert.Equal(1, gone.ExitCode);
        Assert.Equal("error: call c01 not found (HTTP 404)\n", gone.Error.ReplaceLineEndings("\n"));
        Assert.Equal("", gone.Output);
    }

    [Fact]
    public async Task AFailedRequestPrintsTheServersMessageAndExitsNonZero()
    {
        var run = await RunAsync(80, ["calls", "list", "--url", server.Url.ToString(), "--api-key", "key_never_issued"]);

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("error: ", run.Error);
        Assert.Contains("(HTTP 401)", run.Error);
    }

    [Theory]
    [InlineData("--since", "yesterday", "--since: 'yesterday' is neither ISO 8601")]
    [InlineData("--until", "2024-13-45", "--until: '2024-13-45' is neither ISO 8601")]
    [InlineData("--min-duration", "5x", "--min-duration: '5x' is not a duration")]
    [InlineData("--status", "finished", "--status: 'finished' is not one of registered, ongoing, ended, error")]
    [InlineData("--sentiment", "happy", "--sentiment: 'happy' is not one of Negative, Positive, Neutral, Unknown")]
    [InlineData("--type", "sms", "--type: 'sms' is not one of web_call, phone_call")]
    [InlineData("--direction", "sideways", "--direction: 'sideways' is not one of inbound, outbound")]
    [InlineData("--successful", "maybe", "--successful: 'maybe' is neither true nor false")]
    [InlineData("--sort", "up", "--sort: 'up' is neither asc nor desc")]
    [InlineData("--limit", "0", "--limit: 0 is not between 1 and 1000")]
    [InlineData("--limit", "lots", "lots")]
    [InlineData("--format", "xml", "--format: 'xml' is not one of table, json, ndjson, csv")]
    [InlineData("--url", "ftp://example", "--url: 'ftp://example' is not an http:// or https:// URL")]
    [InlineData("--agnet", "a1", "--agnet")]
    public async Task ABadArgumentPrintsItsProblemAndTheUsageAndExitsWithTwo(string option, string value, string message)
    {
        var run = await RunAsync(80, ["calls", "list", "--api-key", "k", option, value]);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(message, run.Error);
        Assert.Contains("usage: CallVault calls list [OPTIONS]; run 'CallVault calls list --help'", run.Error);
        Assert.Equal("", run.Output);
    }

    [Fact]
    public async Task RangesThatCannotMatchAreRefusedBeforeAnyRequest()
    {
        var run = await RunAsync(80, ["calls", "list", "--api-key", "k", "--since", "2024-05-02", "--until", "2024-05-01", "--min-duration", "5m", "--max-duration", "1m"]);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--since is after --until", run.Error);
        Assert.Contains("--min-duration is longer than --max-duration", run.Error);
    }

    [Fact]
    public async Task GetWithoutACallIdIsAUsageError()
    {
        var run = await RunAsync(80, ["calls", "get", "--api-key", "k"]);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("CALL_ID", run.Error);
        Assert.Contains("usage: CallVault calls get [OPTIONS]", run.Error);
    }

    [Fact]
    public async Task TheExecutableReadsServerAndKeyFromTheEnvironmentAndExitsWithTwoWithoutAKey()
    {
        var workspace = "ws-" + Guid.NewGuid().ToString("N");
        var key = await server.CreateKeyAsync(workspace);
        await new CallVaultClient(key, server.Url).ImportCallsAsync(TestCalls.Series(2));

        var listed = await RunExecutableAsync(["calls", "list", "--format", "csv"], new() { ["CALLVAULT_URL"] = server.Url.ToString(), ["CALLVAULT_API_KEY"] = key });
        var keyless = await RunExecutableAsync(["calls", "list"], new() { ["CALLVAULT_URL"] = server.Url.ToString(), ["CALLVAULT_API_KEY"] = null });

        Assert.Equal(0, listed.ExitCode);
        Assert.Contains("\nc02,phone_call,a2,ended,", listed.Output);
        Assert.Contains("\nc01,phone_call,a1,ended,", listed.Output);
        Assert.Equal(2, keyless.ExitCode);
        Assert.Contains("error: no API key: pass --api-key KEY or set CALLVAULT_API_KEY", keyless.Output);
        Assert.Contains("usage: CallVault calls list", keyless.Output);
    }

    /// <summary>Runs the built executable; its standard output and error together in Output.</summary>
    static async Task<CliRun> RunExecutableAsync(string[] args, Dictionary<string, string?> environment)
    {
        var output = new StringBuilder();
        using var process = ServerProcess.StartDotnet([ServerProcess.Executable, .. args], output, environment);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        process.WaitForExit(); // drains the redirected streams
        lock (output)
            return new CliRun(process.ExitCode, output.ToString(), "");
    }
}
