using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallVault.Client.Models;
using CallVault.Store;
using CallVault.Tests.Infrastructure;

namespace CallVault.Tests.Store;

/// <summary>
/// What every store must do, run against the store of the test run (SQLite, or PostgreSQL with
/// CALLVAULT_TEST_STORE=postgres), each test on a fresh database.
/// </summary>
public class StoreContractTests
{
    static readonly CancellationToken None = CancellationToken.None;

    /// <summary>A fresh database with the store opened and migrated; disposes both.</summary>
    sealed class Fixture : IAsyncDisposable
    {
        public required TestDatabase Database { get; init; }
        public required ICallStore Store { get; init; }
        public required long Workspace { get; init; }

        public static async Task<Fixture> StartAsync()
        {
            var database = await TestDatabase.CreateAsync();
            var store = await CallStores.OpenAsync(database.ConnectionString, None);
            var ws = await store.GetOrCreateWorkspaceAsync("acme", None);
            return new Fixture { Database = database, Store = store, Workspace = ws.Id };
        }

        public Task<ICallStore> OpenAnotherAsync() => CallStores.OpenAsync(Database.ConnectionString, None);

        public async ValueTask DisposeAsync()
        {
            await Store.DisposeAsync();
            await Database.DisposeAsync();
        }
    }

    internal static PreparedCall Call(string id, Action<JsonObject>? shape = null, long? start = 1_700_000_000_000)
    {
        var node = new JsonObject
        {
            ["call_id"] = id,
            ["agent_id"] = "agent-1",
            ["call_type"] = "web_call",
            ["call_status"] = "ended",
        };
        if (start is { } s)
            node["start_timestamp"] = s;
        shape?.Invoke(node);
        using var doc = JsonDocument.Parse(node.ToJsonString());
        return CallDocuments.Prepare(doc.RootElement);
    }

    static string IdOf(byte[] doc) => JsonDocument.Parse(doc).RootElement.GetProperty("call_id").GetString()!;

    static async Task<List<string>> ListIdsAsync(ICallStore store, long ws, CallFilter? filter = null, bool ascending = false, int limit = 1000, CallPosition? after = null) =>
        [.. (await store.ListCallsAsync(ws, new CallQuery(filter, ascending, limit, after), None)).Select(IdOf)];

    /// <summary>
    /// Every page of a walk with the given page size, following the last id of each page, walked twice: with the
    /// position of that call found first, and with its id given to the store as the pagination key (as list-calls
    /// does). The two walks must agree.
    /// </summary>
    static async Task<List<string>> WalkAsync(ICallStore store, long ws, CallFilter? filter, bool ascending, int limit)
    {
        var all = new List<string>();
        CallPosition? after = null;
        while (true)
        {
            var page = await ListIdsAsync(store, ws, filter, ascending, limit, after);
            all.AddRange(page);
            if (page.Count < limit)
                break;
            after = await store.FindPositionAsync(ws, page[^1], None);
        }

        var byKey = new List<string>();
        string? key = null;
        while (true)
        {
            var page = await ListIdsAfterAsync(store, ws, new CallQuery(filter, ascending, limit, null), key)
                ?? throw new Xunit.Sdk.XunitException($"pagination key {key} named no call");
            byKey.AddRange(page);
            if (page.Count < limit)
                break;
            key = page[^1];
        }
        Assert.Equal(all, byKey);
        return all;
    }

    /// <summary>The ids of the page after the call <paramref name="key"/> names (the first page without one); null when it names none.</summary>
    static async Task<List<string>?> ListIdsAfterAsync(ICallStore store, long ws, CallQuery query, string? key)
    {
        using var page = key is null ? await store.ListPageAsync(ws, query, None) : await store.ListPageAfterAsync(ws, query, key, None);
        return page is null ? null : [.. page.ToArrays().Select(IdOf)];
    }

