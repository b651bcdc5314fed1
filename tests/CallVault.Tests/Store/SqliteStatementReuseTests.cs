using System.Text.Json;
using System.Text.Json.Nodes;
using CallVault.Client.Models;
using CallVault.Store;
using CallVault.Store.Sqlite;
using CallVault.Tests.Infrastructure;

namespace CallVault.Tests.Store;

/// <summary>
/// A list query's statement is prepared once per reader and reused: SQLite must not recompile it because new
/// values were bound (issue 3: it did, on every request, because the planner read the bound LIMIT).
/// </summary>
public sealed class SqliteStatementReuseTests
{
    static readonly CancellationToken None = CancellationToken.None;

    static PreparedCall Call(int i) => CallDocuments.FromNode(new JsonObject
    {
        ["call_id"] = $"call_{i:D4}",
        ["agent_id"] = $"agent_{i % 3}",
        ["call_type"] = "phone_call",
        ["call_status"] = "ended",
        ["start_timestamp"] = 1_700_000_000_000L + (i / 2) * 1000, // pairs share a start time
        ["latency"] = new JsonObject { ["e2e"] = new JsonObject { ["p50"] = 1000.0 + (i % 40) * 25 } },
    });

    [Fact]
    public async Task PagesOfEveryShapeAreServedByStatementsThatAreNeverRecompiled()
    {
        using var folder = new SqliteFolder();
        await using var store = new SqliteCallStore(folder.DatabasePath);
        await store.MigrateAsync(None);
        var ws = (await store.GetOrCreateWorkspaceAsync("w", None)).Id;
        var calls = Enumerable.Range(0, 300).Select(Call).ToList();
        await store.UpsertCallsAsync(ws, calls, None);
        var all = calls.Select(c => JsonNode.Parse(c.Document)!.AsObject()).ToList();
        var models = calls.ToDictionary(c => c.CallId, c => JsonSerializer.Deserialize(c.Document, CallVaultJsonContext.Default.Call)!);

        CallFilter?[] filters =
        [
            null,
            new() { AgentId = ["agent_1"] },
            new() { AgentId = ["agent_0", "agent_2"] },
            new() { E2eLatencyP50 = new Threshold { LowerThreshold = 1200, UpperThreshold = 1600 } },
            new() { StartTimestamp = new Threshold { LowerThreshold = 1_700_000_010_000L, UpperThreshold = 1_700_000_090_000L } },
        ];
        foreach (var filter in filters)
        {
            var expected = Paging.IdsInListOrder(all.Where(c => filter.Matches(models[c["call_id"]!.GetValue<string>()])));
            // The same statement, walked page by page: the cursor's values change at every request.
            var walked = new List<string>();
            CallPosition? after = null;
            while (true)
            {
                using var page = await store.ListPageAsync(ws, new CallQuery(filter, false, 7, after), None);
                var ids = page.ToArrays().Select(d => JsonNode.Parse(d)!["call_id"]!.GetValue<string>()).ToList();
                walked.AddRange(ids);
                if (ids.Count < 7)
                    break;
                var last = all.Single(c => c["call_id"]!.GetValue<string>() == ids[^1]);
                after = new CallPosition(last["start_timestamp"]!.GetValue<long>(), ids[^1]);
            }
            Assert.Equal(expected, walked);
            Assert.True(expected.Count > 14, "each filter should take several pages");
        }

        Assert.Equal(0, store.ListStatementRecompilations());
    }
}
