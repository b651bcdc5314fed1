using System.Text;
using System.Text.Json;
using CallVault.Store;

namespace CallVault.Tests.Store;

/// <summary>
/// <see cref="WireJson.Minified(JsonElement)"/> copies input bytes where it can; what it returns must be byte
/// for byte what <see cref="WireJson.ToBytes"/> writes, and it must fail where ToBytes fails.
/// </summary>
public class WireJsonTests
{
    public static TheoryData<string> Cases => new()
    {
        """{"a":1,"b":[true,false,null],"c":{"d":"e"}}""",
        " { \"a\" : 1 ,\t\"b\" :[ true , false ]\r\n  , \"c\" : { } }  ",
        """{"text":"spaces inside strings stay","n":[1e5,-0.0,1E+2,-1e-7,0.10,12345678901234567890]}""",
        """{"lines":"Agent: hello\nUser: hi\r\n\ttab \b \f","quote":"\"","slash":"\\"}""",
        """{"escaped":"\u002B1415 that\u0027s \"quoted\" back\\slash \/ \n\t\b\f\r \u0000 \u001f"}""",
        """{"unicode":"é 中 😀 \u00e9 \ud83d\ude00 \u2028 \u00a0 \ufeff","del":"\u007f"}""",
        "{\"raw\":\"é 中 😀 \u2028 \u00a0 \ufeff \u007f\"}",
        """{"k\u0065y":"escaped property name","<&>'+`":"characters the relaxed encoder keeps"}""",
        """[[[[{"deep":[[{"x":"y"}]]}]]]]""",
        "\"a string alone\"",
        "42",
        "{\"long\":\"" + new string('x', 200) + " " + new string('y', 70) + "\", \"after\" : \"a string longer than a block\" }",
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void MinifiedIsByteForByteWhatToBytesWrites(string json)
    {
        using var document = JsonDocument.Parse(json);
        Assert.Equal(Encoding.UTF8.GetString(WireJson.ToBytes(document.RootElement)), Encoding.UTF8.GetString(WireJson.Minified(document.RootElement)));
        Assert.Equal(WireJson.ToBytes(document.RootElement), WireJson.Minified(document.RootElement));
        Assert.Equal(WireJson.ToBytes(document.RootElement).Length, WireJson.WrittenLength(document.RootElement));
        Assert.Equal(WireJson.ToBytes(document.RootElement).Length, WireJson.WrittenLength(document.RootElement)); // the reused writer starts over
    }

    [Fact]
    public void MinifiedCopiesJsonThatIsAlreadyInTheWrittenForm()
    {
        const string json = """{"a":"text with spaces, é and 中","b":[1.50,-0.0,1e5],"c":{"+":"'"},"d":"Agent: hi\nUser: \"hello\" \\ \t"}""";
        using var document = JsonDocument.Parse(json);
        Assert.Equal(json, Encoding.UTF8.GetString(WireJson.Minified(document.RootElement)));
        Assert.Null(WireJson.Rewritten(Encoding.UTF8.GetBytes(json))); // nothing to change: the caller may keep the text
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void RewrittenIsNullExactlyWhenTheTextIsWhatMinifiedWrites(string json)
    {
        var text = Encoding.UTF8.GetBytes(json);
        using var document = JsonDocument.Parse(json);
        var written = WireJson.ToBytes(document.RootElement);
        var rewritten = WireJson.Rewritten(text);
        if (written.AsSpan().SequenceEqual(text))
            Assert.Null(rewritten);
        else
            Assert.Equal(Encoding.UTF8.GetString(written), Encoding.UTF8.GetString(Assert.IsType<byte[]>(rewritten)));
    }

    [Theory]
    [InlineData("""{"t":"\ud800"}""")]
    [InlineData("""{"t":"x\udc00y"}""")]
    [InlineData("""{"\ud800":1}""")]
    [InlineData("""{ "t" : [ "ok", "\ud83d" ] }""")]
    public void AnEscapedLoneSurrogateFailsAsInToBytes(string json)
    {
        using var document = JsonDocument.Parse(json);
        var expected = Assert.Throws<InvalidOperationException>(() => WireJson.ToBytes(document.RootElement));
        var actual = Assert.Throws<InvalidOperationException>(() => WireJson.Minified(document.RootElement));
        Assert.Equal(expected.Message, actual.Message);
        Assert.Equal(expected.Message, Assert.Throws<InvalidOperationException>(() => WireJson.WrittenLength(document.RootElement)).Message);
        // The thread's counting writer was left halfway through a document; the next count is still exact.
        using var next = JsonDocument.Parse("{\"after\":\"a failure\"}");
        Assert.Equal(21, WireJson.WrittenLength(next.RootElement));
    }

    [Fact]
    public void MinifiedMatchesToBytesOverManyGeneratedDocuments()
    {
        var random = new Random(20261125);
        var checkedCount = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var json = GeneratedJson(random, plain: i % 2 == 0);
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(json);
            }
            catch (JsonException)
            {
                continue; // the generator can put whitespace where JSON allows none (never, but cheap to guard)
            }
            using (document)
            {
                byte[]? expected = null, actual = null;
                string? expectedError = null, actualError = null;
                try { expected = WireJson.ToBytes(document.RootElement); } catch (InvalidOperationException ex) { expectedError = ex.Message; }
                try { actual = WireJson.Minified(document.RootElement); } catch (InvalidOperationException ex) { actualError = ex.Message; }
                Assert.True(expectedError == actualError, $"{json}: ToBytes {expectedError ?? "ok"}, Minified {actualError ?? "ok"}");
                if (expected is not null)
                    Assert.True(expected.AsSpan().SequenceEqual(actual), $"{json}\nToBytes:  {Encoding.UTF8.GetString(expected)}\nMinified: {Encoding.UTF8.GetString(actual!)}");
                checkedCount++;
            }
        }
        Assert.True(checkedCount > 19_000);
    }