    [Fact]
    public async Task DocumentsComeBackByteForByteAsStored()
    {
        await using var f = await Fixture.StartAsync();
        var json = """{"zeta":1,"call_id":"c1","agent_id":"a","call_type":"web_call","call_status":"ended","metadata":{"n":1.50,"big":12345678901234567890123,"e":1E+2,"text":"héllo ✓ 😀 \"q\" \\ \u001f"},"alpha":[true,null]}""";
        using var doc = JsonDocument.Parse(json);
        var call = CallDocuments.Prepare(doc.RootElement);
        await f.Store.UpsertCallsAsync(f.Workspace, [call], None);

        var stored = await f.Store.GetCallAsync(f.Workspace, "c1", None);
        Assert.Equal(call.Document, stored);
        var listed = await f.Store.ListCallsAsync(f.Workspace, new CallQuery(null, false, 10, null), None);
        Assert.Equal(call.Document, Assert.Single(listed));
        Assert.Contains("\"n\":1.50", Encoding.UTF8.GetString(stored!));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(50)]
    public async Task ListPageIsTheJsonArrayOfTheListedDocumentsByteForByte(int limit)
    {
        await using var f = await Fixture.StartAsync();
        // Sizes from tiny to far beyond the room a page reserves per document (6 kB), so that the buffer must grow.
        var calls = Enumerable.Range(0, 7).Select(i => Call($"c{i}", n => n["transcript"] = new string('x', i * i * 5_000) + "é✓", start: 1000 + i)).ToList();
        await f.Store.UpsertCallsAsync(f.Workspace, calls, None);

        var query = new CallQuery(null, false, limit, null);
        var listed = await f.Store.ListCallsAsync(f.Workspace, query, None);
        using var page = await f.Store.ListPageAsync(f.Workspace, query, None);

        Assert.Equal(Math.Min(limit, 7), page.Count);
        Assert.Equal(listed.Count, page.Count);
        for (var i = 0; i < page.Count; i++)
            Assert.Equal(listed[i], page[i].ToArray());
        var expected = "["u8.ToArray().Concat(listed.SelectMany((d, i) => i == 0 ? d : [(byte)',', .. d])).Concat("]"u8.ToArray()).ToArray();
        Assert.Equal(expected, page.Json.ToArray());
        Assert.Equal(listed.Count, JsonDocument.Parse(page.Json).RootElement.GetArrayLength());
    }

    [Fact]
    public async Task AnEmptyListPageIsAnEmptyJsonArray()
    {
        await using var f = await Fixture.StartAsync();
        using var page = await f.Store.ListPageAsync(f.Workspace, new CallQuery(new CallFilter { AgentId = ["nobody"] }, false, 50, null), None);
        Assert.Equal(0, page.Count);
        Assert.Equal("[]"u8.ToArray(), page.Json.ToArray());
    }

    [Fact]
    public async Task ListOrdersByStartTimeThenCallIdInUtf8ByteOrder()
    {
        await using var f = await Fixture.StartAsync();
        // U+FFFD sorts before U+1F600 in UTF-8 bytes but after it in UTF-16 code units.
        string[] ids = ["a", "B", "é", "\uFFFD", "😀", "z", "~", "a b", "ab"];
        await f.Store.UpsertCallsAsync(f.Workspace, [.. ids.Select(id => Call(id, start: 5000)), Call("early", start: 10), Call("late", start: 9000)], None);

        var byBytes = ids.OrderBy(id => Encoding.UTF8.GetBytes(id), Comparer<byte[]>.Create((x, y) => x.AsSpan().SequenceCompareTo(y))).ToList();
        Assert.Equal(["early", .. byBytes, "late"], await ListIdsAsync(f.Store, f.Workspace, ascending: true));
        Assert.Equal(["late", .. byBytes.AsEnumerable().Reverse(), "early"], await ListIdsAsync(f.Store, f.Workspace));
        Assert.Equal(["early", .. byBytes, "late"], await WalkAsync(f.Store, f.Workspace, null, ascending: true, limit: 2));
    }

    [Fact]
    public async Task CallsWithoutAStartTimeSortByWhenTheyWereFirstReceived()
    {
        await using var f = await Fixture.StartAsync();
        await f.Store.UpsertCallsAsync(f.Workspace, [Call("old", start: 1000)], None);
        await f.Store.UpsertCallsAsync(f.Workspace, [Call("registered", start: null)], None);
        Assert.Equal(["registered", "old"], await ListIdsAsync(f.Store, f.Workspace));
        var position = await f.Store.FindPositionAsync(f.Workspace, "registered", None);
        Assert.True(position!.Value.SortKey > 1_600_000_000_000);
    }

