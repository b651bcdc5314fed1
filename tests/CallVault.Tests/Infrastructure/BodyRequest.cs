using System.Net.Http.Headers;
using System.Text;

namespace CallVault.Tests.Infrastructure;

/// <summary>Requests whose body is sent with a Content-Length, or streamed without one (chunked).</summary>
public static class BodyRequest
{
    public static HttpRequestMessage Post(string path, string json, bool withLength) => Create(HttpMethod.Post, path, json, withLength);

    public static HttpRequestMessage Create(HttpMethod method, string path, string json, bool withLength)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        HttpContent content = withLength ? new ByteArrayContent(bytes) : new StreamContent(new UnknownLengthStream(bytes));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (!withLength)
            content.Headers.ContentLength = null;
        return new HttpRequestMessage(method, path) { Content = content };
    }

    /// <summary>A stream that does not tell its length, so the client cannot send a Content-Length.</summary>
    sealed class UnknownLengthStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
