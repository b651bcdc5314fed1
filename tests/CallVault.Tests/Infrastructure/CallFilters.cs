using CallVault.Client.Models;

namespace CallVault.Tests.Infrastructure;

/// <summary>
/// What a list-calls filter means, written plainly over the call model, for tests that check what a store
/// returns: every list set must hold the call's value (an empty list constrains nothing), and every range must
/// hold it, bounds included.
/// </summary>
public static class CallFilters
{
    public static bool Matches(this CallFilter? filter, Call call)
    {
        if (filter is not { } f)
            return true;
        static bool In(IReadOnlyList<string>? list, string? value) => list is not { Count: > 0 } || value is not null && list.Contains(value);
        static bool Is<T>(IReadOnlyList<T>? list, T? value) where T : struct => list is not { Count: > 0 } || value is { } v && list.Contains(v);
        static bool InRange(Threshold? range, double? value) =>
            range is null || value is { } v && (range.LowerThreshold is not { } lo || v >= lo) && (range.UpperThreshold is not { } hi || v <= hi);
        return In(f.AgentId, call.AgentId)
            && Is(f.CallStatus, (CallStatus?)call.CallStatus)
            && Is(f.CallType, (CallType?)call.CallType)
            && Is(f.Direction, call.Direction)
            && In(f.FromNumber, call.FromNumber)
            && In(f.ToNumber, call.ToNumber)
            && Is(f.UserSentiment, call.CallAnalysis?.UserSentiment)
            && Is(f.CallSuccessful, call.CallAnalysis?.CallSuccessful)
            && Is(f.InVoicemail, call.CallAnalysis?.InVoicemail)
            && Is(f.DisconnectionReason, call.DisconnectionReason)
            && InRange(f.StartTimestamp, call.StartTimestamp)
            && InRange(f.DurationMs, call.DurationMs)
            && InRange(f.E2eLatencyP50, call.Latency?.E2e?.P50);
    }
}
