using System.Text.Json.Nodes;

namespace CallVault.Tests.Webhooks;

/// <summary>Webhook deliveries of one call's lifecycle, shaped as Retell sends them.</summary>
static class WebhookCalls
{
    public static JsonObject Started(string callId, long start = 1_700_000_000_000) => new()
    {
        ["call_id"] = callId,
        ["agent_id"] = "agent_1",
        ["call_type"] = "phone_call",
        ["call_status"] = "ongoing",
        ["direction"] = "inbound",
        ["from_number"] = "+14155550100",
        ["to_number"] = "+14155550199",
        ["start_timestamp"] = start,
        ["metadata"] = new JsonObject { ["crm_id"] = "crm-" + callId },
        ["retell_llm_dynamic_variables"] = new JsonObject { ["name"] = "Ada" },
    };

    public static JsonObject Ended(string callId, long start = 1_700_000_000_000)
    {
        var call = Started(callId, start);
        call.Remove("retell_llm_dynamic_variables"); // only call_started carries it: the union keeps it
        call["call_status"] = "ended";
        call["end_timestamp"] = start + 61_000;
        call["transcript"] = "Agent: Hello\nUser: Hi, é ü 电话";
        call["recording_url"] = $"https://example.invalid/{callId}.wav";
        call["disconnection_reason"] = "user_hangup";
        call["latency"] = new JsonObject { ["e2e"] = new JsonObject { ["values"] = new JsonArray(800, 900, 1000) } };
        call["call_analysis"] = null; // Retell sends null before the analysis is done
        return call;
    }

    public static JsonObject Analyzed(string callId, long start = 1_700_000_000_000)
    {
        var call = Ended(callId, start);
        call["call_analysis"] = new JsonObject
        {
            ["call_summary"] = "The user said hi.",
            ["user_sentiment"] = "Positive",
            ["call_successful"] = true,
            ["in_voicemail"] = false,
        };
        return call;
    }

    public static string Delivery(string evt, JsonObject call) =>
        new JsonObject { ["event"] = evt, ["call"] = call.DeepClone() }.ToJsonString();
}
