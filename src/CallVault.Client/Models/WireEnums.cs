using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CallVault.Client.Models;

/// <summary>Status of a call.</summary>
[JsonConverter(typeof(WireEnumConverter<CallStatus>))]
public enum CallStatus
{
    /// <summary>Call id issued, the call has not connected yet.</summary>
    [JsonStringEnumMemberName("registered")] Registered,
    /// <summary>Call connected and ongoing.</summary>
    [JsonStringEnumMemberName("ongoing")] Ongoing,
    /// <summary>The call has ended.</summary>
    [JsonStringEnumMemberName("ended")] Ended,
    /// <summary>The call ended with an error.</summary>
    [JsonStringEnumMemberName("error")] Error,
}

/// <summary>Kind of call: a browser (web) call or a telephone call.</summary>
[JsonConverter(typeof(WireEnumConverter<CallType>))]
public enum CallType
{
    /// <summary>A call made from a web page.</summary>
    [JsonStringEnumMemberName("web_call")] WebCall,
    /// <summary>A telephone call.</summary>
    [JsonStringEnumMemberName("phone_call")] PhoneCall,
}

/// <summary>Direction of a phone call.</summary>
[JsonConverter(typeof(WireEnumConverter<CallDirection>))]
public enum CallDirection
{
    /// <summary>The caller dialled the agent.</summary>
    [JsonStringEnumMemberName("inbound")] Inbound,
    /// <summary>The agent dialled out.</summary>
    [JsonStringEnumMemberName("outbound")] Outbound,
}

/// <summary>Sentiment of the user over the call, from the post-call analysis.</summary>
[JsonConverter(typeof(WireEnumConverter<UserSentiment>))]
public enum UserSentiment
{
    /// <summary>Negative.</summary>
    [JsonStringEnumMemberName("Negative")] Negative,
    /// <summary>Positive.</summary>
    [JsonStringEnumMemberName("Positive")] Positive,
    /// <summary>Neutral.</summary>
    [JsonStringEnumMemberName("Neutral")] Neutral,
    /// <summary>Could not be determined.</summary>
    [JsonStringEnumMemberName("Unknown")] Unknown,
}

/// <summary>Sort order of list-calls, by start timestamp.</summary>
[JsonConverter(typeof(WireEnumConverter<SortOrder>))]
public enum SortOrder
{
    /// <summary>Newest first (the default).</summary>
    [JsonStringEnumMemberName("descending")] Descending,
    /// <summary>Oldest first.</summary>
    [JsonStringEnumMemberName("ascending")] Ascending,
}

