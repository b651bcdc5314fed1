using System.Text.Json;
using System.Text.Json.Nodes;
using CallVault.Store;
using CallVault.Tests.Infrastructure;

namespace CallVault.Tests.Store;

/// <summary>
/// Documents of every size come back as stored, on the store of the test run. On PostgreSQL a document is kept
/// compressed in its row, and one that does not fit a page even compressed goes to TOAST; a row larger than
/// the driver's 64 kB read buffer is read another way: both must serve the same bytes.
/// </summary>
public class LargeDocumentTests
{
    static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task SmallCompressibleAndLargeIncompressibleDocumentsComeBackByteForByteInOnePage()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var store = await CallStores.OpenAsync(database.ConnectionString, None);
        var ws = (await store.GetOrCreateWorkspaceAsync("acme", None)).Id;
        var random = new Random(3);
        string Noise(int bytes)
        {
            var raw = new byte[bytes * 3 / 4];
            random.NextBytes(raw);
            return Convert.ToBase64String(raw);
        }
        string[] transcripts = ["hi", new string('a', 20_000), Noise(6_000), Noise(300_000), string.Concat(Enumerable.Repeat("Agent: hello. User: hi. ", 4_000)), Noise(70_000)];
        var calls = transcripts.Select((transcript, i) =>
        {
            var node = new JsonObject
            {
                ["call_id"] = $"call_{i}",
                ["agent_id"] = "agent-1",
                ["call_type"] = "web_call",
                ["call_status"] = "ended",
                ["start_timestamp"] = 1_700_000_000_000 + i,
                ["transcript"] = transcript,
            };
            using var doc = JsonDocument.Parse(node.ToJsonString());
            return CallDocuments.Prepare(doc.RootElement);
        }).ToList();
        await store.UpsertCallsAsync(ws, calls, None);

        using var page = await store.ListPageAsync(ws, new CallQuery(null, false, 50, null), None);
        var newestFirst = Enumerable.Reverse(calls).ToList();
        Assert.Equal(newestFirst.Count, page.Count);
        for (var i = 0; i < page.Count; i++)
            Assert.Equal(newestFirst[i].Document, page[i].ToArray());
        Assert.Equal(newestFirst.Select(c => c.Document), await store.ListCallsAsync(ws, new CallQuery(null, false, 50, null), None));
        foreach (var call in calls)
            Assert.Equal(call.Document, await store.GetCallAsync(ws, call.CallId, None));
    }
}
