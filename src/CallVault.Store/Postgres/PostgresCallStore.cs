using System.Buffers;
using System.Text;
using Npgsql;
using NpgsqlTypes;

namespace CallVault.Store.Postgres;

/// <summary>
/// The production store: PostgreSQL through Npgsql, one pooled data source per process. Any number of
/// processes may share one database: every write is a transaction that locks the rows it changes in call id
/// order (so concurrent imports of the same calls serialize instead of deadlocking), migrations run under an
/// advisory lock, and the only thing a process keeps is documents it served, each checked against the version
/// of its row at every read (<see cref="PostgresDocumentCache"/>).
/// </summary>
public sealed class PostgresCallStore : ICallStore
{
    /// <summary>Rows per INSERT of an import; chunks keep the order of the whole batch.</summary>
    const int UpsertChunk = 1000;
    const int MaxAttempts = 5;

    /// <summary>Bytes of documents a process keeps for list-calls unless told otherwise (about 6,500 calls).</summary>
    public const long DefaultDocumentCacheBytes = 32L << 20;

    /// <summary>
    /// Pages up to this size go through the document cache. Larger ones read their documents in the same
    /// query as the page, as before the cache: they would mostly fill it with calls read once.
    /// </summary>
    const int MaxCachedPage = 100;

    readonly NpgsqlDataSource _dataSource;
    readonly TimeProvider _clock;
    readonly PostgresDocumentCache? _documents;
    readonly PostgresValueFrequencies _frequencies;

    /// <summary>Documents list-calls served from the document cache so far (tests and diagnostics).</summary>
    internal long DocumentCacheHits => _documents?.Hits ?? 0;

    /// <summary>The store's connections, for tests that look at a connection's session (its prepared statements).</summary>
    internal NpgsqlDataSource DataSource => _dataSource;

    /// <summary>How common the flags' values are, which decides which list queries keep their plan (tests read them at once).</summary>
    internal PostgresValueFrequencies ValueFrequencies => _frequencies;

    /// <param name="database">A postgresql:// URL or an Npgsql connection string.</param>
    /// <param name="clock">The time calls are received at.</param>
    /// <param name="documentCacheBytes">Bytes of documents kept for list-calls (<see cref="PostgresDocumentCache"/>); 0 for none.</param>
    public PostgresCallStore(string database, TimeProvider? clock = null, long documentCacheBytes = DefaultDocumentCacheBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(documentCacheBytes);
        _clock = clock ?? TimeProvider.System;
        var builder = new NpgsqlDataSourceBuilder(PostgresConnectionStrings.From(database));
        builder.UsePhysicalConnectionInitializer(
            connection =>
            {
                using var command = new NpgsqlCommand(SessionSettings, connection);
                command.ExecuteNonQuery();
            },
            async connection =>
            {
                await using var command = new NpgsqlCommand(SessionSettings, connection);
                await command.ExecuteNonQueryAsync();
            });
        _dataSource = builder.Build();
        _documents = documentCacheBytes > 0 ? new PostgresDocumentCache(documentCacheBytes) : null;
        _frequencies = new PostgresValueFrequencies(_dataSource);
    }

    /// <summary>
    /// Run once on each new server connection. Statements are auto-prepared (PostgresConnectionStrings), and
    /// PostgreSQL may then switch a prepared statement to a generic plan, made without the parameter values,
    /// for good: a plan fit for a wide latency range would then walk the whole order index for a narrow one.
    /// So every execution is planned with its values (but for list queries with a fixed plan,
    /// <see cref="FixedPlanSettings"/>); preparing still saves parsing. JIT compilation costs
    /// tens of milliseconds and list queries take a few: off, whatever the server's default.
    /// </summary>
    const string SessionSettings = "SET plan_cache_mode = force_custom_plan; SET jit = off";

    /// <summary>Whether PostgreSQL can hold this text: anything but the NUL character.</summary>
    public static bool IsStorable(string text) => !text.Contains('\0');

    public async Task MigrateAsync(CancellationToken ct)
    {
        const string bookkeeping = """
            CREATE TABLE IF NOT EXISTS callvault_schema (
                version    integer PRIMARY KEY,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """;
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        // Several processes may start at once: one migrates, the others wait here and then find nothing to do.
        await ExecuteAsync(connection, "SELECT pg_advisory_xact_lock(@key)", ct, ("key", PostgresSchema.MigrationLockKey));
        await ExecuteAsync(connection, bookkeeping, ct);
        var version = (int)(await ScalarAsync(connection, "SELECT coalesce(max(version), 0) FROM callvault_schema", ct))!;
        if (version > PostgresSchema.Migrations.Length)
            throw new InvalidOperationException(
                $"the database schema is at version {version}, newer than this CallVault knows ({PostgresSchema.Migrations.Length}); upgrade CallVault");
        for (var i = version; i < PostgresSchema.Migrations.Length; i++)
        {
            await ExecuteAsync(connection, PostgresSchema.Migrations[i], ct);
            await ExecuteAsync(connection, "INSERT INTO callvault_schema (version) VALUES (@version)", ct, ("version", i + 1));
        }
        await tx.CommitAsync(ct);
    }

