using System.Buffers;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;
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

    /// <summary>
    /// The length of <see cref="ToBytes"/>'s result, without keeping the bytes: each thread reuses one writer
    /// over <see cref="Stream.Null"/> (the metadata check of every imported call used to allocate 4 kB here).
    /// </summary>
    /// <exception cref="InvalidOperationException">A string holds an escaped lone surrogate, as with <see cref="ToBytes"/>.</exception>
    public static long WrittenLength(JsonElement element)
    {
        var writer = t_counter ??= new Utf8JsonWriter(Stream.Null, WriterOptions);
        writer.Reset(Stream.Null); // also after a write that threw halfway
        element.WriteTo(writer);
        writer.Flush();
        return writer.BytesCommitted;
    }

    [ThreadStatic]
    static Utf8JsonWriter? t_counter;

    /// <summary>
    /// Writes an element minified, byte for byte as <see cref="ToBytes"/> does, but copies the input bytes where
    /// they are already in that form (the usual case for JSON written by a program) instead of writing every
    /// token again.
    /// </summary>
    /// <exception cref="InvalidOperationException">A string holds an escaped lone surrogate, as with <see cref="ToBytes"/>.</exception>
    public static byte[] Minified(JsonElement element)
    {
        var json = JsonMarshal.GetRawUtf8Value(element);
        return Rewritten(json) ?? CopyOf(json);
    }

    // Bytes that end a stretch that can be copied as it is: outside strings, whitespace and the start of a
    // string; inside, the end of the string, an escape, and bytes that the encoder may escape (DEL and every
    // non-ASCII byte; the other ASCII bytes it escapes, controls, '"' and '\', cannot appear raw in a string).
    static readonly SearchValues<byte> OutsideStrings = SearchValues.Create(" \t\r\n\""u8);
    static readonly SearchValues<byte> InsideStrings = SearchValues.Create([(byte)'"', (byte)'\\', .. Enumerable.Range(0x7F, 0x81).Select(b => (byte)b)]);

    /// <summary>
    /// What <see cref="Minified(JsonElement)"/> writes for one JSON value given as text that a
    /// <see cref="Utf8JsonReader"/> has already read without error (a call of an import body), where it differs
    /// from the text; null when the text is already exactly what it would write, so that a caller may keep the
    /// text itself.
    /// </summary>
    /// <exception cref="InvalidOperationException">A string holds an escaped lone surrogate, as with <see cref="ToBytes"/>.</exception>
    public static byte[]? Rewritten(ReadOnlySpan<byte> json)
    {
        if (IsWrittenForm(json))
            return null;
        // What Utf8JsonWriter (as ToBytes drives it) changes: whitespace between tokens goes; a string with an
        // escape is unescaped and escaped again in the writer's own way; a string with a byte the encoder
        // escapes is escaped. Numbers, literals and punctuation are written as they were read.
        ArrayBufferWriter<byte>? output = null;
        Utf8JsonWriter? writer = null;
        var copied = 0;
        var i = 0;
        try
        {
            while (true)
            {
                var next = json[i..].IndexOfAny(OutsideStrings);
                if (next < 0)
                    break;
                i += next;
                if (json[i] != (byte)'"')
                {
                    output ??= new ArrayBufferWriter<byte>(json.Length);
                    output.Write(json[copied..i]);
                    while (i < json.Length && json[i] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
                        i++;
                    copied = i;
                    continue;
                }
                var start = i++;
                bool escaped = false, rewrite = false, encode = false;
                while (true)
                {
                    var stop = json[i..].IndexOfAny(InsideStrings);
                    if (stop < 0)
                        throw new ArgumentException("the JSON text ends inside a string", nameof(json));
                    i += stop;
                    if (json[i] == (byte)'"')
                        break;
                    if (json[i] == (byte)'\\')
                    {
                        escaped = true;
                        rewrite |= !IsWrittenEscape(json[i + 1]);
                        i += 2; // the escaped byte is never the closing quote; the rest of a \uXXXX is plain ASCII
                    }
                    else
                    {
                        encode = true;
                        i++;
                    }
                }
                var end = ++i;
                // With a byte to encode, the encoder also flags the backslash of any escape: the string is rewritten.
                if (!rewrite && (!encode || WriterOptions.Encoder!.FindFirstCharacterToEncodeUtf8(json[(start + 1)..(end - 1)]) < 0))
                    continue;
                output ??= new ArrayBufferWriter<byte>(json.Length);
                output.Write(json[copied..start]);
                var text = json[start..end];
                if (escaped)
                {
                    var reader = new Utf8JsonReader(text);
                    reader.Read();
                    var unescaped = new byte[text.Length];
                    text = unescaped.AsSpan(0, reader.CopyString(unescaped));
                }
                else
                {
                    text = text[1..^1];
                }
                if (writer is null)
                    writer = new Utf8JsonWriter(output, WriterOptions);
                else
                    writer.Reset(output);
                writer.WriteStringValue(text);
                writer.Flush();
                copied = end;
            }
        }
        finally
        {
            writer?.Dispose();
        }
        if (output is null)
            return null;
        output.Write(json[copied..]);
        return CopyOf(output.WrittenSpan);
    }

    /// <summary>
    /// The escapes the writer writes as they are (\b \f \n \r \t \" \\); it writes \/ as / and \uXXXX its own way.
    /// </summary>
    static bool IsWrittenEscape(byte escaped) => escaped is (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t' or (byte)'"' or (byte)'\\';

    /// <summary>
    /// The quick answer for the usual document: ASCII without DEL, escapes only \b \f \n \r \t (so that every
    /// quote delimits a string), and no whitespace between tokens.
    /// </summary>
    static bool IsWrittenForm(ReadOnlySpan<byte> json)
    {
        if (json.IndexOf((byte)0x7F) >= 0 || !Ascii.IsValid(json))
            return false;
        for (var rest = json; rest.IndexOf((byte)'\\') is var k and >= 0; rest = rest[(k + 2)..])
        {
            if (rest[k + 1] is not ((byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t'))
                return false;
        }
        return !HasWhitespaceOutsideStrings(json);
    }

    static byte[] CopyOf(ReadOnlySpan<byte> bytes)
    {
        var copy = GC.AllocateUninitializedArray<byte>(bytes.Length);
        bytes.CopyTo(copy);
        return copy;
    }

    /// <summary>
    /// Whether JSON text without escaped quotes or backslashes has whitespace between tokens: 64 bytes at a time, strings are the
    /// stretches between an odd quote and the next (a running XOR of the quote bits).
    /// </summary>
    static bool HasWhitespaceOutsideStrings(ReadOnlySpan<byte> json)
    {
        var insideBefore = 0UL; // all ones when the previous block ended inside a string
        var i = 0;
        for (; i + 64 <= json.Length; i += 64)
        {
            ulong quotes = 0, spaces = 0;
            for (var k = 0; k < 64; k += 16)
            {
                var v = Vector128.Create(json.Slice(i + k, 16));
                quotes |= (ulong)Vector128.Equals(v, Vector128.Create((byte)'"')).ExtractMostSignificantBits() << k;
                var space = Vector128.Equals(v, Vector128.Create((byte)' ')) | Vector128.Equals(v, Vector128.Create((byte)'\n'))
                    | Vector128.Equals(v, Vector128.Create((byte)'\r')) | Vector128.Equals(v, Vector128.Create((byte)'\t'));
                spaces |= (ulong)space.ExtractMostSignificantBits() << k;
            }
            var inside = quotes;
            inside ^= inside << 1;
            inside ^= inside << 2;
            inside ^= inside << 4;
            inside ^= inside << 8;
            inside ^= inside << 16;
            inside ^= inside << 32;
            inside ^= insideBefore;
            if ((spaces & ~inside) != 0)
                return true;
            insideBefore = (ulong)((long)inside >> 63);
        }
        var inString = insideBefore != 0;
        for (; i < json.Length; i++)
        {
            if (json[i] == (byte)'"')
                inString = !inString;
            else if (!inString && json[i] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
                return true;
        }
        return false;
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
