using System.Diagnostics;
using System.Globalization;
using CallVault.Client.Models;
using CallVault.Client.Tests.Infrastructure;

namespace CallVault.Client.Tests;

/// <summary>Retries against a fake of Retell's cloud on loopback: which failures, how often, how far apart.</summary>
public class RetryTests
{
    const string EmptyPage = "[]";
    const string RegisteredCall = """{"call_id":"r1","agent_id":"a1","call_type":"phone_call","call_status":"registered"}""";

    // The waits the client asked for are read from its clock (RecordingClock), exactly. Arrival gaps at the fake
    // only show that each wait really happened: a gap is never shorter than the wait before it (less timer
    // rounding), while a loaded 2-core machine can stretch it by any amount, so no test bounds a gap from above.
    static readonly TimeSpan Early = TimeSpan.FromMilliseconds(25);
    const int AttemptTimeoutMs = 10_000;
    static readonly TimeSpan AttemptTimeout = TimeSpan.FromMilliseconds(AttemptTimeoutMs);

    static CallVaultClient ClientOf(FakeServer fake, int maxRetries = 3, int initialDelayMs = 300, int maxDelayMs = 5000,
        int attemptTimeoutMs = AttemptTimeoutMs, TimeProvider? clock = null) =>
        new(new CallVaultClientOptions
        {
            ApiKey = "key_123",
            BaseAddress = fake.BaseAddress,
            MaxRetries = maxRetries,
            InitialRetryDelay = TimeSpan.FromMilliseconds(initialDelayMs),
            MaxRetryDelay = TimeSpan.FromMilliseconds(maxDelayMs),
            AttemptTimeout = TimeSpan.FromMilliseconds(attemptTimeoutMs),
            TimeProvider = clock ?? TimeProvider.System,
        });

    /// <summary>The retry waits among a clock's timers, which alternate with the attempts' timeouts: timeout, wait, timeout...</summary>
    static TimeSpan[] RetryWaits(RecordingClock clock, int attempts)
    {
        var timers = clock.Timers;
        Assert.Equal(2 * attempts - 1, timers.Count);
        Assert.All(timers.Where((_, i) => i % 2 == 0), timeout => Assert.Equal(AttemptTimeout, timeout));
        return [.. timers.Where((_, i) => i % 2 == 1)];
    }

    static void AssertWaitedAtLeast(IReadOnlyList<Arrival> attempts, IReadOnlyList<TimeSpan> waits)
    {
        for (var i = 1; i < attempts.Count; i++)
            Assert.True(attempts[i].Since(attempts[i - 1]) >= waits[i - 1] - Early,
                $"attempt {i + 1} came {attempts[i].Since(attempts[i - 1]).TotalMilliseconds:0} ms after attempt {i}, sooner than the {waits[i - 1].TotalMilliseconds:0} ms wait");
    }

    [Fact]
    public async Task A429WithRetryAfterThenA503ThenSuccessTakesThreeAttemptsSpacedByRetryAfterThenBackoff()
    {
        await using var fake = await FakeServer.StartAsync(
            FakeServer.Answer(429, """{"message":"slow down"}""", ("Retry-After", "1")),
            FakeServer.Answer(503, """{"message":"busy"}"""),
            FakeServer.Answer(200, EmptyPage));
        var clock = new RecordingClock();
        var client = ClientOf(fake, initialDelayMs: 300, clock: clock);

        var calls = await client.ListCallsAsync(new ListCallsRequest { Limit = 5 });

        Assert.Empty(calls);
        var attempts = fake.Received;
        Assert.Equal(3, attempts.Count);
        // Retry-After: 1 is waited for exactly; the second retry backs off 2 x 300 ms, jittered into [300, 600] ms.
        var waits = RetryWaits(clock, attempts: 3);
        Assert.Equal(TimeSpan.FromSeconds(1), waits[0]);
        Assert.InRange(waits[1], TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(600));
        AssertWaitedAtLeast(attempts, waits);
        Assert.All(attempts, a => Assert.Equal(("POST", "/v2/list-calls", """{"limit":5}""", "Bearer key_123"), (a.Method, a.Path, a.Body, a.Authorization)));
    }

