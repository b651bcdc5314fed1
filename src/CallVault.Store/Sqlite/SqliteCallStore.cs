using System.Text;
using System.Text.Json;
using CallVault.Client.Models;
using Microsoft.Data.Sqlite;
using Microsoft.Win32.SafeHandles;

namespace CallVault.Store.Sqlite;

/// <summary>
/// The embedded store: one SQLite file in WAL mode. All writes go through one connection, one at a time
/// (SQLite has a single writer anyway), and secure_delete keeps erased data from lingering in free pages. A
/// write returns only once its commit is on disk (the WAL file synced), so an acknowledged write survives a
/// kill or a power cut; that sync runs after the write lock is released, so the next transaction overlaps it.
/// Reads use pooled connections and run alongside the writer; <see cref="SqliteCheckpointer"/> copies the WAL
/// back into the database file on a thread of its own.
/// </summary>
public sealed class SqliteCallStore : ICallStore
{
    readonly SqliteReaders _readers;
    readonly SqliteConnection _writer;
    readonly SemaphoreSlim _writeLock = new(1, 1);
    readonly TimeProvider _clock;
    readonly string _path;
    readonly long _maxWalBytes;
    readonly Action<string> _syncWal;
    SqliteCheckpointer? _checkpointer;

    public SqliteCallStore(string path, TimeProvider? clock = null)
        : this(path, clock, SqliteCheckpointer.DefaultMaxWalBytes)
    {
    }

    /// <param name="path">The database file.</param>
    /// <param name="clock">The time calls are received at.</param>
    /// <param name="maxWalBytes">The WAL file's limit (tests set a small one).</param>
    /// <param name="syncWal">Makes the WAL file (the path given) durable; tests watch it.</param>
    internal SqliteCallStore(string path, TimeProvider? clock, long maxWalBytes, Action<string>? syncWal = null)
    {
        _clock = clock ?? TimeProvider.System;
        _maxWalBytes = maxWalBytes;
        _syncWal = syncWal ?? SyncFile;
        var full = Path.GetFullPath(path);
        _path = full;
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        // Not pooled by Microsoft.Data.Sqlite: the writer is one connection, and the readers have a pool of their own.
        var connectionString = new SqliteConnectionStringBuilder { DataSource = full, Pooling = false, DefaultTimeout = 30 }.ToString();
        _readers = new SqliteReaders(connectionString);
        _writer = new SqliteConnection(connectionString);
        NativeHeap.KeepFreedMemory();
    }

