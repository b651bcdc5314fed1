using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallVault.Store;
using CallVault.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;

namespace CallVault.Tests.Sync;

public class SyncTests
{
    /// <summary>A second CallVault, run as its own process, holding the given calls in workspace "upstream".</summary>
    sealed class Upstream : IAsyncDisposable
    {
        public required TestDatabase Database { get; init; }
        public required CliProcess Server { get; init; }
        public required Uri Url { get; init; }
        public required string Key { get; init; }
        public required Dictionary<string, string> Calls { get; init; }

        public static async Task<Upstream> StartAsync(IReadOnlyList<JsonObject> calls)
        {
            var database = await TestDatabase.CreateAsync();
            string key;
            await using (var store = await CallStores.OpenAsync(database.ConnectionString, CancellationToken.None))
            {
                await SampleCalls.SeedAsync(store, "upstream", calls);
                key = await ApiKeys.CreateAsync(store, "upstream", CancellationToken.None);
            }
            await using (var store = await CallStores.OpenAsync(database.ConnectionString, CancellationToken.None))
            {
                var dump = await SampleCalls.DumpAsync(store, "upstream");
                var (server, url) = await CliProcess.ServeAsync(database.ConnectionString);
                return new Upstream { Database = database, Server = server, Url = url, Key = key, Calls = dump };
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            await Database.DisposeAsync();
        }
    }

    static string[] SyncArgs(Uri source, string key, string db, params string[] more) =>
        ["sync", "--source", source.ToString(), "--source-key", key, "--workspace", "archive", "--db", db, .. more];

    static async Task<Dictionary<string, string>> LocalCallsAsync(string db)
    {
        await using var store = await CallStores.OpenAsync(db, CancellationToken.None);
        return await SampleCalls.DumpAsync(store, "archive");
    }

