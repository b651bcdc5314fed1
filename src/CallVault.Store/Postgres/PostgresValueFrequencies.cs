using Npgsql;

namespace CallVault.Store.Postgres;

/// <summary>
/// How common the values of the flag columns are in the calls table: the fraction of its rows holding each, from
/// the most common values that ANALYZE (or autovacuum) records in <c>pg_stats</c>, which is what PostgreSQL's own
/// planner goes by. Read once, then again in the background when older than <see cref="Refresh"/>; until the first
/// read, or without statistics (a table never analyzed), every value counts as rare, which keeps every query
/// planned with its values (<see cref="PostgresListQuery.HasKeptPlan"/>).
/// </summary>
sealed class PostgresValueFrequencies(NpgsqlDataSource dataSource)
{
    /// <summary>The columns <c>calls_by_agent_filtered</c> carries after the list order, which a query may test in that index.</summary>
    public static readonly IReadOnlyList<string> Columns = ["call_successful", "in_voicemail", "direction", "call_status", "user_sentiment"];

    /// <summary>How long a read of the statistics is used before it is read again.</summary>
    public static readonly TimeSpan Refresh = TimeSpan.FromMinutes(5);

    const string Sql = """
        SELECT attname::text, most_common_vals::text::text[], most_common_freqs
        FROM pg_stats
        WHERE schemaname = current_schema() AND tablename = 'calls' AND attname::text = ANY(@columns) AND NOT inherited
        """;

    IReadOnlyDictionary<(string Column, string Value), double> _frequencies = new Dictionary<(string, string), double>();
    long _readAtMs = long.MinValue;
    int _reading;

    /// <summary>
    /// The fraction of the table's rows whose <paramref name="column"/> holds one of <paramref name="values"/> (as
    /// PostgreSQL writes them: <c>t</c> and <c>f</c> for booleans); 0 for a value not among the most common.
    /// </summary>
    public double Of(string column, IEnumerable<string> values)
    {
        RefreshIfOld();
        var frequencies = Volatile.Read(ref _frequencies);
        return values.Distinct(StringComparer.Ordinal).Sum(value => frequencies.GetValueOrDefault((column, value)));
    }

    /// <summary>Reads the statistics now (tests; a process reads them by itself on first use).</summary>
    public async Task ReadAsync(CancellationToken ct)
    {
        var frequencies = new Dictionary<(string, string), double>();
        await using (var command = dataSource.CreateCommand(Sql))
        {
            command.Parameters.AddWithValue("columns", Columns.ToArray());
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                if (await reader.IsDBNullAsync(1, ct) || await reader.IsDBNullAsync(2, ct))
                    continue;
                var column = reader.GetString(0);
                var values = reader.GetFieldValue<string[]>(1);
                var freqs = reader.GetFieldValue<float[]>(2);
                for (var i = 0; i < Math.Min(values.Length, freqs.Length); i++)
                    frequencies[(column, values[i])] = freqs[i];
            }
        }
        Volatile.Write(ref _frequencies, frequencies);
        Interlocked.Exchange(ref _readAtMs, Environment.TickCount64);
    }

    void RefreshIfOld()
    {
        var readAt = Interlocked.Read(ref _readAtMs);
        if ((readAt != long.MinValue && Environment.TickCount64 - readAt < Refresh.TotalMilliseconds)
            || Interlocked.Exchange(ref _reading, 1) == 1)
            return;
        _ = Task.Run(async () =>
        {
            try
            {
                await ReadAsync(CancellationToken.None);
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or InvalidCastException)
            {
                // Without statistics every query stays planned with its values; read again after Refresh.
                Interlocked.Exchange(ref _readAtMs, Environment.TickCount64);
            }
            finally
            {
                Volatile.Write(ref _reading, 0);
            }
        });
    }
}
