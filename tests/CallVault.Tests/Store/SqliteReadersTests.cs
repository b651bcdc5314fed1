using CallVault.Store.Sqlite;
using CallVault.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace CallVault.Tests.Store;

/// <summary>
/// The SQLite store's pool of read connections lends the reader returned last, whichever thread asks: requests
/// that come one after another then share one warm page cache (issue 3).
/// </summary>
public sealed class SqliteReadersTests
{
    static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task TheReaderReturnedLastIsLentNextEvenToAnotherThread()
    {
        using var folder = new SqliteFolder();
        var connectionString = new SqliteConnectionStringBuilder { DataSource = folder.DatabasePath, Pooling = false }.ToString();
        await using var readers = new SqliteReaders(connectionString);

        // Three readers at once, as under load, given back in turn by one thread.
        var lent = new List<SqliteReaders.Reader>();
        for (var i = 0; i < 3; i++)
            lent.Add(await readers.RentAsync(None));
        foreach (var reader in lent)
        {
            reader.Complete();
            await reader.DisposeAsync();
        }
        Assert.Equal(lent.AsEnumerable().Reverse(), readers.Idle());

        // Requests one after another, each on a thread of its own: every one gets the reader returned last.
        for (var i = 0; i < 5; i++)
        {
            var got = await RunOnNewThread(async () =>
            {
                var reader = await readers.RentAsync(None);
                reader.Complete();
                await reader.DisposeAsync();
                return reader;
            });
            Assert.Same(lent[^1], got);
        }
        Assert.Equal(3, readers.Idle().Count);
    }

    static Task<T> RunOnNewThread<T>(Func<Task<T>> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                done.SetResult(work().GetAwaiter().GetResult());
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        });
        thread.Start();
        return done.Task;
    }
}
