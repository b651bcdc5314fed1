using System.Text.Json.Nodes;
using CallVault.Store;
using CallVault.Store.Postgres;
using CallVault.Tests.Infrastructure;
using Npgsql;

namespace CallVault.Tests.Store;

/// <summary>
/// A PostgreSQL store written by an earlier CallVault is migrated when a process opens it, and keeps serving its
/// calls. Checks only in the PostgreSQL suite (CALLVAULT_TEST_STORE=postgres); there is no SQLite counterpart.
/// </summary>
public class PostgresMigrationTests
{
    static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task CallsStoredBeforeTheVersionColumnAreListedFromTheCacheAndRewrittenOnesAreNot()
    {
        if (!TestDatabase.UsesPostgres)
            return;
        await using var database = await TestDatabase.CreateAsync();
        long ws;
        await using (var store = await CallStores.OpenAsync(database.ConnectionString, None))
        {
            ws = (await store.GetOrCreateWorkspaceAsync("acme", None)).Id;
            await store.UpsertCallsAsync(ws, [.. Enumerable.Range(0, 6).Select(i => StoreContractTests.Call($"c{i}", start: 1000 + i))], None);
        }
        await RollBackToSchema3Async(database.ConnectionString);

        await using var reopened = (PostgresCallStore)await CallStores.OpenAsync(database.ConnectionString, None);
        await using var other = await CallStores.OpenAsync(database.ConnectionString, None);
        var query = new CallQuery(null, false, 50, null);
        var before = await reopened.ListCallsAsync(ws, query, None);
        Assert.Equal(["c5", "c4", "c3", "c2", "c1", "c0"], before.Select(d => (string)JsonNode.Parse(d)!["call_id"]!));
        Assert.Equal(before, await reopened.ListCallsAsync(ws, query, None));
        Assert.Equal(before, await reopened.ListCallsAsync(ws, query, None)); // served at version 0, from the cache
        Assert.Equal(6, reopened.DocumentCacheHits);

        await other.UpsertCallsAsync(ws, [StoreContractTests.Call("c2", n => n["transcript"] = "after the upgrade", start: 1002)], None);
        var after = await reopened.ListCallsAsync(ws, query, None);
        Assert.Equal("after the upgrade", (string)JsonNode.Parse(after[3])!["transcript"]!);
        // c2's version is no longer 0: its document is read again, by itself, and the other five come from the
        // cache at version 0, so the whole page is served from it once c2's new document is kept.
        Assert.Equal(12, reopened.DocumentCacheHits);
        Assert.Equal(before.Where((_, i) => i != 3), after.Where((_, i) => i != 3));
    }

    /// <summary>What schema 3 left: no version column nor sequence, and the list indexes without it.</summary>
    static async Task RollBackToSchema3Async(string connectionString)
    {
        const string sql = """
            ALTER TABLE calls DROP COLUMN version; -- and the indexes that include it
            DROP SEQUENCE calls_version;
            CREATE INDEX calls_by_order_filtered ON calls (workspace_id, sort_key, call_id,
                e2e_p50, duration_ms, call_successful, in_voicemail, direction, call_status, user_sentiment);
            CREATE INDEX calls_by_agent_filtered ON calls (workspace_id, agent_id, sort_key, call_id,
                call_successful, in_voicemail, direction, call_status, user_sentiment);
            CREATE INDEX calls_by_status       ON calls (workspace_id, call_status, sort_key, call_id);
            CREATE INDEX calls_by_type         ON calls (workspace_id, call_type, sort_key, call_id);
            CREATE INDEX calls_by_direction    ON calls (workspace_id, direction, sort_key, call_id) WHERE direction IS NOT NULL;
            CREATE INDEX calls_by_from         ON calls (workspace_id, from_number, sort_key, call_id) WHERE from_number IS NOT NULL;
            CREATE INDEX calls_by_to           ON calls (workspace_id, to_number, sort_key, call_id) WHERE to_number IS NOT NULL;
            CREATE INDEX calls_by_sentiment    ON calls (workspace_id, user_sentiment, sort_key, call_id) WHERE user_sentiment IS NOT NULL;
            CREATE INDEX calls_by_successful   ON calls (workspace_id, call_successful, sort_key, call_id) WHERE call_successful IS NOT NULL;
            CREATE INDEX calls_by_voicemail    ON calls (workspace_id, in_voicemail, sort_key, call_id) WHERE in_voicemail IS NOT NULL;
            CREATE INDEX calls_by_disconnect   ON calls (workspace_id, disconnection_reason, sort_key, call_id) WHERE disconnection_reason IS NOT NULL;
            DELETE FROM callvault_schema WHERE version = 4;
            """;
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
