using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using CallVault.Store;

namespace CallVault.Http;

/// <summary>A request that cannot be served, with the status and message to answer.</summary>
sealed class ApiException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

/// <summary>Reads request bodies with a size limit and strict JSON rules.</summary>
static class RequestBody
{
    /// <summary>Bodies longer than this are read into <see cref="LargeBodies"/>' arrays, shorter ones into the shared pool's.</summary>
    const int LargeBodyBytes = 1 << 20;

    /// <summary>
    /// Import bodies. Two arrays wait between requests: as many as the benchmark's client sends at once. They go
    /// 10 s after the last import.
    /// </summary>
    static readonly LargeBufferPool LargeBodies = new(capacity: 2, idleRelease: TimeSpan.FromSeconds(10), TimeProvider.System);

    static byte[] Rent(int length) => length > LargeBodyBytes ? LargeBodies.Rent(length) : ArrayPool<byte>.Shared.Rent(length);

    /// <summary>Gives back a buffer of <see cref="ReadPooledAsync"/> to the pool it came from.</summary>
    internal static void Return(byte[] buffer)
    {
        if (buffer.Length > LargeBodyBytes)
            LargeBodies.Return(buffer);
        else
            ArrayPool<byte>.Shared.Return(buffer);
    }

    public static async Task<byte[]> ReadAsync(HttpRequest request, long limit, CancellationToken ct)
    {
        using var body = await ReadPooledAsync(request, limit, ct);
        return body.Memory.ToArray();
    }

    /// <summary>
    /// Reads a body into a pooled buffer: no copy at the end and no garbage per request (48 MB per import
    /// request of 10,000 calls). Every body is read here. Dispose the result to return the buffer.
    /// </summary>
    public static async Task<PooledBody> ReadPooledAsync(HttpRequest request, long limit, CancellationToken ct)
    {
        if (request.ContentLength > limit)
            throw TooLarge(limit);
        var buffer = Rent((int)Math.Min(request.ContentLength ?? 16 * 1024, limit) + 1);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var larger = Rent((int)Math.Min(2L * buffer.Length, limit + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    Return(buffer);
                    buffer = larger;
                }
                var read = await request.Body.ReadAsync(buffer.AsMemory(length), ct);
                if (read == 0)
                    break;
                length += read;
                if (length > limit)
                    throw TooLarge(limit);
            }
            return new PooledBody(buffer, length);
        }
        catch (BadHttpRequestException ex)
        {
            // The client broke the framing of its body (a bad chunk, or it went away mid-body): its error, answered
            // like any other bad request, not logged as a server failure by the last-resort handler.
            Return(buffer);
            throw new ApiException(ex.StatusCode, ex.Message);
        }
        catch
        {
            Return(buffer);
            throw;
        }
    }

    /// <summary>Reads and deserializes a JSON body; an empty body or <c>null</c> yields <paramref name="empty"/>.</summary>
    public static async Task<T> ReadJsonAsync<T>(HttpRequest request, long limit, JsonTypeInfo<T> type, T empty, CancellationToken ct)
    {
        // Read from the pooled buffer: list-calls reads a body on every request.
        using var body = await ReadPooledAsync(request, limit, ct);
        return ParseJson(body.Memory.Span, type, empty);
    }

    /// <summary>Deserializes a JSON body read already; an empty body or <c>null</c> yields <paramref name="empty"/>.</summary>
    public static T ParseJson<T>(ReadOnlySpan<byte> body, JsonTypeInfo<T> type, T empty)
    {
        if (body.Trim(" \t\r\n"u8).IsEmpty)
            return empty;
        try
        {
            return JsonSerializer.Deserialize(body, type) ?? empty;
        }
        catch (JsonException ex)
        {
            throw new ApiException(StatusCodes.Status400BadRequest, WireJson.Describe(ex));
        }
    }

    /// <summary>
    /// Whether a JSON object body gives the top-level property <paramref name="name"/> as <c>null</c> (which a
    /// nullable model property cannot tell from an absent one). The body must be valid JSON that
    /// the deserializer accepted (so no property is given twice).
    /// </summary>
    public static bool IsExplicitNull(ReadOnlySpan<byte> body, ReadOnlySpan<byte> name)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = WireJson.MaxDepth });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            return false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var match = reader.ValueTextEquals(name);
            reader.Read();
            if (match)
                return reader.TokenType == JsonTokenType.Null;
            reader.Skip();
        }
        return false;
    }

    /// <summary>Parses a body as a JSON document (at most 64 levels deep); malformed JSON is a 400.</summary>
    public static JsonDocument ParseDocument(ReadOnlyMemory<byte> body)
    {
        try
        {
            return JsonDocument.Parse(body, WireJson.DocumentOptions);
        }
        catch (JsonException ex)
        {
            throw new ApiException(StatusCodes.Status400BadRequest, WireJson.Describe(ex));
        }
    }

    static ApiException TooLarge(long limit) =>
        new(StatusCodes.Status413PayloadTooLarge, $"request body is larger than the limit of {limit} bytes");
}

/// <summary>A request body in a buffer rented by <see cref="RequestBody.ReadPooledAsync"/>; disposing returns the buffer.</summary>
sealed class PooledBody(byte[] buffer, int length) : IDisposable
{
    byte[]? _buffer = buffer;

    public ReadOnlyMemory<byte> Memory => (_buffer ?? throw new ObjectDisposedException(nameof(PooledBody))).AsMemory(0, length);

    public void Dispose()
    {
        if (_buffer is { } rented)
            RequestBody.Return(rented);
        _buffer = null;
    }
}

/// <summary>Turns <see cref="ApiException"/> and <see cref="CallValidationException"/> into their JSON answers.</summary>
sealed class ApiExceptionFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (ApiException ex)
        {
            return ApiErrors.Result(ex.Status, ex.Message);
        }
        catch (CallValidationException ex)
        {
            return ApiErrors.BadRequest(ex.Message);
        }
    }
}
