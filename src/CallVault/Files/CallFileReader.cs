using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using CallVault.Store;

namespace CallVault.Files;

/// <summary>A call object read from a file, with where it was: its line (NDJSON) or index (JSON array).</summary>
sealed record CallRecord(JsonElement Call, string Where);

/// <summary>A file that cannot be read as calls, naming the place.</summary>
sealed class CallFileException(string message) : Exception(message);

/// <summary>
/// Reads calls from a JSON array (the body of a list-calls answer) or NDJSON (one call per line), one record
/// at a time, so that memory does not grow with the file.
/// </summary>
static class CallFileReader
{
    public static async IAsyncEnumerable<CallRecord> ReadAsync(Stream stream, [EnumeratorCancellation] CancellationToken ct)
    {
        var buffered = new BufferedStream(stream, 64 * 1024);
        if (await FirstSignificantByteAsync(buffered, ct) == '[')
        {
            var options = new JsonSerializerOptions { MaxDepth = WireJson.MaxDepth };
            var index = 0;
            var items = JsonSerializer.DeserializeAsyncEnumerable<JsonElement>(buffered, options, ct).GetAsyncEnumerator(ct);
            while (true)
            {
                try
                {
                    if (!await items.MoveNextAsync())
                        break;
                }
                catch (JsonException ex)
                {
                    throw new CallFileException($"index {index} (line {ex.LineNumber + 1}): malformed JSON: {Short(ex.Message)}");
                }
                yield return new CallRecord(items.Current, $"index {index}");
                index++;
            }
            yield break;
        }

        using var reader = new StreamReader(buffered, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var lineNumber = 0;
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
                continue;
            JsonElement call;
            try
            {
                using var doc = JsonDocument.Parse(line, WireJson.DocumentOptions);
                call = doc.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                throw new CallFileException($"line {lineNumber}: malformed JSON: {Short(ex.Message)}");
            }
            yield return new CallRecord(call, $"line {lineNumber}");
        }
    }

    /// <summary>Peeks past a byte order mark and whitespace without consuming anything.</summary>
    static async Task<int> FirstSignificantByteAsync(BufferedStream stream, CancellationToken ct)
    {
        var start = stream.Position;
        var buffer = new byte[4096];
        var read = await stream.ReadAsync(buffer, ct);
        stream.Position = start;
        var span = buffer.AsSpan(0, read);
        if (span.StartsWith(Encoding.UTF8.Preamble))
            span = span[3..];
        var at = span.IndexOfAnyExcept(" \t\r\n"u8);
        return at < 0 ? -1 : span[at];
    }

    static string Short(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}