    public async Task MigrateAsync(CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct);
        try
        {
            if (_writer.State != System.Data.ConnectionState.Open)
            {
                await _writer.OpenAsync(ct);
                // Takes effect only on a new database: SQLite keeps the page size a file was created with.
                await ExecuteAsync(_writer, null, $"PRAGMA page_size = {PageSize}", ct);
                await ExecuteAsync(_writer, null, """
                    PRAGMA journal_mode = WAL;
                    PRAGMA synchronous = NORMAL; -- the commit is not synced on the writer: WriteAsync syncs it after the lock
                    PRAGMA secure_delete = ON;
                    PRAGMA foreign_keys = ON;
                    PRAGMA wal_autocheckpoint = 0; -- SqliteCheckpointer copies the WAL back, off the writer's thread
                    """, ct);
                await ExecuteAsync(_writer, null, $"PRAGMA cache_size = {WriterCacheKib}", ct);
                // The WAL file shrinks back to a quarter of its limit each time it starts over. PRAGMA takes no
                // parameters; the value is a number of the store's own.
                await ExecuteAsync(_writer, null, $"PRAGMA journal_size_limit = {_maxWalBytes / 4}", ct);
                _checkpointer = new SqliteCheckpointer(_writer.ConnectionString, _path, _maxWalBytes, IdleAsync);
            }
            // Another process may be migrating the same file: read the version inside the write transaction.
            using var tx = _writer.BeginTransaction(deferred: false);
            var version = Convert.ToInt32(await ScalarAsync(_writer, tx, "PRAGMA user_version", ct));
            for (var i = version; i < SqliteSchema.Migrations.Length; i++)
            {
                await ExecuteAsync(_writer, tx, SqliteSchema.Migrations[i], ct);
                // PRAGMA takes no parameters; the value is a loop counter, not input.
                await ExecuteAsync(_writer, tx, $"PRAGMA user_version = {i + 1}", ct);
            }
            tx.Commit();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    // ---- workspaces and keys ----

    public Task<Workspace> GetOrCreateWorkspaceAsync(string name, CancellationToken ct) =>
        WriteAsync(async tx =>
        {
            const string sql = """
                INSERT INTO workspaces (name, created_at) VALUES ($name, $now)
                ON CONFLICT (name) DO NOTHING;
                SELECT id FROM workspaces WHERE name = $name;
                """;
            var id = (long)(await ScalarAsync(_writer, tx, sql, ct, ("$name", name), ("$now", Now())) ?? throw new InvalidOperationException("workspace insert returned no id"));
            return new Workspace(id, name);
        }, ct);

    public async Task<Workspace?> FindWorkspaceAsync(string name, CancellationToken ct) =>
        await ReadScalarAsync("SELECT id FROM workspaces WHERE name = $name", ct, ("$name", name)) is long id ? new Workspace(id, name) : null;

    public Task AddApiKeyAsync(long workspaceId, string prefix, byte[] hash, CancellationToken ct) =>
        WriteAsync(async tx =>
        {
            const string sql = """
                INSERT INTO api_keys (prefix, workspace_id, hash, created_at) VALUES ($prefix, $ws, $hash, $now)
                """;
            await ExecuteAsync(_writer, tx, sql, ct, ("$prefix", prefix), ("$ws", workspaceId), ("$hash", hash), ("$now", Now()));
            return 0;
        }, ct);

    public async Task<ApiKeyRecord?> FindApiKeyAsync(string prefix, CancellationToken ct)
    {
        const string sql = "SELECT workspace_id, hash, revoked_at IS NOT NULL FROM api_keys WHERE prefix = $prefix";
        return await ReadAsync(sql, [("$prefix", prefix)], async reader =>
            await reader.ReadAsync(ct) ? new ApiKeyRecord(prefix, reader.GetInt64(0), (byte[])reader.GetValue(1), reader.GetBoolean(2)) : null, ct);
    }

    public async Task<IReadOnlyList<ApiKeyInfo>> ListApiKeysAsync(CancellationToken ct)
    {
        const string sql = """
            SELECT k.prefix, w.name, k.created_at, k.revoked_at
            FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id
            ORDER BY w.name, k.created_at, k.prefix
            """;
        return await ReadAsync<IReadOnlyList<ApiKeyInfo>>(sql, [], async reader =>
        {
            var keys = new List<ApiKeyInfo>();
            while (await reader.ReadAsync(ct))
                keys.Add(ApiKeyInfo.FromRow(reader));
            return keys;
        }, ct);
    }

    public Task<bool> RevokeApiKeyAsync(string prefix, CancellationToken ct) =>
        WriteAsync(async tx =>
        {
            const string sql = "UPDATE api_keys SET revoked_at = $now WHERE prefix = $prefix AND revoked_at IS NULL";
            return await ExecuteAsync(_writer, tx, sql, ct, ("$prefix", prefix), ("$now", Now())) > 0;
        }, ct);

    public async Task<bool> HasAnyApiKeyAsync(CancellationToken ct) =>
        await ReadScalarAsync("SELECT EXISTS (SELECT 1 FROM api_keys)", ct) is 1L;

    public async Task<string?> GetSettingAsync(long workspaceId, string name, CancellationToken ct)
    {
        const string sql = "SELECT value FROM workspace_settings WHERE workspace_id = $ws AND name = $name";
        return await ReadScalarAsync(sql, ct, ("$ws", workspaceId), ("$name", name)) as string;
    }

    public Task SetSettingAsync(long workspaceId, string name, string? value, CancellationToken ct) =>
        WriteAsync(async tx =>
        {
            const string set = """
                INSERT INTO workspace_settings (workspace_id, name, value) VALUES ($ws, $name, $value)
                ON CONFLICT (workspace_id, name) DO UPDATE SET value = excluded.value
                """;
            const string remove = "DELETE FROM workspace_settings WHERE workspace_id = $ws AND name = $name";
            return value is null
                ? await ExecuteAsync(_writer, tx, remove, ct, ("$ws", workspaceId), ("$name", name))
                : await ExecuteAsync(_writer, tx, set, ct, ("$ws", workspaceId), ("$name", name), ("$value", value));
        }, ct);

    // ---- calls ----

    public async Task<byte[]?> GetCallAsync(long workspaceId, string callId, CancellationToken ct)
    {
        const string sql = "SELECT doc FROM calls WHERE workspace_id = $ws AND call_id = $id";
        return await ReadScalarAsync(sql, ct, ("$ws", workspaceId), ("$id", callId)) as byte[];
    }

    public async Task<CallPosition?> FindPositionAsync(long workspaceId, string callId, CancellationToken ct)
    {
        const string sql = """
            SELECT sort_key FROM calls WHERE workspace_id = $ws AND call_id = $id
            UNION ALL
            SELECT sort_key FROM deleted_calls WHERE workspace_id = $ws AND call_id = $id
            LIMIT 1
            """;
        return await ReadScalarAsync(sql, ct, ("$ws", workspaceId), ("$id", callId)) is long sortKey
            ? new CallPosition(sortKey, callId)
            : null;
    }

    public async Task<IReadOnlyList<byte[]>> ListCallsAsync(long workspaceId, CallQuery query, CancellationToken ct)
    {
        using var page = await ListPageAsync(workspaceId, query, ct);
        return page.ToArrays();
    }

    public async Task<CallPage> ListPageAsync(long workspaceId, CallQuery query, CancellationToken ct)
    {
        // The SQL text depends only on which filters are set, so the parameters are collected first and the
        // reader's prepared statement for that text is reused.
        using var scratch = new SqliteCommand();
        var sql = SqliteListQuery.Build(workspaceId, query, scratch.Parameters);
        var lease = await _readers.RentAsync(ct);
        await using (lease)
        {
            var page = CallPage.Create(query.Limit);
            try
            {
                lease.ReadDocuments(sql, scratch.Parameters, page);
            }
            catch
            {
                page.Dispose();
                throw;
            }
            lease.Complete();
            return page;
        }
    }

    public async Task<int> UpsertCallsAsync(long workspaceId, IReadOnlyList<PreparedCall> calls, CancellationToken ct)
    {
        var erased = false;
        var count = await WriteAsync(async tx =>
        {
            var now = Now();
            await using var optedOut = Command(_writer, tx, "SELECT opted_out FROM calls WHERE workspace_id = $ws AND call_id = $id");
            var optedOutWs = optedOut.Parameters.AddWithValue("$ws", workspaceId);
            var optedOutId = optedOut.Parameters.AddWithValue("$id", "");
            using var insert = new SqliteCallWrite(_writer, InsertNewSql);
            using var upsert = new SqliteCallWrite(_writer, UpsertSql);
            foreach (var given in calls)
            {
                ct.ThrowIfCancellationRequested();
                var call = given;
                // Most imported calls are new: one statement writes them, and only a call already stored is
                // looked up, for the opt-out it may carry, and replaced.
                if (insert.Write(workspaceId, call, now))
                {
                    erased |= call.ErasesSensitiveData;
                    continue;
                }
                optedOutId.Value = call.CallId;
                var stored = await optedOut.ExecuteScalarAsync(ct); // null when new, else 0 or 1
                if (!call.Columns.OptedOut && stored is 1L)
                    call = CallDocuments.OptOut(call);
                // An opted-out call replacing one that was not erases the old sensitive fields, even when the
                // new document never carried them: the old text must not linger in the WAL either.
                erased |= call.ErasesSensitiveData || (call.Columns.OptedOut && stored is 0L);
                upsert.Write(workspaceId, call, now);
            }
            return calls.Count;
        }, ct);
        if (erased)
            await CheckpointAsync(ct);
        return count;
    }

    public async Task<byte[]?> MutateCallAsync(long workspaceId, string callId, Func<byte[]?, PreparedCall?> change, CancellationToken ct)
    {
        var erased = false;
        var result = await WriteAsync(async tx =>
        {
            const string read = "SELECT doc FROM calls WHERE workspace_id = $ws AND call_id = $id";
            var current = await ScalarAsync(_writer, tx, read, ct, ("$ws", workspaceId), ("$id", callId)) as byte[];
            var next = change(current);
            if (next is null)
                return current;
            if (!string.Equals(next.CallId, callId, StringComparison.Ordinal))
                throw new InvalidOperationException("a mutation must not change the call id");
            erased = next.ErasesSensitiveData;
            using (var upsert = new SqliteCallWrite(_writer, UpsertSql))
                upsert.Write(workspaceId, next, Now());
            return next.Document;
        }, ct);
        if (erased)
            await CheckpointAsync(ct);
        return result;
    }

    public async Task<byte[]?> MergeCallAsync(long workspaceId, string callId, Func<StoredCall?, MergedCall?> change, CancellationToken ct)
    {
        var erased = false;
        var result = await WriteAsync(async tx =>
        {
            const string read = "SELECT doc, merge_state FROM calls WHERE workspace_id = $ws AND call_id = $id";
            StoredCall? current = null;
            await using (var command = Command(_writer, tx, read, ("$ws", workspaceId), ("$id", callId)))
            await using (var reader = await command.ExecuteReaderAsync(ct))
                if (await reader.ReadAsync(ct))
                    current = new StoredCall((byte[])reader.GetValue(0), reader.IsDBNull(1) ? null : reader.GetString(1));
            var next = change(current);
            if (next is null)
                return current?.Document;
            if (!string.Equals(next.Call.CallId, callId, StringComparison.Ordinal))
                throw new InvalidOperationException("a merge must not change the call id");
            erased = next.Call.ErasesSensitiveData;
            using (var upsert = new SqliteCallWrite(_writer, UpsertSql))
                upsert.Write(workspaceId, next.Call, Now());
            const string state = "UPDATE calls SET merge_state = $state WHERE workspace_id = $ws AND call_id = $id";
            await ExecuteAsync(_writer, tx, state, ct, ("$ws", workspaceId), ("$id", callId), ("$state", next.MergeState));
            return next.Call.Document;
        }, ct);
        if (erased)
            await CheckpointAsync(ct);
        return result;
    }

    public async Task<int> MergeCallsAsync(long workspaceId, IReadOnlyList<PreparedCall> calls, Func<StoredCall?, PreparedCall, MergedCall?> merge, CancellationToken ct)
    {
        var erased = false;
        var count = await WriteAsync(async tx =>
        {
            var now = Now();
            const string read = "SELECT doc, merge_state, opted_out FROM calls WHERE workspace_id = $ws AND call_id = $id";
            await using var select = Command(_writer, tx, read, ("$ws", workspaceId), ("$id", ""));
            const string setState = "UPDATE calls SET merge_state = $state WHERE workspace_id = $ws AND call_id = $id";
            await using var state = Command(_writer, tx, setState, ("$ws", workspaceId), ("$id", ""), ("$state", ""));
            using var upsert = new SqliteCallWrite(_writer, UpsertSql);
            var written = new HashSet<string>(StringComparer.Ordinal);
            foreach (var given in calls)
            {
                select.Parameters["$id"].Value = given.CallId;
                StoredCall? current = null;
                var optedOut = false;
                await using (var reader = await select.ExecuteReaderAsync(ct))
                    if (await reader.ReadAsync(ct))
                    {
                        current = new StoredCall((byte[])reader.GetValue(0), reader.IsDBNull(1) ? null : reader.GetString(1));
                        optedOut = reader.GetBoolean(2);
                    }
                if (merge(current, given) is not { } next)
                    continue;
                if (!string.Equals(next.Call.CallId, given.CallId, StringComparison.Ordinal))
                    throw new InvalidOperationException("a merge must not change the call id");
                var call = !next.Call.Columns.OptedOut && optedOut ? CallDocuments.OptOut(next.Call) : next.Call;
                // As in UpsertCallsAsync: opting out erases what the stored document held, even when the merged
                // document never carried it.
                erased |= call.ErasesSensitiveData || (call.Columns.OptedOut && current is not null && !optedOut);
                upsert.Write(workspaceId, call, now);
                state.Parameters["$id"].Value = given.CallId;
                state.Parameters["$state"].Value = next.MergeState;
                await state.ExecuteNonQueryAsync(ct);
                written.Add(given.CallId);
            }
            return written.Count;
        }, ct);
        if (erased)
            await CheckpointAsync(ct);
        return count;
    }

    public async Task<bool> DeleteCallAsync(long workspaceId, string callId, CancellationToken ct)
    {
        var deleted = await WriteAsync(async tx =>
        {
            const string sql = """
                INSERT INTO deleted_calls (workspace_id, call_id, sort_key)
                SELECT workspace_id, call_id, sort_key FROM calls WHERE workspace_id = $ws AND call_id = $id
                ON CONFLICT (workspace_id, call_id) DO UPDATE SET sort_key = excluded.sort_key;
                DELETE FROM calls WHERE workspace_id = $ws AND call_id = $id;
                """;
            await using var command = Command(_writer, tx, sql, ("$ws", workspaceId), ("$id", callId));
            await command.ExecuteNonQueryAsync(ct);
            return (long)(await ScalarAsync(_writer, tx, "SELECT changes()", ct))! > 0;
        }, ct);
        if (deleted)
            await CheckpointAsync(ct);
        return deleted;
    }

    public async ValueTask DisposeAsync()
    {
        await _readers.DisposeAsync();
        if (_checkpointer is not null)
            await _checkpointer.DisposeAsync();
        await _writer.DisposeAsync();
        _writeLock.Dispose();
    }

    // ---- plumbing ----

    /// <summary>Writes one call; its parameters are <see cref="SqliteCallWrite.Parameters"/>, which binds them.</summary>
    const string InsertSql = """
        INSERT INTO calls (
            workspace_id, call_id, sort_key, received_at, start_timestamp, agent_id, call_status, call_type,
            direction, from_number, to_number, user_sentiment, call_successful, in_voicemail,
            disconnection_reason, duration_ms, e2e_p50, opted_out, doc)
        VALUES (
            $ws, $id, coalesce($start, $now), $now, $start, $agent, $status, $type,
            $direction, $from, $to, $sentiment, $successful, $voicemail,
            $disconnection, $duration, $e2e, $opted_out, $doc)
        """;

    /// <summary>Writes a call that is not stored yet, and nothing (no row changed) when it is.</summary>
    const string InsertNewSql = InsertSql + " ON CONFLICT (workspace_id, call_id) DO NOTHING";

    const string UpsertSql = InsertSql + """
         ON CONFLICT (workspace_id, call_id) DO UPDATE SET
            sort_key = coalesce(excluded.start_timestamp, calls.received_at),
            start_timestamp = excluded.start_timestamp,
            agent_id = excluded.agent_id,
            call_status = excluded.call_status,
            call_type = excluded.call_type,
            direction = excluded.direction,
            from_number = excluded.from_number,
            to_number = excluded.to_number,
            user_sentiment = excluded.user_sentiment,
            call_successful = excluded.call_successful,
            in_voicemail = excluded.in_voicemail,
            disconnection_reason = excluded.disconnection_reason,
            duration_ms = excluded.duration_ms,
            e2e_p50 = excluded.e2e_p50,
            opted_out = excluded.opted_out,
            doc = excluded.doc
        """;

    /// <summary>
    /// Moves everything out of the WAL and truncates it, so that erased data is not left in old WAL frames (and,
    /// when the store falls idle after writing, so that the WAL gives its disk space back).
    /// A reader in the middle of a query can hold the checkpoint back: SQLite's busy handler (busy_timeout)
    /// waits for it inside each attempt, and the attempt is repeated while readers keep arriving.
    /// </summary>
    Task CheckpointAsync(CancellationToken ct) => CheckpointAsync(attempts: 50, ct);

    async Task CheckpointAsync(int attempts, CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct);
        try
        {
            using var background = await _checkpointer!.HoldAsync(ct);
            await ExecuteAsync(_writer, null, "PRAGMA busy_timeout = 200", ct);
            for (var attempt = 0; attempt < attempts; attempt++)
            {
                if (attempt > 0)
                    await Task.Delay(10, ct);
                await using var command = Command(_writer, null, "PRAGMA wal_checkpoint(TRUNCATE)");
                await using var reader = await command.ExecuteReaderAsync(ct);
                if (await reader.ReadAsync(ct) && reader.GetInt64(0) == 0)
                    return;
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> in a write transaction and returns once the commit is durable. The writer
    /// runs with synchronous=NORMAL, so its commit only appends to the WAL; the WAL file is synced here, after
    /// the write lock is released. The caller still waits for the sync, as with synchronous=FULL, but the next
    /// transaction no longer does: an import's next batch is written while this one's frames reach the disk
    /// (issue 3: the syncs took 8.5 s of the writer's 59.5 s for a million calls, in-process). A sync covers
    /// everything written to the file before it, so each acknowledged write is on disk, whichever sync gets
    /// there first. A crash before the sync loses only commits nobody was told about, and cannot corrupt the
    /// database: SQLite ignores WAL frames after the first one whose checksum fails.
    /// </summary>
    async Task<T> WriteAsync<T>(Func<SqliteTransaction, Task<T>> work, CancellationToken ct)
    {
        T result;
        await _writeLock.WaitAsync(ct);
        try
        {
            if (_writer.State != System.Data.ConnectionState.Open)
                throw new InvalidOperationException("the store is not initialized: call MigrateAsync first");
            await _checkpointer!.CatchUpAsync(ct);
            using var tx = _writer.BeginTransaction(deferred: false);
            result = await work(tx);
            tx.Commit();
            _checkpointer.Nudge();
        }
        finally
        {
            _writeLock.Release();
        }
        _syncWal(_path + "-wal");
        return result;
    }

    /// <summary>
    /// Flushes a file to disk. A missing WAL file means the last connection has copied it back and removed it,
    /// and that checkpoint synced the database file. SQLite locks the database and -shm files, never the WAL,
    /// so opening and closing the WAL here cannot drop a lock of SQLite's (POSIX locks go with any close).
    /// </summary>
    static void SyncFile(string path)
    {
        SafeFileHandle file;
        try
        {
            file = File.OpenHandle(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException)
        {
            return;
        }
        using (file)
            RandomAccess.FlushToDisk(file);
    }

    /// <summary>
    /// The page size of a new database: 64 KiB, SQLite's largest (issue 3: import rate). With SQLite's default of
    /// 4 KiB, a call of about 5 kB took a table page and an overflow page, and an import request of 10,000 calls
    /// committed some 25,000 pages, each one WAL frame written by two system calls, then copied back by the
    /// checkpoint: at a million calls the writer spent 31 s of its 85 s committing and 17 s waiting for the
    /// checkpoint. With 64 KiB pages a document lies whole in its table page, about 13 to a page, and the same
    /// bytes go in a sixteenth of the frames: imports of a million calls over HTTP went from 11,112-11,484 to
    /// 13,345-16,981 calls/s and from 114-118 to 77-97 µs of server CPU per call (bench/RESULTS.md, session 13),
    /// and the file is no larger (1.18x the JSON against 1.19x). The price
    /// is paid by reads that look up rows scattered over the table (each lookup reads 64 KiB); the indexes that
    /// most pages walk hold the call id, so that a page looks up only the documents it returns (migration 6), and
    /// by writes: a change writes whole pages, so one call written alone puts about 0.7 MB in the WAL (55-66 kB
    /// with 4 KiB pages). A file created with another page size keeps it, which is how the README lets a store
    /// that mostly takes webhooks choose 4 KiB pages, and how it converts one.
    /// </summary>
    const int PageSize = 65_536;

    /// <summary>
    /// The writer's page cache, in KiB (negative, as PRAGMA cache_size takes it): 256 MiB. An import request of
    /// 10,000 calls dirtied about 100 MB of 4 KiB pages, a third of them in the indexes that calls do not arrive in
    /// the order of (call id, caller and callee numbers); with 64 KiB pages those indexes are dirtied whole, about
    /// 140 MB per request on average over an import of a million calls (its WAL writes). With 64 MiB those pages
    /// left the cache within a batch and were read back for the next call that touched them: for a million calls,
    /// in-process, the writer's work before its commits took 46 s instead of 29 s (issue 3). The memory is given
    /// back when the writer falls idle (<see cref="IdleAsync"/>).
    /// </summary>
    const int WriterCacheKib = -262_144;

    /// <summary>How many times SQLite recompiled the list statements of the idle readers (tests).</summary>
    internal long ListStatementRecompilations() => _readers.Recompilations();

    /// <summary>The bytes the writer's page cache holds (tests).</summary>
    internal long WriterCacheBytes()
    {
        SQLitePCL.raw.sqlite3_db_status(_writer.Handle, SQLitePCL.raw.SQLITE_DBSTATUS_CACHE_USED, out var used, out _, 0);
        return used;
    }

    /// <summary>
    /// When no commit has come for a while: the WAL gives its disk space back (a TRUNCATE checkpoint, one
    /// attempt), and the writer's page cache its memory. The C heap is trimmed only when the cache gave back
    /// at least <see cref="TrimAfterBytes"/> (after an import): trimming walks the whole heap and returns pages
    /// that the next queries' allocations would fault in again, which a server taking a webhook every few
    /// seconds would otherwise do at each pause.
    /// </summary>
    async Task IdleAsync(CancellationToken ct)
    {
        await CheckpointAsync(attempts: 1, ct);
        long released;
        await _writeLock.WaitAsync(ct);
        try
        {
            var cached = WriterCacheBytes();
            await ExecuteAsync(_writer, null, "PRAGMA shrink_memory", ct);
            released = cached - WriterCacheBytes();
        }
        finally
        {
            _writeLock.Release();
        }
        if (released >= TrimAfterBytes)
            NativeHeap.Trim();
    }

    /// <summary>What the writer kept cached before its cache grew to 256 MiB: less released is not worth a heap trim.</summary>
    const long TrimAfterBytes = 64L << 20;

    /// <summary>Runs a query on a pooled reader with its prepared statement and reads the result.</summary>
    async Task<T> ReadAsync<T>(string sql, (string Name, object? Value)[] parameters, Func<SqliteDataReader, Task<T>> read, CancellationToken ct)
    {
        var lease = await _readers.RentAsync(ct);
        await using (lease)
        {
            var command = lease.Command(sql);
            foreach (var (name, value) in parameters)
                command.Parameters.AddWithValue(name, value ?? DBNull.Value);
            T result;
            await using (var reader = await command.ExecuteReaderAsync(ct))
                result = await read(reader);
            lease.Complete();
            return result;
        }
    }

    Task<object?> ReadScalarAsync(string sql, CancellationToken ct, params (string Name, object? Value)[] parameters) =>
        ReadAsync(sql, parameters, async reader => await reader.ReadAsync(ct) && !reader.IsDBNull(0) ? reader.GetValue(0) : null, ct);

    long Now() => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }

    static async Task<int> ExecuteAsync(SqliteConnection connection, SqliteTransaction? tx, string sql, CancellationToken ct, params (string, object?)[] parameters)
    {
        await using var command = Command(connection, tx, sql, parameters);
        return await command.ExecuteNonQueryAsync(ct);
    }

    static async Task<object?> ScalarAsync(SqliteConnection connection, SqliteTransaction? tx, string sql, CancellationToken ct, params (string, object?)[] parameters)
    {
        await using var command = Command(connection, tx, sql, parameters);
        return await command.ExecuteScalarAsync(ct);
    }
}