    /// <summary>Random calls over every filtered field, so that every filter meets values, nulls and ties.</summary>
    static List<PreparedCall> RandomCalls(int count, int seed)
    {
        var random = new Random(seed);
        string[] statuses = ["registered", "ongoing", "ended", "error"];
        string[] sentiments = ["Negative", "Positive", "Neutral", "Unknown"];
        string[] reasons = ["user_hangup", "agent_hangup", "dial_busy", "machine_detected"];
        T? Maybe<T>(T value) where T : class => random.Next(4) == 0 ? null : value;
        return [.. Enumerable.Range(0, count).Select(i => Call($"call-{random.Next(1000):D3}-{i}", node =>
        {
            node["agent_id"] = $"agent-{random.Next(4)}";
            node["call_status"] = statuses[random.Next(statuses.Length)];
            var phone = random.Next(3) > 0;
            node["call_type"] = phone ? "phone_call" : "web_call";
            if (phone)
            {
                node["direction"] = random.Next(2) == 0 ? "inbound" : "outbound";
                node["from_number"] = $"+1555000{random.Next(5)}";
                if (Maybe("x") is not null)
                    node["to_number"] = $"+1666000{random.Next(3)}";
            }
            if (Maybe("x") is not null)
            {
                var analysis = new JsonObject();
                if (Maybe("x") is not null) analysis["user_sentiment"] = sentiments[random.Next(sentiments.Length)];
                if (Maybe("x") is not null) analysis["call_successful"] = random.Next(2) == 0;
                if (Maybe("x") is not null) analysis["in_voicemail"] = random.Next(2) == 0;
                node["call_analysis"] = analysis;
            }
            if (Maybe("x") is not null) node["disconnection_reason"] = reasons[random.Next(reasons.Length)];
            if (Maybe("x") is not null) node["duration_ms"] = random.Next(0, 20) * 1000;
            if (Maybe("x") is not null) node["latency"] = new JsonObject { ["e2e"] = new JsonObject { ["p50"] = random.Next(0, 40) * 25.5 } };
        }, start: random.Next(3) == 0 ? null : 1_000_000 + random.Next(30) * 1000))];
    }

    public static TheoryData<string> Filters => new()
    {
        "{}",
        """{"agent_id":["agent-1"]}""",
        """{"agent_id":["agent-1","agent-3","agent-1","nobody"]}""",
        """{"call_status":["ended"],"user_sentiment":["Negative"]}""",
        """{"call_status":["ended","error"],"user_sentiment":["Negative","Positive"]}""",
        """{"call_type":["web_call"]}""",
        """{"direction":["inbound"]}""",
        """{"direction":["inbound","outbound"]}""",
        """{"from_number":["+15550003"]}""",
        """{"from_number":["+15550003","+15550001"],"agent_id":["agent-0","agent-2"]}""",
        """{"to_number":["+16660001"]}""",
        """{"call_successful":[false],"direction":["inbound"],"agent_id":["agent-0","agent-2"]}""",
        """{"call_successful":[true,false]}""",
        """{"in_voicemail":[true]}""",
        """{"disconnection_reason":["dial_busy"]}""",
        """{"disconnection_reason":["dial_busy","user_hangup"],"call_status":["ended"]}""",
        """{"start_timestamp":{"lower_threshold":1005000,"upper_threshold":1012000}}""",
        """{"start_timestamp":{"lower_threshold":1005000.5}}""",
        """{"start_timestamp":{"upper_threshold":-1e300}}""",
        """{"start_timestamp":{"lower_threshold":-1e300,"upper_threshold":1e300}}""",
        """{"duration_ms":{"lower_threshold":2999.5,"upper_threshold":9000}}""",
        """{"duration_ms":{"lower_threshold":1e30}}""",
        """{"e2e_latency_p50":{"lower_threshold":102,"upper_threshold":510}}""",
        """{"e2e_latency_p50":{"upper_threshold":25.5},"agent_id":["agent-2"],"call_type":["phone_call"]}""",
        """{"agent_id":[],"call_status":[]}""",
    };

    [Theory]
    [MemberData(nameof(Filters))]
    public async Task EveryFilterReturnsExactlyTheMatchingCallsInOrderOnEveryPage(string filterJson)
    {
        await using var f = await Fixture.StartAsync();
        var calls = RandomCalls(150, seed: 7);
        await f.Store.UpsertCallsAsync(f.Workspace, calls, None);
        var filter = JsonSerializer.Deserialize(filterJson, CallVaultJsonContext.Default.CallFilter)!;
        var positions = new Dictionary<string, CallPosition>();
        foreach (var c in calls)
            positions[c.CallId] = (await f.Store.FindPositionAsync(f.Workspace, c.CallId, None))!.Value;
        var expected = calls
            .Where(c => filter.Matches(JsonSerializer.Deserialize(c.Document, CallVaultJsonContext.Default.Call)!))
            .Select(c => positions[c.CallId])
            .OrderBy(p => p.SortKey).ThenBy(p => Encoding.UTF8.GetBytes(p.CallId), Comparer<byte[]>.Create((x, y) => x.AsSpan().SequenceCompareTo(y)))
            .Select(p => p.CallId)
            .ToList();

        Assert.Equal(expected, await ListIdsAsync(f.Store, f.Workspace, filter, ascending: true));
        Assert.Equal(expected.AsEnumerable().Reverse(), await ListIdsAsync(f.Store, f.Workspace, filter));
        Assert.Equal(expected.AsEnumerable().Reverse(), await WalkAsync(f.Store, f.Workspace, filter, ascending: false, limit: 7));
        Assert.Equal(expected, await WalkAsync(f.Store, f.Workspace, filter, ascending: true, limit: 3));
    }

