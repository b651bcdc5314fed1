using CallVault.Store.Postgres;
using CallVault.Store.Sqlite;

namespace CallVault.Store;

/// <summary>Opens the store a <c>--db</c> value names: a PostgreSQL URL or connection string, else a SQLite file path.</summary>
public static class CallStores
{
    public static bool IsPostgres(string database) =>
        PostgresConnectionStrings.IsUrl(database)
        || database.Contains("Host=", StringComparison.OrdinalIgnoreCase);

    /// <param name="database">A PostgreSQL URL or connection string, else a SQLite file path.</param>
    /// <param name="clock">The time calls are received at.</param>
    /// <param name="documentCacheBytes">PostgreSQL only: bytes of documents a process keeps for list-calls; 0 for none.</param>
    public static ICallStore Open(string database, TimeProvider? clock = null, long documentCacheBytes = PostgresCallStore.DefaultDocumentCacheBytes)
    {
        if (string.IsNullOrWhiteSpace(database))
            throw new ArgumentException("the database setting (--db or CALLVAULT_DB) is empty", nameof(database));
        if (IsPostgres(database))
            return new PostgresCallStore(database, clock, documentCacheBytes);
        return new SqliteCallStore(database, clock);
    }

    /// <summary>Opens and migrates.</summary>
    public static async Task<ICallStore> OpenAsync(string database, CancellationToken ct)
    {
        var store = Open(database);
        try
        {
            await store.MigrateAsync(ct);
            return store;
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
    }
}
