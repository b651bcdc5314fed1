using System.Text.Json;
using System.Text.Json.Serialization;

namespace CallVault.Client.Models;

/// <summary>Body of <c>POST /v2/list-calls</c>.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record ListCallsRequest
{
    /// <summary>Which calls to return; all when null.</summary>
    [JsonPropertyName("filter_criteria")] public CallFilter? FilterCriteria { get; init; }
    /// <summary>Order by start timestamp; descending when null.</summary>
    [JsonPropertyName("sort_order")] public SortOrder? SortOrder { get; init; }
    /// <summary>Page size, 1 to 1000; 50 when null.</summary>
    [JsonPropertyName("limit")] public int? Limit { get; init; }
    /// <summary>Id of the call after which the page starts (exclusive): the last call of the previous page.</summary>
    [JsonPropertyName("pagination_key")] public string? PaginationKey { get; init; }
}

/// <summary>
/// Filter of list-calls. Fields combine with AND, the values of one list with OR; an empty or null list
/// constrains nothing. A call lacking the tested value never matches.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record CallFilter
{
    /// <summary>Agent ids.</summary>
    [JsonPropertyName("agent_id")] public IReadOnlyList<string>? AgentId { get; init; }
    /// <summary>Call statuses.</summary>
    [JsonPropertyName("call_status")] public IReadOnlyList<CallStatus>? CallStatus { get; init; }
    /// <summary>Call types.</summary>
    [JsonPropertyName("call_type")] public IReadOnlyList<CallType>? CallType { get; init; }
    /// <summary>Directions (phone calls only).</summary>
    [JsonPropertyName("direction")] public IReadOnlyList<CallDirection>? Direction { get; init; }
    /// <summary>Caller numbers (phone calls only).</summary>
    [JsonPropertyName("from_number")] public IReadOnlyList<string>? FromNumber { get; init; }
    /// <summary>Callee numbers (phone calls only).</summary>
    [JsonPropertyName("to_number")] public IReadOnlyList<string>? ToNumber { get; init; }
    /// <summary>User sentiments from the call analysis.</summary>
    [JsonPropertyName("user_sentiment")] public IReadOnlyList<UserSentiment>? UserSentiment { get; init; }
    /// <summary>Success flags from the call analysis.</summary>
    [JsonPropertyName("call_successful")] public IReadOnlyList<bool>? CallSuccessful { get; init; }
    /// <summary>Voicemail flags from the call analysis.</summary>
    [JsonPropertyName("in_voicemail")] public IReadOnlyList<bool>? InVoicemail { get; init; }
    /// <summary>Disconnection reasons.</summary>
    [JsonPropertyName("disconnection_reason")] public IReadOnlyList<DisconnectionReason>? DisconnectionReason { get; init; }
    /// <summary>Start time range, unix milliseconds, bounds inclusive.</summary>
    [JsonPropertyName("start_timestamp")] public Threshold? StartTimestamp { get; init; }
    /// <summary>Duration range in milliseconds, bounds inclusive.</summary>
    [JsonPropertyName("duration_ms")] public Threshold? DurationMs { get; init; }
    /// <summary>Range of the median end-to-end latency in milliseconds, bounds inclusive.</summary>
    [JsonPropertyName("e2e_latency_p50")] public Threshold? E2eLatencyP50 { get; init; }
}

/// <summary>An inclusive range; a null bound is open.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record Threshold
{
    /// <summary>Smallest value that matches.</summary>
    [JsonPropertyName("lower_threshold")] public double? LowerThreshold { get; init; }
    /// <summary>Largest value that matches.</summary>
    [JsonPropertyName("upper_threshold")] public double? UpperThreshold { get; init; }

    /// <summary>A range of instants, as unix milliseconds (for <see cref="CallFilter.StartTimestamp"/>); a null bound is open.</summary>
    /// <param name="from">Earliest instant that matches.</param>
    /// <param name="until">Latest instant that matches.</param>
    public static Threshold Between(DateTimeOffset? from, DateTimeOffset? until) =>
        new() { LowerThreshold = from?.ToUnixTimeMilliseconds(), UpperThreshold = until?.ToUnixTimeMilliseconds() };

    /// <summary>A range of durations, in milliseconds (for <see cref="CallFilter.DurationMs"/>); a null bound is open.</summary>
    /// <param name="shortest">Shortest duration that matches.</param>
    /// <param name="longest">Longest duration that matches.</param>
    public static Threshold Between(TimeSpan? shortest, TimeSpan? longest) =>
        new() { LowerThreshold = shortest?.TotalMilliseconds, UpperThreshold = longest?.TotalMilliseconds };
}

/// <summary>Body of <c>PATCH /v2/update-call/{call_id}</c>.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record UpdateCallRequest
{
    /// <summary>Replaces the call's metadata (at most 50 kB as JSON).</summary>
    [JsonPropertyName("metadata")] public JsonElement? Metadata { get; init; }
    /// <summary>Set to true to erase the call's transcripts, recording and log; cannot be undone.</summary>
    [JsonPropertyName("opt_out_sensitive_data_storage")] public bool? OptOutSensitiveDataStorage { get; init; }
}

/// <summary>Body of <c>POST /v2/register-phone-call</c>.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record RegisterPhoneCallRequest
{
    /// <summary>The agent that will handle the call.</summary>
    [JsonPropertyName("agent_id")] public required string AgentId { get; init; }
    /// <summary>Inbound or outbound.</summary>
    [JsonPropertyName("direction")] public CallDirection? Direction { get; init; }
    /// <summary>The caller's number.</summary>
    [JsonPropertyName("from_number")] public string? FromNumber { get; init; }
    /// <summary>The callee's number.</summary>
    [JsonPropertyName("to_number")] public string? ToNumber { get; init; }
    /// <summary>Arbitrary data attached to the call.</summary>
    [JsonPropertyName("metadata")] public JsonElement? Metadata { get; init; }
    /// <summary>Dynamic variables for the agent's prompt.</summary>
    [JsonPropertyName("retell_llm_dynamic_variables")] public Dictionary<string, JsonElement>? RetellLlmDynamicVariables { get; init; }
}

/// <summary>Answer of <c>POST /v2/import-calls</c>.</summary>
public sealed record ImportCallsResult
{
    /// <summary>How many calls were stored (inserted or replaced).</summary>
    [JsonPropertyName("imported")] public int Imported { get; init; }
}

/// <summary>The body of an error answer.</summary>
public sealed record ApiError
{
    /// <summary>What went wrong, for a person.</summary>
    [JsonPropertyName("message")] public string? Message { get; init; }
    /// <summary>Per-record problems of a rejected import.</summary>
    [JsonPropertyName("errors")] public IReadOnlyList<RecordError>? Errors { get; init; }
}

/// <summary>What is wrong with one record of an import.</summary>
public sealed record RecordError
{
    /// <summary>Position of the record in the submitted array, from 0.</summary>
    [JsonPropertyName("index")] public int Index { get; init; }
    /// <summary>The record's call id, when it had one.</summary>
    [JsonPropertyName("call_id")] public string? CallId { get; init; }
    /// <summary>What is wrong.</summary>
    [JsonPropertyName("message")] public required string Message { get; init; }
}