    // ---- workspaces and keys ----

    public async Task<Workspace> GetOrCreateWorkspaceAsync(string name, CancellationToken ct)
    {
        // Two statements, not one: under READ COMMITTED the SELECT takes a new snapshot, so it sees a row
        // that a concurrent process inserted while the INSERT waited for it.
        const string insert = "INSERT INTO workspaces (name, created_at) VALUES (@name, @now) ON CONFLICT (name) DO NOTHING";
        const string select = "SELECT id FROM workspaces WHERE name = @name";
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await ExecuteAsync(connection, insert, ct, ("name", name), ("now", Now()));
        var id = (long)(await ScalarAsync(connection, select, ct, ("name", name)) ?? throw new InvalidOperationException("workspace insert returned no id"));
        return new Workspace(id, name);
    }

    public async Task<Workspace?> FindWorkspaceAsync(string name, CancellationToken ct)
    {
        if (!IsStorable(name))
            return null;
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        return await ScalarAsync(connection, "SELECT id FROM workspaces WHERE name = @name", ct, ("name", name)) is long id
            ? new Workspace(id, name)
            : null;
    }

    public async Task AddApiKeyAsync(long workspaceId, string prefix, byte[] hash, CancellationToken ct)
    {
        const string sql = "INSERT INTO api_keys (prefix, workspace_id, hash, created_at) VALUES (@prefix, @ws, @hash, @now)";
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        await ExecuteAsync(connection, sql, ct, ("prefix", prefix), ("ws", workspaceId), ("hash", hash), ("now", Now()));
    }

    public async Task<ApiKeyRecord?> FindApiKeyAsync(string prefix, CancellationToken ct)
    {
        const string sql = "SELECT workspace_id, hash, revoked_at IS NOT NULL FROM api_keys WHERE prefix = @prefix";
        if (!IsStorable(prefix))
            return null;
        await using var command = Command(_dataSource.CreateCommand(sql), ("prefix", prefix));
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
            return null;
        return new ApiKeyRecord(prefix, reader.GetInt64(0), reader.GetFieldValue<byte[]>(1), reader.GetBoolean(2));
    }

    public async Task<IReadOnlyList<ApiKeyInfo>> ListApiKeysAsync(CancellationToken ct)
    {
        const string sql = """
            SELECT k.prefix, w.name, k.created_at, k.revoked_at
            FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id
            ORDER BY w.name, k.created_at, k.prefix
            """;
        await using var command = _dataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var keys = new List<ApiKeyInfo>();
        while (await reader.ReadAsync(ct))
            keys.Add(ApiKeyInfo.FromRow(reader));
        return keys;
    }

    public async Task<bool> RevokeApiKeyAsync(string prefix, CancellationToken ct)
    {
        const string sql = "UPDATE api_keys SET revoked_at = @now WHERE prefix = @prefix AND revoked_at IS NULL";
        if (!IsStorable(prefix))
            return false;
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        return await ExecuteAsync(connection, sql, ct, ("prefix", prefix), ("now", Now())) > 0;
    }

    public async Task<bool> HasAnyApiKeyAsync(CancellationToken ct)
    {
        await using var command = _dataSource.CreateCommand("SELECT EXISTS (SELECT 1 FROM api_keys)");
        return await command.ExecuteScalarAsync(ct) is true;
    }

    public async Task<string?> GetSettingAsync(long workspaceId, string name, CancellationToken ct)
    {
        const string sql = "SELECT value FROM workspace_settings WHERE workspace_id = @ws AND name = @name";
        if (!IsStorable(name))
            return null;
        await using var command = Command(_dataSource.CreateCommand(sql), ("ws", workspaceId), ("name", name));
        return await command.ExecuteScalarAsync(ct) as string;
    }

    public async Task SetSettingAsync(long workspaceId, string name, string? value, CancellationToken ct)
    {
        const string set = """
            INSERT INTO workspace_settings (workspace_id, name, value) VALUES (@ws, @name, @value)
            ON CONFLICT (workspace_id, name) DO UPDATE SET value = excluded.value
            """;
        const string remove = "DELETE FROM workspace_settings WHERE workspace_id = @ws AND name = @name";
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        if (value is null)
            await ExecuteAsync(connection, remove, ct, ("ws", workspaceId), ("name", name));
        else
            await ExecuteAsync(connection, set, ct, ("ws", workspaceId), ("name", name), ("value", value));
    }

    // ---- calls ----

