using System.Globalization;
using System.Text.RegularExpressions;
using CallVault.Client.Models;
using CallVault.Store;
using CallVault.Store.Postgres;
using CallVault.Tests.Infrastructure;
using Npgsql;

namespace CallVault.Tests.Store;

/// <summary>
/// A list query whose plan cannot depend on its values (<see cref="PostgresListQuery.HasFixedPlan"/>) is planned
/// once per connection without them, sorting ruled out; every other query is planned with its values at each
/// execution, and the settings that do this for one query do not stay on the connection. The plan checks run only
/// in the PostgreSQL suite (CALLVAULT_TEST_STORE=postgres).
/// </summary>
public class PostgresFixedPlanTests
{
    static readonly CancellationToken None = CancellationToken.None;

    /// <summary>Queries of every fixed-plan form: no filter, either order, a start time range, a cursor.</summary>
    static readonly CallQuery[] FixedPlanQueries =
    [
        new(null, false, 5, null),
        new(new CallFilter(), true, 5, null),
        new(new CallFilter { StartTimestamp = new Threshold { LowerThreshold = 1010, UpperThreshold = 1030 } }, false, 5, null),
        new(new CallFilter { StartTimestamp = new Threshold { UpperThreshold = 1030 }, AgentId = [] }, true, 5, new CallPosition(1020, "c20")),
        new(null, false, 5, new CallPosition(1020, "c20")),
    ];

    /// <summary>
    /// Queries driven by a list of agents whose other filters are common values of flags the agent index carries
    /// (in <see cref="SeedAsync"/>'s calls, a third failed): their plan is kept (<see cref="PostgresListQuery.HasKeptPlan"/>).
    /// </summary>
    static readonly CallQuery[] KeptPlanQueries =
    [
        new(new CallFilter { AgentId = ["a", "b"] }, false, 5, null),
        new(new CallFilter { AgentId = ["a", "b"], CallSuccessful = [false] }, true, 5, null),
    ];

    /// <summary>Queries whose best plan depends on their values: a list filter, a latency or duration range.</summary>
    static readonly CallQuery[] ValuePlanQueries =
    [
        new(new CallFilter { AgentId = ["a"] }, false, 5, null),
        new(new CallFilter { AgentId = ["a", "b"], CallStatus = [CallStatus.Error] }, false, 5, null),
        new(new CallFilter { CallSuccessful = [false] }, false, 5, null),
        new(new CallFilter { E2eLatencyP50 = new Threshold { LowerThreshold = 800 } }, false, 5, null),
        new(new CallFilter { DurationMs = new Threshold { UpperThreshold = 5_000 }, StartTimestamp = new Threshold { LowerThreshold = 1000 } }, true, 5, null),
    ];

    [Fact]
    public void OnlyQueriesWithoutListsLatencyOrDurationRangesHaveAFixedPlan()
    {
        Assert.All(FixedPlanQueries, q => Assert.True(PostgresListQuery.HasFixedPlan(q)));
        Assert.All(ValuePlanQueries, q => Assert.False(PostgresListQuery.HasFixedPlan(q)));
        Assert.False(PostgresListQuery.HasFixedPlan(new(new CallFilter { InVoicemail = [true] }, false, 5, null)));
        Assert.False(PostgresListQuery.HasFixedPlan(new(new CallFilter { DisconnectionReason = [DisconnectionReason.UserHangup] }, false, 5, null)));
        Assert.False(PostgresListQuery.HasFixedPlan(new(new CallFilter { FromNumber = ["+1"], StartTimestamp = new Threshold { LowerThreshold = 1 } }, false, 5, null)));
    }

    /// <summary>
    /// Every filter of <see cref="CallFilter"/> but the start time, found by reflection, so that a filter added
    /// later is planned with its values until someone shows that its plan cannot depend on them.
    /// </summary>
    [Fact]
    public void EveryFilterButTheStartTimeMakesThePlanDependOnTheValues()
    {
        var checkedFilters = 0;
        foreach (var property in typeof(CallFilter).GetProperties())
        {
            if (property.Name == nameof(CallFilter.StartTimestamp))
                continue;
            foreach (var value in Samples(property.PropertyType))
            {
                var filter = new CallFilter();
                property.SetValue(filter, value);
                Assert.False(PostgresListQuery.HasFixedPlan(new(filter, false, 50, null)), property.Name);
                // An empty list constrains nothing, whatever its column.
                if (value is Array)
                {
                    property.SetValue(filter, Array.CreateInstance(value.GetType().GetElementType()!, 0));
                    Assert.True(PostgresListQuery.HasFixedPlan(new(filter, false, 50, null)), property.Name);
                }
            }
            checkedFilters++;
        }
        Assert.Equal(12, checkedFilters);

        static IEnumerable<object> Samples(Type type)
        {
            if (type == typeof(Threshold))
                return [new Threshold { LowerThreshold = 1 }, new Threshold { UpperThreshold = 1 }];
            if (!type.IsGenericType || type.GetGenericTypeDefinition() != typeof(IReadOnlyList<>))
                throw new InvalidOperationException($"a filter of type {type}: teach PostgresListQuery.HasFixedPlan and this test about it");
            var element = type.GetGenericArguments()[0];
            var one = Array.CreateInstance(element, 1);
            one.SetValue(element == typeof(string) ? "x" : element == typeof(bool) ? true : Enum.GetValues(element).GetValue(0), 0);
            return [one];
        }
    }

