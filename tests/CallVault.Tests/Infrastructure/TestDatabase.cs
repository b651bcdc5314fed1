namespace CallVault.Tests.Infrastructure;

/// <summary>
/// A new, empty database for one test. SQLite by default (a file in a temporary folder); PostgreSQL when
/// CALLVAULT_TEST_STORE=postgres, using the server named by CALLVAULT_TEST_POSTGRES (a connection URL), where
/// each test gets a database of its own.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    public string ConnectionString { get; }
    readonly Func<ValueTask> _drop;

    TestDatabase(string connectionString, Func<ValueTask> drop)
    {
        ConnectionString = connectionString;
        _drop = drop;
    }

    public static bool UsesPostgres =>
        string.Equals(Environment.GetEnvironmentVariable("CALLVAULT_TEST_STORE"), "postgres", StringComparison.OrdinalIgnoreCase);

    public static async Task<TestDatabase> CreateAsync()
    {
        if (UsesPostgres)
            return await CreatePostgresAsync();
        var folder = Directory.CreateTempSubdirectory("callvault-test-");
        return new TestDatabase(Path.Combine(folder.FullName, "calls.db"), () =>
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { folder.Delete(recursive: true); } catch (IOException) { }
            return ValueTask.CompletedTask;
        });
    }

    static Task<TestDatabase> CreatePostgresAsync() =>
        throw new NotSupportedException("PostgreSQL test databases are not wired up yet");

    public ValueTask DisposeAsync() => _drop();
}
