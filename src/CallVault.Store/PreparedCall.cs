namespace CallVault.Store;

/// <summary>
/// A call ready to be stored: its JSON document as it will be served, plus the values the filters and the
/// order read, extracted once when the call is written.
/// </summary>
public sealed record PreparedCall(string CallId, CallColumns Columns, byte[] Document)
{
    /// <summary>True when writing this call removes sensitive data that must not linger in the files.</summary>
    public bool ErasesSensitiveData { get; init; }
}

/// <summary>The indexed columns of a call. Enum values are in their wire spelling.</summary>
public sealed record CallColumns(
    string AgentId,
    string CallStatus,
    string CallType,
    string? Direction,
    string? FromNumber,
    string? ToNumber,
    string? UserSentiment,
    bool? CallSuccessful,
    bool? InVoicemail,
    string? DisconnectionReason,
    long? StartTimestamp,
    long? DurationMs,
    double? E2eLatencyP50,
    bool OptedOut);