    public async Task<byte[]?> GetCallAsync(long workspaceId, string callId, CancellationToken ct)
    {
        const string sql = "SELECT packed_doc FROM calls WHERE workspace_id = @ws AND call_id = @id";
        if (!IsStorable(callId))
            return null;
        await using var command = Command(_dataSource.CreateCommand(sql), ("ws", workspaceId), ("id", callId));
        return await command.ExecuteScalarAsync(ct) is byte[] stored ? PostgresDocuments.Unpack(stored) : null;
    }

    public async Task<CallPosition?> FindPositionAsync(long workspaceId, string callId, CancellationToken ct)
    {
        if (!IsStorable(callId))
            return null;
        // Two primary keys: the plan cannot depend on the values, so it is made once per connection (a page of a
        // walk planned with its values looks its key up here first).
        await using var batch = _dataSource.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand(FixedPlanSettings));
        var lookup = new NpgsqlBatchCommand("SELECT " + PostgresListQuery.KeyPosition);
        lookup.Parameters.Add(new NpgsqlParameter<long>("ws", workspaceId));
        lookup.Parameters.Add(new NpgsqlParameter<string>("after_id", callId));
        batch.BatchCommands.Add(lookup);
        await using var reader = await ReadListAsync(batch, ct);
        return await reader.ReadAsync(ct) && !await reader.IsDBNullAsync(0, ct) ? new CallPosition(reader.GetInt64(0), callId) : null;
    }

    public async Task<IReadOnlyList<byte[]>> ListCallsAsync(long workspaceId, CallQuery query, CancellationToken ct)
    {
        using var page = await ListPageAsync(workspaceId, query, ct);
        return page.ToArrays();
    }

    public Task<CallPage> ListPageAsync(long workspaceId, CallQuery query, CancellationToken ct) =>
        ListPageAsync(workspaceId, query, afterKey: null, ct);

    /// <summary>
    /// A page of a walk in one round trip where its plan is fixed (<see cref="PostgresListQuery.HasFixedPlan"/>): the
    /// list query looks the key's position up itself, and only an empty page costs a second query, to tell a key
    /// that names no call from the end of the list. A query planned with its values is planned for the position,
    /// so that is found first, as before.
    /// </summary>
    public async Task<CallPage?> ListPageAfterAsync(long workspaceId, CallQuery query, string paginationKey, CancellationToken ct)
    {
        if (!PostgresListQuery.HasFixedPlan(query) || !IsStorable(paginationKey))
        {
            return await FindPositionAsync(workspaceId, paginationKey, ct) is { } after
                ? await ListPageAsync(workspaceId, query with { After = after }, ct)
                : null;
        }
        var page = await ListPageAsync(workspaceId, query with { After = null }, paginationKey, ct);
        if (page.Count == 0 && await FindPositionAsync(workspaceId, paginationKey, ct) is null)
        {
            page.Dispose();
            return null;
        }
        return page;
    }

    async Task<CallPage> ListPageAsync(long workspaceId, CallQuery query, string? afterKey, CancellationToken ct)
    {
        if (_documents is null || query.Limit > MaxCachedPage)
            return await ReadPageAsync(workspaceId, query, afterKey, ct);

        await using var batch = ListBatch(workspaceId, query, PostgresListQuery.Columns.VersionedDocuments, afterKey);
        if (batch is null)
            return CallPage.Create(0);
        var key = PageKey(batch.BatchCommands[^1]);
        var plan = _documents.Visit(key, firstPage: afterKey is null && query.After is null);
        if (plan == PostgresDocumentCache.Plan.TryHeld)
        {
            // The page's ids and versions first, from the index alone; when this process holds every document
            // at its version, that is the whole page.
            var calls = new List<(string CallId, long Version)>(query.Limit);
            // Buildable: the same query built just above.
            await using (var versions = ListBatch(workspaceId, query, PostgresListQuery.Columns.Versions, afterKey)!)
            {
                await using var reader = await ReadListAsync(versions, ct);
                while (await reader.ReadAsync(ct))
                    calls.Add((reader.GetString(0), reader.GetInt64(1)));
            }
            if (FromCache(workspaceId, calls) is { } held)
            {
                held.Source = PageSource.Cache;
                return held;
            }
            // A few calls not held at their version (new since the page was kept, as at the top of a page that
            // a dashboard polls, or written since): their documents alone, by primary key, into the cache, and
            // then the page from it. More than half missing, the page is read whole, as below.
            var missing = _documents.Missing(workspaceId, calls);
            if (missing.Count > 0 && missing.Count <= calls.Count / 2 && await KeepDocumentsAsync(workspaceId, missing, ct)
                && FromCache(workspaceId, calls) is { } completed)
            {
                completed.Source = PageSource.CacheAndDatabase;
                return completed;
            }
        }

        // Otherwise the page with its documents, in one query as without the cache, straight into the page; from
        // the page's second visit on (a list's first page: from its first), its documents are copied into the
        // cache too (a call written since the first query comes at its new version).
        var page = CallPage.Create(query.Limit);
        try
        {
            var mark = _documents.Mark;
            await using var reader = await ReadListAsync(batch, ct);
            while (await reader.ReadAsync(ct))
            {
                ReadDocument(reader, 2, page);
                if (plan != PostgresDocumentCache.Plan.Read)
                    _documents.Add(workspaceId, reader.GetString(0), reader.GetInt64(1), page[page.Count - 1].Span);
            }
            if (plan != PostgresDocumentCache.Plan.Read)
                _documents.Kept(key, mark);
            return page;
        }
        catch
        {
            page.Dispose();
            throw;
        }
    }

    /// <summary>The page from the document cache, or null when it does not hold every call at its version.</summary>
    CallPage? FromCache(long workspaceId, List<(string CallId, long Version)> calls)
    {
        var held = CallPage.Create(calls.Count);
        if (_documents!.TryFill(workspaceId, calls, held))
            return held;
        held.Dispose();
        return null;
    }

    /// <summary>
    /// Reads the documents of these calls by primary key and keeps them in the document cache; false when one of
    /// them is gone or at another version than the page's (written since its ids and versions were read), and
    /// the page is then read whole.
    /// </summary>
    async Task<bool> KeepDocumentsAsync(long workspaceId, IReadOnlyList<(string CallId, long Version)> calls, CancellationToken ct)
    {
        const string sql = "SELECT call_id, version, packed_doc FROM calls WHERE workspace_id = @ws AND call_id = ANY(@ids)";
        var versions = calls.ToDictionary(c => c.CallId, c => c.Version, StringComparer.Ordinal);
        await using var command = Command(_dataSource.CreateCommand(sql), ("ws", workspaceId), ("ids", versions.Keys.ToArray()));
        await using var reader = await command.ExecuteReaderAsync(ct);
        var found = 0;
        while (await reader.ReadAsync(ct))
        {
            var callId = reader.GetString(0);
            var version = reader.GetInt64(1);
            if (versions[callId] != version)
                return false;
            _documents!.Add(workspaceId, callId, version, PostgresDocuments.Unpack(reader.GetFieldValue<byte[]>(2)));
            found++;
        }
        return found == versions.Count;
    }

    /// <summary>What identifies a page for the document cache: its SQL and the values bound to it.</summary>
    static string PageKey(NpgsqlBatchCommand command)
    {
        var key = new StringBuilder(command.CommandText);
        foreach (NpgsqlParameter parameter in command.Parameters)
        {
            key.Append('\n').Append(parameter.ParameterName).Append('=');
            if (parameter.Value is Array values)
            {
                foreach (var value in values)
                    key.Append(value).Append('\u001f');
            }
            else
            {
                key.Append(parameter.Value);
            }
        }
        return key.ToString();
    }

    /// <summary>
    /// Decompresses a document into the page. Without sequential access Npgsql holds each whole row in its read
    /// buffer once ReadAsync returns (a 64 kB buffer, larger for a larger row); the stored bytes are copied from
    /// there into a pooled buffer, and decompressed from it straight into the page.
    /// </summary>
    static void ReadDocument(NpgsqlDataReader reader, int column, CallPage page)
    {
        var length = checked((int)reader.GetBytes(column, 0, null, 0, 0));
        var stored = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            reader.GetBytes(column, 0, stored, 0, length);
            var document = stored.AsSpan(0, length);
            PostgresDocuments.Unpack(document, page.Append(PostgresDocuments.UnpackedLength(document)));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(stored);
        }
    }

    /// <summary>
    /// Run before a list query whose plan cannot depend on its values (<see cref="PostgresListQuery.HasFixedPlan"/>),
    /// in the same batch and so in the same implicit transaction, after which both settings are back to the
    /// connection's. Such a query is planned once per connection, without its values (a generic plan), instead of
    /// at every execution: planning was half of PostgreSQL's CPU for a page served from the document cache (it
    /// weighs all 14 indexes of the table). Sorting is ruled out so that the plan is the order index's
    /// whatever the planner estimates: without the limit's value, a generic plan costs the query as if it kept a
    /// tenth of the rows, and on a server left at random_page_cost 4 with rows stored out of start-time order, a
    /// bitmap scan and a sort of that tenth could look cheaper than walking the index. Not seen here (40 and 3,000
    /// calls, in start-time order and not, and the benchmark's million: the plan is the index either way); ruling
    /// it out costs nothing. Being local to the transaction, the settings also hold behind PgBouncer.
    /// </summary>
    internal const string FixedPlanSettings = "SELECT set_config('plan_cache_mode', 'force_generic_plan', true), set_config('enable_sort', 'off', true)";

    /// <summary>
    /// A batch for one list query, its command last, after <see cref="FixedPlanSettings"/> when its plan is fixed
    /// or kept (<see cref="PostgresListQuery.HasKeptPlan"/>: the enable_sort setting leaves the merge of a driven
    /// query's lists as it is, since every plan of it sorts them);
    /// null when no call can match (<see cref="PostgresListQuery.TryBuild(long, CallQuery, NpgsqlCommand, PostgresListQuery.Columns, string?)"/>).
    /// </summary>
    NpgsqlBatch? ListBatch(long workspaceId, CallQuery query, PostgresListQuery.Columns columns, string? afterKey = null)
    {
        var command = new NpgsqlBatchCommand();
        if (!PostgresListQuery.TryBuild(workspaceId, query, command.Parameters, columns, afterKey, out var sql))
            return null;
        command.CommandText = sql;
        var batch = _dataSource.CreateBatch();
        if (PostgresListQuery.HasFixedPlan(query) || PostgresListQuery.HasKeptPlan(query, _frequencies.Of))
            batch.BatchCommands.Add(new NpgsqlBatchCommand(FixedPlanSettings));
        batch.BatchCommands.Add(command);
        return batch;
    }

    /// <summary>Runs a <see cref="ListBatch"/>; the reader is on the rows of its list query.</summary>
    static async Task<NpgsqlDataReader> ReadListAsync(NpgsqlBatch batch, CancellationToken ct)
    {
        var reader = await batch.ExecuteReaderAsync(ct);
        try
        {
            for (var i = 1; i < batch.BatchCommands.Count; i++)
                await reader.NextResultAsync(ct);
            return reader;
        }
        catch
        {
            await reader.DisposeAsync();
            throw;
        }
    }

    /// <summary>A page read in one query, documents included.</summary>
    async Task<CallPage> ReadPageAsync(long workspaceId, CallQuery query, string? afterKey, CancellationToken ct)
    {
        var page = CallPage.Create(query.Limit);
        try
        {
            await using var batch = ListBatch(workspaceId, query, PostgresListQuery.Columns.Documents, afterKey);
            if (batch is null)
                return page;
            await using var reader = await ReadListAsync(batch, ct);
            while (await reader.ReadAsync(ct))
                ReadDocument(reader, 0, page);
            return page;
        }
        catch
        {
            page.Dispose();
            throw;
        }
    }

    public async Task<int> UpsertCallsAsync(long workspaceId, IReadOnlyList<PreparedCall> calls, CancellationToken ct)
    {
        if (calls.Count == 0)
            return 0;
        foreach (var call in calls)
            CheckStorable(call);
        var batch = Collapse(calls);
        await RetryAsync(async () =>
        {
            await using var connection = await _dataSource.OpenConnectionAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            var now = Now();
            // Calls already opted out are locked but left alone by the first pass, then written opted out:
            // opting out is sticky even against an import that races with update-call in another process.
            var keptOptedOut = new List<PreparedCall>();
            foreach (var chunk in batch.Chunk(UpsertChunk))
            {
                var written = await UpsertAsync(connection, workspaceId, chunk, now, ct);
                if (written.Count < chunk.Length)
                    keptOptedOut.AddRange(chunk.Where(c => !written.Contains(c.CallId)).Select(CallDocuments.OptOut));
            }
            foreach (var chunk in keptOptedOut.Chunk(UpsertChunk))
                await UpsertAsync(connection, workspaceId, chunk, now, ct);
            await tx.CommitAsync(ct);
            return 0;
        }, ct);
        Forget(workspaceId, batch.Select(c => c.CallId));
        return calls.Count;
    }

    public Task<byte[]?> MutateCallAsync(long workspaceId, string callId, Func<byte[]?, PreparedCall?> change, CancellationToken ct) =>
        ReadModifyWriteAsync(workspaceId, callId, current => change(current?.Document) is { } next ? new Change(next, null, SetsMergeState: false) : null, ct);

    public Task<byte[]?> MergeCallAsync(long workspaceId, string callId, Func<StoredCall?, MergedCall?> change, CancellationToken ct) =>
        ReadModifyWriteAsync(workspaceId, callId, current => change(current) is { } next ? new Change(next.Call, next.MergeState, SetsMergeState: true) : null, ct);

    /// <summary>What a read-modify-write decided: the new call, and its merge state when that changes too.</summary>
    sealed record Change(PreparedCall Call, string? MergeState, bool SetsMergeState);

    /// <summary>
    /// Reads a call with its row locked (FOR UPDATE) and writes what <paramref name="change"/> makes of it, in
    /// one transaction. A call that does not exist yet cannot be locked: if another process inserts it in the
    /// meantime, the insert here does nothing and the whole step runs again, this time on the locked row, so
    /// <paramref name="change"/> may be called more than once.
    /// </summary>
    async Task<byte[]?> ReadModifyWriteAsync(long workspaceId, string callId, Func<StoredCall?, Change?> change, CancellationToken ct)
    {
        const string read = "SELECT packed_doc, merge_state FROM calls WHERE workspace_id = @ws AND call_id = @id FOR UPDATE";
        const string setState = "UPDATE calls SET merge_state = @state WHERE workspace_id = @ws AND call_id = @id";
        if (!IsStorable(callId))
            return change(null) is null ? null : throw new CallValidationException("call_id must not contain the NUL character");
        return await RetryAsync(async () =>
        {
            while (true)
            {
                await using var connection = await _dataSource.OpenConnectionAsync(ct);
                await using var tx = await connection.BeginTransactionAsync(ct);
                StoredCall? current = null;
                await using (var command = Command(new NpgsqlCommand(read, connection), ("ws", workspaceId), ("id", callId)))
                await using (var reader = await command.ExecuteReaderAsync(ct))
                    if (await reader.ReadAsync(ct))
                        current = new StoredCall(PostgresDocuments.Unpack(reader.GetFieldValue<byte[]>(0)), reader.IsDBNull(1) ? null : reader.GetString(1));
                var next = change(current);
                if (next is null)
                    return current?.Document;
                if (!string.Equals(next.Call.CallId, callId, StringComparison.Ordinal))
                    throw new InvalidOperationException("a mutation must not change the call id");
                CheckStorable(next.Call);
                var written = await UpsertAsync(connection, workspaceId, [next.Call], Now(), ct, insertOnly: current is null);
                if (written.Count == 0)
                    continue; // another process inserted it since we looked: read it again, locked this time
                if (next.SetsMergeState)
                    await ExecuteAsync(connection, setState, ct, ("ws", workspaceId), ("id", callId), ("state", next.MergeState));
                await tx.CommitAsync(ct);
                Forget(workspaceId, [callId]);
                return next.Call.Document;
            }
        }, ct);
    }

    public async Task<int> MergeCallsAsync(long workspaceId, IReadOnlyList<PreparedCall> calls, Func<StoredCall?, PreparedCall, MergedCall?> merge, CancellationToken ct)
    {
        // Locked in call id order, as Collapse orders an upsert: every writer takes its locks in one order.
        const string read = """
            SELECT call_id, packed_doc, merge_state, opted_out FROM calls
            WHERE workspace_id = @ws AND call_id = ANY(@ids)
            ORDER BY call_id
            FOR UPDATE
            """;
        const string setStates = """
            UPDATE calls SET merge_state = u.state
            FROM unnest(@ids, @states) AS u (call_id, state)
            WHERE calls.workspace_id = @ws AND calls.call_id = u.call_id
            """;
        if (calls.Count == 0)
            return 0;
        foreach (var call in calls)
            CheckStorable(call);
        var ids = calls.Select(c => c.CallId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        return await RetryAsync(async () =>
        {
            while (true)
            {
                await using var connection = await _dataSource.OpenConnectionAsync(ct);
                await using var tx = await connection.BeginTransactionAsync(ct);
                var stored = new Dictionary<string, (StoredCall Call, bool OptedOut)>(StringComparer.Ordinal);
                await using (var command = Command(new NpgsqlCommand(read, connection), ("ws", workspaceId), ("ids", ids)))
                await using (var reader = await command.ExecuteReaderAsync(ct))
                    while (await reader.ReadAsync(ct))
                        stored[reader.GetString(0)] = (new StoredCall(PostgresDocuments.Unpack(reader.GetFieldValue<byte[]>(1)), reader.IsDBNull(2) ? null : reader.GetString(2)), reader.GetBoolean(3));

                // Calls of one id merge one after the other; the last outcome is written.
                var outcomes = new Dictionary<string, MergedCall>(StringComparer.Ordinal);
                foreach (var given in calls)
                {
                    var existed = stored.TryGetValue(given.CallId, out var row);
                    var current = outcomes.TryGetValue(given.CallId, out var earlier) ? new StoredCall(earlier.Call.Document, earlier.MergeState) : existed ? row.Call : null;
                    if (merge(current, given) is not { } next)
                        continue;
                    if (!string.Equals(next.Call.CallId, given.CallId, StringComparison.Ordinal))
                        throw new InvalidOperationException("a merge must not change the call id");
                    CheckStorable(next.Call);
                    if (!next.Call.Columns.OptedOut && (existed && row.OptedOut || earlier is { Call.Columns.OptedOut: true }))
                        next = next with { Call = CallDocuments.OptOut(next.Call) };
                    outcomes[given.CallId] = next;
                }
                if (outcomes.Count == 0)
                    return 0;

                var now = Now();
                var inserts = outcomes.Where(o => !stored.ContainsKey(o.Key)).OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => o.Value.Call).ToArray();
                var raced = false;
                foreach (var chunk in inserts.Chunk(UpsertChunk))
                    raced |= (await UpsertAsync(connection, workspaceId, chunk, now, ct, insertOnly: true)).Count < chunk.Length;
                if (raced)
                    continue; // another process inserted some of them since we looked: read again, locked this time
                var updates = outcomes.Where(o => stored.ContainsKey(o.Key)).OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => o.Value.Call).ToArray();
                foreach (var chunk in updates.Chunk(UpsertChunk))
                    await UpsertAsync(connection, workspaceId, chunk, now, ct);
                await ExecuteAsync(connection, setStates, ct,
                    ("ws", workspaceId), ("ids", outcomes.Keys.ToArray()), ("states", outcomes.Values.Select(o => o.MergeState).ToArray()));
                await tx.CommitAsync(ct);
                Forget(workspaceId, outcomes.Keys);
                return outcomes.Count;
            }
        }, ct);
    }

    public async Task<bool> DeleteCallAsync(long workspaceId, string callId, CancellationToken ct)
    {
        const string sql = """
            WITH gone AS (
                DELETE FROM calls WHERE workspace_id = @ws AND call_id = @id
                RETURNING workspace_id, call_id, sort_key)
            INSERT INTO deleted_calls (workspace_id, call_id, sort_key, deleted_at)
            SELECT workspace_id, call_id, sort_key, @now FROM gone
            ON CONFLICT (workspace_id, call_id) DO UPDATE SET sort_key = excluded.sort_key, deleted_at = excluded.deleted_at
            """;
        if (!IsStorable(callId))
            return false;
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        var deleted = await ExecuteAsync(connection, sql, ct, ("ws", workspaceId), ("id", callId), ("now", Now())) > 0;
        Forget(workspaceId, [callId]);
        return deleted;
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    // ---- plumbing ----

    /// <summary>
    /// Drops calls this process wrote or deleted from its document cache. Not needed for what it serves (a
    /// written call has a new version), but an erased text (opted out) should not stay in memory.
    /// </summary>
    void Forget(long workspaceId, IEnumerable<string> callIds)
    {
        if (_documents is null)
            return;
        foreach (var callId in callIds)
            _documents.Forget(workspaceId, callId);
    }

    /// <summary>
    /// The batch in call id order with one entry per id, as if written one after the other: the last
    /// version of a call wins, opted out if any earlier version was. One order for every writer means two
    /// imports of the same calls lock them in the same order, and wait for each other instead of deadlocking.
    /// </summary>
    static List<PreparedCall> Collapse(IReadOnlyList<PreparedCall> calls)
    {
        var byId = new Dictionary<string, PreparedCall>(calls.Count, StringComparer.Ordinal);
        foreach (var call in calls)
            byId[call.CallId] = byId.TryGetValue(call.CallId, out var earlier) && earlier.Columns.OptedOut && !call.Columns.OptedOut
                ? CallDocuments.OptOut(call)
                : call;
        var batch = byId.Values.ToList();
        batch.Sort((a, b) => string.CompareOrdinal(a.CallId, b.CallId));
        return batch;
    }

    static void CheckStorable(PreparedCall call)
    {
        var c = call.Columns;
        if (!IsStorable(call.CallId) || !IsStorable(c.AgentId) || c.FromNumber is { } from && !IsStorable(from) || c.ToNumber is { } to && !IsStorable(to))
            throw new CallValidationException($"call {call.CallId.Replace("\0", "\\u0000")}: call_id, agent_id, from_number and to_number must not contain the NUL character");
    }

    const string InsertSql = """
        INSERT INTO calls AS c (
            workspace_id, call_id, sort_key, received_at, start_timestamp, agent_id, call_status, call_type,
            direction, from_number, to_number, user_sentiment, call_successful, in_voicemail,
            disconnection_reason, duration_ms, e2e_p50, opted_out, packed_doc)
        SELECT
            @ws, u.call_id, coalesce(u.start_timestamp, @now), @now, u.start_timestamp, u.agent_id, u.call_status, u.call_type,
            u.direction, u.from_number, u.to_number, u.user_sentiment, u.call_successful, u.in_voicemail,
            u.disconnection_reason, u.duration_ms, u.e2e_p50, u.opted_out, u.packed_doc
        FROM unnest(
            @call_id, @start_timestamp, @agent_id, @call_status, @call_type, @direction, @from_number, @to_number,
            @user_sentiment, @call_successful, @in_voicemail, @disconnection_reason, @duration_ms, @e2e_p50,
            @opted_out, @packed_doc)
            AS u (call_id, start_timestamp, agent_id, call_status, call_type, direction, from_number, to_number,
                  user_sentiment, call_successful, in_voicemail, disconnection_reason, duration_ms, e2e_p50,
                  opted_out, packed_doc)

        """;

    const string InsertIfAbsentSql = InsertSql + "ON CONFLICT DO NOTHING RETURNING c.call_id";

    const string UpsertSql = InsertSql + """
        ON CONFLICT (workspace_id, call_id) DO UPDATE SET
            sort_key = coalesce(excluded.start_timestamp, c.received_at),
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
            packed_doc = excluded.packed_doc,
            version = excluded.version
        -- A conflicting row that fails this test is still locked, and left as it is.
        WHERE excluded.opted_out OR NOT c.opted_out
        RETURNING c.call_id
        """;

    /// <summary>
    /// Inserts or replaces the calls in the given order; returns the ids written. A call already opted out
    /// is not replaced by one that is not (it is locked, and its id is missing from the answer). With
    /// <paramref name="insertOnly"/>, existing calls are left alone.
    /// </summary>
    static async Task<HashSet<string>> UpsertAsync(NpgsqlConnection connection, long workspaceId, IReadOnlyList<PreparedCall> calls, long now, CancellationToken ct, bool insertOnly = false)
    {
        await using var command = new NpgsqlCommand(insertOnly ? InsertIfAbsentSql : UpsertSql, connection);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter<long>("ws", workspaceId));
        p.Add(new NpgsqlParameter<long>("now", now));
        Column(p, "call_id", NpgsqlDbType.Text, calls, c => c.CallId);
        Column(p, "start_timestamp", NpgsqlDbType.Bigint, calls, c => c.Columns.StartTimestamp);
        Column(p, "agent_id", NpgsqlDbType.Text, calls, c => c.Columns.AgentId);
        Column(p, "call_status", NpgsqlDbType.Text, calls, c => c.Columns.CallStatus);
        Column(p, "call_type", NpgsqlDbType.Text, calls, c => c.Columns.CallType);
        Column(p, "direction", NpgsqlDbType.Text, calls, c => c.Columns.Direction);
        Column(p, "from_number", NpgsqlDbType.Text, calls, c => c.Columns.FromNumber);
        Column(p, "to_number", NpgsqlDbType.Text, calls, c => c.Columns.ToNumber);
        Column(p, "user_sentiment", NpgsqlDbType.Text, calls, c => c.Columns.UserSentiment);
        Column(p, "call_successful", NpgsqlDbType.Boolean, calls, c => c.Columns.CallSuccessful);
        Column(p, "in_voicemail", NpgsqlDbType.Boolean, calls, c => c.Columns.InVoicemail);
        Column(p, "disconnection_reason", NpgsqlDbType.Text, calls, c => c.Columns.DisconnectionReason);
        Column(p, "duration_ms", NpgsqlDbType.Bigint, calls, c => c.Columns.DurationMs);
        Column(p, "e2e_p50", NpgsqlDbType.Double, calls, c => c.Columns.E2eLatencyP50);
        Column(p, "opted_out", NpgsqlDbType.Boolean, calls, c => c.Columns.OptedOut);
        Column(p, "packed_doc", NpgsqlDbType.Bytea, calls, c => PostgresDocuments.Pack(c.Json.Span));
        var written = new HashSet<string>(calls.Count, StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            written.Add(reader.GetString(0));
        return written;
    }

    static void Column<T>(NpgsqlParameterCollection parameters, string name, NpgsqlDbType type, IReadOnlyList<PreparedCall> calls, Func<PreparedCall, T> value)
    {
        var values = new T[calls.Count];
        for (var i = 0; i < values.Length; i++)
            values[i] = value(calls[i]);
        parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | type) { Value = values });
    }

    /// <summary>
    /// Runs a transaction again when PostgreSQL aborted it to break a deadlock or a serialization conflict
    /// with another process; the aborted attempt wrote nothing.
    /// </summary>
    static async Task<T> RetryAsync<T>(Func<Task<T>> work, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await work();
            }
            catch (PostgresException ex) when (attempt < MaxAttempts && ex.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure)
            {
                await Task.Delay(Random.Shared.Next(5, 25 * attempt), ct);
            }
        }
    }

    long Now() => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    static NpgsqlCommand Command(NpgsqlCommand command, params (string Name, object? Value)[] parameters)
    {
        foreach (var (name, value) in parameters)
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }

    static async Task<int> ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken ct, params (string, object?)[] parameters)
    {
        await using var command = Command(new NpgsqlCommand(sql, connection), parameters);
        return await command.ExecuteNonQueryAsync(ct);
    }

    static async Task<object?> ScalarAsync(NpgsqlConnection connection, string sql, CancellationToken ct, params (string, object?)[] parameters)
    {
        await using var command = Command(new NpgsqlCommand(sql, connection), parameters);
        return await command.ExecuteScalarAsync(ct);
    }
}
