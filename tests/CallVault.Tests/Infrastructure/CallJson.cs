using System.Text.Json.Nodes;

namespace CallVault.Tests.Infrastructure;

/// <summary>Call objects as Retell's list-calls returns them, built for tests.</summary>
public static class CallJson
{
    /// <summary>Unix milliseconds in the past, so that calls without a start sort above these.</summary>
    public const long Base = 1_700_000_000_000;

    public static JsonObject Phone(string callId, string agentId = "agent_a", string status = "ended", long? start = null) => new JsonObject()
    {
        ["call_type"] = "phone_call",
        ["call_id"] = callId,
        ["agent_id"] = agentId,
        ["call_status"] = status,
        ["direction"] = "inbound",
        ["from_number"] = "+14155550100",
        ["to_number"] = "+14155550199",
        ["start_timestamp"] = start,
    }.WithoutNulls();

    public static JsonObject Web(string callId, string agentId = "agent_a", string status = "ended", long? start = null) => new JsonObject()
    {
        ["call_type"] = "web_call",
        ["call_id"] = callId,
        ["agent_id"] = agentId,
        ["call_status"] = status,
        ["access_token"] = "token-" + callId,
        ["start_timestamp"] = start,
    }.WithoutNulls();

    /// <summary>Sets a field (null removes it) and returns the same object, for chaining.</summary>
    public static JsonObject With(this JsonObject call, string field, JsonNode? value)
    {
        if (value is null)
            call.Remove(field);
        else
            call[field] = value;
        return call;
    }

    static JsonObject WithoutNulls(this JsonObject call)
    {
        foreach (var name in call.Where(p => p.Value is null).Select(p => p.Key).ToList())
            call.Remove(name);
        return call;
    }
}
