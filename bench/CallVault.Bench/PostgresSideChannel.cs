using System.Text.Json;
using CallVault.Client.Models;
using CallVault.Store;
using CallVault.Store.Postgres;
using Npgsql;

namespace CallVault.Bench;

/// <summary>
/// PostgreSQL beside the API: table and index sizes, and rows read per row returned from
/// EXPLAIN (ANALYZE, BUFFERS) of the store's own list query: every scan's rows, those its filter removed
/// included, times its loops.
/// </summary>
/// <remarks>
/// These are table rows. Index entries that an index condition on a later key column skips inside the index
/// (the latency range and the flags on <c>calls_by_order_filtered</c> and <c>calls_by_agent_filtered</c>)
/// cost no table read, and EXPLAIN does not report them, so they are not counted.
/// </remarks>
sealed class PostgresSideChannel(string url) : DatabaseSideChannel
{
    NpgsqlDataSource _source = null!;
    long _workspace;

    protected override async Task OpenAsync()
    {
        _source = NpgsqlDataSource.Create(PostgresConnectionStrings.From(url));
        await using var command = _source.CreateCommand("SELECT id FROM workspaces WHERE name = 'bench'");
        _workspace = (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>
    /// Statistics as autovacuum would leave them after a bulk load, so that the planner knows the table; then a
    /// checkpoint, so that the timed requests do not run beside PostgreSQL writing the import's gigabytes back
    /// to its files (with checkpoint_timeout 15 min that would last the whole run). The SQLite store is in the
    /// same state at this point: the restart before serving copied its WAL back into the database file.
    /// </summary>
    public override async Task AfterImportAsync()
    {
        foreach (var sql in new[] { "VACUUM ANALYZE calls", "CHECKPOINT" })
        {
            await using var command = _source.CreateCommand(sql);
            command.CommandTimeout = 0;
            await command.ExecuteNonQueryAsync();
        }
    }

    /// <summary>
    /// Loads the calls table and every one of its indexes into the shared buffers with pg_prewarm (a contrib
    /// module shipped in Debian's server package); the benchmark's cluster has shared buffers larger than a
    /// million calls take.
    /// </summary>
    public override async Task<long> WarmCacheAsync()
    {
        const string sql = """
            CREATE EXTENSION IF NOT EXISTS pg_prewarm;
            SELECT sum(pg_prewarm(relation) * current_setting('block_size')::bigint)::bigint
            FROM (SELECT 'calls'::regclass AS relation
                  UNION ALL SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'calls'::regclass) AS relations;
            """;
        await using var command = _source.CreateCommand(sql);
        command.CommandTimeout = 0;
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public override async Task<long> BytesOnDiskAsync()
    {
        await using var command = _source.CreateCommand("SELECT pg_total_relation_size('calls') + pg_total_relation_size('deleted_calls')");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public override async Task<double?> RowsReadAsync(ListCallsRequest request)
    {
        CallPosition? after = null;
        if (request.PaginationKey is { } key)
        {
            await using var find = _source.CreateCommand("SELECT sort_key FROM calls WHERE workspace_id = $1 AND call_id = $2");
            find.Parameters.AddWithValue(_workspace);
            find.Parameters.AddWithValue(key);
            after = new CallPosition((long)(await find.ExecuteScalarAsync())!, key);
        }
        var query = new CallQuery(request.FilterCriteria, request.SortOrder == SortOrder.Ascending, request.Limit ?? 50, after);
        await using var connection = await _source.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        if (!PostgresListQuery.TryBuild(_workspace, query, command))
            return null;
        command.CommandText = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + command.CommandText;
        var json = (string)(await command.ExecuteScalarAsync())!;
        using var plan = JsonDocument.Parse(json);
        var root = plan.RootElement[0].GetProperty("Plan");
        var returned = root.GetProperty("Actual Rows").GetDouble() * root.GetProperty("Actual Loops").GetDouble();
        var read = ScanRows(root);
        return returned == 0 ? read : read / returned;
    }

    static double ScanRows(JsonElement node)
    {
        var rows = 0.0;
        if (node.GetProperty("Node Type").GetString()!.Contains("Scan", StringComparison.Ordinal) && node.TryGetProperty("Relation Name", out _))
        {
            double Get(string name) => node.TryGetProperty(name, out var v) ? v.GetDouble() : 0;
            rows += (Get("Actual Rows") + Get("Rows Removed by Filter") + Get("Rows Removed by Index Recheck")) * Get("Actual Loops");
        }
        if (node.TryGetProperty("Plans", out var children))
            foreach (var child in children.EnumerateArray())
                rows += ScanRows(child);
        return rows;
    }

    public override async ValueTask DisposeAsync() => await _source.DisposeAsync();
}
