using System.Text.Json;
using System.Text.Json.Nodes;
using CallVault.Client.Models;
using CallVault.Store;
using CallVault.Store.Sqlite;
using Microsoft.Data.Sqlite;

namespace CallVault.Tests.Store;

/// <summary>
/// The duration and latency indexes of the SQLite store are led by value classes (migration 5), and a range seeks
/// on the classes of its bounds. A value whose class fell outside its bounds' classes would silently drop out of
/// the page, so the map must never decrease, on every number a call can hold, and stores filled before the
/// migration must get the new indexes over all their calls.
/// </summary>
public sealed class SqliteValueBucketTests : IDisposable
{
    static readonly CancellationToken None = CancellationToken.None;
    readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("callvault-buckets-");

    string DatabasePath => Path.Combine(_folder.FullName, "calls.db");

    [Fact]
    public void ALargerNumberNeverHasASmallerClass()
    {
        var random = new Random(5);
        var values = new List<double> { 0.0, -0.0, double.Epsilon, -double.Epsilon, 1, -1, 2, 1024, 1023.999, 1_000_000, double.MaxValue, double.MinValue };
        for (var i = 0; i < 20_000; i++)
            values.Add(random.Next(4) switch
            {
                0 => random.Next(-1_000_000, 10_000_000), // whole milliseconds
                1 => Math.Round(random.NextDouble() * 5000, 1), // latencies as Retell reports them
                2 => (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-5, 12)),
                _ => Math.Pow(2, random.Next(-10, 40)) * (1 + random.Next(64) / 64.0), // the edges of the classes
            });
        // The smallest steps around each value: where log2 may round to the next exponent.
        values.AddRange([.. values.Select(Math.BitIncrement), .. values.Select(Math.BitDecrement)]);
        var sorted = values.Distinct().Order().ToList();
        using var classes = new ClassQuery();
        var previous = classes.Of(sorted[0]);
        for (var i = 1; i < sorted.Count; i++)
        {
            var current = classes.Of(sorted[i]);
            Assert.True(previous <= current, $"{sorted[i - 1]:R} is in class {previous}, {sorted[i]:R} in {current}");
            previous = current;
        }
    }

    [Fact]
    public void ClassesAreNarrowEnoughToSeekOnAndTheSameForIntegersAndReals()
    {
        using var classes = new ClassQuery();
        // 64 classes per doubling: 1500 ms and 1530 ms (2% apart) are never in one class, 1500 and 1501 are.
        Assert.NotEqual(classes.Of(1500.0), classes.Of(1530.0));
        Assert.Equal(classes.Of(1500.0), classes.Of(1501.0));
        Assert.Equal(classes.Of(1024.0) + 64, classes.Of(2048.0));
        Assert.Equal(classes.Of(1024.0) + 1, classes.Of(1040.0));
        Assert.Equal(classes.Of(1024.0), classes.Of(Math.BitDecrement(1040.0)));
        Assert.Equal(classes.Of(0.0), classes.Of(-3.5));
        Assert.True(classes.Of(0.0) < classes.Of(double.Epsilon));
        Assert.Equal(classes.Of(600_000L), classes.Of(600_000.0));
    }

    /// <summary>Evaluates the class expression in SQLite, as the indexes and the queries do.</summary>
    sealed class ClassQuery : IDisposable
    {
        readonly SqliteConnection _connection = new("Data Source=:memory:");
        readonly SqliteCommand _command;
        readonly SqliteParameter _value;

        public ClassQuery()
        {
            _connection.Open();
            _command = _connection.CreateCommand();
            _command.CommandText = "SELECT " + ValueBuckets.Of("$v");
            _value = _command.Parameters.Add("$v", SqliteType.Real);
        }

        public double Of(object value)
        {
            _value.Value = value;
            return Convert.ToDouble(_command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }

        public void Dispose()
        {
            _command.Dispose();
            _connection.Dispose();
        }
    }

    [Fact]
    public async Task RangesBoundedOnClassEdgesReturnExactlyTheCallsInside()
    {
        // Values on both sides of class edges, the smallest step away, zero and a negative latency.
        double[] latencies = [0, -3.5, 1024, Math.BitDecrement(1024), Math.BitIncrement(1024), 1040, 1039.9, 1041, 2048, 1500.5, 1530, 1499.9];
        long[] durations = [0, 1, 1023, 1024, 1025, 65_536, 65_535, 65_537, 600_000, 599_999];
        await using var store = new SqliteCallStore(DatabasePath);
        await store.MigrateAsync(None);
        var ws = (await store.GetOrCreateWorkspaceAsync("acme", None)).Id;
        var calls = new List<(string Id, double Latency, long Duration)>();
        for (var i = 0; i < latencies.Length * durations.Length; i++)
            calls.Add(($"call_{i:D4}", latencies[i % latencies.Length], durations[i % durations.Length]));
        await store.UpsertCallsAsync(ws, [.. calls.Select((c, i) => Call(c.Id, c.Latency, c.Duration, 1_700_000_000_000L + i))], None);

        var bounds = latencies.Concat(durations.Select(d => (double)d)).Distinct().ToList();
        foreach (var lower in bounds.Prepend(double.NaN))
            foreach (var upper in bounds.Prepend(double.NaN))
            {
                var range = new Threshold { LowerThreshold = double.IsNaN(lower) ? null : lower, UpperThreshold = double.IsNaN(upper) ? null : upper };
                if (range.LowerThreshold is null && range.UpperThreshold is null)
                    continue;
                bool Inside(double v) => (range.LowerThreshold is not { } lo || v >= lo) && (range.UpperThreshold is not { } hi || v <= hi);
                Assert.Equal(Expected(calls.Where(c => Inside(c.Latency)).Select(c => c.Id)), await ListAsync(store, ws, new CallFilter { E2eLatencyP50 = range }));
                Assert.Equal(Expected(calls.Where(c => Inside(c.Duration)).Select(c => c.Id)), await ListAsync(store, ws, new CallFilter { DurationMs = range }));
            }
    }

    [Fact]
    public async Task AStoreFilledBeforeTheValueClassesGetsTheirIndexesWhenItIsOpened()
    {
        var calls = Enumerable.Range(0, 300).Select(i => (Id: $"call_{i:D4}", Latency: 500 + i * 7.5, Duration: 10_000L + i * 3_000)).ToList();
        await using (var store = new SqliteCallStore(DatabasePath))
        {
            await store.MigrateAsync(None);
            var ws = (await store.GetOrCreateWorkspaceAsync("acme", None)).Id;
            await store.UpsertCallsAsync(ws, [.. calls.Select((c, i) => Call(c.Id, c.Latency, c.Duration, 1_700_000_000_000L + i))], None);
        }
        await RollBackToSchema4Async();

        await using (var store = new SqliteCallStore(DatabasePath))
        {
            await store.MigrateAsync(None);
            var ws = (await store.FindWorkspaceAsync("acme", None))!.Id;
            var latency = new Threshold { LowerThreshold = 1000, UpperThreshold = 1600 };
            var duration = new Threshold { LowerThreshold = 400_000 };
            Assert.Equal(Expected(calls.Where(c => c.Latency is >= 1000 and <= 1600).Select(c => c.Id)),
                await ListAsync(store, ws, new CallFilter { E2eLatencyP50 = latency }));
            Assert.Equal(Expected(calls.Where(c => c.Duration >= 400_000).Select(c => c.Id)),
                await ListAsync(store, ws, new CallFilter { DurationMs = duration }));
        }
    }

    /// <summary>Makes the test's database what a store of schema 4 left: the range indexes by value alone.</summary>
    async Task RollBackToSchema4Async()
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            DROP INDEX calls_by_duration;
            DROP INDEX calls_by_e2e_p50;
            CREATE INDEX calls_by_duration ON calls (workspace_id, duration_ms) WHERE duration_ms IS NOT NULL;
            CREATE INDEX calls_by_e2e_p50 ON calls (workspace_id, e2e_p50) WHERE e2e_p50 IS NOT NULL;
            PRAGMA user_version = 4;
            """;
        await command.ExecuteNonQueryAsync();
    }

    static PreparedCall Call(string id, double latency, long duration, long start) => CallDocuments.FromNode(new JsonObject
    {
        ["call_id"] = id,
        ["agent_id"] = "agent_1",
        ["call_type"] = "web_call",
        ["call_status"] = "ended",
        ["start_timestamp"] = start,
        ["end_timestamp"] = start + duration,
        ["latency"] = new JsonObject { ["e2e"] = new JsonObject { ["p50"] = latency } },
    });

    /// <summary>The ids in list order (newest first; the test's calls start in id order).</summary>
    static List<string> Expected(IEnumerable<string> ids) => [.. ids.OrderDescending(StringComparer.Ordinal)];

    static async Task<List<string>> ListAsync(SqliteCallStore store, long ws, CallFilter filter)
    {
        var docs = await store.ListCallsAsync(ws, new CallQuery(filter, false, 1000, null), None);
        return [.. docs.Select(d => JsonDocument.Parse(d).RootElement.GetProperty("call_id").GetString()!)];
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _folder.Delete(recursive: true);
    }
}
