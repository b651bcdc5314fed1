using System.Text.Json.Nodes;
using CallVault.Store;
using CallVault.Store.Sqlite;
using Microsoft.Data.Sqlite;

namespace CallVault.Tests.Store;

/// <summary>
/// The WAL is copied back into the database file by SqliteCheckpointer, off the writer's thread (issue 3: import
/// rate). What must hold: the WAL stays bounded however fast the writer commits, a store that falls idle gives
/// the WAL's disk space back, and the database file alone then holds every committed call.
/// </summary>
public sealed class SqliteCheckpointTests : IDisposable
{
    static readonly CancellationToken None = CancellationToken.None;
    readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("callvault-checkpoint-");

    string DatabasePath => Path.Combine(_folder.FullName, "calls.db");

    long WalBytes => new FileInfo(DatabasePath + "-wal") is { Exists: true } wal ? wal.Length : 0;

    /// <summary>Calls of about 20 kB each (a transcript that spills into overflow pages), ids from <paramref name="from"/>.</summary>
    static List<PreparedCall> Batch(int from, int count) =>
    [
        .. Enumerable.Range(from, count).Select(i => CallDocuments.FromNode(new JsonObject
        {
            ["call_id"] = $"call_{i:D6}",
            ["agent_id"] = $"agent_{i % 7}",
            ["call_type"] = "phone_call",
            ["call_status"] = "ended",
            ["start_timestamp"] = 1_700_000_000_000L + i,
            ["from_number"] = $"+1415{i:D7}",
            ["transcript"] = string.Concat(Enumerable.Repeat($"Agent: hello caller {i}. User: hi. ", 500)),
        })),
    ];

    [Fact]
    public async Task TheWalStaysUnderItsLimitPlusOneTransactionWhileTheWriterCommitsBackToBack()
    {
        const long limit = 2L << 20;
        var (store, ws) = await OpenAsync(limit);
        await using var _ = store;
        var largest = 0L;
        var transaction = 0L;
        for (var i = 0; i < 40; i++)
        {
            var before = WalBytes;
            await store.UpsertCallsAsync(ws, Batch(i * 50, 50), None);
            transaction = Math.Max(transaction, WalBytes - before);
            largest = Math.Max(largest, WalBytes);
        }

        // 40 transactions of about 1 MB: without the writer waiting for the copy, the WAL grows to tens of MB.
        Assert.InRange(transaction, 500_000, 3_000_000);
        Assert.InRange(largest, 1, limit + 2 * transaction);
        Assert.Equal((2000L, 2000L), await CountCallsAsync(DatabasePath, ws));
    }

    [Fact]
    public async Task AnIdleStoreTruncatesTheWalAndTheDatabaseFileAloneHoldsEveryCommittedCall()
    {
        var (store, ws) = await OpenAsync(SqliteCheckpointer.DefaultMaxWalBytes);
        await using var _ = store;
        await store.UpsertCallsAsync(ws, Batch(0, 100), None);
        Assert.True(WalBytes > 1_000_000, "the import should have gone to the WAL first");

        Assert.Equal(0, await WalBytesOnceIdleAsync());
        // A copy of the database file without its WAL: every call is in it.
        var copy = Path.Combine(_folder.FullName, "copy.db");
        File.Copy(DatabasePath, copy);
        Assert.Equal((100L, 100L), await CountCallsAsync(copy, ws));
    }

    [Fact]
    public async Task WritesAfterTheWalWasTruncatedGoOnAndAreCopiedBackAgain()
    {
        var (store, ws) = await OpenAsync(SqliteCheckpointer.DefaultMaxWalBytes);
        await using var _ = store;
        for (var round = 0; round < 2; round++)
        {
            await store.UpsertCallsAsync(ws, Batch(round * 20, 20), None);
            Assert.Equal(0, await WalBytesOnceIdleAsync());
        }

        var page = await store.ListCallsAsync(ws, new CallQuery(null, false, 100, null), None);
        Assert.Equal(40, page.Count);
    }

    /// <summary>A migrated store on the test's database, with a WAL limit, and its workspace.</summary>
    async Task<(SqliteCallStore Store, long Workspace)> OpenAsync(long maxWalBytes)
    {
        var store = new SqliteCallStore(DatabasePath, null, maxWalBytes);
        await store.MigrateAsync(None);
        return (store, (await store.GetOrCreateWorkspaceAsync("acme", None)).Id);
    }

    /// <summary>The WAL file's length once it is empty, or after 30 s (the store truncates it 2 s after the last commit).</summary>
    async Task<long> WalBytesOnceIdleAsync()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (WalBytes > 0 && clock.Elapsed < TimeSpan.FromSeconds(30))
            await Task.Delay(100);
        return WalBytes;
    }

    /// <summary>The workspace's rows and distinct call ids, read on a connection of its own.</summary>
    static async Task<(long Rows, long CallIds)> CountCallsAsync(string path, long ws)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var count = connection.CreateCommand();
        count.CommandText = "SELECT count(*), count(DISTINCT call_id) FROM calls WHERE workspace_id = $ws";
        count.Parameters.AddWithValue("$ws", ws);
        await using var reader = await count.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _folder.Delete(recursive: true);
    }
}
