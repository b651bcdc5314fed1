using System.Collections.Concurrent;

namespace CallVault.Client.Tests.Infrastructure;

/// <summary>
/// The system's clock, whose timers really wait, that also records every timer the client starts (retry waits and
/// attempt timeouts) in order. A test asserts the waits the client asked for from this record, exactly, instead of
/// from arrival gaps that a loaded machine stretches. <paramref name="utcNow"/>, when given, fixes the wall-clock
/// time the client reads <c>Retry-After</c> dates against.
/// </summary>
sealed class RecordingClock(DateTimeOffset? utcNow = null) : TimeProvider
{
    readonly ConcurrentQueue<TimeSpan> _timers = new();

    /// <summary>The due time of every one-shot timer started so far, in the order they were started.</summary>
    public IReadOnlyList<TimeSpan> Timers => [.. _timers];

    public override DateTimeOffset GetUtcNow() => utcNow ?? base.GetUtcNow();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (period == Timeout.InfiniteTimeSpan)
            _timers.Enqueue(dueTime);
        return base.CreateTimer(callback, state, dueTime, period);
    }
}
