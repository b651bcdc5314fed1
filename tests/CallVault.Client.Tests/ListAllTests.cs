using System.Diagnostics;
using CallVault.Client.Models;
using CallVault.Client.Tests.Infrastructure;
using CallVault.Tests.Infrastructure;

namespace CallVault.Client.Tests;

/// <summary>The list-all walk: lazy, page by page, honouring filter, order and page size, cancellable.</summary>
public class ListAllTests
{
    static readonly ListCallsRequest AgentA1Ascending = new()
    {
        FilterCriteria = new CallFilter { AgentId = ["a1"] },
        SortOrder = SortOrder.Ascending,
        Limit = 4,
    };

    [Fact]
    public async Task ListAllWalksEveryPageOfAFilteredQueryInOrder()
    {
        await using var app = await CallVaultApp.StartAsync();
        var recorder = new RecordingHandler();
        var client = await app.CallVaultClientForAsync("acme", recorder);
        await client.ImportCallsAsync(TestCalls.Series(25));

        var ids = new List<string>();
        await foreach (var call in client.ListAllCallsAsync(AgentA1Ascending))
            ids.Add(call.CallId);

        // a1 has the odd calls: 13 of them, in pages of 4, 4, 4 and a last short page of 1.
        Assert.Equal(Enumerable.Range(0, 13).Select(i => $"c{2 * i + 1:00}"), ids);
        Assert.Equal(4, recorder.Requests.Count(r => r.Path == "/v2/list-calls"));
    }

    [Fact]
    public async Task ListAllSendsEachPageRequestWithTheLastCallOfThePreviousPageAsItsKey()
    {
        await using var app = await CallVaultApp.StartAsync();
        var recorder = new RecordingHandler();
        var client = await app.CallVaultClientForAsync("acme", recorder);
        // a1 gets exactly 8 calls, two full pages, so the walk needs an empty third page to know it is done.
        await client.ImportCallsAsync(TestCalls.Series(16));
        recorder.Requests.Clear();

        var count = 0;
        await foreach (var _ in client.ListAllCallsAsync(AgentA1Ascending))
            count++;

        Assert.Equal(8, count);
        Assert.Equal(
        [
            """{"filter_criteria":{"agent_id":["a1"]},"sort_order":"ascending","limit":4}""",
            """{"filter_criteria":{"agent_id":["a1"]},"sort_order":"ascending","limit":4,"pagination_key":"c07"}""",
            """{"filter_criteria":{"agent_id":["a1"]},"sort_order":"ascending","limit":4,"pagination_key":"c15"}""",
        ], recorder.Requests.Select(r => r.Body));
        Assert.All(recorder.Requests, r => Assert.Equal(("POST", "/v2/list-calls"), (r.Method, r.Path)));
        Assert.Null(AgentA1Ascending.PaginationKey);
    }

    [Fact]
    public async Task ListAllStartsAfterTheCallersPaginationKeyAndUsesTheServerDefaultPageSizeWhenNoneIsGiven()
    {
        await using var app = await CallVaultApp.StartAsync();
        var recorder = new RecordingHandler();
        var client = await app.CallVaultClientForAsync("acme", recorder);
        await client.ImportCallsAsync(TestCalls.Series(60));
        recorder.Requests.Clear();

        var ids = new List<string>();
        await foreach (var call in client.ListAllCallsAsync(new ListCallsRequest { PaginationKey = "c56" }))
            ids.Add(call.CallId);

        // Descending from c55: 50 on the server's default page, 5 on the next, then an empty page.
        Assert.Equal(Enumerable.Range(1, 55).Reverse().Select(i => $"c{i:00}"), ids);
        Assert.Equal(["""{"pagination_key":"c56"}""", """{"pagination_key":"c06"}""", """{"pagination_key":"c01"}"""],
            recorder.Requests.Select(r => r.Body));
    }

    [Fact]
    public async Task ListAllFetchesTheNextPageOnlyWhenTheCallerGetsThere()
    {
        await using var app = await CallVaultApp.StartAsync();
        var recorder = new RecordingHandler();
        var client = await app.CallVaultClientForAsync("acme", recorder);
        await client.ImportCallsAsync(TestCalls.Series(25));
        recorder.Requests.Clear();

        var first = new List<string>();
        await foreach (var call in client.ListAllCallsAsync(AgentA1Ascending))
        {
            first.Add(call.CallId);
            if (first.Count == 4)
                break;
        }

        Assert.Equal(["c01", "c03", "c05", "c07"], first);
        Assert.Single(recorder.Requests);
    }

    [Fact]
    public async Task CancellingInTheMiddleOfTheWalkStopsBeforeTheNextCallAndFetchesNoMorePages()
    {
        await using var app = await CallVaultApp.StartAsync();
        var recorder = new RecordingHandler();
        var client = await app.CallVaultClientForAsync("acme", recorder);
        await client.ImportCallsAsync(TestCalls.Series(25));
        recorder.Requests.Clear();
        using var cts = new CancellationTokenSource();

        var seen = new List<string>();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var call in client.ListAllCallsAsync(AgentA1Ascending).WithCancellation(cts.Token))
            {
                seen.Add(call.CallId);
                if (seen.Count == 5) // the first call of the second page
                    await cts.CancelAsync();
            }
        });

        Assert.Equal(["c01", "c03", "c05", "c07", "c09"], seen);
        Assert.Equal(2, recorder.Requests.Count);
    }

    [Fact]
    public async Task CancellingWhileAPageIsBeingFetchedStopsTheWalkPromptly()
    {
        await using var fake = await FakeServer.StartAsync(
            FakeServer.Answer(200, """[{"call_id":"x1","agent_id":"a","call_type":"web_call","call_status":"ended"}]"""),
            FakeServer.Hang);
        var client = new CallVaultClient("key", fake.BaseAddress);
        using var cts = new CancellationTokenSource();
        var stopwatch = new Stopwatch();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in client.ListAllCallsAsync(new ListCallsRequest { Limit = 1 }, cts.Token))
            {
                cts.CancelAfter(TimeSpan.FromMilliseconds(200));
                stopwatch.Start();
            }
        });

        // Cancelled after 200 ms, not left to the hanging page's 30 s: the upper bound leaves a loaded machine room.
        Assert.InRange(stopwatch.Elapsed, TimeSpan.FromMilliseconds(150), TimeSpan.FromSeconds(10));
        Assert.Equal(2, fake.Received.Count);
    }
}