    [Fact]
    public void OnlyAListOfAgentsWithCommonFlagsKeepsItsPlan()
    {
        static double Common(string column, IEnumerable<string> values) => 0.5;
        static double Rare(string column, IEnumerable<string> values) => column == "call_status" && values.Contains("error") ? 0.01 : 0.5;
        CallQuery Query(CallFilter filter) => new(filter, false, 50, null);

        Assert.True(PostgresListQuery.HasKeptPlan(Query(new CallFilter { AgentId = ["a", "b"] }), Rare));
        Assert.True(PostgresListQuery.HasKeptPlan(Query(new CallFilter { AgentId = ["a", "b"], CallSuccessful = [false], Direction = [CallDirection.Inbound] }), Common));
        Assert.True(PostgresListQuery.HasKeptPlan(new(new CallFilter { AgentId = ["a", "b", "c"], UserSentiment = [UserSentiment.Negative] }, true, 5, new CallPosition(1, "c1")), Common));
        // Together the flags keep a quarter of the rows with two of them, an eighth with three, 1/32 with five.
        Assert.True(PostgresListQuery.HasKeptPlan(Query(new CallFilter { AgentId = ["a", "b"], CallSuccessful = [false], InVoicemail = [false], Direction = [CallDirection.Inbound] }), Common));
        Assert.False(PostgresListQuery.HasKeptPlan(Query(new CallFilter
        {
            AgentId = ["a", "b"],
            CallSuccessful = [false],
            InVoicemail = [false],
            Direction = [CallDirection.Inbound],
            CallStatus = [CallStatus.Ended],
            UserSentiment = [UserSentiment.Negative],
        }), Common));

        // A rare value, or one the statistics do not know, keeps the query planned with its values.
        Assert.False(PostgresListQuery.HasKeptPlan(Query(new CallFilter { AgentId = ["a", "b"], CallStatus = [CallStatus.Error] }), Rare));
        Assert.False(PostgresListQuery.HasKeptPlan(Query(new CallFilter { AgentId = ["a", "b"], CallStatus = [CallStatus.Ended] }), (_, _) => 0));
        Assert.True(PostgresListQuery.HasKeptPlan(Query(new CallFilter { AgentId = ["a", "b"], CallStatus = [CallStatus.Ended] }), Rare));

        // One agent is planned with its value; so are more agents than drive a query, and lists that are not agents.
        Assert.False(PostgresListQuery.HasKeptPlan(Query(new CallFilter { AgentId = ["a"] }), Common));
        Assert.False(PostgresListQuery.HasKeptPlan(Query(new CallFilter { AgentId = ["a", "a"] }), Common));
        Assert.False(PostgresListQuery.HasKeptPlan(Query(new CallFilter { AgentId = ["a", "\0"] }), Common)); // NUL matches no call
        Assert.False(PostgresListQuery.HasKeptPlan(Query(new CallFilter { AgentId = [.. Enumerable.Range(0, 17).Select(i => $"a{i}")] }), Common));
        Assert.True(PostgresListQuery.HasKeptPlan(Query(new CallFilter { AgentId = [.. Enumerable.Range(0, 16).Select(i => $"a{i}")] }), Common));
        Assert.False(PostgresListQuery.HasKeptPlan(Query(new CallFilter { CallSuccessful = [false, true] }), Common));
        Assert.False(PostgresListQuery.HasKeptPlan(Query(new CallFilter()), Common));
        Assert.False(PostgresListQuery.HasKeptPlan(new(null, false, 50, null), Common));
    }