    [Fact]
    public async Task ARetryAfterGivenAsAnHttpDateIsWaitedFor()
    {
        // The client's clock stands still at 14:00:00.5 and the date, in whole seconds, says 14:00:02: the wait is
        // the date less the clock's now, exactly 1.5 s.
        var now = new DateTimeOffset(2026, 12, 3, 14, 0, 0, 500, TimeSpan.Zero);
        var retryAfter = now.AddSeconds(2).ToString("R", CultureInfo.InvariantCulture);
        await using var fake = await FakeServer.StartAsync(
            FakeServer.Answer(429, """{"message":"slow down"}""", ("Retry-After", retryAfter)),
            FakeServer.Answer(200, RegisteredCall));
        var clock = new RecordingClock(utcNow: now);
        var client = ClientOf(fake, clock: clock);

        await client.GetCallAsync("r1");

        var attempts = fake.Received;
        Assert.Equal(2, attempts.Count);
        var waits = RetryWaits(clock, attempts: 2);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), waits[0]);
        AssertWaitedAtLeast(attempts, waits);
    }

    [Fact]
    public async Task ARetryAfterDateAlreadyPastIsRetriedAtOnce()
    {
        var now = new DateTimeOffset(2026, 12, 3, 14, 0, 0, TimeSpan.Zero);
        await using var fake = await FakeServer.StartAsync(
            FakeServer.Answer(503, """{"message":"busy"}""", ("Retry-After", now.AddMinutes(-1).ToString("R", CultureInfo.InvariantCulture))),
            FakeServer.Answer(200, RegisteredCall));
        var clock = new RecordingClock(utcNow: now);
        var client = ClientOf(fake, clock: clock);

        await client.GetCallAsync("r1");

        Assert.Equal(2, fake.Received.Count);
        // Only the two attempts' timeouts: no wait was started between them.
        Assert.Equal([AttemptTimeout, AttemptTimeout], clock.Timers);
    }

    [Fact]
    public async Task ARetryAfterLongerThanTheMaximumDelayIsNotWaitedForButThrown()
    {
        await using var fake = await FakeServer.StartAsync(FakeServer.Answer(429, """{"message":"come back in 2 minutes"}""", ("Retry-After", "120")));
        var client = ClientOf(fake, maxDelayMs: 5000);

        var error = await Assert.ThrowsAsync<CallVaultApiException>(() => client.GetCallAsync("c1"));

        Assert.Equal(CallVaultErrorKind.TooManyRequests, error.Kind);
        Assert.Equal(TimeSpan.FromSeconds(120), error.RetryAfter);
        Assert.Single(fake.Received);
    }

    [Fact]
    public async Task PersistentServerErrorsAreRetriedMaxRetriesTimesWithGrowingBackoffThenThrown()
    {
        await using var fake = await FakeServer.StartAsync(FakeServer.Answer(500, """{"message":"database down"}"""));
        var clock = new RecordingClock();
        var client = ClientOf(fake, maxRetries: 2, initialDelayMs: 200, clock: clock);

        var error = await Assert.ThrowsAsync<CallVaultApiException>(() => client.DeleteCallAsync("c1"));

        Assert.Equal(CallVaultErrorKind.ServerError, error.Kind);
        Assert.Equal("database down", error.ServerMessage);
        var attempts = fake.Received;
        Assert.Equal(3, attempts.Count);
        var waits = RetryWaits(clock, attempts: 3);
        Assert.InRange(waits[0], TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200));
        Assert.InRange(waits[1], TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(400));
        AssertWaitedAtLeast(attempts, waits);
    }

    [Fact]
    public async Task UpdateIsRetriedAfterA408()
    {
        await using var fake = await FakeServer.StartAsync(
            FakeServer.Answer(408, """{"message":"request timeout"}"""),
            FakeServer.Answer(200, RegisteredCall));
        var client = ClientOf(fake, initialDelayMs: 50);

        var call = await client.UpdateCallAsync("r1", new UpdateCallRequest { OptOutSensitiveDataStorage = true });

        Assert.Equal("r1", call.CallId);
        Assert.Equal(["PATCH", "PATCH"], fake.Received.Select(a => a.Method));
        Assert.All(fake.Received, a => Assert.Equal("""{"opt_out_sensitive_data_storage":true}""", a.Body));
    }

    [Fact]
    public async Task ChangingTheOptionsAfterBuildingTheClientDoesNotChangeIt()
    {
        await using var fake = await FakeServer.StartAsync(FakeServer.Answer(503, """{"message":"busy"}"""), FakeServer.Answer(200, EmptyPage));
        var options = new CallVaultClientOptions { BaseAddress = fake.BaseAddress, MaxRetries = 1, InitialRetryDelay = TimeSpan.FromMilliseconds(50) };
        var client = new CallVaultClient(new HttpClient(), options);
        options.MaxRetries = 0;
        options.BaseAddress = new Uri("http://127.0.0.1:9/");

        await client.ListCallsAsync();

        Assert.Equal(2, fake.Received.Count);
    }

    [Fact]
    public async Task RegisteringAPhoneCallIsNeverRetried()
    {
        await using var fake = await FakeServer.StartAsync(
            FakeServer.Answer(503, """{"message":"busy"}"""),
            FakeServer.Answer(201, RegisteredCall));
        var client = ClientOf(fake, initialDelayMs: 50);

        var error = await Assert.ThrowsAsync<CallVaultApiException>(() => client.RegisterPhoneCallAsync(new RegisterPhoneCallRequest { AgentId = "a1" }));

        Assert.Equal(CallVaultErrorKind.ServerError, error.Kind);
        Assert.Single(fake.Received);
    }

    [Fact]
    public async Task ImportingIsNeverRetriedEvenAfterANetworkFault()
    {
        await using var fake = await FakeServer.StartAsync(FakeServer.Drop, FakeServer.Answer(200, """{"imported":0}"""));
        var client = ClientOf(fake, initialDelayMs: 50);

        await Assert.ThrowsAsync<HttpRequestException>(() => client.ImportCallsAsync([]));

        Assert.Single(fake.Received);
    }

    [Fact]
    public async Task AClientErrorIsNotRetried()
    {
        await using var fake = await FakeServer.StartAsync(FakeServer.Answer(400, """{"message":"bad filter"}"""), FakeServer.Answer(200, EmptyPage));
        var client = ClientOf(fake, initialDelayMs: 50);

        await Assert.ThrowsAsync<CallVaultApiException>(() => client.ListCallsAsync());

        Assert.Single(fake.Received);
    }

    [Fact]
    public async Task AConnectionDroppedWithoutAnAnswerIsRetried()
    {
        await using var fake = await FakeServer.StartAsync(FakeServer.Drop, FakeServer.Answer(200, EmptyPage));
        var client = ClientOf(fake, initialDelayMs: 50);

        var calls = await client.ListCallsAsync();

        Assert.Empty(calls);
        Assert.Equal(2, fake.Received.Count);
    }

    [Fact]
    public async Task AnAttemptThatTimesOutIsRetriedAndANonIdempotentOneThrowsTimeout()
    {
        await using var fake = await FakeServer.StartAsync(FakeServer.Hang, FakeServer.Answer(200, RegisteredCall), FakeServer.Hang);
        var clock = new RecordingClock();
        var client = ClientOf(fake, initialDelayMs: 50, attemptTimeoutMs: 300, clock: clock);

        var started = Stopwatch.GetTimestamp();
        var call = await client.GetCallAsync("r1");
        await Assert.ThrowsAsync<TimeoutException>(() => client.RegisterPhoneCallAsync(new RegisterPhoneCallRequest { AgentId = "a1" }));

        Assert.Equal("r1", call.CallId);
        Assert.Equal(["GET", "GET", "POST"], fake.Received.Select(a => a.Method));
        // The clock's timers: the first GET's 300 ms timeout, the backoff of 25-50 ms, the second GET's timeout,
        // the POST's timeout (never retried). The second GET left no sooner than timeout and backoff after the
        // client started (measured from the start: the first arrival comes after the timeout's timer began).
        var timers = clock.Timers;
        Assert.Equal(4, timers.Count);
        Assert.Equal(TimeSpan.FromMilliseconds(300), timers[0]);
        Assert.InRange(timers[1], TimeSpan.FromMilliseconds(25), TimeSpan.FromMilliseconds(50));
        Assert.Equal([TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(300)], timers.Skip(2));
        Assert.True(Stopwatch.GetElapsedTime(started, fake.Received[1].Timestamp) >= timers[0] + timers[1] - Early);
    }

    [Fact]
    public async Task CancellingDuringARetryWaitStopsAtOnce()
    {
        // Cancel only once the 429 is answered, so the token can only land in the 60 s wait, never in the first
        // attempt (on a loaded machine the first connection alone can take longer than a fixed timer).
        var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slowDown = FakeServer.Answer(429, """{"message":"slow down"}""", ("Retry-After", "60"));
        await using var fake = await FakeServer.StartAsync(async context =>
        {
            await slowDown(context);
            await context.Response.CompleteAsync();
            answered.TrySetResult();
        });
        var client = ClientOf(fake, maxDelayMs: 120_000);
        using var cts = new CancellationTokenSource();

        var listing = client.ListCallsAsync(cancellationToken: cts.Token);
        await answered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await Task.Delay(200);
        Assert.False(listing.IsCompleted, "the client should be waiting out Retry-After: 60");
        var stopwatch = Stopwatch.StartNew();
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => listing);

        // Far sooner than the 60 s wait, with room for a loaded machine.
        Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(10));
        Assert.Single(fake.Received);
    }

    [Fact]
    public void OptionsThatCannotWorkAreRefusedWhenTheClientIsBuilt()
    {
        CallVaultClient Build(CallVaultClientOptions options) => new(new HttpClient(), options);

        Assert.Throws<ArgumentNullException>(() => Build(new CallVaultClientOptions { TimeProvider = null! }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Build(new CallVaultClientOptions { MaxRetries = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Build(new CallVaultClientOptions { AttemptTimeout = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Build(new CallVaultClientOptions { InitialRetryDelay = TimeSpan.FromSeconds(2), MaxRetryDelay = TimeSpan.FromSeconds(1) }));
    }

    [Theory]
    [InlineData(1, 0.0, 250)]
    [InlineData(1, 1.0, 500)]
    [InlineData(2, 0.0, 500)]
    [InlineData(3, 1.0, 2000)]
    [InlineData(5, 1.0, 5000)]  // 8 s capped at the maximum
    [InlineData(40, 0.0, 2500)] // no overflow for a large retry number
    public void BackoffDoublesFromTheInitialDelayUpToTheMaximumJitteredIntoItsUpperHalf(int retry, double random, int expectedMs)
    {
        var options = new CallVaultClientOptions { InitialRetryDelay = TimeSpan.FromMilliseconds(500), MaxRetryDelay = TimeSpan.FromSeconds(5) };

        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), CallVaultClient.RetryDelay(retry, retryAfter: null, options, random));
    }

    [Fact]
    public void RetryAfterOverridesTheBackoffUnlessItIsOverTheMaximum()
    {
        var options = new CallVaultClientOptions { MaxRetryDelay = TimeSpan.FromSeconds(5) };

        Assert.Equal(TimeSpan.FromSeconds(3), CallVaultClient.RetryDelay(1, TimeSpan.FromSeconds(3), options, 0.5));
        Assert.Null(CallVaultClient.RetryDelay(1, TimeSpan.FromSeconds(6), options, 0.5));
    }
}
