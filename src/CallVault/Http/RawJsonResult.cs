namespace CallVault.Http;

/// <summary>
/// Answers with stored JSON documents as they are, never deserialized and serialized again: one document, or
/// a JSON array of them. This is the largest single saving on the list-calls path.
/// </summary>
sealed class RawJsonResult(IReadOnlyList<byte[]> documents, bool asArray, int status = StatusCodes.Status200OK) : IResult
{
    public static RawJsonResult Array(IReadOnlyList<byte[]> documents) => new(documents, asArray: true);
    public static RawJsonResult One(byte[] document, int status = StatusCodes.Status200OK) => new([document], asArray: false, status);

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = status;
        response.ContentType = "application/json; charset=utf-8";
        long length = asArray ? 2 + Math.Max(0, documents.Count - 1) : 0;
        foreach (var doc in documents)
            length += doc.Length;
        response.ContentLength = length;
        var writer = response.BodyWriter;
        if (asArray)
            Write(writer, "["u8);
        for (var i = 0; i < documents.Count; i++)
        {
            if (asArray && i > 0)
                Write(writer, ","u8);
            Write(writer, documents[i]);
            if (writer.UnflushedBytes > 64 * 1024)
                await writer.FlushAsync(httpContext.RequestAborted);
        }
        if (asArray)
            Write(writer, "]"u8);
        await writer.FlushAsync(httpContext.RequestAborted);
    }

    static void Write(System.IO.Pipelines.PipeWriter writer, ReadOnlySpan<byte> bytes)
    {
        var span = writer.GetSpan(bytes.Length);
        bytes.CopyTo(span);
        writer.Advance(bytes.Length);
    }
}
