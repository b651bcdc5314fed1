using System.Text.Json;
using System.Text.Json.Serialization;

namespace CallVault.Client.Models;

/// <summary>
/// A call record, web or phone (told apart by <see cref="CallType"/>), as the Retell v2 API returns it
/// (retell-sdk 4.20.0). Fields this model does not know are kept in <see cref="ExtensionData"/>.
/// </summary>
public sealed record Call
{
    /// <summary>Unique id of the call.</summary>
    [JsonPropertyName("call_id")] public required string CallId { get; init; }
    /// <summary>Id of the agent that handled the call.</summary>
    [JsonPropertyName("agent_id")] public required string AgentId { get; init; }
    /// <summary>Web or phone call.</summary>
    [JsonPropertyName("call_type")] public required CallType CallType { get; init; }
    /// <summary>Where the call is in its lifecycle.</summary>
    [JsonPropertyName("call_status")] public required CallStatus CallStatus { get; init; }
    /// <summary>Web calls: the token to join the call room.</summary>
    [JsonPropertyName("access_token")] public string? AccessToken { get; init; }
    /// <summary>Phone calls: inbound or outbound.</summary>
    [JsonPropertyName("direction")] public CallDirection? Direction { get; init; }
    /// <summary>Phone calls: the caller's number.</summary>
    [JsonPropertyName("from_number")] public string? FromNumber { get; init; }
    /// <summary>Phone calls: the callee's number.</summary>
    [JsonPropertyName("to_number")] public string? ToNumber { get; init; }
    /// <summary>Phone calls: identifiers of the telephony provider.</summary>
    [JsonPropertyName("telephony_identifier")] public TelephonyIdentifier? TelephonyIdentifier { get; init; }
    /// <summary>Arbitrary data attached to the call.</summary>
    [JsonPropertyName("metadata")] public JsonElement? Metadata { get; init; }
    /// <summary>Dynamic variables injected into the agent's prompt.</summary>
    [JsonPropertyName("retell_llm_dynamic_variables")] public Dictionary<string, JsonElement>? RetellLlmDynamicVariables { get; init; }
    /// <summary>Whether transcripts, recordings and logs are withheld from storage.</summary>
    [JsonPropertyName("opt_out_sensitive_data_storage")] public bool? OptOutSensitiveDataStorage { get; init; }
    /// <summary>Start of the call, unix milliseconds.</summary>
    [JsonPropertyName("start_timestamp")] public long? StartTimestamp { get; init; }
    /// <summary>End of the call, unix milliseconds.</summary>
    [JsonPropertyName("end_timestamp")] public long? EndTimestamp { get; init; }
    /// <summary>The whole conversation as text.</summary>
    [JsonPropertyName("transcript")] public string? Transcript { get; init; }
    /// <summary>Utterances with word timings.</summary>
    [JsonPropertyName("transcript_object")] public IReadOnlyList<Utterance>? TranscriptObject { get; init; }
    /// <summary>Utterances interleaved with tool calls, tool results and DTMF digits.</summary>
    [JsonPropertyName("transcript_with_tool_calls")] public IReadOnlyList<Utterance>? TranscriptWithToolCalls { get; init; }
    /// <summary>Where the recording can be downloaded.</summary>
    [JsonPropertyName("recording_url")] public string? RecordingUrl { get; init; }
    /// <summary>Where the call's public log can be downloaded.</summary>
    [JsonPropertyName("public_log_url")] public string? PublicLogUrl { get; init; }
    /// <summary>Latency statistics of the call's pipeline stages.</summary>
    [JsonPropertyName("latency")] public CallLatency? Latency { get; init; }
    /// <summary>Why the call ended.</summary>
    [JsonPropertyName("disconnection_reason")] public DisconnectionReason? DisconnectionReason { get; init; }
    /// <summary>Post-call analysis.</summary>
    [JsonPropertyName("call_analysis")] public CallAnalysis? CallAnalysis { get; init; }
    /// <summary>What the call cost.</summary>
    [JsonPropertyName("call_cost")] public CallCost? CallCost { get; init; }
    /// <summary>Fields of newer API versions that this model does not know; kept so that nothing is lost.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? ExtensionData { get; set; }

