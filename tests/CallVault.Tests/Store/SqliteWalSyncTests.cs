using System.Text.Json.Nodes;
using CallVault.Store;
using CallVault.Store.Sqlite;
using Microsoft.Data.Sqlite;

namespace CallVault.Tests.Store;

/// <summary>
/// The writer commits without syncing (synchronous=NORMAL) and each write then syncs the WAL file itself, after
/// the write lock is released (issue 3: import rate). What must hold: a write returns only after a sync that
/// came after its commit, and the next write does not wait for that sync. And the writer's large page cache is
/// given back once it falls idle.
/// </summary>
public sealed class SqliteWalSyncTests : IDisposable
{
    static readonly CancellationToken None = CancellationToken.None;
    static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("callvault-walsync-");

    string DatabasePath => Path.Combine(_folder.FullName, "calls.db");

    static List<PreparedCall> Batch(string prefix, int count, int transcriptRepeats = 1) =>
    [
        .. Enumerable.Range(0, count).Select(i => CallDocuments.FromNode(new JsonObject
        {
            ["call_id"] = $"{prefix}_{i:D4}",
            ["agent_id"] = "agent_1",
            ["call_type"] = "phone_call",
            ["call_status"] = "ended",
            ["start_timestamp"] = 1_700_000_000_000L + i,
            ["transcript"] = string.Concat(Enumerable.Repeat($"Agent: hello caller {i}. User: hi. ", transcriptRepeats)),
        })),
    ];

    [Fact]
    public async Task AnImportReturnsOnlyAfterTheWalFileWasSyncedWithItsCommitAlreadyInIt()
    {
        var syncs = new List<(string Path, long CallsCommitted)>();
        var store = new SqliteCallStore(DatabasePath, null, SqliteCheckpointer.DefaultMaxWalBytes, path =>
        {
            lock (syncs)
                syncs.Add((path, CountCalls()));
        });
        await using var _ = store;
        await store.MigrateAsync(None);
        var ws = (await store.GetOrCreateWorkspaceAsync("acme", None)).Id;
        lock (syncs)
            syncs.Clear();

        Assert.Equal(30, await store.UpsertCallsAsync(ws, Batch("first", 30), None));
        Assert.Equal([(DatabasePath + "-wal", 30L)], syncs);
        Assert.Equal(50, await store.UpsertCallsAsync(ws, Batch("second", 50), None));
        Assert.Equal([(DatabasePath + "-wal", 30L), (DatabasePath + "-wal", 80L)], syncs);
        Assert.True(await store.DeleteCallAsync(ws, "first_0000", None));
        Assert.Equal(79L, syncs[^1].CallsCommitted);
    }

    [Fact]
    public async Task TheNextImportCommitsWhileTheLastOneIsStillBeingSynced()
    {
        using var firstSyncStarted = new ManualResetEventSlim();
        using var releaseFirstSync = new ManualResetEventSlim();
        var syncing = 0;
        var store = new SqliteCallStore(DatabasePath, null, SqliteCheckpointer.DefaultMaxWalBytes, path =>
        {
            if (path.EndsWith("-wal", StringComparison.Ordinal) && Volatile.Read(ref syncing) == 1 && Interlocked.Exchange(ref syncing, 2) == 1)
            {
                firstSyncStarted.Set();
                releaseFirstSync.Wait(Patience);
            }
        });
        await using var _ = store;
        await store.MigrateAsync(None);
        var ws = (await store.GetOrCreateWorkspaceAsync("acme", None)).Id;

        Volatile.Write(ref syncing, 1);
        var first = Task.Run(() => store.UpsertCallsAsync(ws, Batch("first", 20), None));
        Assert.True(firstSyncStarted.Wait(Patience), "the first import should have reached its sync");
        // The first import is committed but not answered: the second one writes and returns meanwhile.
        var second = Task.Run(() => store.UpsertCallsAsync(ws, Batch("second", 10), None));
        Assert.Same(second, await Task.WhenAny(second, Task.Delay(Patience)));
        Assert.Equal(10, await second);
        Assert.False(first.IsCompleted, "the first import must wait for its sync");
        Assert.Equal(30L, CountCalls());

        releaseFirstSync.Set();
        Assert.Equal(20, await first);
    }

    [Fact]
    public async Task TheWritersPageCacheIsGivenBackOnceItFallsIdle()
    {
        var store = new SqliteCallStore(DatabasePath);
        await using var _ = store;
        await store.MigrateAsync(None);
        var ws = (await store.GetOrCreateWorkspaceAsync("acme", None)).Id;
        for (var i = 0; i < 4; i++)
            await store.UpsertCallsAsync(ws, Batch($"b{i}", 100, transcriptRepeats: 300), None);
        // 400 calls of about 10 kB: the pages stay cached (up to 256 MiB) while the writer is busy.
        Assert.InRange(store.WriterCacheBytes(), 3_000_000, long.MaxValue);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (store.WriterCacheBytes() > 1_000_000 && clock.Elapsed < Patience)
            await Task.Delay(100);
        Assert.InRange(store.WriterCacheBytes(), 0, 1_000_000);
        Assert.Equal(400L, CountCalls());
    }

    /// <summary>The calls committed so far, read on a connection of the test's own.</summary>
    long CountCalls()
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var count = connection.CreateCommand();
        count.CommandText = "SELECT count(*) FROM calls";
        return (long)count.ExecuteScalar()!;
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _folder.Delete(recursive: true);
    }
}
