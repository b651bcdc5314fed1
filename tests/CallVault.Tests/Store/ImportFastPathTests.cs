using System.Text;
using System.Text.Json;
using CallVault.Store;

namespace CallVault.Tests.Store;

/// <summary>
/// The import fast path (<see cref="CallDocuments.TryPrepareAll"/>) reads a body once and does not build word
/// timings. It must give exactly what <see cref="CallDocuments.Prepare"/> gives element by element, and decline
/// (null) every body it is not sure of, so that errors are always found and worded by the element path.
/// </summary>
public class ImportFastPathTests
{
    const string Head = """ "call_id":"c","agent_id":"a","call_type":"phone_call","call_status":"ended" """;

    static string Call(string rest = "", string id = "c") =>
        "{" + Head.Replace("\"c\"", $"\"{id}\"", StringComparison.Ordinal) + (rest.Length > 0 ? "," + rest : "") + "}";

    const string Words = """ "transcript_object":[{"role":"agent","content":"Hello there","words":[{"word":"Hello","start":0.4,"end":0.731},{"word":"there","start":1e0,"end":1.5E+0}]},{"role":"user","content":"hi","words":[]}]""";

    public static TheoryData<string, string> ValidBodies => new()
    {
        { "a full phone call", "[" + Call("""
            "direction":"inbound","from_number":"+14155550100","to_number":"+14155551000","telephony_identifier":{"twilio_call_sid":"CA1"},
            "metadata":{"crm_id":"crm-1","nested":{"a":[1,2]}},"retell_llm_dynamic_variables":{"name":"Sam","n":3},
            "opt_out_sensitive_data_storage":false,"start_timestamp":1735689600726,"end_timestamp":1735689807043,"transcript":"Agent: Hello there\nUser: hi",
            """ + Words + """
            ,"transcript_with_tool_calls":[{"role":"agent","content":"one moment","words":[{"word":"one","start":1,"end":2}]},
              {"role":"tool_call_invocation","tool_call_id":"t1","name":"lookup","arguments":"{\"id\":1}"},
              {"role":"tool_call_result","tool_call_id":"t1","content":"found"},{"role":"dtmf","digit":"5"}],
            "recording_url":"https://r.example/1.wav","public_log_url":"https://l.example/1.log",
            "latency":{"e2e":{"p50":812.5,"p90":1000,"p95":1100,"p99":1200,"max":1300,"min":500,"num":4},"llm":{"p50":300}},
            "disconnection_reason":"user_hangup",
            "call_analysis":{"call_summary":"s","in_voicemail":false,"user_sentiment":"Positive","call_successful":true,"custom_analysis_data":{"x":1}},
            "call_cost":{"product_costs":[{"product":"tts","unitPrice":0.07,"cost":0.24}],"total_duration_seconds":206,"total_duration_unit_price":0.126,"total_one_time_price":0,"combined_cost":0.43}
            """) + "," + Call("", id: "second") + "]" },
        { "a minimal web call", """[{"call_id":"w","agent_id":"a","call_type":"web_call","call_status":"registered"}]""" },
        { "pretty-printed, with escapes and non-ASCII text", """
            [ {
              "call_id" : "c\u0031", "agent_id":"a", "call_type":"phone_call", "call_status":"ended",
              "from_number" : "\u002B1415", "transcript" : "that\u0027s é 中 😀 \ud83d\ude00 \u2028",
              "transcript_object" : [ { "role" : "agent", "content" : "that's", "words" : [ { "word" : "that\u0027s", "start" : 0 } ] } ]
            } ]
            """ },
        { "an opted-out call that carries sensitive fields", "[" + Call(""" "opt_out_sensitive_data_storage":true,"transcript":"secret","recording_url":"u",""" + Words) + "]" },
        { "latency samples without statistics", "[" + Call(""" "latency":{"e2e":{"values":[3,1,2]},"llm":{"p50":1}}""") + "]" },
        { "a latency metric the model does not know", "[" + Call(""" "latency":{"asr":{"values":[3,1,2]}}""") + "]" },
        { "fields the model does not know", "[" + Call(""" "future":{"x":[1,{"y":null}]},"agent_version":3""") + "]" },
        { "words without text, null word lists, a word with an unknown field", "[" + Call(""" "transcript_object":[{"role":"agent","words":null},{"role":"user","words":[{"start":1,"end":2}]},{"role":"agent","words":[{"word":"a","confidence":0.9}]}]""") + "]" },
        { "an empty batch", "[]" },
        { "whitespace around the array", " \n[" + Call() + "]\n " },
    };