    /// <summary>
    /// Every filter but the agents and the flags the agent index carries, found by reflection, keeps a list of agents
    /// planned with its values: so will a filter added later, until someone shows its plan cannot depend on them.
    /// </summary>
    [Fact]
    public void EveryFilterTheAgentIndexDoesNotCarryKeepsAListOfAgentsPlannedWithItsValues()
    {
        string[] carried = [nameof(CallFilter.AgentId), nameof(CallFilter.CallSuccessful), nameof(CallFilter.InVoicemail),
            nameof(CallFilter.Direction), nameof(CallFilter.CallStatus), nameof(CallFilter.UserSentiment)];
        var checkedFilters = 0;
        foreach (var property in typeof(CallFilter).GetProperties().Where(p => !carried.Contains(p.Name)))
        {
            object value = property.PropertyType == typeof(Threshold)
                ? new Threshold { LowerThreshold = 1 }
                : property.PropertyType == typeof(IReadOnlyList<string>)
                    ? new[] { "x" }
                    : Array.CreateInstance(property.PropertyType.GetGenericArguments()[0], 1);
            var filter = new CallFilter { AgentId = ["a", "b"] };
            property.SetValue(filter, value);
            Assert.False(PostgresListQuery.HasKeptPlan(new(filter, false, 50, null), (_, _) => 1), property.Name);
            checkedFilters++;
        }
        Assert.Equal(7, checkedFilters);
    }

    [Fact]
    public async Task FixedPlanQueriesAreGenericAndEveryOtherIsPlannedWithItsValues()
    {
        if (!TestDatabase.UsesPostgres)
            return;
        await using var database = await TestDatabase.CreateAsync();
        // One connection, so that what the lists leave on it can be seen; statements prepared from their second use.
        var connectionString = new NpgsqlConnectionStringBuilder(PostgresConnectionStrings.From(database.ConnectionString))
        {
            MaxPoolSize = 1,
            AutoPrepareMinUsages = 2,
        }.ConnectionString;
        await using var store = new PostgresCallStore(connectionString);
        await store.MigrateAsync(None);
        var ws = await SeedAsync(store);
        await using (var analyze = store.DataSource.CreateCommand("ANALYZE calls"))
            await analyze.ExecuteNonQueryAsync(None);
        await store.ValueFrequencies.ReadAsync(None);
        var queries = FixedPlanQueries.Concat(KeptPlanQueries).Concat(ValuePlanQueries).ToList();

        for (var round = 0; round < 6; round++)
        {
            foreach (var query in queries)
                Assert.NotEmpty(await store.ListCallsAsync(ws, query, None));
            // Pages after a key the query looks up itself (one round trip), and after one found first.
            foreach (var query in queries.Where(q => q.After is null))
            {
                using var page = await store.ListPageAfterAsync(ws, query, "c30", None);
                Assert.NotEqual(0, page!.Count);
            }
        }

        var statements = new List<(string Sql, long Generic, long Custom)>();
        await using (var command = store.DataSource.CreateCommand("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%FROM calls%ORDER BY%'"))
        await using (var reader = await command.ExecuteReaderAsync(None))
        {
            while (await reader.ReadAsync(None))
                statements.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
        }
        var keptPlans = statements.Where(s => s.Sql.Contains("unnest(", StringComparison.Ordinal) && !s.Sql.Contains("call_status", StringComparison.Ordinal)).ToList();
        var valuePlans = statements.Where(s => Regex.IsMatch(s.Sql, "agent_id|call_successful =|e2e_p50|duration_ms")).Except(keptPlans).ToList();
        var fixedPlans = statements.Except(valuePlans).Except(keptPlans).ToList();
        // Each fixed-plan form with documents and, once its page is held, with ids and versions alone.
        Assert.True(fixedPlans.Count >= 8, string.Join("\n", statements));
        Assert.True(valuePlans.Count >= 8, string.Join("\n", statements));
        Assert.All(fixedPlans, s => Assert.True(s is { Generic: > 0, Custom: 0 }, $"{s.Sql}: {s.Generic} generic, {s.Custom} custom plans"));
        // Agents with common flags: each order, after a position or not, with documents and ids alone.
        Assert.True(keptPlans.Count >= 6, string.Join("\n", statements));
        Assert.All(keptPlans, s => Assert.True(s is { Generic: > 0, Custom: 0 }, $"{s.Sql}: {s.Generic} generic, {s.Custom} custom plans"));
        // A page after a key, for a query with a fixed plan: the key looked up in the list query (one round trip).
        Assert.Contains(fixedPlans, s => s.Sql.Contains("deleted_calls", StringComparison.Ordinal));
        Assert.DoesNotContain(valuePlans, s => s.Sql.Contains("deleted_calls", StringComparison.Ordinal));
        Assert.All(valuePlans, s => Assert.True(s is { Generic: 0, Custom: > 0 }, $"{s.Sql}: {s.Generic} generic, {s.Custom} custom plans"));

        // The position of a pagination key, looked up before a query planned with its values: two primary keys,
        // planned once.
        await using (var command = store.DataSource.CreateCommand("SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%FROM deleted_calls%' AND statement NOT LIKE '%ORDER BY%'"))
        await using (var reader = await command.ExecuteReaderAsync(None))
        {
            Assert.True(await reader.ReadAsync(None));
            Assert.True(reader.GetInt64(0) > 0 && reader.GetInt64(1) == 0, $"{reader.GetInt64(0)} generic, {reader.GetInt64(1)} custom plans");
            Assert.False(await reader.ReadAsync(None));
        }

        // The connection is back to its own settings.
        Assert.Equal("force_custom_plan", await ShowAsync(store.DataSource, "plan_cache_mode"));
        Assert.Equal("on", await ShowAsync(store.DataSource, "enable_sort"));
    }

