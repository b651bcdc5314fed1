using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using CallVault.Tests.Infrastructure;
using static CallVault.Tests.Infrastructure.CallJson;

namespace CallVault.Tests.Calls;

/// <summary>The order of list-calls and its page size.</summary>
public class ListCallsOrderTests
{
    static readonly string[] TiedIds = ["call_B", "call_a", "call_A", "call_10", "call_2", "call_1", "Call_z", "call_b", "CALL_0"];

    /// <summary>Ordinal byte order of the UTF-8 encoding, computed here independently of the server.</summary>
    static int ByteOrder(string x, string y) =>
        Encoding.UTF8.GetBytes(x).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(y));

    [Fact]
    public async Task CallsAreNewestFirstByDefaultAndOldestFirstWhenAscending()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync(Web("mid", start: Base + 20), Web("old", start: Base + 10), Web("new", start: Base + 30));
        Assert.Equal(["new", "mid", "old"], await client.ListIdsAsync());
        Assert.Equal(["new", "mid", "old"], await client.ListIdsAsync("""{"sort_order":"descending"}"""));
        Assert.Equal(["old", "mid", "new"], await client.ListIdsAsync("""{"sort_order":"ascending"}"""));
    }

    [Fact]
    public async Task TiesInStartTimestampAreBrokenByCallIdInByteOrderInBothDirections()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync([.. TiedIds.Select(id => Web(id, start: Base))]);
        await client.ImportAsync(Web("before", start: Base - 1), Web("after", start: Base + 1));

        var tied = TiedIds.ToList();
        tied.Sort(ByteOrder);
        Assert.Equal(["CALL_0", "Call_z", "call_1", "call_10", "call_2", "call_A", "call_B", "call_a", "call_b"], tied);
        var ascending = await client.ListIdsAsync("""{"sort_order":"ascending"}""");
        var descending = await client.ListIdsAsync("""{"sort_order":"descending"}""");
        Assert.Equal(["before", .. tied, "after"], ascending);
        Assert.Equal(["after", .. Enumerable.Reverse(tied), "before"], descending);
    }

    [Fact]
    public async Task TiesBetweenNonAsciiIdsFollowUtf8ByteOrderNotUtf16Order()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        // U+FF5E sorts after an emoji (U+1F600) in UTF-16 code units but before it in UTF-8 bytes.
        string[] ids = ["tie_\uFF5E", "tie_\U0001F600", "tie_é", "tie_z", "tie_通话"];
        await client.ImportAsync([.. ids.Select(id => Web(id, start: Base))]);
        var expected = ids.ToList();
        expected.Sort(ByteOrder);
        Assert.Equal(["tie_z", "tie_é", "tie_通话", "tie_\uFF5E", "tie_\U0001F600"], expected);
        Assert.Equal(expected, await client.ListIdsAsync("""{"sort_order":"ascending"}"""));
    }

    [Fact]
    public async Task PagingThroughTiesWithLimitOneVisitsEveryTiedCallOnceInOrder()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync([.. TiedIds.Select(id => Web(id, start: Base))]);
        var tied = TiedIds.ToList();
        tied.Sort(ByteOrder);
        foreach (var order in new[] { "ascending", "descending" })
        {
            var walked = await Paging.WalkAsync(client, order, limit: 1);
            Assert.Equal(order == "ascending" ? tied : Enumerable.Reverse(tied), walked);
        }
    }

    [Fact]
    public async Task CallsWithoutStartTimestampSortByReceivedTimeAtTheTopOfTheDefaultOrder()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync(Phone("started_earlier", start: Base), Phone("started_later", start: Base + 5));
        await client.ImportAsync(Web("imported_without_start"));
        await Task.Delay(20);
        var registered = await Api.OkJsonAsync(await client.PostJsonAsync("/v2/register-phone-call", """{"agent_id":"agent_a"}"""), HttpStatusCode.Created);
        var registeredId = registered.GetProperty("call_id").GetString()!;

        Assert.Equal([registeredId, "imported_without_start", "started_later", "started_earlier"], await client.ListIdsAsync());
        Assert.Equal(["started_earlier", "started_later", "imported_without_start", registeredId], await client.ListIdsAsync("""{"sort_order":"ascending"}"""));
    }

    [Fact]
    public async Task ACallKeepsItsReceivedTimePlaceWhenReimportedWithoutStart()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync(Web("first"));
        await Task.Delay(20);
        await client.ImportAsync(Web("second"));
        await Task.Delay(20);
        await client.ImportAsync(Web("first", status: "ongoing"));
        Assert.Equal(["second", "first"], await client.ListIdsAsync());
        // Once it has a start timestamp, that is where it sorts.
        await client.ImportAsync(Web("first", start: Base));
        Assert.Equal(["second", "first"], await client.ListIdsAsync());
        Assert.Equal(["first", "second"], await client.ListIdsAsync("""{"sort_order":"ascending"}"""));
    }

    [Fact]
    public async Task TheDefaultLimitIsFifty()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync([.. Enumerable.Range(0, 60).Select(i => Web($"c{i:D3}", start: Base + i))]);
        var ids = await client.ListIdsAsync();
        Assert.Equal(Enumerable.Range(10, 50).Reverse().Select(i => $"c{i:D3}"), ids);
        Assert.Equal(ids, await client.ListIdsAsync("""{"limit":null}"""));
    }

    [Fact]
    public async Task LimitOneAnswersOneCallAndLimitOneThousandAnswersAThousand()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync([.. Enumerable.Range(0, 1001).Select(i => Web($"c{i:D4}", start: Base + i))]);
        Assert.Equal(["c1000"], await client.ListIdsAsync("""{"limit":1}"""));
        var thousand = await client.ListIdsAsync("""{"limit":1000}""");
        Assert.Equal(Enumerable.Range(1, 1000).Reverse().Select(i => $"c{i:D4}"), thousand);
        Assert.Equal(["c0000"], await client.ListIdsAsync("""{"limit":1000,"pagination_key":"c0001"}"""));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("1001")]
    [InlineData("2147483648")]
    [InlineData("1.5")]
    [InlineData("10.0")]
    [InlineData("\"10\"")]
    [InlineData("true")]
    [InlineData("[10]")]
    public async Task ALimitOutsideOneToOneThousandOrNotAnIntegerIsABadRequest(string limit)
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync(Web("c1", start: Base));
        var error = await Api.AssertErrorAsync(await client.PostJsonAsync("/v2/list-calls", $$"""{"limit":{{limit}}}"""), HttpStatusCode.BadRequest);
        Assert.Contains("limit", error.GetProperty("message").GetString());
    }
}
