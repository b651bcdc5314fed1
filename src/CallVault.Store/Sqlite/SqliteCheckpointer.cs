using Microsoft.Data.Sqlite;

namespace CallVault.Store.Sqlite;

/// <summary>
/// Copies the WAL back into the database file on a connection and a thread of its own, so that the writer does
/// not stop for it (issue 3: import rate). SQLite's automatic checkpoint runs inside the commit that crosses
/// its threshold, on the writer; during an import that is every commit, and the writer then spends more time
/// waiting for the disk (random writes into the database file and their fsync) than working. Here the writer
/// only appends to the WAL and nudges this checkpointer after each commit; the copy overlaps the next
/// transaction.
/// <para>
/// SQLite starts the WAL over only when a write transaction begins with every frame already copied back, which
/// a checkpoint running alongside a busy writer rarely achieves. So the writer asks <see cref="CatchUpAsync"/>
/// before each transaction, and once the WAL file is longer than its limit that waits for the copy to finish
/// while no transaction is open: the next transaction starts the WAL over, and the writer's
/// <c>journal_size_limit</c> (a quarter of the limit) cuts the file back when it commits. The WAL file so stays
/// under the limit plus one transaction. When no commit has come for <see cref="IdleDelay"/>, the store truncates
/// the WAL (one attempt, under its write lock), so that a server that imported a lot does not keep hundreds of
/// megabytes of WAL on disk until its next write.
/// </para>
/// </summary>
sealed class SqliteCheckpointer : IAsyncDisposable
{
    /// <summary>The WAL's limit: more than one import request of 10,000 calls writes.</summary>
    public const long DefaultMaxWalBytes = 256L << 20;

    /// <summary>How long after the last commit the WAL is truncated.</summary>
    public static readonly TimeSpan IdleDelay = TimeSpan.FromSeconds(2);

    readonly SqliteConnection _connection;
    readonly Func<CancellationToken, Task> _truncate;
    readonly SemaphoreSlim _nudge = new(0, 1);
    readonly SemaphoreSlim _running = new(1, 1);
    readonly CancellationTokenSource _stop = new();
    readonly Task _loop;
    readonly string _walPath;
    readonly long _maxWalBytes;
    int _disposed;

    /// <param name="connectionString">The database's.</param>
    /// <param name="databasePath">The database file (its WAL is this path with "-wal").</param>
    /// <param name="maxWalBytes">The length of the WAL file past which the writer waits for the checkpoint.</param>
    /// <param name="truncate">The store's TRUNCATE checkpoint, run when the writer has fallen idle.</param>
    public SqliteCheckpointer(string connectionString, string databasePath, long maxWalBytes, Func<CancellationToken, Task> truncate)
    {
        _walPath = databasePath + "-wal";
        _maxWalBytes = maxWalBytes;
        _truncate = truncate;
        _connection = new SqliteConnection(connectionString);
        _connection.Open();
        using (var pragma = _connection.CreateCommand())
        {
            // The copy is made durable (fsync of the database file) before the WAL may start over.
            pragma.CommandText = "PRAGMA synchronous = FULL";
            pragma.ExecuteNonQuery();
        }
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Called after each commit: a checkpoint follows soon, on the checkpointer's thread.</summary>
    public void Nudge()
    {
        if (_nudge.CurrentCount == 0)
        {
            try
            {
                _nudge.Release();
            }
            catch (SemaphoreFullException)
            {
                // nudged by someone else in between: one pending checkpoint is enough
            }
        }
    }

    /// <summary>
    /// Called by the writer, holding the write lock, before it begins a transaction: when the WAL file has grown
    /// past its limit, copies the WAL back completely, so that the transaction starts it over.
    /// </summary>
    public async Task CatchUpAsync(CancellationToken ct)
    {
        var wal = new FileInfo(_walPath);
        if (!wal.Exists || wal.Length <= _maxWalBytes)
            return;
        await CheckpointAsync(ct);
    }

    /// <summary>Keeps the background checkpoint out of the way while the store checkpoints on its writer.</summary>
    public async Task<IDisposable> HoldAsync(CancellationToken ct)
    {
        await _running.WaitAsync(ct);
        return new Hold(_running);
    }

    async Task RunAsync()
    {
        var ct = _stop.Token;
        var written = false; // a commit came since the WAL was last truncated
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (await _nudge.WaitAsync(written ? IdleDelay : Timeout.InfiniteTimeSpan, ct))
                {
                    written = true;
                    await CheckpointAsync(ct);
                }
                else
                {
                    written = false;
                    await _truncate(ct);
                }
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                // Busy or a transient error: the next commit nudges again, and the writer's CatchUpAsync bounds
                // the WAL meanwhile. Nothing is lost: the WAL keeps every committed frame until it is copied.
            }
        }
    }

    async Task CheckpointAsync(CancellationToken ct)
    {
        await _running.WaitAsync(ct);
        try
        {
            await using var command = _connection.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
            await command.ExecuteNonQueryAsync(ct);
        }
        finally
        {
            _running.Release();
        }
    }

    sealed class Hold(SemaphoreSlim running) : IDisposable
    {
        int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
                running.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        await _stop.CancelAsync();
        await _loop;
        await _running.WaitAsync();
        await _connection.DisposeAsync();
        _stop.Dispose();
        _nudge.Dispose();
        _running.Dispose();
    }
}
