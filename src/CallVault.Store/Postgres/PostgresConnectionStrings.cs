using System.Data.Common;
using Npgsql;

namespace CallVault.Store.Postgres;

/// <summary>
/// Turns a <c>--db</c> value into an Npgsql connection string: a URL
/// <c>postgresql://user:password@host:port/database?sslmode=require</c> (user, password and database
/// percent-decoded), or an Npgsql connection string (<c>Host=...;Username=...</c>) taken as it is.
/// </summary>
public static class PostgresConnectionStrings
{
    /// <summary>URL query parameters (libpq names) and the Npgsql settings they set.</summary>
    static readonly Dictionary<string, string> UrlParameters = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sslmode"] = "SSL Mode",
        ["application_name"] = "Application Name",
        ["connect_timeout"] = "Timeout",
        ["options"] = "Options",
        ["target_session_attrs"] = "Target Session Attributes",
        ["sslrootcert"] = "Root Certificate",
        ["sslcert"] = "SSL Certificate",
        ["sslkey"] = "SSL Key",
        ["sslpassword"] = "SSL Password",
        ["keepalives_idle"] = "Keepalive",
    };

    /// <summary>Connections a process keeps to the database unless told otherwise: twice its cores, at least 4.</summary>
    public static int DefaultMaxPoolSize { get; } = Math.Max(4, 2 * Environment.ProcessorCount);

    public static bool IsUrl(string database) =>
        database.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
        || database.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase);

    /// <exception cref="ArgumentException">The value is neither a usable URL nor a connection string; the message says why.</exception>
    public static string From(string database)
    {
        var builder = IsUrl(database) ? FromUrl(database) : FromConnectionString(database);
        if (string.IsNullOrEmpty(builder.ApplicationName))
            builder.ApplicationName = "CallVault";
        ApplyDefaults(builder);
        return builder.ConnectionString;
    }

    /// <summary>
    /// Pool and protocol settings measured on the list-calls benchmark (docs/scaling.md), each applied only
    /// where the connection string leaves Npgsql's default: a value given in the URL or string wins.
    /// </summary>
    static void ApplyDefaults(NpgsqlConnectionStringBuilder builder)
    {
        // The store runs a few dozen distinct statements (the list query is built from fixed fragments), so
        // preparing each one once it has been used on a connection a few times (Npgsql: 5) skips parsing and
        // analysis on every later request, and lets a query with a fixed or kept plan reuse it.
        // (Keys as Npgsql writes them back, whatever synonym the operator used.)
        var given = new DbConnectionStringBuilder { ConnectionString = builder.ConnectionString };
        if (!given.ContainsKey("Max Auto Prepare"))
            builder.MaxAutoPrepare = 64;
        // Npgsql lends idle connections first in, first out: after a burst of load opened dozens, every request
        // goes to another backend, whose prepared statements and caches are the coldest, and a statement reaches
        // its preparation on each of them late or never. A pool the size of what the machine can run at once
        // keeps each backend busy and its statements prepared: on 2 cores, pages of 50 read with their documents
        // took the store 0.6-1.6 ms with 4 connections against 1.2-3.1 ms with Npgsql's 100 (8 connections: as
        // with 100), and the mixed load ran as fast or faster (bench/RESULTS.md, "What session 19 measured").
        // Requests beyond it wait for a connection, asynchronously. A database on a machine of its own with more
        // cores may want more: Maximum Pool Size in the URL or string.
        if (!given.ContainsKey("Maximum Pool Size"))
            builder.MaxPoolSize = DefaultMaxPoolSize;
        // The store keeps no session state on a connection (advisory locks and temporary tables are
        // transaction-scoped), so a connection going back to the pool needs no reset, which would
        // cost server work on every request.
        if (!given.ContainsKey("No Reset On Close"))
            builder.NoResetOnClose = true;
        // A page of 1000 calls is about 5 MB: read it in 64 kB pieces, not 8 kB ones.
        if (!given.ContainsKey("Read Buffer Size"))
            builder.ReadBufferSize = 64 * 1024;
        if (!given.ContainsKey("Write Buffer Size"))
            builder.WriteBufferSize = 64 * 1024;
    }

    static NpgsqlConnectionStringBuilder FromConnectionString(string database)
    {
        try
        {
            return new NpgsqlConnectionStringBuilder(database);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"the PostgreSQL connection string is not valid: {ex.Message}", nameof(database));
        }
    }

    static NpgsqlConnectionStringBuilder FromUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
            throw new ArgumentException("the PostgreSQL URL is not valid; expected postgresql://user:password@host:port/database", nameof(url));
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.DnsSafeHost, // without the brackets of an IPv6 address
            Port = uri.Port > 0 ? uri.Port : 5432,
        };
        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length > 0)
            builder.Database = database;
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':');
            builder.Username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            if (colon >= 0)
                builder.Password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
        }
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=');
            var name = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]);
            var value = equals < 0 ? "" : Uri.UnescapeDataString(pair[(equals + 1)..].Replace('+', ' '));
            try
            {
                builder[UrlParameters.GetValueOrDefault(name, name)] = value;
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidCastException)
            {
                // The message names the parameter, never the URL: the URL may hold a password.
                throw new ArgumentException($"the PostgreSQL URL parameter '{name}' is not supported or has a bad value", nameof(url));
            }
        }
        return builder;
    }
}
