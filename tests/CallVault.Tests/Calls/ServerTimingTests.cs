using System.Globalization;
using System.Text.RegularExpressions;
using CallVault.Tests.Infrastructure;

namespace CallVault.Tests.Calls;

/// <summary>
/// <c>CallVault:ServerTiming</c>: list-calls answers say how long the store took and where the page's documents
/// came from, so that a slow request can be told apart from a slow store (the benchmark reads it).
/// </summary>
public partial class ServerTimingTests
{
    [GeneratedRegex("""^store;dur=(?<ms>[0-9]+\.[0-9]{3}), documents;desc="(?<source>[a-z+]+)"$""")]
    private static partial Regex Header();

    [Fact]
    public async Task ListCallsAnswersHaveNoServerTimingByDefault()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync([.. SampleCalls.Generate(3)]);

        var response = await client.PostJsonAsync("/v2/list-calls", "{}");

        Assert.Equal(3, (await Api.OkJsonAsync(response)).GetArrayLength());
        Assert.False(response.Headers.Contains("Server-Timing"));
    }

    [Fact]
    public async Task ServerTimingGivesTheStoresTimeAndWhereTheDocumentsCameFrom()
    {
        await using var app = await CallVaultApp.StartAsync(new() { ["CallVault:ServerTiming"] = "true" });
        var client = await app.ClientForAsync();
        var calls = SampleCalls.Generate(11);
        await client.ImportAsync([.. calls.Take(10)]);

        // Visits of a list's first page: PostgreSQL keeps its documents at the first and serves them from the
        // second on.
        var sources = new List<string>();
        for (var visit = 0; visit < 4; visit++)
            sources.Add(await ListSourceAsync(client, 10));
        Assert.Equal(TestDatabase.UsesPostgres ? ["database", "cache", "cache", "cache"] : ["database", "database", "database", "database"], sources);

        // A page of a walk (after a pagination key): kept at its second visit, served from the third on.
        var walk = new List<string>();
        for (var visit = 0; visit < 4; visit++)
            walk.Add(await ListSourceAsync(client, 4, paginationKey: calls[8]["call_id"]!.GetValue<string>()));
        Assert.Equal(TestDatabase.UsesPostgres ? ["database", "database", "cache", "cache"] : ["database", "database", "database", "database"], walk);

        // A new call on top of the page: on PostgreSQL only its document is read, the rest come from the cache.
        await client.ImportAsync(calls[10]);
        Assert.Equal(TestDatabase.UsesPostgres ? "cache+database" : "database", await ListSourceAsync(client, 10));

        // Another workspace's pages, and pages too large to keep, are read from the database.
        var other = await app.ClientForAsync("other");
        await other.ImportAsync([.. calls.Take(3)]);
        Assert.Equal("database", await ListSourceAsync(other, 10));
        Assert.Equal("database", await ListSourceAsync(client, 1000));
    }

    /// <summary>Lists a page (the newest, or the one after a key) and returns its header's document source, after checking the whole header.</summary>
    static async Task<string> ListSourceAsync(HttpClient client, int limit, string? paginationKey = null)
    {
        var body = paginationKey is null ? $$"""{"limit":{{limit}}}""" : $$"""{"limit":{{limit}},"pagination_key":"{{paginationKey}}"}""";
        var response = await client.PostJsonAsync("/v2/list-calls", body);
        Assert.True((await Api.OkJsonAsync(response)).GetArrayLength() > 0);
        var header = Assert.Single(response.Headers.GetValues("Server-Timing"));
        var match = Header().Match(header);
        Assert.True(match.Success, header);
        var ms = double.Parse(match.Groups["ms"].Value, CultureInfo.InvariantCulture);
        Assert.InRange(ms, 0.001, 60_000);
        return match.Groups["source"].Value;
    }
}
