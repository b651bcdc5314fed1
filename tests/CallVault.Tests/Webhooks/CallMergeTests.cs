using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallVault.Store;

namespace CallVault.Tests.Webhooks;

public class CallMergeTests
{
    static PreparedCall Prepare(JsonObject call) => CallDocuments.Prepare(JsonSerializer.SerializeToElement(call));

    static StoredCall? Apply(StoredCall? current, CallEvent evt, JsonObject call)
    {
        var merged = CallMerge.Merge(current, Prepare(call), evt);
        return merged is null ? current : new StoredCall(merged.Call.Document, merged.MergeState);
    }

    static JsonObject Doc(StoredCall? call) => JsonNode.Parse(call!.Document)!.AsObject();

    static readonly (CallEvent Event, JsonObject Call)[] Lifecycle =
    [
        (CallEvent.CallStarted, WebhookCalls.Started("c1")),
        (CallEvent.CallEnded, WebhookCalls.Ended("c1")),
        (CallEvent.CallAnalyzed, WebhookCalls.Analyzed("c1")),
    ];

    static IEnumerable<int[]> Permutations(int[] items) =>
        items.Length <= 1 ? [items] : items.SelectMany((x, i) => Permutations([.. items[..i], .. items[(i + 1)..]]).Select(rest => (int[])[x, .. rest]));

    [Fact]
    public void EveryArrivalOrderWithRepeatsGivesTheSameBytesAsTheLifecycleOrder()
    {
        StoredCall? expected = null;
        foreach (var (evt, call) in Lifecycle)
            expected = Apply(expected, evt, call);

        // Every order of the three events, each also with every event repeated right after itself.
        foreach (var order in Permutations([0, 1, 2]))
            foreach (var repeat in new[] { false, true })
            {
                StoredCall? actual = null;
                foreach (var i in order.SelectMany(i => repeat ? new[] { i, i } : [i]))
                    actual = Apply(actual, Lifecycle[i].Event, Lifecycle[i].Call);
                Assert.Equal(Encoding.UTF8.GetString(expected!.Document), Encoding.UTF8.GetString(actual!.Document));
                Assert.Equal(expected.MergeState, actual.MergeState);
            }
    }

    [Fact]
    public void ARepeatedDeliveryChangesNothing()
    {
        var stored = Apply(null, CallEvent.CallEnded, WebhookCalls.Ended("c1"));
        Assert.Null(CallMerge.Merge(stored, Prepare(WebhookCalls.Ended("c1")), CallEvent.CallEnded));
        var analyzed = Apply(stored, CallEvent.CallAnalyzed, WebhookCalls.Analyzed("c1"));
        Assert.Null(CallMerge.Merge(analyzed, Prepare(WebhookCalls.Analyzed("c1")), CallEvent.CallAnalyzed));
        Assert.Null(CallMerge.Merge(analyzed, Prepare(WebhookCalls.Ended("c1")), CallEvent.CallEnded));
    }

    [Fact]
    public void StatusOnlyMovesForwardAndAnalysisSurvivesALaterCallEnded()
    {
        var stored = Apply(null, CallEvent.CallAnalyzed, WebhookCalls.Analyzed("c1"));
        stored = Apply(stored, CallEvent.CallEnded, WebhookCalls.Ended("c1"));
        stored = Apply(stored, CallEvent.CallStarted, WebhookCalls.Started("c1"));
        var doc = Doc(stored);
        Assert.Equal("ended", (string?)doc["call_status"]);
        Assert.Equal("The user said hi.", (string?)doc["call_analysis"]!["call_summary"]);
        Assert.Equal("Ada", (string?)doc["retell_llm_dynamic_variables"]!["name"]); // from the started event only
    }

    [Fact]
    public void TheLaterLifecycleEventWinsAConflictWhicheverArrivesFirst()
    {
        var started = WebhookCalls.Started("c1");
        var ended = WebhookCalls.Ended("c1");
        started["from_number"] = "+10000000001";
        ended["from_number"] = "+10000000002";
        var a = Apply(Apply(null, CallEvent.CallStarted, started), CallEvent.CallEnded, ended);
        var b = Apply(Apply(null, CallEvent.CallEnded, ended), CallEvent.CallStarted, started);
        Assert.Equal("+10000000002", (string?)Doc(a)["from_number"]);
        Assert.Equal("+10000000002", (string?)Doc(b)["from_number"]);
    }

    [Fact]
    public void ANullNeverReplacesAValue()
    {
        var stored = Apply(null, CallEvent.CallAnalyzed, WebhookCalls.Analyzed("c1"));
        var ended = WebhookCalls.Ended("c1"); // call_analysis: null
        stored = Apply(stored, CallEvent.CallEnded, ended);
        Assert.IsType<JsonObject>(Doc(stored)["call_analysis"]);
    }

