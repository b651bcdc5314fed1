using System.Text.Encodings.Web;
using System.Text.Json;

namespace CallVault.Store;

/// <summary>How CallVault writes JSON documents, and how it explains JSON it cannot accept.</summary>
public static class WireJson
{
    /// <summary>
    /// Minified, and non-ASCII text kept as UTF-8 rather than escaped: documents are served as stored, so
    /// this is also what clients receive.
    /// </summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Nesting deeper than this is refused.</summary>
    public const int MaxDepth = 64;

    public static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = MaxDepth };

    /// <summary>Writes an element minified.</summary>
    public static byte[] ToBytes(JsonElement element)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(4096);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
            element.WriteTo(writer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A short sentence saying what is wrong with the JSON, naming the path of the bad value.</summary>
    public static string Describe(JsonException ex)
    {
        var path = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "the body" : ex.Path.TrimStart('$', '.');
        var message = ex.Message;
        const string unmapped = "The JSON property '";
        if (message.StartsWith(unmapped, StringComparison.Ordinal) && message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            var name = message[unmapped.Length..message.IndexOf('\'', unmapped.Length)];
            var cut = path.LastIndexOf('.');
            var parent = path == "the body" || cut < 0 ? "the body" : path[..cut];
            return $"unknown field '{name}' in {parent}";
        }
        if (message.Contains("missing required properties", StringComparison.Ordinal))
        {
            var start = message.IndexOf("properties including:", StringComparison.Ordinal);
            var names = start < 0 ? "" : message[(start + "properties including:".Length)..].Split('.')[0].Trim();
            return $"{path}: missing required field {names}";
        }
        if (message.Contains("depth", StringComparison.OrdinalIgnoreCase) && message.Contains("exceeds", StringComparison.OrdinalIgnoreCase))
            return $"JSON is nested deeper than {MaxDepth} levels";
        if (message.Contains("duplicate", StringComparison.OrdinalIgnoreCase))
            return $"{path}: duplicate field";
        if (message.Contains("null", StringComparison.OrdinalIgnoreCase)
            && (message.Contains("non-nullable", StringComparison.OrdinalIgnoreCase) || message.Contains("doesn't allow null", StringComparison.OrdinalIgnoreCase)))
            return $"{path}: must not be null";
        if (message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal))
            return $"{path}: wrong type";
        if (message.Contains("invalid", StringComparison.OrdinalIgnoreCase) || message.Contains("LineNumber", StringComparison.Ordinal))
        {
            var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
            var detail = cut > 0 ? message[..cut] : message;
            return ex.Path is null ? $"malformed JSON: {detail}" : $"{path}: {detail}";
        }
        return $"{path}: {message}";
    }
}