    [Fact]
    public async Task SyncCopiesEveryCallOfAnotherCallVaultAndASecondRunChangesNothing()
    {
        await using var upstream = await Upstream.StartAsync(SampleCalls.Generate(3500));
        await using var local = await TestDatabase.CreateAsync();

        var watch = Stopwatch.StartNew();
        var (code, stdout, stderr) = await CliProcess.RunAsync(SyncArgs(upstream.Url, upstream.Key, local.ConnectionString));
        Assert.True(code == 0, stderr + stdout);
        // Not a terminal: no progress lines, only the summary.
        Assert.Single(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("3500 calls copied", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(upstream.Key, stdout + stderr, StringComparison.Ordinal);
        Assert.Equal(upstream.Calls, await LocalCallsAsync(local.ConnectionString));
        Console.WriteLine($"sync of 3500 calls: {watch.Elapsed.TotalSeconds:0.0}s including process start");

        var again = await CliProcess.RunAsync(SyncArgs(upstream.Url, upstream.Key, local.ConnectionString));
        Assert.True(again.Code == 0, again.Stderr);
        Assert.Contains(" 0 calls copied", again.Stdout, StringComparison.Ordinal);
        Assert.Equal(upstream.Calls, await LocalCallsAsync(local.ConnectionString));

        // From the start again: every call fetched and upserted once more, still each exactly once.
        var restart = await CliProcess.RunAsync(SyncArgs(upstream.Url, upstream.Key, local.ConnectionString, "--restart"));
        Assert.True(restart.Code == 0, restart.Stderr);
        Assert.Contains(" 3500 calls copied", restart.Stdout, StringComparison.Ordinal);
        Assert.Equal(upstream.Calls, await LocalCallsAsync(local.ConnectionString));
    }

    [Fact]
    public async Task ASyncKilledMidwayAndRunAgainEndsWithEveryCallExactlyOnce()
    {
        await using var upstream = await Upstream.StartAsync(SampleCalls.Generate(3000));
        await using var local = await TestDatabase.CreateAsync();

        await using (var first = CliProcess.Start(SyncArgs(upstream.Url, upstream.Key, local.ConnectionString, "--page-size", "20")))
        {
            var copiedWhenKilled = 0L;
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (DateTime.UtcNow < deadline && !first.Process.HasExited)
            {
                copiedWhenKilled = await CountCallsAsync(local.ConnectionString);
                if (copiedWhenKilled >= 200)
                    break;
                await Task.Delay(20);
            }
            Assert.False(first.Process.HasExited, "sync ended before it could be killed: " + first.Stdout + first.Stderr);
            first.Process.Kill(entireProcessTree: true);
            await first.Process.WaitForExitAsync();
            Assert.InRange(await CountCallsAsync(local.ConnectionString), 200, 2999);
        }

        var (code, stdout, stderr) = await CliProcess.RunAsync(SyncArgs(upstream.Url, upstream.Key, local.ConnectionString, "--page-size", "500"));
        Assert.True(code == 0, stderr + stdout);
        Assert.Equal(3000, await CountCallsAsync(local.ConnectionString));
        Assert.Equal(upstream.Calls, await LocalCallsAsync(local.ConnectionString));
    }

    [Fact]
    public async Task CallsStillOngoingAtTheSourceAreRefreshedOnTheNextRun()
    {
        var calls = SampleCalls.Generate(30);
        calls[7]["call_status"] = "ongoing";
        calls[7].Remove("end_timestamp");
        calls[7].Remove("call_analysis");
        await using var upstream = await Upstream.StartAsync(calls);
        await using var local = await TestDatabase.CreateAsync();
        Assert.Equal(0, (await CliProcess.RunAsync(SyncArgs(upstream.Url, upstream.Key, local.ConnectionString))).Code);
        Assert.Contains("\"ongoing\"", (await LocalCallsAsync(local.ConnectionString))["call_000007"], StringComparison.Ordinal);

        // The call ends at the source after the first sync.
        using var client = new HttpClient { BaseAddress = upstream.Url };
        client.DefaultRequestHeaders.Authorization = new("Bearer", upstream.Key);
        var ended = SampleCalls.Generate(30)[7];
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/v2/import-calls", new[] { ended })).StatusCode);

        var (code, stdout, _) = await CliProcess.RunAsync(SyncArgs(upstream.Url, upstream.Key, local.ConnectionString));
        Assert.Equal(0, code);
        Assert.Contains("1 unfinished calls refreshed", stdout, StringComparison.Ordinal);
        var local7 = JsonNode.Parse((await LocalCallsAsync(local.ConnectionString))["call_000007"])!;
        Assert.Equal("ended", (string?)local7["call_status"]);
        Assert.NotNull(local7["call_analysis"]);
    }

    /// <summary>Sample calls with one of them, <c>call_000001</c>, still ongoing: no end, transcript or analysis yet.</summary>
    static List<JsonObject> CallsWithOneOngoing()
    {
        var calls = SampleCalls.Generate(3);
        calls[1]["call_status"] = "ongoing";
        foreach (var field in new[] { "end_timestamp", "transcript", "disconnection_reason", "call_analysis" })
            calls[1].Remove(field);
        return calls;
    }

    static async Task<JsonObject> LocalCallAsync(string db, string callId) =>
        JsonNode.Parse((await LocalCallsAsync(db))[callId])!.AsObject();

    [Fact]
    public async Task MetadataChangedLocallySurvivesARefreshAndARestartWhileTheSourcesNewerFieldsArrive()
    {
        await using var upstream = await Upstream.StartAsync(CallsWithOneOngoing());
        await using var local = await TestDatabase.CreateAsync();
        Assert.Equal(0, (await CliProcess.RunAsync(SyncArgs(upstream.Url, upstream.Key, local.ConnectionString))).Code);

        // What PATCH /v2/update-call/call_000001 does.
        await using (var store = await CallStores.OpenAsync(local.ConnectionString, CancellationToken.None))
        {
            var ws = await store.FindWorkspaceAsync("archive", CancellationToken.None);
            var update = new CallVault.Client.Models.UpdateCallRequest { Metadata = JsonSerializer.SerializeToElement(new { crm_id = "mine" }) };
            Assert.NotNull(await store.MutateCallAsync(ws!.Id, "call_000001", doc => CallDocuments.ApplyUpdate(doc!, update), CancellationToken.None));
        }
        // The call ends at the source.
        var ended = SampleCalls.Generate(3)[1];
        using var client = new HttpClient { BaseAddress = upstream.Url };
        client.DefaultRequestHeaders.Authorization = new("Bearer", upstream.Key);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/v2/import-calls", new[] { ended })).StatusCode);

        var (code, stdout, stderr) = await CliProcess.RunAsync(SyncArgs(upstream.Url, upstream.Key, local.ConnectionString));
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("1 unfinished calls refreshed", stdout, StringComparison.Ordinal);
        var call = await LocalCallAsync(local.ConnectionString, "call_000001");
        Assert.Equal("""{"crm_id":"mine"}""", call["metadata"]!.ToJsonString());
        Assert.Equal("ended", (string?)call["call_status"]);
        Assert.Equal((string?)ended["transcript"], (string?)call["transcript"]);
        Assert.True(JsonNode.DeepEquals(ended["call_analysis"], call["call_analysis"]));

        // Copied again from the first call: the same outcome, and the other calls still the source's bytes.
        var restart = await CliProcess.RunAsync(SyncArgs(upstream.Url, upstream.Key, local.ConnectionString, "--restart"));
        Assert.True(restart.Code == 0, restart.Stderr);
        var calls = await LocalCallsAsync(local.ConnectionString);
        Assert.Equal(call.ToJsonString(), JsonNode.Parse(calls["call_000001"])!.ToJsonString());
        Assert.Equal(upstream.Calls["call_000000"], calls["call_000000"]);
        Assert.Equal(upstream.Calls["call_000002"], calls["call_000002"]);
    }

    [Fact]
    public async Task AnOlderCopyFromTheSourceDoesNotUndoWhatACallAnalyzedDeliveryBrought()
    {
        await using var upstream = await Upstream.StartAsync(CallsWithOneOngoing());
        await using var local = await TestDatabase.CreateAsync();
        var analyzed = SampleCalls.Generate(3)[1];
        await using (var store = await CallStores.OpenAsync(local.ConnectionString, CancellationToken.None))
        {
            // What a signed call_analyzed delivery to /webhooks/retell/archive does.
            var ws = await store.GetOrCreateWorkspaceAsync("archive", CancellationToken.None);
            var delivered = CallDocuments.Prepare(JsonSerializer.SerializeToElement(analyzed));
            await store.MergeCallAsync(ws.Id, delivered.CallId, current => CallMerge.Merge(current, delivered, CallEvent.CallAnalyzed), CancellationToken.None);
        }

        var (code, stdout, stderr) = await CliProcess.RunAsync(SyncArgs(upstream.Url, upstream.Key, local.ConnectionString));
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("3 calls copied", stdout, StringComparison.Ordinal);
        var call = await LocalCallAsync(local.ConnectionString, "call_000001");
        Assert.Equal("ended", (string?)call["call_status"]);
        Assert.Equal((string?)analyzed["transcript"], (string?)call["transcript"]);
        Assert.Equal((long?)analyzed["end_timestamp"], (long?)call["end_timestamp"]);
        Assert.True(JsonNode.DeepEquals(analyzed["call_analysis"], call["call_analysis"]));
        Assert.Equal(upstream.Calls["call_000000"], (await LocalCallsAsync(local.ConnectionString))["call_000000"]);
    }

    [Fact]
    public async Task ASourceAnswering429ThenServerErrorsIsWaitedOutAndCopiedCompletely()
    {
        var calls = SampleCalls.Generate(250);
        var requests = new List<(int Status, string? Authorization)>();
        var failures = new Queue<int>([429, 500, 502]);
        await using var fake = await FakeUpstream.StartAsync(async context =>
        {
            int? fail;
            lock (requests)
                fail = failures.Count > 0 ? failures.Dequeue() : null;
            lock (requests)
                requests.Add((fail ?? 200, context.Request.Headers.Authorization));
            if (fail is { } status)
            {
                if (status == 429)
                    context.Response.Headers.RetryAfter = "1";
                context.Response.StatusCode = status;
                await context.Response.WriteAsync("""{"message":"slow down"}""");
                return;
            }
            await FakeUpstream.ServePageAsync(context, calls);
        });
        await using var local = await TestDatabase.CreateAsync();

        var watch = Stopwatch.StartNew();
        var (code, stdout, stderr) = await CliProcess.RunAsync(SyncArgs(fake.Url, "key_fake_source", local.ConnectionString, "--page-size", "100"));
        Assert.True(code == 0, stderr + stdout);
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(1), "Retry-After: 1 was not waited for");
        var copied = await LocalCallsAsync(local.ConnectionString);
        Assert.Equal(calls.Select(c => (string)c["call_id"]!).Order(StringComparer.Ordinal), copied.Keys.Order(StringComparer.Ordinal));
        Assert.Equal([429, 500, 502, 200, 200, 200], requests.Select(r => r.Status));
        Assert.All(requests, r => Assert.Equal("Bearer key_fake_source", r.Authorization));
    }

    [Fact]
    public async Task ASourceThatKeepsFailingIsGivenUpOnWithAClearMessageAndAFailingExitCode()
    {
        await using var fake = await FakeUpstream.StartAsync(context =>
        {
            context.Response.StatusCode = 503;
            return Task.CompletedTask;
        });
        await using var local = await TestDatabase.CreateAsync();
        var watch = Stopwatch.StartNew();
        var (code, _, stderr) = await CliProcess.RunAsync(SyncArgs(fake.Url, "key_fake_source", local.ConnectionString, "--give-up-after", "3"));
        Assert.Equal(1, code);
        Assert.Contains("giving up", stderr, StringComparison.Ordinal);
        Assert.Contains("HTTP 503", stderr, StringComparison.Ordinal);
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task TheSourceKeyIsNotSentWhereTheSourceRedirects()
    {
        var elsewhere = 0;
        await using var other = await FakeUpstream.StartAsync(context =>
        {
            Interlocked.Increment(ref elsewhere);
            return Task.CompletedTask;
        });
        await using var fake = await FakeUpstream.StartAsync(context =>
        {
            context.Response.StatusCode = 307;
            context.Response.Headers.Location = new Uri(other.Url, "/v2/list-calls").ToString();
            return Task.CompletedTask;
        });
        await using var local = await TestDatabase.CreateAsync();
        var (code, _, stderr) = await CliProcess.RunAsync(SyncArgs(fake.Url, "key_fake_source", local.ConnectionString));
        Assert.Equal(1, code);
        Assert.Contains("redirected", stderr, StringComparison.Ordinal);
        Assert.Equal(0, elsewhere);
    }

    [Fact]
    public async Task ASourceKeyTheSourceRefusesStopsAtOnce()
    {
        await using var upstream = await Upstream.StartAsync(SampleCalls.Generate(3));
        await using var local = await TestDatabase.CreateAsync();
        var (code, _, stderr) = await CliProcess.RunAsync(SyncArgs(upstream.Url, "cv_wrong_key_0000000000000000000000", local.ConnectionString));
        Assert.Equal(1, code);
        Assert.Contains("HTTP 401", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("file:///etc/passwd")]
    [InlineData("ftp://127.0.0.1/")]
    [InlineData("not a url")]
    public async Task ASourceThatIsNotAnHttpUrlIsRefused(string source)
    {
        await using var local = await TestDatabase.CreateAsync();
        var (code, _, stderr) = await CliProcess.RunAsync(["sync", "--source", source, "--source-key", "k", "--workspace", "archive", "--db", local.ConnectionString]);
        Assert.Equal(2, code);
        Assert.Contains("http:// or https://", stderr, StringComparison.Ordinal);
    }

    static async Task<long> CountCallsAsync(string db)
    {
        if (CallStores.IsPostgres(db))
            return await CountPostgresCallsAsync(db);
        if (!File.Exists(db))
            return 0;
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = db, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM calls";
        try
        {
            return (long)(await command.ExecuteScalarAsync())!;
        }
        catch (SqliteException)
        {
            return 0; // the schema is not there yet
        }
    }

    static async Task<long> CountPostgresCallsAsync(string db)
    {
        await using var connection = new Npgsql.NpgsqlConnection(db);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT count(*) FROM calls", connection);
        try
        {
            return (long)(await command.ExecuteScalarAsync())!;
        }
        catch (Npgsql.PostgresException ex) when (ex.SqlState == Npgsql.PostgresErrorCodes.UndefinedTable)
        {
            return 0; // the schema is not there yet
        }
    }
}

/// <summary>A stand-in for the Retell cloud on loopback, answering as the test says.</summary>
sealed class FakeUpstream : IAsyncDisposable
{
    readonly WebApplication _app;
    public Uri Url { get; }

    FakeUpstream(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public static async Task<FakeUpstream> StartAsync(RequestDelegate handler)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.Run(handler);
        await app.StartAsync();
        return new FakeUpstream(app, new Uri(app.Urls.First()));
    }

    /// <summary>Answers a list-calls request from a list sorted by start time, honouring limit and pagination_key.</summary>
    public static async Task ServePageAsync(HttpContext context, IReadOnlyList<JsonObject> calls)
    {
        var body = await JsonSerializer.DeserializeAsync<JsonElement>(context.Request.Body);
        var limit = body.GetProperty("limit").GetInt32();
        var start = 0;
        if (body.TryGetProperty("pagination_key", out var key))
            start = calls.Select((c, i) => (c, i)).First(x => (string)x.c["call_id"]! == key.GetString()).i + 1;
        var page = new JsonArray([.. calls.Skip(start).Take(limit).Select(c => c.DeepClone())]);
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(page.ToJsonString());
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