    [Fact]
    public async Task APageWalkContinuesAfterItsLastCallWasDeleted()
    {
        await using var f = await Fixture.StartAsync();
        await f.Store.UpsertCallsAsync(f.Workspace, [.. Enumerable.Range(0, 10).Select(i => Call($"c{i}", start: 1000 + i))], None);
        var first = await ListIdsAsync(f.Store, f.Workspace, limit: 3);
        Assert.Equal(["c9", "c8", "c7"], first);
        Assert.True(await f.Store.DeleteCallAsync(f.Workspace, "c7", None));
        Assert.False(await f.Store.DeleteCallAsync(f.Workspace, "c7", None));
        Assert.Null(await f.Store.GetCallAsync(f.Workspace, "c7", None));
        var after = await f.Store.FindPositionAsync(f.Workspace, "c7", None);
        Assert.Equal(new CallPosition(1007, "c7"), after);
        Assert.Equal(["c6", "c5", "c4"], await ListIdsAsync(f.Store, f.Workspace, limit: 3, after: after));

        // Imported again, the call is back in place and its live position is the one used.
        await f.Store.UpsertCallsAsync(f.Workspace, [Call("c7", start: 2000)], None);
        Assert.Equal(new CallPosition(2000, "c7"), await f.Store.FindPositionAsync(f.Workspace, "c7", None));
        Assert.Null(await f.Store.FindPositionAsync(f.Workspace, "never", None));
    }

    [Fact]
    public async Task TheStoreFindsThePaginationKeyItselfWhateverTheQuery()
    {
        await using var f = await Fixture.StartAsync();
        await f.Store.UpsertCallsAsync(f.Workspace, [.. Enumerable.Range(0, 10).Select(i => Call($"c{i}", n => n["agent_id"] = i % 2 == 0 ? "even" : "odd", start: 1000 + i))], None);
        var other = await f.Store.GetOrCreateWorkspaceAsync("other", None);
        await f.Store.UpsertCallsAsync(other.Id, [Call("theirs", start: 1005)], None);
        Task<List<string>?> After(string key, CallFilter? filter = null, bool ascending = false) =>
            ListIdsAfterAsync(f.Store, f.Workspace, new CallQuery(filter, ascending, 3, null), key);

        // Queries planned without their values (none, a start range), and one planned with them (an agent).
        Assert.Equal(["c6", "c5", "c4"], await After("c7"));
        Assert.Equal(["c8", "c9"], await After("c7", ascending: true));
        Assert.Equal(["c6", "c5"], await After("c7", new CallFilter { StartTimestamp = new Threshold { LowerThreshold = 1005 } }));
        Assert.Equal(["c5", "c3", "c1"], await After("c7", new CallFilter { AgentId = ["odd"] }));
        // After the last call: an empty page, not an unknown key.
        Assert.Equal([], await After("c0"));
        Assert.Equal([], await After("c9", ascending: true));
        // Keys that name no call of the workspace.
        Assert.Null(await After("never"));
        Assert.Null(await After("theirs"));
        Assert.Null(await After("c\0"));
        Assert.Null(await After("never", new CallFilter { AgentId = ["odd"] }));

        // A deleted call keeps its place; imported again, its new place is the one used.
        Assert.True(await f.Store.DeleteCallAsync(f.Workspace, "c7", None));
        Assert.Equal(["c6", "c5", "c4"], await After("c7"));
        await f.Store.UpsertCallsAsync(f.Workspace, [Call("c7", start: 1004)], None);
        Assert.Equal(["c4", "c3", "c2"], await After("c7"));
    }

