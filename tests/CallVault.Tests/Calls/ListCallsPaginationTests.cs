using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using CallVault.Tests.Infrastructure;
using static CallVault.Tests.Infrastructure.CallJson;

namespace CallVault.Tests.Calls;

/// <summary>pagination_key: the call after which a page starts.</summary>
public class ListCallsPaginationTests
{
    [Fact]
    public async Task WalkingPagesReturnsEveryCallExactlyOnceInOrderInBothDirections()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        // 23 calls, some sharing a start timestamp, so that page edges fall inside ties.
        var calls = Enumerable.Range(0, 23).Select(i => Phone($"call_{i:D2}", start: Base + i / 3)).ToArray();
        await client.ImportAsync(calls);
        var ascending = calls.Select(c => (string)c["call_id"]!).ToList();

        foreach (var limit in new[] { 1, 5, 22, 23, 50 })
        {
            Assert.Equal(ascending, await Paging.WalkAsync(client, "ascending", limit));
            Assert.Equal(Enumerable.Reverse(ascending), await Paging.WalkAsync(client, "descending", limit));
        }
    }

    [Fact]
    public async Task WalkingFilteredPagesReturnsEveryMatchingCallOnce()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync([.. Enumerable.Range(0, 30).Select(i => Phone($"call_{i:D2}", i % 3 == 0 ? "agent_x" : "agent_y", start: Base + i))]);
        var filter = new JsonObject { ["agent_id"] = new JsonArray("agent_x") };
        var walked = await Paging.WalkAsync(client, "descending", 3, filter);
        Assert.Equal(Enumerable.Range(0, 30).Where(i => i % 3 == 0).Reverse().Select(i => $"call_{i:D2}"), walked);
    }

    [Fact]
    public async Task APaginationKeyThatDoesNotMatchTheFilterStillMarksWhereThePageStarts()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync(
            Phone("a1", "agent_a", start: Base + 1), Phone("b2", "agent_b", start: Base + 2), Phone("a3", "agent_a", start: Base + 3),
            Phone("b4", "agent_b", start: Base + 4), Phone("a5", "agent_a", start: Base + 5));
        const string filter = """{"agent_id":["agent_a"]}""";
        Assert.Equal(["a3", "a1"], await client.ListIdsAsync($$"""{"filter_criteria":{{filter}},"pagination_key":"b4"}"""));
        Assert.Equal(["a5"], await client.ListIdsAsync($$"""{"filter_criteria":{{filter}},"pagination_key":"b4","sort_order":"ascending"}"""));
        Assert.Equal(["a1"], await client.ListIdsAsync($$"""{"filter_criteria":{{filter}},"pagination_key":"b2"}"""));
        Assert.Empty(await client.ListIdsAsync($$"""{"filter_criteria":{{filter}},"pagination_key":"a1"}"""));
    }

    [Fact]
    public async Task ADeletedCallStillWorksAsAPaginationKey()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync([.. Enumerable.Range(1, 6).Select(i => Phone($"c{i}", start: Base + i))]);
        var first = await client.ListIdsAsync("""{"limit":2}""");
        Assert.Equal(["c6", "c5"], first);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/v2/delete-call/c5")).StatusCode);
        Assert.Equal(["c4", "c3"], await client.ListIdsAsync("""{"limit":2,"pagination_key":"c5"}"""));
        Assert.Equal(["c6"], await client.ListIdsAsync("""{"pagination_key":"c5","sort_order":"ascending"}"""));
    }

    [Fact]
    public async Task ACallDeletedAndImportedAgainIsAKeyAtItsNewPlace()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync([.. Enumerable.Range(1, 5).Select(i => Phone($"c{i}", start: Base + i))]);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/v2/delete-call/c4")).StatusCode);
        await client.ImportAsync(Phone("c4", start: Base + 2)); // now ties with c2, after it in byte order
        Assert.Equal(["c2", "c1"], await client.ListIdsAsync("""{"pagination_key":"c4"}"""));
        Assert.Equal(["c5", "c3", "c4", "c2", "c1"], await client.ListIdsAsync());
    }

    [Theory]
    [InlineData("no_such_call")]
    [InlineData("")]
    [InlineData("C1")]
    public async Task APaginationKeyNamingNoCallOfTheWorkspaceIsABadRequest(string key)
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync(Phone("c1", start: Base));
        var body = new JsonObject { ["pagination_key"] = key }.ToJsonString();
        var error = await Api.AssertErrorAsync(await client.PostJsonAsync("/v2/list-calls", body), HttpStatusCode.BadRequest);
        Assert.Contains("pagination_key", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task ACallIdOfAnotherWorkspaceIsNotAPaginationKey()
    {
        await using var app = await CallVaultApp.StartAsync();
        var mine = await app.ClientForAsync("mine");
        var theirs = await app.ClientForAsync("theirs");
        await mine.ImportAsync(Phone("mine_1", start: Base));
        await theirs.ImportAsync(Phone("theirs_1", start: Base + 1));
        Assert.Equal(HttpStatusCode.NoContent, (await theirs.DeleteAsync("/v2/delete-call/theirs_1")).StatusCode);
        await theirs.ImportAsync(Phone("theirs_2", start: Base + 2));
        foreach (var key in new[] { "theirs_1", "theirs_2" })
            await Api.AssertErrorAsync(await mine.PostJsonAsync("/v2/list-calls", $$"""{"pagination_key":"{{key}}"}"""), HttpStatusCode.BadRequest);
    }

    /// <summary>
    /// While one task walks the pages, another keeps inserting calls (before and after the cursor, some without
    /// a start timestamp) and deleting others. Every call that exists throughout the walk must appear exactly
    /// once, and the walk as a whole must stay in order.
    /// </summary>
    [Theory]
    [InlineData("descending")]
    [InlineData("ascending")]
    public async Task PagingWhileCallsAreInsertedAndDeletedReturnsEveryLastingCallOnceInOrder(string order)
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        var writerClient = await app.ClientForAsync();
        var start = new Dictionary<string, long>();
        var lasting = new List<JsonObject>();
        var doomed = new List<JsonObject>();
        for (var i = 0; i < 240; i++)
        {
            var id = $"call_{i:D3}";
            var call = Phone(id, start: Base + i * 10 + (i % 4 == 0 ? 0 : 1)); // some ties
            start[id] = (long)call["start_timestamp"]!;
            (i % 3 == 0 ? doomed : lasting).Add(call);
        }
        await client.ImportAsync([.. lasting, .. doomed]);

        var writes = 0;
        using var stop = new CancellationTokenSource();
        var inserted = new ConcurrentDictionary<string, long>();
        var writer = Task.Run(async () =>
        {
            var random = new Random(7);
            var n = 0;
            while (!stop.IsCancellationRequested)
            {
                var id = $"new_{n++:D4}";
                var when = Base + random.Next(-50, 2500);
                var call = n % 5 == 0 ? Phone(id) : Phone(id, start: when);
                inserted[id] = when;
                await writerClient.ImportAsync(call);
                if (n - 1 < doomed.Count)
                {
                    var response = await writerClient.DeleteAsync("/v2/delete-call/" + doomed[(n - 1) * 7 % doomed.Count]["call_id"]);
                    Assert.True(response.StatusCode is HttpStatusCode.NoContent or HttpStatusCode.NotFound);
                }
                Interlocked.Increment(ref writes);
            }
        });

        var seenWrites = 0;
        var walked = await Paging.WalkAsync(client, order, limit: 7, betweenPages: async () =>
        {
            // Let at least one write land between every two pages.
            while (Volatile.Read(ref writes) == seenWrites && !writer.IsCompleted)
                await Task.Delay(1);
            seenWrites = Volatile.Read(ref writes);
        });
        await stop.CancelAsync();
        await writer;

        Assert.True(seenWrites >= 30, $"only {seenWrites} writes happened during the walk");
        Assert.Equal(walked.Count, walked.Distinct().Count());
        var lastingIds = lasting.Select(c => (string)c["call_id"]!).ToHashSet();
        Assert.Empty(lastingIds.Except(walked));
        // The seeded calls that were returned keep their relative order (new calls have no comparable place
        // when they lack a start, so only seeded ones are compared).
        var seeded = walked.Where(start.ContainsKey).ToList();
        var expected = seeded.OrderBy(id => start[id]).ThenBy(id => id, StringComparer.Ordinal).ToList();
        if (order == "descending")
            expected.Reverse();
        Assert.Equal(expected, seeded);
    }
}
