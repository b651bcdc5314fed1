using CallVault.Store;

namespace CallVault.Http;

/// <summary>
/// Answers with stored JSON documents as they are, never deserialized and serialized again: one document, or
/// a page of them as a JSON array. This is the largest single saving on the list-calls path.
/// </summary>
static class RawJsonResult
{
    public static IResult One(byte[] document, int status = StatusCodes.Status200OK) => new Json(document, status, page: null);

    /// <summary>Answers with a page of calls and gives its pooled buffer back once written.</summary>
    public static IResult Page(CallPage page) => new Json(page.Json, StatusCodes.Status200OK, page);

    sealed class Json(ReadOnlyMemory<byte> body, int status, CallPage? page) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            using (page)
            {
                var response = httpContext.Response;
                response.StatusCode = status;
                response.ContentType = "application/json; charset=utf-8";
                response.ContentLength = body.Length;
                await response.BodyWriter.WriteAsync(body, httpContext.RequestAborted);
            }
        }
    }
}
