using System.Text.Json;
using System.Text.Json.Nodes;
using CallVault.Client.Models;
using CallVault.Store;
using CallVault.Store.Sqlite;
using CallVault.Tests.Infrastructure;

namespace CallVault.Tests.Store;

/// <summary>
/// The SQLite list query picks a plan per request (a driving index, one sub-query per value merged, a probed
/// range, a keyset seek). Whatever the plan, the page must be exactly the one a plain filter-sort-cut over all
/// calls gives: these tests compare the two on thousands of random calls and random requests.
/// </summary>
public sealed class ListQueryPlanTests : IAsyncLifetime
{
    // More calls in one latency range than the probe's cap (2,000 at small pages), so both of its branches run.
    const int CallCount = 6_500;
    static readonly string[] Agents = ["agent_a", "agent_b", "agent_c", "agent_d", "agent_e", "agent_f"];
    static readonly string[] Numbers = [.. Enumerable.Range(0, 40).Select(i => $"+1555000{i:D4}")];

    readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("callvault-plans-");
    SqliteCallStore _store = null!;
    long _workspace;
    List<Row> _rows = [];

    sealed record Row(string CallId, long SortKey, Call Call);

    sealed class FixedClock : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);
    }

    public async Task InitializeAsync()
    {
        _store = new SqliteCallStore(Path.Combine(_folder.FullName, "calls.db"), new FixedClock());
        await _store.MigrateAsync(CancellationToken.None);
        _workspace = (await _store.GetOrCreateWorkspaceAsync("plans", CancellationToken.None)).Id;
        var other = (await _store.GetOrCreateWorkspaceAsync("other", CancellationToken.None)).Id;
        var random = new Random(7);
        var prepared = Enumerable.Range(0, CallCount).Select(i => CallDocuments.FromNode(RandomCall(random, i))).ToList();
        await _store.UpsertCallsAsync(_workspace, prepared, CancellationToken.None);
        // The same calls in another workspace must never show.
        await _store.UpsertCallsAsync(other, prepared.Take(500).ToList(), CancellationToken.None);
        foreach (var call in prepared)
        {
            var model = JsonSerializer.Deserialize(call.Document, CallVaultJsonContext.Default.Call)!;
            _rows.Add(new Row(call.CallId, model.StartTimestamp ?? 1_700_000_000_000, model));
        }
        // A deleted call still works as a cursor.
        Assert.True(await _store.DeleteCallAsync(_workspace, "call_00042", CancellationToken.None));
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _folder.Delete(recursive: true);
    }

    static JsonObject RandomCall(Random r, int i)
    {
        var web = r.Next(10) == 0;
        var call = new JsonObject
        {
            ["call_id"] = $"call_{i:D5}",
            ["agent_id"] = Agents[r.Next(Agents.Length)],
            ["call_type"] = web ? "web_call" : "phone_call",
            ["call_status"] = r.Next(10) switch { 0 => "error", 1 => "registered", _ => "ended" },
        };
        if (r.Next(20) != 0)
        {
            // Few distinct start times: many ties, broken by call id.
            var start = 1_600_000_000_000L + r.Next(800) * 1000L;
            call["start_timestamp"] = start;
            if (r.Next(5) != 0)
                call["end_timestamp"] = start + r.Next(1, 300) * 1000L;
        }
        if (!web)
        {
            call["direction"] = r.Next(2) == 0 ? "inbound" : "outbound";
            if (r.Next(10) != 0)
                call["from_number"] = Numbers[r.Next(Numbers.Length)];
            call["to_number"] = Numbers[r.Next(Numbers.Length)];
        }
        if (r.Next(8) != 0)
            call["latency"] = new JsonObject { ["e2e"] = new JsonObject { ["p50"] = r.Next(500, 2000) + r.Next(10) / 10.0 } };
        if (r.Next(6) != 0)
            call["disconnection_reason"] = r.Next(6) switch { 0 => "scam_detected", 1 => "call_transfer", 2 => "inactivity", _ => "user_hangup" };
        if (r.Next(5) != 0)
        {
            var analysis = new JsonObject();
            if (r.Next(6) != 0)
                analysis["user_sentiment"] = r.Next(4) switch { 0 => "Negative", 1 => "Positive", 2 => "Neutral", _ => "Unknown" };
            if (r.Next(6) != 0)
                analysis["call_successful"] = r.Next(3) != 0;
            if (r.Next(6) != 0)
                analysis["in_voicemail"] = r.Next(8) == 0;
            call["call_analysis"] = analysis;
        }
        return call;
    }

    CallFilter RandomFilter(Random r)
    {
        List<T>? Some<T>(T[] all, int chance, int max = 3) =>
            r.Next(chance) == 0 ? [.. all.OrderBy(_ => r.Next()).Take(r.Next(1, max + 1))] : null;
        Threshold? Range(int chance, double low, double high)
        {
            if (r.Next(chance) != 0)
                return null;
            var a = low + r.NextDouble() * (high - low);
            var b = a + r.NextDouble() * (high - low) / (r.Next(2) == 0 ? 2 : 40);
            return r.Next(4) switch
            {
                0 => new Threshold { LowerThreshold = a },
                1 => new Threshold { UpperThreshold = b },
                _ => new Threshold { LowerThreshold = a, UpperThreshold = b },
            };
        }
        // Sometimes more agents than there are sub-queries, or more numbers than are bound one by one.
        var agents = r.Next(12) == 0 ? [.. Agents, .. Enumerable.Range(0, 14).Select(i => $"agent_x{i}")] : Some(Agents, 3);
        var numbers = r.Next(12) == 0 ? [.. Numbers, .. Enumerable.Range(0, 30).Select(i => $"+1999{i:D7}")] : Some(Numbers, 5, 4);
        return new CallFilter
        {
            AgentId = agents,
            CallStatus = Some(Enum.GetValues<CallStatus>(), 4),
            CallType = Some(Enum.GetValues<CallType>(), 6, 1),
            Direction = Some(Enum.GetValues<CallDirection>(), 5, 1),
            FromNumber = numbers,
            ToNumber = Some(Numbers, 8, 2),
            UserSentiment = Some(Enum.GetValues<UserSentiment>(), 4),
            CallSuccessful = Some([true, false], 5, 2),
            InVoicemail = Some([true, false], 8, 1),
            DisconnectionReason = Some(new[] { DisconnectionReason.ScamDetected, DisconnectionReason.UserHangup, DisconnectionReason.CallTransfer, DisconnectionReason.AgentHangup }, 4),
            StartTimestamp = Range(4, 1_600_000_000_000, 1_600_000_800_000),
            DurationMs = Range(6, 0, 300_000),
            E2eLatencyP50 = Range(4, 400, 2100),
        };
    }

    List<string> Expected(CallFilter? filter, bool ascending, int limit, CallPosition? after)
    {
        var rows = _rows.Where(r => r.CallId != "call_00042" && filter.Matches(r.Call));
        var ordered = ascending
            ? rows.OrderBy(r => r.SortKey).ThenBy(r => r.CallId, StringComparer.Ordinal)
            : rows.OrderByDescending(r => r.SortKey).ThenByDescending(r => r.CallId, StringComparer.Ordinal);
        var cut = after is { } a
            ? ordered.Where(r => ascending
                ? r.SortKey > a.SortKey || (r.SortKey == a.SortKey && string.CompareOrdinal(r.CallId, a.CallId) > 0)
                : r.SortKey < a.SortKey || (r.SortKey == a.SortKey && string.CompareOrdinal(r.CallId, a.CallId) < 0))
            : ordered;
        return [.. cut.Take(limit).Select(r => r.CallId)];
    }

    async Task<List<string>> Actual(CallQuery query)
    {
        var docs = await _store.ListCallsAsync(_workspace, query, CancellationToken.None);
        return [.. docs.Select(d => JsonDocument.Parse(d).RootElement.GetProperty("call_id").GetString()!)];
    }

    [Fact]
    public async Task EveryPlanReturnsExactlyThePageThatFilteringAndSortingAllCallsGives()
    {
        var r = new Random(11);
        for (var i = 0; i < 600; i++)
        {
            var filter = r.Next(8) == 0 ? null : RandomFilter(r);
            var ascending = r.Next(3) == 0;
            var limit = r.Next(4) switch { 0 => 1, 1 => r.Next(2, 60), 2 => 1000, _ => 50 };
            CallPosition? after = null;
            if (r.Next(3) == 0)
            {
                var cursor = r.Next(5) == 0 ? "call_00042" : _rows[r.Next(_rows.Count)].CallId;
                after = await _store.FindPositionAsync(_workspace, cursor, CancellationToken.None);
            }
            var query = new CallQuery(filter, ascending, limit, after);
            Assert.True(Expected(filter, ascending, limit, after).SequenceEqual(await Actual(query)),
                $"request {i}: {JsonSerializer.Serialize(new ListCallsRequest { FilterCriteria = filter, Limit = limit }, CallVaultJsonContext.Default.ListCallsRequest)} ascending={ascending} after={after}");
        }
    }

    [Fact]
    public async Task WalkingPagesOfSeveralAgentsVisitsEachMatchingCallOnceInOrder()
    {
        var filter = new CallFilter { AgentId = ["agent_b", "agent_e"], CallSuccessful = [true] };
        foreach (var ascending in new[] { false, true })
        {
            var seen = new List<string>();
            CallPosition? after = null;
            while (true)
            {
                var page = await Actual(new CallQuery(filter, ascending, 37, after));
                if (page.Count == 0)
                    break;
                seen.AddRange(page);
                after = await _store.FindPositionAsync(_workspace, page[^1], CancellationToken.None);
            }
            Assert.Equal(Expected(filter, ascending, int.MaxValue, null), seen);
        }
    }

    [Fact]
    public async Task ANarrowRangeIsWalkedPageByPageAndFromAnyCursorExactlyInOrder()
    {
        // Alone, a range of few calls bounds its page by the start times in its own index; within one value class
        // it is read in list order. Many calls share a start time here (and every call without one shares the
        // receive time), so pages end inside ties.
        CallFilter[] filters =
        [
            new() { DurationMs = new Threshold { LowerThreshold = 100_000, UpperThreshold = 110_000 } },
            new() { DurationMs = new Threshold { LowerThreshold = 290_000 } },
            new() { E2eLatencyP50 = new Threshold { UpperThreshold = 520 } },
            new() { E2eLatencyP50 = new Threshold { LowerThreshold = 1200, UpperThreshold = 1230.5 } },
            // Both bounds in one value class (64 per doubling: [1216, 1232) and [200,704, 202,752)).
            new() { E2eLatencyP50 = new Threshold { LowerThreshold = 1216, UpperThreshold = 1231.9 } },
            new() { DurationMs = new Threshold { LowerThreshold = 200_800, UpperThreshold = 202_700 } },
            new() { E2eLatencyP50 = new Threshold { LowerThreshold = 1216.5, UpperThreshold = 1231 }, Direction = [CallDirection.Inbound] },
        ];
        var r = new Random(5);
        foreach (var filter in filters)
            foreach (var ascending in new[] { false, true })
            {
                var all = Expected(filter, ascending, int.MaxValue, null);
                Assert.InRange(all.Count, 10, 1_000); // under the probe's cap: the range's index serves the pages
                foreach (var limit in new[] { 1, 7, 50 })
                {
                    var seen = new List<string>();
                    CallPosition? after = null;
                    while (true)
                    {
                        var page = await Actual(new CallQuery(filter, ascending, limit, after));
                        Assert.InRange(page.Count, 0, limit);
                        if (page.Count == 0)
                            break;
                        seen.AddRange(page);
                        after = await _store.FindPositionAsync(_workspace, page[^1], CancellationToken.None);
                    }
                    Assert.Equal(all, seen);
                }
                // Cursors on calls outside the range, and on the deleted call.
                for (var i = 0; i < 30; i++)
                {
                    var cursor = i == 0 ? "call_00042" : _rows[r.Next(_rows.Count)].CallId;
                    var after = await _store.FindPositionAsync(_workspace, cursor, CancellationToken.None);
                    Assert.Equal(Expected(filter, ascending, 7, after), await Actual(new CallQuery(filter, ascending, 7, after)));
                }
            }
    }

    [Fact]
    public async Task ALatencyRangeGivesTheSamePageWhetherItHoldsFewCallsOrMany()
    {
        // Wide: more calls than the probe's cap, so the list order is walked. Narrow: taken from the range's index.
        foreach (var (low, high) in new[] { (0.0, 5000.0), (1200.0, 1210.0) })
        {
            var filter = new CallFilter { E2eLatencyP50 = new Threshold { LowerThreshold = low, UpperThreshold = high } };
            foreach (var limit in new[] { 1, 50, 1000 })
                Assert.Equal(Expected(filter, false, limit, null), await Actual(new CallQuery(filter, false, limit, null)));
        }
        Assert.True(_rows.Count(r => r.Call.Latency?.E2e?.P50 is not null) > 2_000);
    }
}