    [Theory]
    [MemberData(nameof(ValidBodies))]
    public void AValidBodyIsPreparedExactlyAsElementByElement(string what, string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        using var document = JsonDocument.Parse(bytes, WireJson.DocumentOptions);
        var expected = document.RootElement.EnumerateArray().Select(CallDocuments.Prepare).ToList();
        var actual = CallDocuments.TryPrepareAll(bytes, 10) ?? ElementByElement(bytes);
        Assert.True(expected.Count == actual.Count, what);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].CallId, actual[i].CallId);
            Assert.Equal(expected[i].Columns, actual[i].Columns);
            Assert.Equal(expected[i].ErasesSensitiveData, actual[i].ErasesSensitiveData);
            Assert.Equal(Encoding.UTF8.GetString(expected[i].Document), Encoding.UTF8.GetString(actual[i].Document));
        }
    }

    // A valid body the fast path declines is still prepared (by the element path): the test compares that.
    static List<PreparedCall> ElementByElement(byte[] body)
    {
        using var document = JsonDocument.Parse(body, WireJson.DocumentOptions);
        return [.. document.RootElement.EnumerateArray().Select(CallDocuments.Prepare)];
    }

    [Fact]
    public void PlainCallsTakeTheFastPath()
    {
        // Not a behaviour a client can see, but the reason the path exists: plain transcripts do not fall back.
        var body = Encoding.UTF8.GetBytes("[" + Call(Words) + "," + Call(""" "latency":{"e2e":{"p50":1}}""", id: "d") + "]");
        var calls = CallDocuments.TryPrepareAll(body, 10);
        Assert.NotNull(calls);
        Assert.Equal(["c", "d"], calls.Select(c => c.CallId));
    }

    [Fact]
    public void ACallAlreadyMinifiedIsASliceOfTheBodyAndAnotherHasItsOwnDocument()
    {
        // The minified call is not copied (the import's caller keeps the body until the calls are written); the
        // pretty-printed one is written anew, into an array of its own.
        const string minified = """{"call_id":"m","agent_id":"a","call_type":"phone_call","call_status":"ended","transcript":"Agent: hi\nUser: hello"}""";
        const string pretty = """{ "call_id" : "p", "agent_id" : "a", "call_type" : "web_call", "call_status" : "ended" }""";
        var body = Encoding.UTF8.GetBytes("[" + minified + ",\n" + pretty + "]");
        var calls = CallDocuments.TryPrepareAll(body, 10);
        Assert.NotNull(calls);

        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(calls[0].Json, out var slice));
        Assert.Same(body, slice.Array);
        Assert.Equal(1, slice.Offset);
        Assert.Equal(minified, Encoding.UTF8.GetString(calls[0].Json.Span));
        Assert.Equal(minified, Encoding.UTF8.GetString(calls[0].Document)); // an array of its own, when one is needed

        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(calls[1].Json, out var own));
        Assert.NotSame(body, own.Array);
        Assert.Same(own.Array, calls[1].Document); // a whole array is given as it is
        Assert.Equal("""{"call_id":"p","agent_id":"a","call_type":"web_call","call_status":"ended"}""", Encoding.UTF8.GetString(calls[1].Document));
    }

    public static TheoryData<string, string> DeclinedBodies => new()
    {
        { "a word with a string start", "[" + Call(""" "transcript_object":[{"role":"agent","words":[{"word":"a","start":"1"}]}]""") + "]" },
        { "a word with a number as text", "[" + Call(""" "transcript_object":[{"role":"agent","words":[{"word":5}]}]""") + "]" },
        { "a word given twice a start", "[" + Call(""" "transcript_object":[{"role":"agent","words":[{"word":"a","start":1,"start":2}]}]""") + "]" },
        { "a null word", "[" + Call(""" "transcript_object":[{"role":"agent","words":[null]}]""") + "]" },
        { "a word with a lone surrogate", "[" + Call(""" "transcript_object":[{"role":"agent","words":[{"word":"\ud800"}]}]""") + "]" },
        { "words not a list", "[" + Call(""" "transcript_object":[{"role":"agent","words":{"word":"a"}}]""") + "]" },
        { "an utterance without role", "[" + Call(""" "transcript_with_tool_calls":[{"content":"hi"}]""") + "]" },
        { "an utterance with a null role", "[" + Call(""" "transcript_object":[{"role":null}]""") + "]" },
        { "an utterance with numeric content", "[" + Call(""" "transcript_object":[{"role":"agent","content":7}]""") + "]" },
        { "a missing call_id", """[{"agent_id":"a","call_type":"web_call","call_status":"ended"}]""" },
        { "an empty call_id", """[{"call_id":"","agent_id":"a","call_type":"web_call","call_status":"ended"}]""" },
        { "an unknown call status", """[{"call_id":"x","agent_id":"a","call_type":"web_call","call_status":"done"}]""" },
        { "a lone surrogate in an unknown field", "[" + Call(""" "future":"\udc00" """) + "]" },
        { "a string instead of a call", """["x"]""" },
        { "an object body", "{" + Head + "}" },
        { "something after the array", "[" + Call() + "] []" },
        { "malformed JSON", "[" + Call() + "," },
        { "more calls than allowed", "[" + string.Join(",", Enumerable.Range(0, 11).Select(i => Call(id: $"c{i}"))) + "]" },
        { "an empty body", "" },
    };

    [Theory]
    [MemberData(nameof(DeclinedBodies))]
    public void ABodyWithAnythingToReportIsLeftToTheElementPath(string what, string body)
    {
        Assert.True(CallDocuments.TryPrepareAll(Encoding.UTF8.GetBytes(body), 10) is null, what);
    }
}
