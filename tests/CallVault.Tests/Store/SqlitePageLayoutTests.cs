using System.Text.Json;
using System.Text.Json.Nodes;
using CallVault.Client.Models;
using CallVault.Store;
using CallVault.Store.Sqlite;
using Microsoft.Data.Sqlite;

namespace CallVault.Tests.Store;

/// <summary>
/// A new SQLite store is made of 64 KiB pages (issue 3: import rate), and the two indexes that most list pages
/// walk hold the call id (schema 6), so that a page looks up in the table only the documents it returns. A store
/// created before, with 4 KiB pages and schema 5, keeps its pages and is migrated.
/// </summary>
public sealed class SqlitePageLayoutTests : IDisposable
{
    static readonly CancellationToken None = CancellationToken.None;
    readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("callvault-layout-");

    string DatabasePath => Path.Combine(_folder.FullName, "calls.db");

    [Fact]
    public async Task ANewStoreIsMadeOf64KiBPages()
    {
        await using (var store = new SqliteCallStore(DatabasePath))
        {
            await store.MigrateAsync(None);
            var ws = (await store.GetOrCreateWorkspaceAsync("acme", None)).Id;
            await store.UpsertCallsAsync(ws, [.. Enumerable.Range(0, 40).Select(i => Call(i, "agent_a"))], None);
        }

        Assert.Equal(65_536L, await ScalarAsync("PRAGMA page_size"));
    }

    [Fact]
    public async Task AStoreOf4KiBPagesAtSchema5KeepsItsPagesAndIsMigratedToIndexesThatHoldTheCallId()
    {
        // What an earlier CallVault left: a database of 4 KiB pages (SQLite's default then), at schema 5.
        await ExecuteAsync("PRAGMA page_size = 4096; PRAGMA journal_mode = WAL;");
        List<PreparedCall> calls = [.. Enumerable.Range(0, 60).Select(i => Call(i, i % 3 == 0 ? "agent_a" : "agent_b"))];
        long ws;
        await using (var store = new SqliteCallStore(DatabasePath))
        {
            await store.MigrateAsync(None);
            ws = (await store.GetOrCreateWorkspaceAsync("acme", None)).Id;
            await store.UpsertCallsAsync(ws, calls, None);
        }
        await ExecuteAsync("""
            DROP INDEX calls_by_order;
            DROP INDEX calls_by_agent;
            CREATE INDEX calls_by_order ON calls (workspace_id, sort_key, e2e_p50, duration_ms, call_status, call_successful, in_voicemail, direction);
            CREATE INDEX calls_by_agent ON calls (workspace_id, agent_id, sort_key, call_status, call_successful, in_voicemail, direction, user_sentiment);
            PRAGMA user_version = 5;
            """);
        Assert.DoesNotContain("call_id", await IndexSqlAsync("calls_by_agent"));

        await using (var store = new SqliteCallStore(DatabasePath))
        {
            await store.MigrateAsync(None);
            var page = await store.ListCallsAsync(ws, new CallQuery(new CallFilter { AgentId = ["agent_a"] }, false, 1000, null), None);
            var expected = Enumerable.Range(0, 60).Where(i => i % 3 == 0).Select(Id).OrderDescending(StringComparer.Ordinal);
            Assert.Equal(expected, page.Select(d => JsonDocument.Parse(d).RootElement.GetProperty("call_id").GetString()));
        }

        Assert.Equal(4096L, await ScalarAsync("PRAGMA page_size"));
        Assert.Equal(6L, await ScalarAsync("PRAGMA user_version"));
        Assert.EndsWith("user_sentiment, call_id)", await IndexSqlAsync("calls_by_agent"));
        Assert.EndsWith("direction, call_id)", await IndexSqlAsync("calls_by_order"));
    }