/// <summary>Why a call ended.</summary>
[JsonConverter(typeof(WireEnumConverter<DisconnectionReason>))]
public enum DisconnectionReason
{
    /// <summary>user_hangup</summary>
    [JsonStringEnumMemberName("user_hangup")] UserHangup,
    /// <summary>agent_hangup</summary>
    [JsonStringEnumMemberName("agent_hangup")] AgentHangup,
    /// <summary>call_transfer</summary>
    [JsonStringEnumMemberName("call_transfer")] CallTransfer,
    /// <summary>voicemail_reached</summary>
    [JsonStringEnumMemberName("voicemail_reached")] VoicemailReached,
    /// <summary>inactivity</summary>
    [JsonStringEnumMemberName("inactivity")] Inactivity,
    /// <summary>machine_detected</summary>
    [JsonStringEnumMemberName("machine_detected")] MachineDetected,
    /// <summary>max_duration_reached</summary>
    [JsonStringEnumMemberName("max_duration_reached")] MaxDurationReached,
    /// <summary>concurrency_limit_reached</summary>
    [JsonStringEnumMemberName("concurrency_limit_reached")] ConcurrencyLimitReached,
    /// <summary>no_valid_payment</summary>
    [JsonStringEnumMemberName("no_valid_payment")] NoValidPayment,
    /// <summary>scam_detected</summary>
    [JsonStringEnumMemberName("scam_detected")] ScamDetected,
    /// <summary>error_inbound_webhook</summary>
    [JsonStringEnumMemberName("error_inbound_webhook")] ErrorInboundWebhook,
    /// <summary>dial_busy</summary>
    [JsonStringEnumMemberName("dial_busy")] DialBusy,
    /// <summary>dial_failed</summary>
    [JsonStringEnumMemberName("dial_failed")] DialFailed,
    /// <summary>dial_no_answer</summary>
    [JsonStringEnumMemberName("dial_no_answer")] DialNoAnswer,
    /// <summary>error_llm_websocket_open</summary>
    [JsonStringEnumMemberName("error_llm_websocket_open")] ErrorLlmWebsocketOpen,
    /// <summary>error_llm_websocket_lost_connection</summary>
    [JsonStringEnumMemberName("error_llm_websocket_lost_connection")] ErrorLlmWebsocketLostConnection,
    /// <summary>error_llm_websocket_runtime</summary>
    [JsonStringEnumMemberName("error_llm_websocket_runtime")] ErrorLlmWebsocketRuntime,
    /// <summary>error_llm_websocket_corrupt_payload</summary>
    [JsonStringEnumMemberName("error_llm_websocket_corrupt_payload")] ErrorLlmWebsocketCorruptPayload,
    /// <summary>error_frontend_corrupted_payload</summary>
    [JsonStringEnumMemberName("error_frontend_corrupted_payload")] ErrorFrontendCorruptedPayload,
    /// <summary>error_twilio</summary>
    [JsonStringEnumMemberName("error_twilio")] ErrorTwilio,
    /// <summary>error_no_audio_received</summary>
    [JsonStringEnumMemberName("error_no_audio_received")] ErrorNoAudioReceived,
    /// <summary>error_asr</summary>
    [JsonStringEnumMemberName("error_asr")] ErrorAsr,
    /// <summary>error_retell</summary>
    [JsonStringEnumMemberName("error_retell")] ErrorRetell,
    /// <summary>error_unknown</summary>
    [JsonStringEnumMemberName("error_unknown")] ErrorUnknown,
    /// <summary>error_user_not_joined</summary>
    [JsonStringEnumMemberName("error_user_not_joined")] ErrorUserNotJoined,
    /// <summary>registered_call_timeout</summary>
    [JsonStringEnumMemberName("registered_call_timeout")] RegisteredCallTimeout,
}

/// <summary>Wire names of the enums, exactly as the Retell API spells them.</summary>
public static class WireEnum
{
    /// <summary>The wire spelling of <paramref name="value"/>.</summary>
    public static string ToWire<T>(T value) where T : struct, Enum => WireEnumConverter<T>.Names[value];

    /// <summary>Parses an exact wire spelling; case and integers are not accepted.</summary>
    public static bool TryParse<T>(string? text, out T value) where T : struct, Enum =>
        WireEnumConverter<T>.Values.TryGetValue(text ?? "", out value);
}

/// <summary>
/// Reads and writes an enum by its exact wire name. Unlike JsonStringEnumConverter it refuses integers and
/// other casings, so a typo in a filter is an error rather than a silently different query.
/// </summary>
public sealed class WireEnumConverter<T> : JsonConverter<T> where T : struct, Enum
{
    internal static readonly Dictionary<T, string> Names = typeof(T)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .ToDictionary(f => (T)f.GetValue(null)!, f => f.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? f.Name);

    internal static readonly Dictionary<string, T> Values = Names.ToDictionary(p => p.Value, p => p.Key, StringComparer.Ordinal);

    /// <inheritdoc />
    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
            throw new JsonException($"expected one of {string.Join(", ", Values.Keys)}");
        var text = reader.GetString();
        return Values.TryGetValue(text!, out var value)
            ? value
            : throw new JsonException($"'{text}' is not one of {string.Join(", ", Values.Keys)}");
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
        writer.WriteStringValue(Names[value]);
}
