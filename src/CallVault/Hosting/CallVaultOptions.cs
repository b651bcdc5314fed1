using System.ComponentModel.DataAnnotations;
using CallVault.Store.Postgres;

namespace CallVault.Hosting;

/// <summary>Settings of the server, bound from the <c>CallVault</c> configuration section.</summary>
public sealed class CallVaultOptions
{
    public const string Section = "CallVault";

    /// <summary>SQLite file path, or a PostgreSQL URL (<c>postgresql://user:pass@host:port/db</c>).</summary>
    [Required(AllowEmptyStrings = false)]
    public string Database { get; set; } = "./callvault.db";

    /// <summary>
    /// PostgreSQL only: megabytes of call documents each server process keeps for list-calls pages of up to
    /// 100 calls, checked against the stored version at every read; 0 turns the cache off.
    /// </summary>
    [Range(0, 1 << 20)]
    public int DocumentCacheMb { get; set; } = (int)(PostgresCallStore.DefaultDocumentCacheBytes >> 20);

    /// <summary>Largest request body outside import-calls.</summary>
    [Range(1024, long.MaxValue)]
    public long MaxBodyBytes { get; set; } = 1 << 20;

    /// <summary>Largest import-calls body.</summary>
    [Range(1024, long.MaxValue)]
    public long MaxImportBytes { get; set; } = 64L << 20;

    /// <summary>Most calls in one import-calls request.</summary>
    [Range(1, int.MaxValue)]
    public int MaxImportCalls { get; set; } = 10_000;

    /// <summary>
    /// Adds a <c>Server-Timing</c> header to list-calls answers: the milliseconds the store took, and where the
    /// page's documents came from (<c>database</c>, <c>cache</c>, <c>cache+database</c>). For finding out where a
    /// request's time goes (the benchmark sets it); off by default, as timings tell clients about the server.
    /// </summary>
    public bool ServerTiming { get; set; }

    /// <summary>Maps the benchmark's fixed-answer endpoint (bench/run.sh sets it); never on by default.</summary>
    public bool BenchmarkEndpoints { get; set; }
}