    /// <summary>
    /// Pages over one agent, several agents with flags, flags alone and no filter order their calls from the
    /// index alone: the table is searched only for the documents of the page.
    /// </summary>
    [Theory]
    [InlineData("""{"agent_id":["agent_a"]}""")]
    [InlineData("""{"agent_id":["agent_a","agent_b"],"call_successful":[false],"direction":["inbound"]}""")]
    [InlineData("""{"call_successful":[false],"in_voicemail":[false]}""")]
    [InlineData("null")]
    public async Task APageOrdersItsCallsFromTheIndexAloneAndLooksUpOnlyItsDocuments(string filterJson)
    {
        await using var store = new SqliteCallStore(DatabasePath);
        await store.MigrateAsync(None);
        var ws = (await store.GetOrCreateWorkspaceAsync("acme", None)).Id;
        await store.UpsertCallsAsync(ws, [.. Enumerable.Range(0, 3000).Select(i => Call(i, $"agent_{(char)('a' + i % 5)}"))], None);
        var filter = JsonSerializer.Deserialize(filterJson, CallVaultJsonContext.Default.CallFilter);

        await using var connection = await OpenAsync();
        await using (var analyze = connection.CreateCommand())
        {
            // With statistics, as a store that has run for a while has them: the plan must not depend on their absence.
            analyze.CommandText = "ANALYZE";
            await analyze.ExecuteNonQueryAsync();
        }
        await using var explain = connection.CreateCommand();
        var sql = SqliteListQuery.Build(ws, new CallQuery(filter, false, 50, new CallPosition(1_600_000_000_000 + 2500 * 1000, Id(2500))), explain.Parameters);
        explain.CommandText = "EXPLAIN QUERY PLAN " + sql;
        var plan = new List<string>();
        await using (var reader = await explain.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
                plan.Add(reader.GetString(3));
        }

        var tableSearches = plan.Where(step => step.Contains("USING INTEGER PRIMARY KEY", StringComparison.Ordinal)
            || (step.Contains(" INDEX ", StringComparison.Ordinal) && !step.Contains("COVERING INDEX", StringComparison.Ordinal))).ToList();
        // The one search of the table by rowid: the documents of the page, after it is ordered and cut.
        Assert.True(tableSearches is ["SEARCH c USING INTEGER PRIMARY KEY (rowid=?)"], string.Join("\n", plan));
    }

    static string Id(int i) => $"call_{i:D5}";

    static PreparedCall Call(int i, string agent) => CallDocuments.FromNode(new JsonObject
    {
        ["call_id"] = Id(i),
        ["agent_id"] = agent,
        ["call_type"] = "phone_call",
        ["call_status"] = "ended",
        ["direction"] = i % 2 == 0 ? "inbound" : "outbound",
        ["from_number"] = $"+1415{i:D7}",
        ["to_number"] = "+14150000000",
        ["start_timestamp"] = 1_600_000_000_000L + i / 2 * 2000, // pairs share a start time: ties broken by call id
        ["end_timestamp"] = 1_600_000_000_000L + i / 2 * 2000 + 60_000,
        ["transcript"] = string.Concat(Enumerable.Repeat($"Agent: hello caller {i}. User: hi. ", 130)),
        ["latency"] = new JsonObject { ["e2e"] = new JsonObject { ["p50"] = 800 + i % 400 } },
        ["call_analysis"] = new JsonObject { ["call_successful"] = i % 4 != 0, ["in_voicemail"] = false },
    });

    async Task<string> IndexSqlAsync(string name) =>
        (string)(await ScalarObjectAsync($"SELECT sql FROM sqlite_master WHERE name = '{name}'"))!;

    async Task<long> ScalarAsync(string sql) => (long)(await ScalarObjectAsync(sql))!;

    async Task<object?> ScalarObjectAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    /// <summary>A connection of the test's own to the store's file, beside the store.</summary>
    async Task<SqliteConnection> OpenAsync()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false }.ToString());
        await connection.OpenAsync();
        return connection;
    }

    async Task ExecuteAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _folder.Delete(recursive: true);
    }
}