    [Fact]
    public async Task CallsOfAnotherWorkspaceAreInvisible()
    {
        await using var f = await Fixture.StartAsync();
        var other = await f.Store.GetOrCreateWorkspaceAsync("other", None);
        await f.Store.UpsertCallsAsync(other.Id, [Call("theirs")], None);
        await f.Store.UpsertCallsAsync(f.Workspace, [Call("ours")], None);
        Assert.Equal(["ours"], await ListIdsAsync(f.Store, f.Workspace));
        Assert.Null(await f.Store.GetCallAsync(f.Workspace, "theirs", None));
        Assert.Null(await f.Store.FindPositionAsync(f.Workspace, "theirs", None));
        Assert.False(await f.Store.DeleteCallAsync(f.Workspace, "theirs", None));
        Assert.NotNull(await f.Store.GetCallAsync(other.Id, "theirs", None));
    }

    [Fact]
    public async Task AnImportNeverTakesBackAnOptOut()
    {
        await using var f = await Fixture.StartAsync();
        await f.Store.UpsertCallsAsync(f.Workspace, [Call("c1", n => n["opt_out_sensitive_data_storage"] = true)], None);
        await f.Store.UpsertCallsAsync(f.Workspace, [Call("c1", n => { n["transcript"] = "secret"; n["agent_id"] = "agent-2"; }), Call("c2")], None);

        var doc = JsonNode.Parse(await f.Store.GetCallAsync(f.Workspace, "c1", None))!;
        Assert.True(doc["opt_out_sensitive_data_storage"]!.GetValue<bool>());
        Assert.Null(doc["transcript"]);
        Assert.Equal("agent-2", doc["agent_id"]!.GetValue<string>());
        Assert.Equal(["c1"], await ListIdsAsync(f.Store, f.Workspace, new CallFilter { AgentId = ["agent-2"] }));
        Assert.NotNull(await f.Store.GetCallAsync(f.Workspace, "c2", None));
    }

    [Fact]
    public async Task WithinOneImportALaterVersionOfAnOptedOutCallStaysOptedOut()
    {
        await using var f = await Fixture.StartAsync();
        var count = await f.Store.UpsertCallsAsync(f.Workspace,
            [Call("c1", n => n["opt_out_sensitive_data_storage"] = true), Call("c1", n => { n["transcript"] = "secret"; n["call_status"] = "error"; })], None);
        Assert.Equal(2, count);
        var doc = JsonNode.Parse(await f.Store.GetCallAsync(f.Workspace, "c1", None))!;
        Assert.True(doc["opt_out_sensitive_data_storage"]!.GetValue<bool>());
        Assert.Null(doc["transcript"]);
        Assert.Equal("error", doc["call_status"]!.GetValue<string>());
    }

    [Fact]
    public async Task ABatchMergeWritesEveryCallAtOnceSeesEachStoredCallAndKeepsOptOuts()
    {
        await using var f = await Fixture.StartAsync();
        await f.Store.UpsertCallsAsync(f.Workspace, [Call("c0000", n => n["opt_out_sensitive_data_storage"] = true), Call("c0001")], None);
        var batch = Enumerable.Range(0, 1000).Select(i => Call($"c{i:D4}", n => n["transcript"] = $"text {i}")).ToList();
        var seen = new Dictionary<string, StoredCall?>();

        var written = await f.Store.MergeCallsAsync(f.Workspace, batch, (current, call) =>
        {
            seen[call.CallId] = current;
            return call.CallId == "c0002" ? null : new MergedCall(call, $$"""{"n":"{{call.CallId}}"}""");
        }, None);

        Assert.Equal(999, written);
        Assert.Equal(1000, seen.Count);
        Assert.NotNull(seen["c0000"]);
        Assert.Null(seen["c0001"]!.MergeState); // stored by an upsert: no merge state yet
        Assert.Null(seen["c0003"]);
        Assert.Null(await f.Store.GetCallAsync(f.Workspace, "c0002", None));
        var optedOut = JsonNode.Parse(await f.Store.GetCallAsync(f.Workspace, "c0000", None))!;
        Assert.True((bool)optedOut["opt_out_sensitive_data_storage"]!);
        Assert.Null(optedOut["transcript"]);
        Assert.Equal("text 999", (string?)JsonNode.Parse(await f.Store.GetCallAsync(f.Workspace, "c0999", None))!["transcript"]);
        Assert.Equal(999, (await ListIdsAsync(f.Store, f.Workspace)).Count);

        // The merge state written is what the next merge is given; calls of one id merge one after the other.
        var states = new List<string?>();
        await f.Store.MergeCallsAsync(f.Workspace, [Call("c0500"), Call("c0500")], (current, call) =>
        {
            states.Add(current!.MergeState);
            return new MergedCall(call, "{\"n\":" + states.Count + "}");
        }, None);
        Assert.Equal(["""{"n":"c0500"}""", """{"n":1}"""], states);
    }

