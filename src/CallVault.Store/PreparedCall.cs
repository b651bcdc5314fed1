using System.Runtime.InteropServices;

namespace CallVault.Store;

/// <summary>
/// A call ready to be stored: its JSON document as it will be served, plus the values the filters and the
/// order read, extracted once when the call is written.
/// </summary>
/// <param name="Json">
/// The document. An import's calls hold slices of the request body (<see cref="CallDocuments.TryPrepareAll"/>),
/// valid only while the body is; every other call holds an array of its own.
/// </param>
public sealed record PreparedCall(string CallId, CallColumns Columns, ReadOnlyMemory<byte> Json)
{
    public PreparedCall(string callId, CallColumns columns, byte[] document)
        : this(callId, columns, (ReadOnlyMemory<byte>)document)
    {
    }

    /// <summary>The document as an array: <see cref="Json"/>'s own when it spans a whole array, else a copy.</summary>
    public byte[] Document =>
        MemoryMarshal.TryGetArray(Json, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : Json.ToArray();

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
