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

    [Fact]
    public async Task CallsStoredBeforeCallVaultCompressedThemAreServedAsTheyWereAndCompressedWhenWrittenAgain()
    {
        if (!TestDatabase.UsesPostgres)
            return;
        await using var database = await TestDatabase.CreateAsync();
        long ws;
        var transcript = string.Join(' ', Enumerable.Range(0, 400).Select(i => $"Agent: line {i % 7} of the call."));
        await using (var store = await CallStores.OpenAsync(database.ConnectionString, None))
        {
            ws = (await store.GetOrCreateWorkspaceAsync("acme", None)).Id;
            await store.UpsertCallsAsync(ws, [.. Enumerable.Range(0, 4).Select(i => StoreContractTests.Call($"c{i}", n => n["transcript"] = transcript, start: 1000 + i))], None);
        }
        await RollBackToSchema4Async(database.ConnectionString);
        var before = await StoredDocumentsAsync(database.ConnectionString, "doc");
        Assert.All(before.Values, doc => Assert.Equal((byte)'{', doc[0]));

        await using var reopened = await CallStores.OpenAsync(database.ConnectionString, None);
        Assert.Equal(("e", "toast_tuple_target=8160"), await DocumentStorageAsync(database.ConnectionString));
        // A process of an earlier version still running fails its queries instead of sending compressed bytes.
        var stale = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync(database.ConnectionString, "SELECT doc FROM calls LIMIT 1"));
        Assert.Equal(PostgresErrorCodes.UndefinedColumn, stale.SqlState);
        // Rows from before are served exactly as they were stored: one by one, in a page, and to a change.
        Assert.Equal(before["c1"], await reopened.GetCallAsync(ws, "c1", None));
        var page = await reopened.ListCallsAsync(ws, new CallQuery(null, false, 50, null), None);
        Assert.Equal([before["c3"], before["c2"], before["c1"], before["c0"]], page);
        byte[]? seen = null;
        await reopened.MutateCallAsync(ws, "c2", current =>
        {
            seen = current;
            return StoreContractTests.Call("c2", n => n["transcript"] = transcript + " Written again.", start: 1002);
        }, None);
        Assert.Equal(before["c2"], seen);

        // The call written again is stored compressed by CallVault, and PostgreSQL did not compress it again.
        var after = await StoredDocumentsAsync(database.ConnectionString, "packed_doc");
        Assert.Equal(0x01, after["c2"][0]);
        Assert.True(after["c2"].Length * 4 < before["c2"].Length, $"{after["c2"].Length} bytes stored for a document of {before["c2"].Length}");
        Assert.Null(await ScalarAsync(database.ConnectionString, "SELECT pg_column_compression(packed_doc) FROM calls WHERE call_id = 'c2'"));
        Assert.Equal(before["c0"], after["c0"]);
        var written = await reopened.GetCallAsync(ws, "c2", None);
        Assert.EndsWith("Written again.", (string)JsonNode.Parse(written)!["transcript"]!);
        Assert.Equal(written, (await reopened.ListCallsAsync(ws, new CallQuery(null, false, 50, null), None))[1]);
    }

    /// <summary>
    /// What schema 4 left: documents stored as their JSON (compressed by PostgreSQL, kept in the row), as
    /// CallVault stored them before it compressed them itself.
    /// </summary>
    static async Task RollBackToSchema4Async(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var stored = await StoredDocumentsAsync(connectionString, "packed_doc");
        await using (var reset = new NpgsqlCommand("ALTER TABLE calls RENAME COLUMN packed_doc TO doc; ALTER TABLE calls ALTER COLUMN doc SET STORAGE MAIN; ALTER TABLE calls RESET (toast_tuple_target); DELETE FROM callvault_schema WHERE version >= 5", connection))
            await reset.ExecuteNonQueryAsync();
        foreach (var (callId, doc) in stored)
        {
            await using var write = new NpgsqlCommand("UPDATE calls SET doc = @doc WHERE call_id = @id", connection);
            write.Parameters.AddWithValue("doc", PostgresDocuments.Unpack(doc));
            write.Parameters.AddWithValue("id", callId);
            await write.ExecuteNonQueryAsync();
        }
    }

    /// <summary>The documents as stored, by call id; <paramref name="column"/> is one of two fixed names.</summary>
    static async Task<Dictionary<string, byte[]>> StoredDocumentsAsync(string connectionString, string column)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(column == "doc" ? "SELECT call_id, doc FROM calls" : "SELECT call_id, packed_doc FROM calls", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var documents = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        while (await reader.ReadAsync())
            documents[reader.GetString(0)] = reader.GetFieldValue<byte[]>(1);
        return documents;
    }

    /// <summary>The documents column's storage mode and the calls table's storage options.</summary>
    static async Task<(string, string)> DocumentStorageAsync(string connectionString) =>
        ((string)(await ScalarAsync(connectionString, "SELECT attstorage::text FROM pg_attribute WHERE attrelid = 'calls'::regclass AND attname = 'packed_doc'"))!,
         (string)(await ScalarAsync(connectionString, "SELECT array_to_string(reloptions, ',') FROM pg_class WHERE oid = 'calls'::regclass"))!);

    static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        var value = await command.ExecuteScalarAsync();
        return value is DBNull ? null : value;
    }

    /// <summary>What schema 3 left: no version column nor sequence, and the list indexes without it.</summary>
    static async Task RollBackToSchema3Async(string connectionString)
    {
        await RollBackToSchema4Async(connectionString);
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