    [Fact]
    public async Task ABatchMergeThatFailsPartWayWritesNothing()
    {
        await using var f = await Fixture.StartAsync();
        await f.Store.UpsertCallsAsync(f.Workspace, [Call("c0001")], None);
        var batch = Enumerable.Range(0, 100).Select(i => Call($"c{i:D4}", n => n["call_status"] = "error")).ToList();
        await Assert.ThrowsAsync<InvalidOperationException>(() => f.Store.MergeCallsAsync(f.Workspace, batch,
            (current, call) => call.CallId == "c0050" ? throw new InvalidOperationException("boom") : new MergedCall(call, "{}"), None));
        Assert.Equal(["c0001"], await ListIdsAsync(f.Store, f.Workspace));
        Assert.Equal("ended", (string?)JsonNode.Parse(await f.Store.GetCallAsync(f.Workspace, "c0001", None))!["call_status"]);
    }

    static PreparedCall Increment(byte[]? current, string id)
    {
        var count = current is null ? 0 : JsonNode.Parse(current)!["metadata"]!["count"]!.GetValue<int>();
        return Call(id, n => n["metadata"] = new JsonObject { ["count"] = count + 1 });
    }

    [Fact]
    public async Task ConcurrentMutationsOfOneCallLoseNoUpdateEvenWhenTheyCreateIt()
    {
        await using var f = await Fixture.StartAsync();
        await using var second = await f.OpenAnotherAsync();
        var stores = new[] { f.Store, second };
        await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(() =>
            stores[i % 2].MutateCallAsync(f.Workspace, "counter", current => Increment(current, "counter"), None))));
        var doc = JsonNode.Parse(await f.Store.GetCallAsync(f.Workspace, "counter", None))!;
        Assert.Equal(16, doc["metadata"]!["count"]!.GetValue<int>());
    }

    [Fact]
    public async Task AMutationThatDeclinesLeavesTheCallAndReturnsIt()
    {
        await using var f = await Fixture.StartAsync();
        Assert.Null(await f.Store.MutateCallAsync(f.Workspace, "absent", _ => null, None));
        Assert.Null(await f.Store.GetCallAsync(f.Workspace, "absent", None));
        var call = Call("c1");
        await f.Store.UpsertCallsAsync(f.Workspace, [call], None);
        Assert.Equal(call.Document, await f.Store.MutateCallAsync(f.Workspace, "c1", _ => null, None));
        await Assert.ThrowsAsync<CallValidationException>(() =>
            f.Store.MutateCallAsync(f.Workspace, "c1", _ => throw new CallValidationException("no"), None));
        Assert.Equal(call.Document, await f.Store.GetCallAsync(f.Workspace, "c1", None));
    }

    [Fact]
    public async Task ConcurrentImportsOfTheSameCallsFromSeveralStoresEndInOneWholeImport()
    {
        await using var f = await Fixture.StartAsync();
        await using var second = await f.OpenAnotherAsync();
        var stores = new[] { f.Store, second };
        var ids = Enumerable.Range(0, 300).Select(i => $"call-{i:D4}").ToArray();
        var imports = Enumerable.Range(0, 6).Select(version =>
        {
            // Each import lists the calls in its own order; the store must still lock them in one order.
            var order = ids.OrderBy(_ => Random.Shared.Next()).ToArray();
            var batch = order.Select(id => Call(id, n => { n["agent_id"] = $"agent-{version}"; n["metadata"] = new JsonObject { ["version"] = version }; })).ToList();
            return Task.Run(() => stores[version % 2].UpsertCallsAsync(f.Workspace, batch, None));
        }).ToArray();
        await Task.WhenAll(imports);

        var docs = await f.Store.ListCallsAsync(f.Workspace, new CallQuery(null, false, 1000, null), None);
        Assert.Equal(ids.Length, docs.Count);
        var versions = docs.Select(d => JsonNode.Parse(d)!["metadata"]!["version"]!.GetValue<int>()).Distinct().ToList();
        var winner = Assert.Single(versions);
        // The indexed columns agree with the documents.
        Assert.Equal(ids.Length, (await ListIdsAsync(f.Store, f.Workspace, new CallFilter { AgentId = [$"agent-{winner}"] })).Count);
        Assert.Empty(await ListIdsAsync(f.Store, f.Workspace, new CallFilter { AgentId = [$"agent-{(winner + 1) % 6}"] }));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(50)]
    public async Task APageShowsWhatAnotherProcessWroteAndDeletedSinceTheLastPage(int limit)
    {
        // Pages of up to 100 calls on PostgreSQL come from the process's document cache where it holds the
        // version of the row: every way another process writes a call must give the row a new version.
        await using var f = await Fixture.StartAsync();
        await using var second = await f.OpenAnotherAsync();
        await f.Store.UpsertCallsAsync(f.Workspace, [.. Enumerable.Range(0, 6).Select(i => Call($"c{i}", start: 1000 + i))], None);
        async Task<List<byte[]>> AllPagesAsync()
        {
            var docs = new List<byte[]>();
            CallPosition? after = null;
            while (true)
            {
                using var page = await f.Store.ListPageAsync(f.Workspace, new CallQuery(null, false, limit, after), None);
                docs.AddRange(page.ToArrays());
                if (page.Count < limit)
                    return docs;
                after = await f.Store.FindPositionAsync(f.Workspace, IdOf(docs[^1]), None);
            }
        }

        // On PostgreSQL the first walk reads its pages and keeps the first page's documents, the second is served
        // those and keeps the other pages', the third is served them all.
        var before = await AllPagesAsync();
        Assert.Equal(6, before.Count);
        Assert.Equal(before, await AllPagesAsync());
        Assert.Equal(before, await AllPagesAsync());
        if (f.Store is CallVault.Store.Postgres.PostgresCallStore postgres)
            Assert.Equal(Math.Min(limit, 6) + 6, postgres.DocumentCacheHits);

        // Replaced by an import, by a mutation and by a merge, and deleted, all through the other process.
        await second.UpsertCallsAsync(f.Workspace, [Call("c5", n => n["transcript"] = "imported again", start: 1005)], None);
        await second.MutateCallAsync(f.Workspace, "c4", _ => Call("c4", n => n["transcript"] = "mutated", start: 1004), None);
        await second.MergeCallsAsync(f.Workspace, [Call("c3", n => n["transcript"] = "merged", start: 1003)],
            (_, given) => new MergedCall(given, "{}"), None);
        Assert.True(await second.DeleteCallAsync(f.Workspace, "c2", None));

        var listed = await AllPagesAsync();
        Assert.Equal(["c5", "c4", "c3", "c1", "c0"], listed.Select(IdOf));
        Assert.Equal(["imported again", "mutated", "merged"], listed.Take(3).Select(d => JsonNode.Parse(d)!["transcript"]!.GetValue<string>()));
        Assert.Equal(await second.ListCallsAsync(f.Workspace, new CallQuery(null, false, 1000, null), None), listed);
    }

    [Fact]
    public async Task ANewCallOnTopOfAPageServedBeforeIsReadAloneTheRestComesFromTheCache()
    {
        // A dashboard polling the newest calls: on PostgreSQL the page's documents are kept from its first visit
        // (a list's first page), and a call that arrives since is read by itself; when most of the page is new,
        // it is read whole.
        await using var f = await Fixture.StartAsync();
        await using var second = await f.OpenAnotherAsync();
        await f.Store.UpsertCallsAsync(f.Workspace, [.. Enumerable.Range(0, 10).Select(i => Call($"c{i}", start: 1000 + i))], None);
        var newest = new CallQuery(null, false, 5, null);
        var postgres = f.Store as CallVault.Store.Postgres.PostgresCallStore;
        async Task<List<byte[]>> PageAsync()
        {
            using var page = await f.Store.ListPageAsync(f.Workspace, newest, None);
            return page.ToArrays().ToList();
        }
        for (var visit = 0; visit < 2; visit++)
            Assert.Equal(["c9", "c8", "c7", "c6", "c5"], (await PageAsync()).Select(IdOf));
        var hits = postgres?.DocumentCacheHits ?? 0;
        Assert.True(postgres is null || hits == 5, $"{hits} documents from the cache on the second visit");

        await second.UpsertCallsAsync(f.Workspace, [Call("c10", n => n["transcript"] = "new", start: 1010)], None);
        var listed = await PageAsync();
        Assert.Equal(["c10", "c9", "c8", "c7", "c6"], listed.Select(IdOf));
        Assert.Equal("new", JsonNode.Parse(listed[0])!["transcript"]!.GetValue<string>());
        Assert.Equal(await second.ListCallsAsync(f.Workspace, newest, None), listed);
        if (postgres is not null)
            Assert.Equal(hits + 5, postgres.DocumentCacheHits);

        await second.UpsertCallsAsync(f.Workspace, [.. Enumerable.Range(11, 3).Select(i => Call($"c{i}", start: 1000 + i))], None);
        listed = await PageAsync();
        Assert.Equal(["c13", "c12", "c11", "c10", "c9"], listed.Select(IdOf));
        Assert.Equal(await second.ListCallsAsync(f.Workspace, newest, None), listed);
        if (postgres is not null)
            Assert.Equal(hits + 5, postgres.DocumentCacheHits); // read whole: three of five were new
    }

    [Fact]
    public async Task SeveralProcessesCanMigrateTheSameDatabaseAtOnce()
    {
        var database = await TestDatabase.CreateAsync();
        try
        {
            var stores = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => CallStores.OpenAsync(database.ConnectionString, None))));
            var ids = new List<long>();
            foreach (var store in stores)
                ids.Add((await store.GetOrCreateWorkspaceAsync("shared", None)).Id);
            Assert.Single(ids.Distinct());
            foreach (var store in stores)
            {
                await store.MigrateAsync(None); // again: nothing to do
                await store.DisposeAsync();
            }
        }
        finally
        {
            await database.DisposeAsync();
        }
    }

    [Fact]
    public async Task SettingsAreSetReplacedAndRemovedPerWorkspace()
    {
        await using var f = await Fixture.StartAsync();
        var other = await f.Store.GetOrCreateWorkspaceAsync("other", None);
        Assert.Null(await f.Store.GetSettingAsync(f.Workspace, "webhook", None));
        await f.Store.SetSettingAsync(f.Workspace, "webhook", "s1", None);
        await f.Store.SetSettingAsync(f.Workspace, "webhook", "s2 ✓", None);
        await f.Store.SetSettingAsync(other.Id, "webhook", "theirs", None);
        Assert.Equal("s2 ✓", await f.Store.GetSettingAsync(f.Workspace, "webhook", None));
        await f.Store.SetSettingAsync(f.Workspace, "webhook", null, None);
        Assert.Null(await f.Store.GetSettingAsync(f.Workspace, "webhook", None));
        Assert.Equal("theirs", await f.Store.GetSettingAsync(other.Id, "webhook", None));
    }

    [Fact]
    public async Task KeysAreFoundListedAndRevoked()
    {
        await using var f = await Fixture.StartAsync();
        Assert.False(await f.Store.HasAnyApiKeyAsync(None));
        var key = await ApiKeys.CreateAsync(f.Store, "acme", None);
        Assert.True(ApiKeys.TryGetPrefix(key, out var prefix));
        Assert.True(await f.Store.HasAnyApiKeyAsync(None));
        var record = await f.Store.FindApiKeyAsync(prefix, None);
        Assert.True(ApiKeys.Matches(key, record!));
        Assert.Equal(f.Workspace, record!.WorkspaceId);
        var listed = Assert.Single(await f.Store.ListApiKeysAsync(None));
        Assert.Equal((prefix, "acme", (DateTimeOffset?)null), (listed.Prefix, listed.Workspace, listed.RevokedAt));
        Assert.True(await f.Store.RevokeApiKeyAsync(prefix, None));
        Assert.False(await f.Store.RevokeApiKeyAsync(prefix, None));
        Assert.True((await f.Store.FindApiKeyAsync(prefix, None))!.Revoked);
        Assert.Null(await f.Store.FindApiKeyAsync("cv_000000000", None));
        Assert.Equal("acme", (await f.Store.FindWorkspaceAsync("acme", None))!.Name);
        Assert.Null(await f.Store.FindWorkspaceAsync("nobody", None));
    }

    [Fact]
    public async Task LookupsOfIdsHoldingANulCharacterFindNothing()
    {
        await using var f = await Fixture.StartAsync();
        await f.Store.UpsertCallsAsync(f.Workspace, [Call("c1", n => { n["call_type"] = "phone_call"; n["from_number"] = "+1"; })], None);
        Assert.Null(await f.Store.GetCallAsync(f.Workspace, "c\0", None));
        Assert.Null(await f.Store.FindPositionAsync(f.Workspace, "c\0", None));
        Assert.False(await f.Store.DeleteCallAsync(f.Workspace, "c\0", None));
        Assert.Empty(await ListIdsAsync(f.Store, f.Workspace, new CallFilter { FromNumber = ["+1\0"] }));
        Assert.Equal(["c1"], await ListIdsAsync(f.Store, f.Workspace, new CallFilter { FromNumber = ["+1\0", "+1"] }));
    }
}