    [Fact]
    public void MetadataChangedOutsideWebhooksIsKeptAndOtherFieldsStillMerge()
    {
        var stored = Apply(null, CallEvent.CallStarted, WebhookCalls.Started("c1"));
        var updated = CallDocuments.ApplyUpdate(stored!.Document, new CallVault.Client.Models.UpdateCallRequest { Metadata = JsonSerializer.SerializeToElement(new { crm_id = "mine" }) });
        stored = stored with { Document = updated.Document };
        stored = Apply(stored, CallEvent.CallAnalyzed, WebhookCalls.Analyzed("c1"));
        var doc = Doc(stored);
        Assert.Equal("mine", (string?)doc["metadata"]!["crm_id"]);
        Assert.Equal("ended", (string?)doc["call_status"]);
    }

    [Fact]
    public void AnOptedOutCallNeverReceivesSensitiveFieldsAndOptOutNeverGoesBack()
    {
        var started = WebhookCalls.Started("c1");
        started["opt_out_sensitive_data_storage"] = true;
        var stored = Apply(null, CallEvent.CallStarted, started);
        var ended = WebhookCalls.Ended("c1");
        ended["opt_out_sensitive_data_storage"] = false;
        stored = Apply(stored, CallEvent.CallEnded, ended);
        var doc = Doc(stored);
        Assert.True((bool)doc["opt_out_sensitive_data_storage"]!);
        Assert.All(CallDocuments.SensitiveFields, f => Assert.False(doc.ContainsKey(f)));
        Assert.DoesNotContain("transcript", stored!.MergeState!, StringComparison.Ordinal);
    }

    [Fact]
    public void OptingOutLaterErasesWhatWasStoredAndSaysSo()
    {
        var stored = Apply(null, CallEvent.CallEnded, WebhookCalls.Ended("c1"));
        var analyzed = WebhookCalls.Analyzed("c1");
        analyzed["opt_out_sensitive_data_storage"] = true;
        var merged = CallMerge.Merge(stored, Prepare(analyzed), CallEvent.CallAnalyzed)!;
        Assert.True(merged.Call.ErasesSensitiveData);
        Assert.False(JsonNode.Parse(merged.Call.Document)!.AsObject().ContainsKey("transcript"));
    }

    [Fact]
    public void ACopyFromTheSourceOfANewCallIsStoredAsTheSourceServedIt()
    {
        // Not the merge's own field order, and a field the model does not know.
        var copy = Prepare(new JsonObject
        {
            ["transcript"] = "Agent: Hi",
            ["call_status"] = "ended",
            ["zz_extra"] = new JsonObject { ["b"] = 1, ["a"] = 2 },
            ["call_id"] = "c1",
            ["call_type"] = "web_call",
            ["agent_id"] = "agent_1",
            ["call_analysis"] = null,
        });
        var merged = CallMerge.MergeFromSource(null, copy)!;
        Assert.Equal(copy.Document, merged.Call.Document);
        Assert.Null(CallMerge.MergeFromSource(new StoredCall(merged.Call.Document, merged.MergeState), copy));
    }

    [Fact]
    public void ASourceCopyReplacesWhatWasWrittenAtItsOwnStageAndNothingOfALaterOne()
    {
        var stored = Apply(null, CallEvent.CallEnded, WebhookCalls.Ended("c1"));
        var copy = WebhookCalls.Ended("c1");
        copy["disconnection_reason"] = "agent_hangup";
        stored = ApplyFromSource(stored, copy);
        Assert.Equal("agent_hangup", (string?)Doc(stored)["disconnection_reason"]);

        stored = Apply(stored, CallEvent.CallAnalyzed, WebhookCalls.Analyzed("c1"));
        var older = WebhookCalls.Started("c1");
        older["from_number"] = "+10000000009";
        older["telephony_identifier"] = new JsonObject { ["twilio_call_sid"] = "CA1" };
        var doc = Doc(ApplyFromSource(stored, older));
        Assert.Equal("ended", (string?)doc["call_status"]);
        Assert.Equal("+14155550100", (string?)doc["from_number"]); // written at a later stage
        Assert.Equal("CA1", (string?)doc["telephony_identifier"]!["twilio_call_sid"]); // a gap, filled
        Assert.Equal("The user said hi.", (string?)doc["call_analysis"]!["call_summary"]);
    }

    [Fact]
    public void ASourceCopyNeverOverwritesMetadataOrOptOutTheUserSet()
    {
        var stored = ApplyFromSource(null, WebhookCalls.Started("c1"));
        var update = new CallVault.Client.Models.UpdateCallRequest
        {
            Metadata = JsonSerializer.SerializeToElement(new { crm_id = "mine" }),
            OptOutSensitiveDataStorage = true,
        };
        stored = stored! with { Document = CallDocuments.ApplyUpdate(stored.Document, update).Document };
        var doc = Doc(ApplyFromSource(stored, WebhookCalls.Analyzed("c1")));
        Assert.Equal("mine", (string?)doc["metadata"]!["crm_id"]);
        Assert.True((bool)doc["opt_out_sensitive_data_storage"]!);
        Assert.Null(doc["transcript"]);
        Assert.Equal("ended", (string?)doc["call_status"]);
    }

    static StoredCall? ApplyFromSource(StoredCall? current, JsonObject call)
    {
        var merged = CallMerge.MergeFromSource(current, Prepare(call));
        return merged is null ? current : new StoredCall(merged.Call.Document, merged.MergeState);
    }
}
