using CallVault.Store.Postgres;
using Npgsql;

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

    /// <summary>The PostgreSQL server the tests use (a URL or an Npgsql connection string).</summary>
    public static string PostgresServer =>
        Environment.GetEnvironmentVariable("CALLVAULT_TEST_POSTGRES") is { Length: > 0 } server
            ? server
            : throw new InvalidOperationException(
                "CALLVAULT_TEST_STORE=postgres needs CALLVAULT_TEST_POSTGRES, the URL of a PostgreSQL server (scripts/postgres.sh start prints one)");

    static async Task<TestDatabase> CreatePostgresAsync()
    {
        var server = new NpgsqlConnectionStringBuilder(PostgresConnectionStrings.From(PostgresServer));
        // A database name cannot be a parameter; this one is built from a GUID only.
        var name = "callvault_test_" + Guid.NewGuid().ToString("N");
        await using (var admin = new NpgsqlConnection(server.ConnectionString))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", admin);
            await create.ExecuteNonQueryAsync();
        }
        var database = new NpgsqlConnectionStringBuilder(server.ConnectionString) { Database = name };
        return new TestDatabase(database.ConnectionString, async () =>
        {
            await using var admin = new NpgsqlConnection(server.ConnectionString);
            await admin.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", admin);
            await drop.ExecuteNonQueryAsync();
        });
    }

    public ValueTask DisposeAsync() => _drop();
}