    [Fact]
    public async Task TheGenericPlanOfEveryFixedPlanQueryWalksTheOrderIndexWithoutSorting()
    {
        if (!TestDatabase.UsesPostgres)
            return;
        await using var seed = await AnalyzedSeedAsync();
        var (source, ws) = (seed.Source, seed.Workspace);

        var statement = 0;
        foreach (var query in FixedPlanQueries)
        {
            // The query as it is, and, without a position, after a pagination key it looks up itself.
            foreach (var afterKey in query.After is null ? new[] { null, "c20" } : [null])
            {
                foreach (var columns in Enum.GetValues<PostgresListQuery.Columns>())
                {
                    var plan = await GenericPlanAsync(source, ws, query, columns, afterKey, $"fixed_{statement++}", PostgresCallStore.FixedPlanSettings);
                    Assert.Contains("calls_by_order_filtered", plan);
                    Assert.DoesNotContain("Sort", plan);
                    Assert.DoesNotContain("Seq Scan", plan);
                    if (afterKey is not null)
                    {
                        // The key's position is found by primary key, once, and bounds the order index's range.
                        Assert.Contains("calls_pkey", plan);
                        Assert.Matches(@"Index Cond: .*ROW\(sort_key, call_id\) [<>] ROW\(\$", plan);
                    }
                }
            }
        }
    }

    [Fact]
    public async Task TheGenericPlanOfAKeptQueryWalksTheAgentIndexForEachAgent()
    {
        if (!TestDatabase.UsesPostgres)
            return;
        await using var seed = await AnalyzedSeedAsync();
        var (source, ws) = (seed.Source, seed.Workspace);

        var statement = 0;
        foreach (var query in KeptPlanQueries.Concat(KeptPlanQueries.Select(q => q with { After = new CallPosition(1030, "c30") })))
        {
            foreach (var columns in Enum.GetValues<PostgresListQuery.Columns>())
            {
                var plan = await GenericPlanAsync(source, ws, query, columns, null, $"kept_{statement++}", PostgresCallStore.FixedPlanSettings);
                Assert.Matches(@"Function Scan on unnest[\s\S]*Index Only Scan (Backward )?using calls_by_agent_filtered on calls", plan);
                Assert.Matches(@"Index Cond: \(\(workspace_id = \$1\) AND \(agent_id = v\.value\)", plan);
                Assert.DoesNotContain("Seq Scan", plan);
                Assert.DoesNotContain("Bitmap", plan);
                if (query.After is not null)
                    Assert.Matches(@"Index Cond: .*ROW\(sort_key, call_id\) [<>] ROW\(\$", plan);
            }
        }
    }

    [Fact]
    public void APaginationKeyIsLookedUpInTheQueryOnlyWhenItsPlanIsFixed()
    {
        using var command = new NpgsqlCommand();
        Assert.Throws<ArgumentException>(() => PostgresListQuery.TryBuild(1, ValuePlanQueries[0], command, afterKey: "c1"));
        Assert.Throws<ArgumentException>(() => PostgresListQuery.TryBuild(1, FixedPlanQueries[^1], command, afterKey: "c1"));
        Assert.True(PostgresListQuery.TryBuild(1, FixedPlanQueries[0], command, afterKey: "c1"));
        Assert.Contains("deleted_calls", command.CommandText);
        Assert.Equal("c1", command.Parameters["after_id"].Value);
    }

