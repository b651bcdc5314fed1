using System.ComponentModel;
using Spectre.Console.Cli;

namespace CallVault.Cli;

/// <summary>Settings of every verb that opens the store.</summary>
class StoreSettings : CommandSettings
{
    public const string DefaultDatabase = "./callvault.db";

    [CommandOption("--db <PATH>")]
    [Description("SQLite file, or a PostgreSQL URL postgresql://user:pass@host:port/db. Default: $CALLVAULT_DB, else ./callvault.db.")]
    public string? Db { get; init; }

    /// <summary>The database named by --db, else CALLVAULT_DB, else null (the default applies).</summary>
    public string? ExplicitDatabase => Db ?? NonEmpty(Environment.GetEnvironmentVariable("CALLVAULT_DB"));

    public string Database => ExplicitDatabase ?? DefaultDatabase;

    static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
