using System.Text.Json.Nodes;

namespace CallVault.Tests.Infrastructure;

/// <summary>Walks list-calls pages the way an SDK user does: the last call id of a page is the next key.</summary>
public static class Paging
{
    public static async Task<List<string>> WalkAsync(HttpClient client, string sortOrder, int limit, JsonObject? filter = null, Func<Task>? betweenPages = null)
    {
        var all = new List<string>();
        string? key = null;
        for (var pages = 0; ; pages++)
        {
            Assert.True(pages < 100_000, "the walk does not end");
            var page = await client.ListIdsAsync(Api.ListBody(filter, sortOrder, limit, key));
            Assert.True(page.Length <= limit, $"a page of {page.Length} calls exceeds the limit of {limit}");
            all.AddRange(page);
            if (page.Length < limit)
                return all;
            key = page[^1];
            if (betweenPages is not null)
                await betweenPages();
        }
    }

    /// <summary>The call ids of <paramref name="calls"/> in the default list order: start time descending, ties by call id in byte order, descending.</summary>
    public static List<string> IdsInListOrder(IEnumerable<JsonObject> calls) =>
    [
        .. calls
            .OrderByDescending(c => c["start_timestamp"]!.GetValue<long>())
            .ThenByDescending(c => c["call_id"]!.GetValue<string>(), StringComparer.Ordinal)
            .Select(c => c["call_id"]!.GetValue<string>()),
    ];
}
