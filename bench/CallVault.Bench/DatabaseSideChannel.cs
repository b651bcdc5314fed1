using CallVault.Client.Models;
using CallVault.Store;
using CallVault.Store.Sqlite;
using Microsoft.Data.Sqlite;

namespace CallVault.Bench;

/// <summary>
/// What the benchmark asks the database directly, beside the API: bytes on disk, and rows read per row
/// returned for a list request (running the store's own query builder on a connection of its own).
/// </summary>
abstract class DatabaseSideChannel : IAsyncDisposable
{
    public static async Task<DatabaseSideChannel> OpenAsync(BenchOptions options)
    {
        DatabaseSideChannel channel = options.Store switch
        {
            "sqlite" => new SqliteSideChannel(options.Database),
            "postgres" => new PostgresSideChannel(options.Database),
            _ => throw new ArgumentException($"unknown store {options.Store}"),
        };
        await channel.OpenAsync();
        return channel;
    }

    protected abstract Task OpenAsync();

    /// <summary>Called once the import is done.</summary>
    public virtual Task AfterImportAsync() => Task.CompletedTask;

    public abstract Task<long> BytesOnDiskAsync();

    /// <summary>Rows the database visited per row returned, or null when it cannot tell.</summary>
    public abstract Task<double?> RowsReadAsync(ListCallsRequest request);

    public abstract ValueTask DisposeAsync();
}

sealed class SqliteSideChannel(string path) : DatabaseSideChannel
{
    readonly SqliteConnection _connection = new(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
    long _workspace;
    long _visited;

    protected override async Task OpenAsync()
    {
        await _connection.OpenAsync();
        _connection.CreateFunction(SqliteListQuery.RowsReadFunction, (long _) =>
        {
            _visited++;
            return true;
        }, isDeterministic: false);
        await using var command = _connection.CreateCommand();
        command.CommandText = "SELECT id FROM workspaces WHERE name = 'bench'";
        _workspace = (long)(await command.ExecuteScalarAsync())!;
    }

    public override Task<long> BytesOnDiskAsync() =>
        Task.FromResult(new[] { "", "-wal", "-shm" }.Select(suffix => new FileInfo(path + suffix)).Where(f => f.Exists).Sum(f => f.Length));

    public override async Task<double?> RowsReadAsync(ListCallsRequest request)
    {
        CallPosition? after = null;
        if (request.PaginationKey is { } key)
        {
            await using var find = _connection.CreateCommand();
            find.CommandText = "SELECT sort_key FROM calls WHERE workspace_id = $ws AND call_id = $id";
            find.Parameters.AddWithValue("$ws", _workspace);
            find.Parameters.AddWithValue("$id", key);
            after = new CallPosition((long)(await find.ExecuteScalarAsync())!, key);
        }
        var query = new CallQuery(request.FilterCriteria, request.SortOrder == SortOrder.Ascending, request.Limit ?? 50, after);
        await using var command = _connection.CreateCommand();
        command.CommandText = SqliteListQuery.Build(_workspace, query, command.Parameters, countRowsRead: true);
        _visited = 0;
        var rows = 0;
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                rows++;
        return rows == 0 ? _visited : (double)_visited / rows;
    }

    public override async ValueTask DisposeAsync() => await _connection.DisposeAsync();
}
