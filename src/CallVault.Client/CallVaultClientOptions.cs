namespace CallVault.Client;

/// <summary>Where <see cref="CallVaultClient"/> sends requests, with which key, and how it retries.</summary>
public sealed class CallVaultClientOptions
{
    /// <summary>Retell's API, the default <see cref="BaseAddress"/>.</summary>
    public static readonly Uri RetellBaseAddress = new("https://api.retellai.com/");

    /// <summary>
    /// The API key, sent as <c>Authorization: Bearer</c>. When null, requests carry whatever authorization the
    /// supplied <see cref="HttpClient"/> adds itself.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// The server, for example <c>http://127.0.0.1:8080</c> for a CallVault server. When null: the supplied
    /// <see cref="HttpClient"/>'s <see cref="HttpClient.BaseAddress"/>, else <see cref="RetellBaseAddress"/>.
    /// </summary>
    public Uri? BaseAddress { get; set; }

    /// <summary>
    /// How many times an idempotent request (list, get, update, delete) is retried after a 408, 429, 5xx,
    /// network failure or attempt timeout. 0 disables retries. Default 3.
    /// </summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>Backoff before the first retry; it doubles for each later one, up to <see cref="MaxRetryDelay"/>. Default 0.5 s.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Longest wait between two attempts. A <c>Retry-After</c> longer than this is not waited for: the 429 or 503
    /// is thrown instead. Default 30 s.
    /// </summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time limit of one attempt, from sending the request to reading the whole answer. Default 100 s.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>
    /// The clock that retry waits and attempt timeouts run on and that <c>Retry-After</c> dates are read against.
    /// Default <see cref="TimeProvider.System"/>; a test can pass its own to see or drive the client's timing.
    /// </summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>A checked copy, so that changing the options later does not change a client built from them.</summary>
    internal CallVaultClientOptions Snapshot()
    {
        var copy = (CallVaultClientOptions)MemberwiseClone();
        return copy.Validated();
    }

    CallVaultClientOptions Validated()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(MaxRetries);
        ArgumentOutOfRangeException.ThrowIfLessThan(InitialRetryDelay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRetryDelay, InitialRetryDelay);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(AttemptTimeout, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(TimeProvider);
        if (BaseAddress is { IsAbsoluteUri: false })
            throw new ArgumentException("BaseAddress must be an absolute URI", nameof(BaseAddress));
        return this;
    }
}
