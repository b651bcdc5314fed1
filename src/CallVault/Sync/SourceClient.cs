using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace CallVault.Sync;

/// <summary>Why a sync stopped: a source that refuses, or one that kept failing past the time allowed.</summary>
sealed class SyncException(string message) : Exception(message);

/// <summary>
/// Talks to a Retell-compatible API (Retell itself or another CallVault) with retries: 429 waits as long as
/// Retry-After says, 5xx and network errors back off exponentially with jitter up to a cap, and each request
/// gives up once its retries would outlast the time allowed. The key goes in the Authorization header of
/// requests to the source and nowhere else: redirects are not followed.
/// </summary>
sealed class SourceClient : IDisposable
{
    static readonly TimeSpan BackoffBase = TimeSpan.FromMilliseconds(500);
    static readonly TimeSpan BackoffCap = TimeSpan.FromSeconds(30);
    static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(60);

    readonly HttpClient _http;
    readonly string _key;
    readonly TimeSpan _giveUpAfter;

    public SourceClient(Uri source, string key, TimeSpan giveUpAfter)
    {
        _key = key;
        _giveUpAfter = giveUpAfter;
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(15) };
        var baseUri = source.AbsoluteUri.EndsWith('/') ? source : new Uri(source.AbsoluteUri + "/");
        _http = new HttpClient(handler) { BaseAddress = baseUri, Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>Checks a --source value: an absolute http or https URL.</summary>
    public static Uri ParseSource(string? value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw new Cli.CliUsageException($"--source must be an http:// or https:// URL, got '{value}'");
        if (!string.IsNullOrEmpty(uri.UserInfo))
            throw new Cli.CliUsageException("--source must not carry credentials; pass the key with --source-key");
        return uri;
    }

    /// <summary>POST /v2/list-calls: one page, as a JSON array.</summary>
    public Task<JsonDocument> ListCallsAsync(System.Text.Json.Nodes.JsonObject body, CancellationToken ct) =>
        SendAsync(() => new HttpRequestMessage(HttpMethod.Post, "v2/list-calls")
        {
            Content = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(body.ToJsonString())) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        }, ct)!;

    /// <summary>GET /v2/get-call/{id}; null when the source no longer has the call.</summary>
    public Task<JsonDocument?> GetCallAsync(string callId, CancellationToken ct) =>
        SendAsync(() => new HttpRequestMessage(HttpMethod.Get, "v2/get-call/" + Uri.EscapeDataString(callId)), ct, notFoundIsNull: true);

    async Task<JsonDocument?> SendAsync(Func<HttpRequestMessage> build, CancellationToken ct, bool notFoundIsNull = false)
    {
        var started = DateTime.UtcNow;
        for (var attempt = 0; ; attempt++)
        {
            TimeSpan delay;
            string problem;
            using var request = build();
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _key);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(RequestTimeout);
            try
            {
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token);
                var status = (int)response.StatusCode;
                if (response.IsSuccessStatusCode)
                {
                    var body = await response.Content.ReadAsByteArrayAsync(timeout.Token);
                    try
                    {
                        return JsonDocument.Parse(body);
                    }
                    catch (JsonException ex)
                    {
                        throw new SyncException($"the source answered {request.RequestUri} with something that is not JSON: {ex.Message}");
                    }
                }
                if (notFoundIsNull && response.StatusCode == HttpStatusCode.NotFound)
                    return null;
                problem = $"HTTP {status}";
                if (response.StatusCode == HttpStatusCode.TooManyRequests || status >= 500)
                    delay = RetryAfter(response) ?? Backoff(attempt);
                else if (status is >= 300 and < 400)
                    throw new SyncException($"the source redirected {request.RequestUri} to {response.Headers.Location}; not following, so that the key goes nowhere but the source");
                else
                    throw new SyncException($"the source refused {request.Method} {request.RequestUri}: HTTP {status} {await MessageOf(response, timeout.Token)}");
            }
            catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
            {
                problem = ex is OperationCanceledException ? $"no answer within {RequestTimeout.TotalSeconds:0}s" : ex.Message;
                delay = Backoff(attempt);
            }
            var spent = DateTime.UtcNow - started;
            if (spent + delay > _giveUpAfter)
                throw new SyncException(
                    $"giving up on {_http.BaseAddress} after {spent.TotalSeconds:0.#}s and {attempt + 1} attempts " +
                    $"(the next retry would pass --give-up-after {_giveUpAfter.TotalSeconds:0}s); last problem: {problem}. Run sync again later: it resumes where it stopped.");
            await Task.Delay(delay, ct);
        }
    }

    /// <summary>Exponential, capped, with "equal jitter": half the step fixed, half random.</summary>
    static TimeSpan Backoff(int attempt)
    {
        var step = Math.Min(BackoffCap.TotalMilliseconds, BackoffBase.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 16)));
        return TimeSpan.FromMilliseconds(step / 2 + Random.Shared.NextDouble() * step / 2);
    }

    static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        if (header?.Date is { } date)
            return date - DateTimeOffset.UtcNow is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        return null;
    }

    static async Task<string> MessageOf(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        try
        {
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("message", out var message))
                return message.ToString();
        }
        catch (JsonException)
        {
        }
        return text.Length > 200 ? text[..200] : text;
    }

    public void Dispose() => _http.Dispose();
}
