using System.Net;
using CallVault.Client.Models;

namespace CallVault.Client;

/// <summary>What kind of failure an error answer reports, from its HTTP status.</summary>
public enum CallVaultErrorKind
{
    /// <summary>A status this enum does not name.</summary>
    Other,
    /// <summary>400: the request is malformed or names something that does not exist (a bad filter, limit or pagination key).</summary>
    BadRequest,
    /// <summary>401: the API key is missing, unknown or revoked.</summary>
    Unauthorized,
    /// <summary>403: the key may not do this.</summary>
    Forbidden,
    /// <summary>404: no such call (or it belongs to another workspace).</summary>
    NotFound,
    /// <summary>408: the server gave up waiting for the request.</summary>
    RequestTimeout,
    /// <summary>409: the request conflicts with the call's current state.</summary>
    Conflict,
    /// <summary>413: the body, or the number of calls imported at once, is over the server's limit.</summary>
    PayloadTooLarge,
    /// <summary>429: too many requests; see <see cref="CallVaultApiException.RetryAfter"/>.</summary>
    TooManyRequests,
    /// <summary>Any 5xx: the server failed.</summary>
    ServerError,
}

/// <summary>
/// The server answered with an error status. Carries the status, the server's own <c>message</c> and, for a
/// rejected import, the per-record problems. Network failures are not this type: they surface as
/// <see cref="HttpRequestException"/>, and a request that timed out on every attempt as <see cref="TimeoutException"/>.
/// </summary>
public class CallVaultApiException : Exception
{
    /// <summary>Creates the exception for an error answer.</summary>
    /// <param name="statusCode">The HTTP status of the answer.</param>
    /// <param name="serverMessage">The <c>message</c> of the answer's JSON body, if it had one.</param>
    /// <param name="errors">Per-record problems of a rejected import, if any.</param>
    /// <param name="retryAfter">How long the server asked the client to wait, if it said.</param>
    public CallVaultApiException(HttpStatusCode statusCode, string? serverMessage, IReadOnlyList<RecordError>? errors = null, TimeSpan? retryAfter = null)
        : base(Describe(statusCode, serverMessage))
    {
        StatusCode = statusCode;
        ServerMessage = serverMessage;
        Errors = errors ?? [];
        RetryAfter = retryAfter;
    }

    /// <summary>The HTTP status of the answer.</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>The kind of failure, from <see cref="StatusCode"/>.</summary>
    public CallVaultErrorKind Kind => KindOf(StatusCode);

    /// <summary>The server's own explanation (the <c>message</c> of its JSON body), or null when it gave none.</summary>
    public string? ServerMessage { get; }

    /// <summary>For a rejected import: what is wrong with each bad record. Empty otherwise.</summary>
    public IReadOnlyList<RecordError> Errors { get; }

    /// <summary>The wait the server asked for in a <c>Retry-After</c> header, if any.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>Whether a later identical request may succeed: 408, 429 and 5xx.</summary>
    public bool IsTransient => Kind is CallVaultErrorKind.RequestTimeout or CallVaultErrorKind.TooManyRequests or CallVaultErrorKind.ServerError;

    /// <summary>The kind of failure a status reports.</summary>
    /// <param name="statusCode">An HTTP status.</param>
    public static CallVaultErrorKind KindOf(HttpStatusCode statusCode) => (int)statusCode switch
    {
        400 => CallVaultErrorKind.BadRequest,
        401 => CallVaultErrorKind.Unauthorized,
        403 => CallVaultErrorKind.Forbidden,
        404 => CallVaultErrorKind.NotFound,
        408 => CallVaultErrorKind.RequestTimeout,
        409 => CallVaultErrorKind.Conflict,
        413 => CallVaultErrorKind.PayloadTooLarge,
        429 => CallVaultErrorKind.TooManyRequests,
        >= 500 and <= 599 => CallVaultErrorKind.ServerError,
        _ => CallVaultErrorKind.Other,
    };

    static string Describe(HttpStatusCode status, string? message) =>
        string.IsNullOrWhiteSpace(message) ? $"HTTP {(int)status} {status}" : $"HTTP {(int)status}: {message}";
}
