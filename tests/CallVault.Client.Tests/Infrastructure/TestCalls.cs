using CallVault.Client.Models;

namespace CallVault.Client.Tests.Infrastructure;

/// <summary>Call records for tests to import.</summary>
static class TestCalls
{
    /// <summary>1 May 2024 10:00 UTC, the start of the first test call.</summary>
    public static readonly DateTimeOffset Epoch = new(2024, 5, 1, 10, 0, 0, TimeSpan.Zero);

    /// <summary>An ended phone call that started <paramref name="minute"/> minutes after <see cref="Epoch"/> and lasted <paramref name="seconds"/>.</summary>
    public static Call Phone(string id, string agent, int minute, int seconds = 90, UserSentiment sentiment = UserSentiment.Positive, bool successful = true) => new()
    {
        CallId = id,
        AgentId = agent,
        CallType = CallType.PhoneCall,
        CallStatus = CallStatus.Ended,
        Direction = CallDirection.Inbound,
        FromNumber = "+15550001",
        ToNumber = "+15550002",
        StartTimestamp = Epoch.AddMinutes(minute).ToUnixTimeMilliseconds(),
        EndTimestamp = Epoch.AddMinutes(minute).AddSeconds(seconds).ToUnixTimeMilliseconds(),
        CallAnalysis = new CallAnalysis { UserSentiment = sentiment, CallSuccessful = successful, CallSummary = "The user asked about opening hours." },
    };

    /// <summary><paramref name="count"/> calls c01, c02, ... a minute apart, alternating agents a1 and a2.</summary>
    public static List<Call> Series(int count) =>
        [.. Enumerable.Range(1, count).Select(i => Phone($"c{i:00}", i % 2 == 1 ? "a1" : "a2", minute: i))];
}
