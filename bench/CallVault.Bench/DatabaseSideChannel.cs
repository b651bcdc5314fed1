using CallVault.Client.Models;
using CallVault.Store;
using CallVault.Store.Sqlite;
using System.IO.MemoryMappedFiles;
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

    /// <summary>
    /// Brings the store into memory before anything is timed, and keeps it there until disposed: the targets are
    /// for a warm cache (issue 3). Returns the bytes brought in.
    /// </summary>
    public abstract Task<long> WarmCacheAsync();

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

    IEnumerable<FileInfo> Files => new[] { "", "-wal", "-shm" }.Select(suffix => new FileInfo(path + suffix)).Where(f => f.Exists);

    public override Task<long> BytesOnDiskAsync() => Task.FromResult(Files.Sum(f => f.Length));

    /// <summary>
    /// Maps the database files into this process and touches every page, and keeps them mapped until disposed.
    /// </summary>
    /// <remarks>
    /// Reading the files through once is not enough on the benchmark's virtual machine: the kernel's DAMON
    /// reclaim (kdamond; its scheme is in /sys/kernel/mm/damon/admin) pages out file pages that no process maps and
    /// nobody has read for about a minute, at up to 128 MB/s, with most of the memory free. The server reads
    /// SQLite's files with pread, so between the warm-up and the timed requests of a shape the pages of the
    /// agents, days and ranges it had not touched lately went back to the disk, and those requests read them
    /// again: what is measured is then this machine's disk, not the store with a warm cache. Mapped pages are
    /// not paged out by that scheme; the server still reads them with pread, from the same page cache.
    /// </remarks>
    public override Task<long> WarmCacheAsync()
    {
        var total = 0L;
        foreach (var file in Files.Where(f => f.Length > 0))
        {
            var map = MemoryMappedFile.CreateFromFile(
                new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.ReadWrite), null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            _mapped.Add((map, view));
            for (var offset = 0L; offset < file.Length; offset += 4096)
                _ = view.ReadByte(offset); // a read fault brings the page in and maps it here
            total += file.Length;
        }
        return Task.FromResult(total);
    }

    readonly List<(MemoryMappedFile Map, MemoryMappedViewAccessor View)> _mapped = [];

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

    public override async ValueTask DisposeAsync()
    {
        foreach (var (map, view) in _mapped)
        {
            view.Dispose();
            map.Dispose();
        }
        await _connection.DisposeAsync();
    }
}
