using System.Net;
using System.Net.Http.Headers;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using CallVault.Client.Models;

namespace CallVault.Client;

/// <summary>
/// Client of the Retell v2 call API, as served by Retell AI (the default) or by a CallVault server.
/// Thread-safe; create one and share it, or register it with
/// <see cref="Microsoft.Extensions.DependencyInjection.CallVaultClientServiceCollectionExtensions.AddCallVaultClient"/>.
/// </summary>
/// <remarks>
/// Idempotent requests (list, get, update, delete) are retried after a 408, 429, 5xx, network failure or
/// attempt timeout, with capped exponential backoff and jitter, honouring <c>Retry-After</c>; registering and
/// importing are sent once. Error answers throw <see cref="CallVaultApiException"/>.
/// </remarks>
public sealed class CallVaultClient
{
    // One pool of connections for every client built from a key: a new handler per client would leak sockets,
    // and a limited connection lifetime follows DNS changes.
    static readonly Lazy<SocketsHttpHandler> SharedHandler = new(() => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) });

    static readonly ProductInfoHeaderValue UserAgent = new("CallVault.Client",
        typeof(CallVaultClient).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0");

    static readonly MediaTypeHeaderValue JsonMediaType = new("application/json") { CharSet = "utf-8" };

    readonly HttpClient _http;
    readonly CallVaultClientOptions _options;
    readonly Uri _baseAddress;
    readonly AuthenticationHeaderValue? _authorization;

    /// <summary>A client of Retell's API (<see cref="CallVaultClientOptions.RetellBaseAddress"/>) authenticating with an API key.</summary>
    /// <param name="apiKey">The API key.</param>
    public CallVaultClient(string apiKey)
        : this(new CallVaultClientOptions { ApiKey = RequireKey(apiKey) })
    {
    }

    /// <summary>A client of the server at <paramref name="baseAddress"/>, authenticating with an API key.</summary>
    /// <param name="apiKey">The API key.</param>
    /// <param name="baseAddress">The server, for example <c>http://127.0.0.1:8080</c>.</param>
    public CallVaultClient(string apiKey, Uri baseAddress)
        : this(new CallVaultClientOptions { ApiKey = RequireKey(apiKey), BaseAddress = baseAddress ?? throw new ArgumentNullException(nameof(baseAddress)) })
    {
    }

    /// <summary>A client configured by <paramref name="options"/>, on a connection pool shared by such clients.</summary>
    /// <param name="options">Server, key and retry settings.</param>
    public CallVaultClient(CallVaultClientOptions options)
        // The per-attempt timeout of the options governs; HttpClient's own would cut across retries.
        : this(new HttpClient(SharedHandler.Value, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan }, options)
    {
    }

    /// <summary>
    /// A client that sends through the caller's <see cref="HttpClient"/>, with its base address (else Retell's),
    /// default headers (the key among them), handlers and timeout, and the default retry settings.
    /// </summary>
    /// <param name="httpClient">The client to send with; the caller keeps ownership.</param>
    public CallVaultClient(HttpClient httpClient)
        : this(httpClient, new CallVaultClientOptions())
    {
    }

    /// <summary>
    /// A client that sends through the caller's <see cref="HttpClient"/> (its handlers, default headers and
    /// timeout apply). Base address and key come from <paramref name="options"/> when set there, else from the
    /// <see cref="HttpClient"/>.
    /// </summary>
    /// <param name="httpClient">The client to send with; the caller keeps ownership.</param>
    /// <param name="options">Server, key and retry settings.</param>
    public CallVaultClient(HttpClient httpClient, CallVaultClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        _http = httpClient;
        _options = options.Snapshot();
        var baseAddress = _options.BaseAddress ?? httpClient.BaseAddress ?? CallVaultClientOptions.RetellBaseAddress;
        // Relative paths resolve under the base address only when it ends with a slash.
        _baseAddress = baseAddress.AbsoluteUri.EndsWith('/') ? baseAddress : new Uri(baseAddress.AbsoluteUri + "/");
        _authorization = _options.ApiKey is { } key ? new AuthenticationHeaderValue("Bearer", key) : null;
    }

    /// <summary>The server requests go to.</summary>
    public Uri BaseAddress => _baseAddress;

    /// <summary>Lists one page of calls (<c>POST /v2/list-calls</c>).</summary>
    /// <param name="request">Filter, order, page size and cursor; the server's defaults when null.</param>
    /// <param name="cancellationToken">Stops the request and any retry wait.</param>
    /// <returns>The page, in the requested order; fewer than the page size only on the last page.</returns>
    /// <exception cref="CallVaultApiException">The server answered with an error (400 for a bad filter, limit or key).</exception>
    public async Task<IReadOnlyList<Call>> ListCallsAsync(ListCallsRequest? request = null, CancellationToken cancellationToken = default)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(request ?? new ListCallsRequest(), CallVaultJsonContext.Default.ListCallsRequest);
        return await SendAsync(HttpMethod.Post, "v2/list-calls", body, CallVaultJsonContext.Default.ListCall, idempotent: true, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Every call matching <paramref name="request"/>, fetched lazily one page at a time: a page is requested
    /// only when the previous one has been consumed, each continuing after the last call of the one before.
    /// </summary>
    /// <param name="request">Filter, order, page size and an optional starting cursor; never modified.</param>
    /// <param name="cancellationToken">Stops the walk, between calls or during a request.</param>
    /// <returns>The calls of all pages, in the requested order.</returns>
    /// <exception cref="CallVaultApiException">A page request failed.</exception>
    public async IAsyncEnumerable<Call> ListAllCallsAsync(ListCallsRequest? request = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var page = request ?? new ListCallsRequest();
        while (true)
        {
            var calls = await ListCallsAsync(page, cancellationToken).ConfigureAwait(false);
            foreach (var call in calls)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return call;
            }
            // A short page is the last; without a page size the server's default is unknown, so an empty page ends.
            if (calls.Count == 0 || (page.Limit is { } limit && calls.Count < limit))
                yield break;
            // A copy with the cursor moved on: the caller's request stays as it was.
            page = page with { PaginationKey = calls[^1].CallId };
        }
    }

    /// <summary>Gets one call (<c>GET /v2/get-call/{call_id}</c>).</summary>
    /// <param name="callId">The call's id.</param>
    /// <param name="cancellationToken">Stops the request and any retry wait.</param>
    /// <returns>The call, with any fields this library does not know kept in its extension data.</returns>
    /// <exception cref="CallVaultApiException">404 when there is no such call.</exception>
    public Task<Call> GetCallAsync(string callId, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "v2/get-call/" + EscapeId(callId), null, CallVaultJsonContext.Default.Call, idempotent: true, cancellationToken);

    /// <summary>Replaces a call's metadata or opts it out of sensitive data storage (<c>PATCH /v2/update-call/{call_id}</c>).</summary>
    /// <param name="callId">The call's id.</param>
    /// <param name="update">What to change.</param>
    /// <param name="cancellationToken">Stops the request and any retry wait.</param>
    /// <returns>The call as updated.</returns>
    /// <exception cref="CallVaultApiException">404 when there is no such call, 400 for a refused change.</exception>
    public Task<Call> UpdateCallAsync(string callId, UpdateCallRequest update, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(update);
        var body = JsonSerializer.SerializeToUtf8Bytes(update, CallVaultJsonContext.Default.UpdateCallRequest);
        return SendAsync(HttpMethod.Patch, "v2/update-call/" + EscapeId(callId), body, CallVaultJsonContext.Default.Call, idempotent: true, cancellationToken);
    }

    /// <summary>Deletes a call and all its data (<c>DELETE /v2/delete-call/{call_id}</c>).</summary>
    /// <param name="callId">The call's id.</param>
    /// <param name="cancellationToken">Stops the request and any retry wait.</param>
    /// <exception cref="CallVaultApiException">404 when there is no such call.</exception>
    public Task DeleteCallAsync(string callId, CancellationToken cancellationToken = default) =>
        SendAsync<object?>(HttpMethod.Delete, "v2/delete-call/" + EscapeId(callId), null, typeInfo: null, idempotent: true, cancellationToken);

    /// <summary>Registers a phone call and returns it with its new id (<c>POST /v2/register-phone-call</c>). Sent once, never retried.</summary>
    /// <param name="request">The agent and the call's details.</param>
    /// <param name="cancellationToken">Stops the request.</param>
    /// <returns>The registered call, in status <see cref="CallStatus.Registered"/>.</returns>
    /// <exception cref="CallVaultApiException">The server refused the registration.</exception>
    public Task<Call> RegisterPhoneCallAsync(RegisterPhoneCallRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = JsonSerializer.SerializeToUtf8Bytes(request, CallVaultJsonContext.Default.RegisterPhoneCallRequest);
        return SendAsync(HttpMethod.Post, "v2/register-phone-call", body, CallVaultJsonContext.Default.Call, idempotent: false, cancellationToken);
    }

    /// <summary>
    /// Inserts or replaces calls by id, all or nothing (<c>POST /v2/import-calls</c>, a CallVault extension). Calls
    /// read with this client import unchanged, fields it does not know included. Sent once, never retried.
    /// </summary>
    /// <param name="calls">The calls to store.</param>
    /// <param name="cancellationToken">Stops the request.</param>
    /// <returns>How many calls were stored.</returns>
    /// <exception cref="CallVaultApiException">
    /// 400 with <see cref="CallVaultApiException.Errors"/> naming each invalid call (nothing is stored); 413 over the server's limits.
    /// </exception>
    public Task<ImportCallsResult> ImportCallsAsync(IEnumerable<Call> calls, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(calls);
        var body = JsonSerializer.SerializeToUtf8Bytes(calls as List<Call> ?? [.. calls], CallVaultJsonContext.Default.ListCall);
        return SendAsync(HttpMethod.Post, "v2/import-calls", body, CallVaultJsonContext.Default.ImportCallsResult, idempotent: false, cancellationToken);
    }

    // A server accepts calls nested up to 64 levels; a list answer wraps them in one more array, so answers
    // are read with more room than the serializer's default depth of 64.
    static readonly JsonSerializerOptions ReadOptions = new(CallVaultJsonContext.Default.Options) { MaxDepth = 128 };

    static JsonTypeInfo<T> ReadTypeInfo<T>(JsonTypeInfo<T> typeInfo) => (JsonTypeInfo<T>)ReadOptions.GetTypeInfo(typeInfo.Type);

    /// <summary>Sends a request, retrying it when it is idempotent and the failure transient; reads the answer as <typeparamref name="T"/>.</summary>
    async Task<T> SendAsync<T>(HttpMethod method, string path, byte[]? body, JsonTypeInfo<T>? typeInfo, bool idempotent, CancellationToken ct)
    {
        var uri = new Uri(_baseAddress, path);
        for (var attempt = 0; ; attempt++)
        {
            ct.ThrowIfCancellationRequested();
            var retriesLeft = idempotent && attempt < _options.MaxRetries;
            TimeSpan delay;
            using (var timeout = new CancellationTokenSource(_options.AttemptTimeout, _options.TimeProvider))
            using (var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token))
            {
                try
                {
                    using var request = new HttpRequestMessage(method, uri);
                    request.Headers.UserAgent.Add(UserAgent);
                    request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
                    if (_authorization is not null)
                        request.Headers.Authorization = _authorization;
                    if (body is not null)
                        request.Content = new ByteArrayContent(body) { Headers = { ContentType = JsonMediaType } };
                    using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attemptCts.Token).ConfigureAwait(false);
                    if (response.IsSuccessStatusCode)
                    {
                        if (typeInfo is null)
                            return default!;
                        var stream = await response.Content.ReadAsStreamAsync(attemptCts.Token).ConfigureAwait(false);
                        await using (stream.ConfigureAwait(false))
                        {
                            return await JsonSerializer.DeserializeAsync(stream, ReadTypeInfo(typeInfo), attemptCts.Token).ConfigureAwait(false)
                                ?? throw new JsonException($"{method} {path} answered null");
                        }
                    }
                    var error = await ToExceptionAsync(response, _options.TimeProvider, attemptCts.Token).ConfigureAwait(false);
                    if (!retriesLeft || !error.IsTransient || RetryDelay(attempt + 1, error.RetryAfter, _options, Random.Shared.NextDouble()) is not { } wait)
                        throw error;
                    delay = wait;
                }
                catch (OperationCanceledException ex) when (!ct.IsCancellationRequested)
                {
                    // Not the caller's cancellation: this attempt's timeout (or the HttpClient's own) ran out.
                    if (!retriesLeft)
                        throw new TimeoutException($"{method} {path}: no answer within {_options.AttemptTimeout.TotalSeconds:0.###} s", ex);
                    delay = RetryDelay(attempt + 1, null, _options, Random.Shared.NextDouble())!.Value;
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException && retriesLeft && !ct.IsCancellationRequested)
                {
                    delay = RetryDelay(attempt + 1, null, _options, Random.Shared.NextDouble())!.Value;
                }
            }
            await Task.Delay(delay, _options.TimeProvider, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The wait before retry number <paramref name="retry"/> (from 1): the server's <c>Retry-After</c> when it
    /// gave one (null, meaning do not retry, when that is over <see cref="CallVaultClientOptions.MaxRetryDelay"/>),
    /// else an exponential backoff capped at the maximum, jittered into its upper half by <paramref name="random"/> in [0, 1).
    /// </summary>
    internal static TimeSpan? RetryDelay(int retry, TimeSpan? retryAfter, CallVaultClientOptions options, double random)
    {
        if (retryAfter is { } asked)
            return asked <= options.MaxRetryDelay ? (asked < TimeSpan.Zero ? TimeSpan.Zero : asked) : null;
        var exponential = options.InitialRetryDelay.TotalMilliseconds * Math.Pow(2, Math.Min(retry - 1, 30));
        var cap = Math.Min(options.MaxRetryDelay.TotalMilliseconds, exponential);
        return TimeSpan.FromMilliseconds(cap * (0.5 + random / 2));
    }

    static async Task<CallVaultApiException> ToExceptionAsync(HttpResponseMessage response, TimeProvider clock, CancellationToken ct)
    {
        ApiError? error = null;
        try
        {
            var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            if (text.Length > 0)
                error = JsonSerializer.Deserialize(text, CallVaultJsonContext.Default.ApiError);
        }
        catch (JsonException)
        {
            // Not our JSON (a proxy's HTML page, say): the status alone tells what happened.
        }
        return new CallVaultApiException(response.StatusCode, error?.Message, error?.Errors, RetryAfterOf(response, clock.GetUtcNow()));
    }

    /// <summary>The wait a <c>Retry-After</c> header asks for, in seconds or as an HTTP date.</summary>
    static TimeSpan? RetryAfterOf(HttpResponseMessage response, DateTimeOffset now) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - now is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
        _ => null,
    };

    static string EscapeId(string callId)
    {
        ArgumentException.ThrowIfNullOrEmpty(callId);
        return Uri.EscapeDataString(callId);
    }

    static string RequireKey(string apiKey)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(apiKey);
        return apiKey;
    }
}
