using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Unicode;
using CallVault.Client.Models;

namespace CallVault.Store;

/// <summary>
/// Checks a transcript (<c>transcript_object</c>, <c>transcript_with_tool_calls</c>) for the import fast path
/// without building its objects, and accepts it only in the plain shape: a list of utterance objects with
/// <c>role</c> (a string) and optionally <c>content</c>, <c>name</c>, <c>arguments</c>, <c>tool_call_id</c>,
/// <c>digit</c> (strings or null) and <c>words</c> (null, or a list of objects with optionally <c>word</c>, a string,
/// and <c>start</c> and <c>end</c>, numbers a double can hold), each field at most once and no other field.
/// All of that the generated contract of <see cref="Utterance"/> and <see cref="Word"/> accepts too. Anything
/// else (unknown fields, which the contract keeps; wrong types; null words) throws
/// <see cref="NotPlainException"/>, which sends the body to <see cref="CallDocuments.Prepare"/>: it judges the
/// call by the contract itself and words the error as always. The transcript read is an empty list.
/// </summary>
sealed class PlainTranscriptCheck : JsonConverter<IReadOnlyList<Utterance>>
{
    /// <summary>The transcript is not in the plain shape: leave it to the serializer's own rules and messages.</summary>
    public sealed class NotPlainException : Exception;

    public override IReadOnlyList<Utterance> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        Expect(reader.TokenType == JsonTokenType.StartArray);
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            var seen = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var field = UtteranceField(ref reader);
                Expect(field != 0 && (seen & field) == 0);
                seen |= field;
                reader.Read();
                if (field == Words)
                    CheckWords(ref reader);
                else
                    Expect(IsText(ref reader) || (field != Role && reader.TokenType == JsonTokenType.Null));
            }
            Expect((seen & Role) != 0);
        }
        Expect(reader.TokenType == JsonTokenType.EndArray);
        return Array.Empty<Utterance>();
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<Utterance> value, JsonSerializerOptions options) =>
        throw new NotSupportedException("only for reading");

    const int Role = 1, Words = 2;

    static int UtteranceField(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped)
            return 0;
        var name = reader.ValueSpan;
        return name.SequenceEqual("role"u8) ? Role
            : name.SequenceEqual("words"u8) ? Words
            : name.SequenceEqual("content"u8) ? 4
            : name.SequenceEqual("name"u8) ? 8
            : name.SequenceEqual("arguments"u8) ? 16
            : name.SequenceEqual("tool_call_id"u8) ? 32
            : name.SequenceEqual("digit"u8) ? 64
            : 0;
    }

    static void CheckWords(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
            return;
        Expect(reader.TokenType == JsonTokenType.StartArray);
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            var seen = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var field = reader.ValueIsEscaped ? 0
                    : reader.ValueSpan.SequenceEqual("word"u8) ? 1
                    : reader.ValueSpan.SequenceEqual("start"u8) ? 2
                    : reader.ValueSpan.SequenceEqual("end"u8) ? 4
                    : 0;
                Expect(field != 0 && (seen & field) == 0);
                seen |= field;
                reader.Read();
                Expect(field == 1 ? IsText(ref reader) : IsDouble(ref reader));
            }
        }
        Expect(reader.TokenType == JsonTokenType.EndArray);
    }

    /// <summary>
    /// A number the double converter reads without error. A short number without an exponent always is; only
    /// the others are parsed.
    /// </summary>
    static bool IsDouble(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.Number
        && ((reader.ValueSpan.Length <= 32 && reader.ValueSpan.IndexOfAny((byte)'e', (byte)'E') < 0) || reader.TryGetDouble(out _));

    /// <summary>A string the string converter reads without error.</summary>
    static bool IsText(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.String
        && (reader.ValueIsEscaped ? reader.GetString() is not null : Utf8.IsValid(reader.ValueSpan));

    static void Expect(bool plain)
    {
        if (!plain)
            throw new NotPlainException();
    }
}