    /// <summary>Length of the call in milliseconds, when both timestamps are known.</summary>
    [JsonIgnore]
    public long? DurationMs => StartTimestamp is { } start && EndTimestamp is { } end ? end - start : null;

    /// <summary>Start of the call, when known.</summary>
    [JsonIgnore]
    public DateTimeOffset? StartTime => StartTimestamp is { } start ? DateTimeOffset.FromUnixTimeMilliseconds(start) : null;

    /// <summary>End of the call, when known.</summary>
    [JsonIgnore]
    public DateTimeOffset? EndTime => EndTimestamp is { } end ? DateTimeOffset.FromUnixTimeMilliseconds(end) : null;

    /// <summary>Length of the call, when both timestamps are known.</summary>
    [JsonIgnore]
    public TimeSpan? Duration => DurationMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null;
}

/// <summary>Identifiers of the telephony provider.</summary>
public sealed record TelephonyIdentifier
{
    /// <summary>Twilio's call SID.</summary>
    [JsonPropertyName("twilio_call_sid")] public string? TwilioCallSid { get; init; }
    /// <summary>Fields this model does not know.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? ExtensionData { get; set; }
}

/// <summary>
/// One entry of a transcript: an utterance of the agent or the user (with word timings), or, in
/// <c>transcript_with_tool_calls</c>, a tool call invocation, a tool call result or a DTMF digit.
/// </summary>
public sealed record Utterance
{
    /// <summary><c>agent</c>, <c>user</c>, <c>tool_call_invocation</c>, <c>tool_call_result</c> or <c>dtmf</c>.</summary>
    [JsonPropertyName("role")] public required string Role { get; init; }
    /// <summary>What was said, or the tool's result.</summary>
    [JsonPropertyName("content")] public string? Content { get; init; }
    /// <summary>Word timings of an utterance.</summary>
    [JsonPropertyName("words")] public IReadOnlyList<Word>? Words { get; init; }
    /// <summary>Tool calls: the tool's name.</summary>
    [JsonPropertyName("name")] public string? Name { get; init; }
    /// <summary>Tool calls: the arguments, as JSON text.</summary>
    [JsonPropertyName("arguments")] public string? Arguments { get; init; }
    /// <summary>Tool calls and results: the id that pairs them.</summary>
    [JsonPropertyName("tool_call_id")] public string? ToolCallId { get; init; }
    /// <summary>DTMF: the digit pressed.</summary>
    [JsonPropertyName("digit")] public string? Digit { get; init; }
    /// <summary>Fields this model does not know.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? ExtensionData { get; set; }
}

/// <summary>A word with its timing in seconds from the start of the call.</summary>
public sealed record Word
{
    /// <summary>The word.</summary>
    [JsonPropertyName("word")] public string? Text { get; init; }
    /// <summary>Start, seconds.</summary>
    [JsonPropertyName("start")] public double? Start { get; init; }
    /// <summary>End, seconds.</summary>
    [JsonPropertyName("end")] public double? End { get; init; }
    /// <summary>Fields this model does not know.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? ExtensionData { get; set; }
}

/// <summary>Latency statistics per pipeline stage, in milliseconds.</summary>
public sealed record CallLatency
{
    /// <summary>End to end: from the user's last word to the agent's first audio.</summary>
    [JsonPropertyName("e2e")] public LatencyStats? E2e { get; init; }
    /// <summary>Language model.</summary>
    [JsonPropertyName("llm")] public LatencyStats? Llm { get; init; }
    /// <summary>Round trip of the language model's websocket.</summary>
    [JsonPropertyName("llm_websocket_network_rtt")] public LatencyStats? LlmWebsocketNetworkRtt { get; init; }
    /// <summary>Text to speech.</summary>
    [JsonPropertyName("tts")] public LatencyStats? Tts { get; init; }
    /// <summary>Knowledge base retrieval.</summary>
    [JsonPropertyName("knowledge_base")] public LatencyStats? KnowledgeBase { get; init; }
    /// <summary>Speech to speech.</summary>
    [JsonPropertyName("s2s")] public LatencyStats? S2s { get; init; }
    /// <summary>Stages this model does not know.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? ExtensionData { get; set; }
}

