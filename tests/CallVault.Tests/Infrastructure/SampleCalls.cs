using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallVault.Store;

namespace CallVault.Tests.Infrastructure;

/// <summary>Varied, valid calls for tests that move many of them around.</summary>
static class SampleCalls
{
    public static List<JsonObject> Generate(int count, string prefix = "call")
    {
        var calls = new List<JsonObject>(count);
        for (var i = 0; i < count; i++)
        {
            var id = $"{prefix}_{i.ToString("D6", CultureInfo.InvariantCulture)}";
            var phone = i % 3 != 0;
            var call = new JsonObject
            {
                ["call_id"] = id,
                ["agent_id"] = $"agent_{i % 4}",
                ["call_type"] = phone ? "phone_call" : "web_call",
                ["call_status"] = i % 10 == 9 ? "error" : "ended",
                ["start_timestamp"] = 1_700_000_000_000 + (long)i * 60_000,
                ["end_timestamp"] = 1_700_000_000_000 + (long)i * 60_000 + 30_000 + i % 7 * 1000,
                ["transcript"] = $"Agent: Hello \"caller\" {i},\nUser: ça va, 电话; yes",
                ["metadata"] = new JsonObject { ["n"] = i, ["tags"] = new JsonArray("a", "b") },
                ["disconnection_reason"] = i % 2 == 0 ? "user_hangup" : "agent_hangup",
                ["latency"] = new JsonObject { ["e2e"] = new JsonObject { ["p50"] = 800 + i % 100, ["p90"] = 1200, ["num"] = 4 } },
            };
            if (phone)
            {
                call["direction"] = i % 2 == 0 ? "inbound" : "outbound";
                call["from_number"] = $"+1415555{i % 10000:D4}";
                call["to_number"] = "+14155550000";
            }
            if (i % 5 != 4)
                call["call_analysis"] = new JsonObject
                {
                    ["call_summary"] = $"Summary of call {i}, with a comma",
                    ["user_sentiment"] = i % 2 == 0 ? "Positive" : "Neutral",
                    ["call_successful"] = i % 3 == 0,
                    ["in_voicemail"] = false,
                    ["custom_analysis_data"] = new JsonObject { ["score"] = i % 11 },
                };
            calls.Add(call);
        }
        return calls;
    }

    public static List<PreparedCall> Prepare(IEnumerable<JsonObject> calls) =>
        [.. calls.Select(c => CallDocuments.Prepare(JsonSerializer.SerializeToElement(c)))];

    /// <summary>Stores calls into a workspace of a store, in batches.</summary>
    public static async Task SeedAsync(ICallStore store, string workspace, IReadOnlyList<JsonObject> calls)
    {
        var ws = await store.GetOrCreateWorkspaceAsync(workspace, CancellationToken.None);
        foreach (var batch in Prepare(calls).Chunk(1000))
            await store.UpsertCallsAsync(ws.Id, batch, CancellationToken.None);
    }

    /// <summary>Every call document of a workspace by id, walking list-calls pages in the store.</summary>
    public static async Task<Dictionary<string, string>> DumpAsync(ICallStore store, string workspace)
    {
        var ws = await store.FindWorkspaceAsync(workspace, CancellationToken.None);
        var all = new Dictionary<string, string>(StringComparer.Ordinal);
        if (ws is null)
            return all;
        CallPosition? after = null;
        while (true)
        {
            var page = await store.ListCallsAsync(ws.Id, new CallQuery(null, true, 1000, after), CancellationToken.None);
            foreach (var doc in page)
            {
                var id = JsonDocument.Parse(doc).RootElement.GetProperty("call_id").GetString()!;
                Assert.True(all.TryAdd(id, System.Text.Encoding.UTF8.GetString(doc)), $"call {id} listed twice");
            }
            if (page.Count < 1000)
                return all;
            var last = JsonDocument.Parse(page[^1]).RootElement.GetProperty("call_id").GetString()!;
            after = await store.FindPositionAsync(ws.Id, last, CancellationToken.None);
        }
    }
}