    static readonly string[] Pieces =
    [
        "a", "bc d", "+", "'", "<", "&", "é", "😀", "\u2028", "\u007f", "中", "\ufeff", " ", "hello world ", "   ",
        "\\n", "\\b", "\\f", "\\r", "\\\"", "\\\\", "\\u002B", "\\u00e9", "\\ud83d\\ude00", "\\/", "\\t", "\\u0000", "\\u2028", "\\ud800", "\\udc00x",
    ];

    static readonly string[] Numbers = ["1e5", "-0.0", "0", "1.50", "1E+2", "-1e-7", "12345678901234567890", "3.14159"];

    static string GeneratedJson(Random random, bool plain)
    {
        string Text()
        {
            var text = new StringBuilder("\"");
            for (var n = random.Next(0, 12); n > 0; n--)
                text.Append(plain ? new[] { "word", "two words ", "\\n", "\\t" }[random.Next(4)] : Pieces[random.Next(Pieces.Length)]);
            return text.Append('"').ToString();
        }
        string Space() => random.Next(plain ? 40 : 3) == 0 ? new[] { " ", "\n", "\t", "\r\n  ", "" }[random.Next(5)] : "";
        string Value(int depth) => random.Next(depth > 3 ? 4 : 7) switch
        {
            0 or 3 => Text(),
            1 => Numbers[random.Next(Numbers.Length)],
            2 => new[] { "true", "false", "null" }[random.Next(3)],
            4 => "[" + Space() + string.Join("," + Space(), Enumerable.Range(0, random.Next(5)).Select(_ => Value(depth + 1) + Space())) + "]",
            _ => "{" + Space() + string.Join(",", Enumerable.Range(0, random.Next(6)).Select(_ => Space() + Text() + Space() + ":" + Space() + Value(depth + 1) + Space())) + "}",
        };
        return Space() + Value(0) + Space();
    }
}