    /// <summary>
    /// The plan PostgreSQL makes for the store's SQL of the query without its values: the SQL prepared as it is
    /// (parameters numbered in their order), after <paramref name="settings"/>, in one transaction.
    /// </summary>
    static async Task<string> GenericPlanAsync(NpgsqlDataSource source, long ws, CallQuery query, PostgresListQuery.Columns columns, string? afterKey, string name, string settings)
    {
        await using var built = new NpgsqlCommand();
        Assert.True(PostgresListQuery.TryBuild(ws, query, built, columns, afterKey));
        var parameters = built.Parameters.Select(p => p.ParameterName).ToList();
        // Arrays typed, as Npgsql sends them: unnest($1) alone does not say which unnest.
        var sql = Regex.Replace(built.CommandText, @"@(\w+)", m =>
        {
            var index = parameters.IndexOf(m.Groups[1].Value);
            var value = built.Parameters[index].Value;
            var cast = value is Array ? "::" + Literal(value).Split("::")[1] : "";
            return "$" + (index + 1) + cast;
        });
        var values = string.Join(", ", built.Parameters.Select(p => Literal(p.Value)));

        await using var connection = await source.OpenConnectionAsync(None);
        await using var transaction = await connection.BeginTransactionAsync(None);
        await using (var set = new NpgsqlCommand(settings, connection, transaction))
            await set.ExecuteNonQueryAsync(None);
        await using (var prepare = new NpgsqlCommand($"PREPARE {name} AS {sql}", connection, transaction))
            await prepare.ExecuteNonQueryAsync(None);
        var lines = new List<string>();
        await using (var explain = new NpgsqlCommand($"EXPLAIN EXECUTE {name}({values})", connection, transaction))
        await using (var reader = await explain.ExecuteReaderAsync(None))
        {
            while (await reader.ReadAsync(None))
                lines.Add(reader.GetString(0));
        }
        return string.Join("\n", lines);
    }

    static string Literal(object? value) => value switch
    {
        string text => "'" + text.Replace("'", "''") + "'",
        bool flag => flag ? "true" : "false",
        IFormattable number => number.ToString(null, CultureInfo.InvariantCulture),
        object[] { Length: > 0 } array when array.All(v => v is string) => "ARRAY[" + string.Join(", ", array.Select(Literal)) + "]::text[]",
        object[] { Length: > 0 } array when array.All(v => v is bool) => "ARRAY[" + string.Join(", ", array.Select(Literal)) + "]::boolean[]",
        var other => throw new InvalidOperationException($"no literal for {other}"),
    };

    /// <summary>A new database holding <see cref="SeedAsync"/>'s calls, analyzed, and a data source on it.</summary>
    static async Task<AnalyzedSeed> AnalyzedSeedAsync()
    {
        var database = await TestDatabase.CreateAsync();
        long ws;
        await using (var store = await CallStores.OpenAsync(database.ConnectionString, None))
            ws = await SeedAsync(store);
        var source = NpgsqlDataSource.Create(PostgresConnectionStrings.From(database.ConnectionString));
        await using (var analyze = source.CreateCommand("ANALYZE calls"))
            await analyze.ExecuteNonQueryAsync(None);
        return new AnalyzedSeed(database, source, ws);
    }

    sealed record AnalyzedSeed(TestDatabase Database, NpgsqlDataSource Source, long Workspace) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Source.DisposeAsync();
            await Database.DisposeAsync();
        }
    }

    /// <summary>40 calls of two agents, with latencies, starting at 1000-1039 ms; a third failed, one (c07) an error.</summary>
    static async Task<long> SeedAsync(ICallStore store)
    {
        var ws = (await store.GetOrCreateWorkspaceAsync("acme", None)).Id;
        await store.UpsertCallsAsync(ws, [.. Enumerable.Range(0, 40).Select(i => StoreContractTests.Call($"c{i:D2}", n =>
        {
            n["agent_id"] = i % 2 == 0 ? "a" : "b";
            if (i == 7)
                n["call_status"] = "error";
            n["end_timestamp"] = 1000 + i + 1000;
            n["latency"] = new System.Text.Json.Nodes.JsonObject { ["e2e"] = new System.Text.Json.Nodes.JsonObject { ["p50"] = 700 + i * 10 } };
            n["call_analysis"] = new System.Text.Json.Nodes.JsonObject { ["call_successful"] = i % 3 != 0 };
        }, start: 1000 + i))], None);
        return ws;
    }

    static async Task<string> ShowAsync(NpgsqlDataSource source, string setting)
    {
        await using var command = source.CreateCommand("SHOW " + setting);
        return (string)(await command.ExecuteScalarAsync(None))!;
    }
}