/// <summary>Summary statistics of one latency metric, in milliseconds.</summary>
public sealed record LatencyStats
{
    /// <summary>Median.</summary>
    [JsonPropertyName("p50")] public double? P50 { get; init; }
    /// <summary>90th percentile.</summary>
    [JsonPropertyName("p90")] public double? P90 { get; init; }
    /// <summary>95th percentile.</summary>
    [JsonPropertyName("p95")] public double? P95 { get; init; }
    /// <summary>99th percentile.</summary>
    [JsonPropertyName("p99")] public double? P99 { get; init; }
    /// <summary>Largest.</summary>
    [JsonPropertyName("max")] public double? Max { get; init; }
    /// <summary>Smallest.</summary>
    [JsonPropertyName("min")] public double? Min { get; init; }
    /// <summary>Number of samples.</summary>
    [JsonPropertyName("num")] public double? Num { get; init; }
    /// <summary>The samples.</summary>
    [JsonPropertyName("values")] public IReadOnlyList<double>? Values { get; init; }
    /// <summary>Fields this model does not know.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? ExtensionData { get; set; }
}

/// <summary>Post-call analysis.</summary>
public sealed record CallAnalysis
{
    /// <summary>Whether the agent achieved the call's goal.</summary>
    [JsonPropertyName("call_successful")] public bool? CallSuccessful { get; init; }
    /// <summary>A summary of the call.</summary>
    [JsonPropertyName("call_summary")] public string? CallSummary { get; init; }
    /// <summary>Whether the call reached voicemail.</summary>
    [JsonPropertyName("in_voicemail")] public bool? InVoicemail { get; init; }
    /// <summary>The user's sentiment.</summary>
    [JsonPropertyName("user_sentiment")] public UserSentiment? UserSentiment { get; init; }
    /// <summary>Analysis fields defined by the agent's configuration.</summary>
    [JsonPropertyName("custom_analysis_data")] public JsonElement? CustomAnalysisData { get; init; }
    /// <summary>Fields this model does not know.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? ExtensionData { get; set; }
}

/// <summary>What a call cost, in cents.</summary>
public sealed record CallCost
{
    /// <summary>Total cost.</summary>
    [JsonPropertyName("combined_cost")] public double? CombinedCost { get; init; }
    /// <summary>Cost per product.</summary>
    [JsonPropertyName("product_costs")] public IReadOnlyList<ProductCost>? ProductCosts { get; init; }
    /// <summary>Billed duration.</summary>
    [JsonPropertyName("total_duration_seconds")] public double? TotalDurationSeconds { get; init; }
    /// <summary>Price per second.</summary>
    [JsonPropertyName("total_duration_unit_price")] public double? TotalDurationUnitPrice { get; init; }
    /// <summary>One-time charges.</summary>
    [JsonPropertyName("total_one_time_price")] public double? TotalOneTimePrice { get; init; }
    /// <summary>Fields this model does not know.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? ExtensionData { get; set; }
}

/// <summary>Cost of one product used by a call.</summary>
public sealed record ProductCost
{
    /// <summary>Product name.</summary>
    [JsonPropertyName("product")] public string? Product { get; init; }
    /// <summary>Price per unit.</summary>
    [JsonPropertyName("unitPrice")] public double? UnitPrice { get; init; }
    /// <summary>Cost.</summary>
    [JsonPropertyName("cost")] public double? Cost { get; init; }
    /// <summary>Fields this model does not know.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? ExtensionData { get; set; }
}
