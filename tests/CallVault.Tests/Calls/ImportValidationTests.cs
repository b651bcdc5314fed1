using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallVault.Tests.Infrastructure;
using static CallVault.Tests.Infrastructure.CallJson;

namespace CallVault.Tests.Calls;

/// <summary>import-calls is all or nothing: one invalid record rejects the batch, naming every bad record.</summary>
public class ImportValidationTests
{
    [Fact]
    public async Task OneBadRecordInTheMiddleRejectsTheWholeBatchNamingEveryBadIndex()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync(Phone("existing", start: Base).With("metadata", new JsonObject { ["v"] = 1 }));
        var before = (await client.GetCallAsync("existing")).GetRawText();

        var batch = new JsonArray(
            Phone("good_0", start: Base),
            Phone("bad_1", start: Base).With("agent_id", null),
            Phone("existing", start: Base).With("metadata", new JsonObject { ["v"] = 2 }),
            Phone("bad_3", status: "done", start: Base),
            Web("good_4", start: Base));
        var error = await Api.AssertErrorAsync(await client.PostJsonAsync("/v2/import-calls", batch), HttpStatusCode.BadRequest);

        var errors = error.GetProperty("errors").EnumerateArray().ToList();
        Assert.Equal([1, 3], errors.Select(e => e.GetProperty("index").GetInt32()));
        Assert.Equal(["bad_1", "bad_3"], errors.Select(e => e.GetProperty("call_id").GetString()));
        Assert.Contains("agent_id", errors[0].GetProperty("message").GetString());
        Assert.Contains("done", errors[1].GetProperty("message").GetString());
        Assert.Equal(["existing"], await client.ListIdsAsync());
        Assert.Equal(before, (await client.GetCallAsync("existing")).GetRawText());
    }

    public static TheoryData<string, string> BadRecords => new()
    {
        { "missing call_id", """{"agent_id":"a","call_type":"web_call","call_status":"ended"}""" },
        { "missing agent_id", """{"call_id":"x","call_type":"web_call","call_status":"ended"}""" },
        { "missing call_type", """{"call_id":"x","agent_id":"a","call_status":"ended"}""" },
        { "missing call_status", """{"call_id":"x","agent_id":"a","call_type":"web_call"}""" },
        { "empty call_id", """{"call_id":"","agent_id":"a","call_type":"web_call","call_status":"ended"}""" },
        { "null call_id", """{"call_id":null,"agent_id":"a","call_type":"web_call","call_status":"ended"}""" },
        { "numeric call_id", """{"call_id":5,"agent_id":"a","call_type":"web_call","call_status":"ended"}""" },
        { "unknown call_type", """{"call_id":"x","agent_id":"a","call_type":"video_call","call_status":"ended"}""" },
        { "call_type in another case", """{"call_id":"x","agent_id":"a","call_type":"Web_Call","call_status":"ended"}""" },
        { "call_status as an integer", """{"call_id":"x","agent_id":"a","call_type":"web_call","call_status":2}""" },
        { "unknown direction", """{"call_id":"x","agent_id":"a","call_type":"phone_call","call_status":"ended","direction":"sideways"}""" },
        { "unknown disconnection_reason", """{"call_id":"x","agent_id":"a","call_type":"web_call","call_status":"ended","disconnection_reason":"hung_up"}""" },
        { "user_sentiment in lower case", """{"call_id":"x","agent_id":"a","call_type":"web_call","call_status":"ended","call_analysis":{"user_sentiment":"positive"}}""" },
        { "start_timestamp as a string", """{"call_id":"x","agent_id":"a","call_type":"web_call","call_status":"ended","start_timestamp":"1700000000000"}""" },
        { "start_timestamp with a fraction", """{"call_id":"x","agent_id":"a","call_type":"web_call","call_status":"ended","start_timestamp":1.5}""" },
        { "call_successful as a string", """{"call_id":"x","agent_id":"a","call_type":"web_call","call_status":"ended","call_analysis":{"call_successful":"yes"}}""" },
        { "transcript_object not a list", """{"call_id":"x","agent_id":"a","call_type":"web_call","call_status":"ended","transcript_object":"hello"}""" },
        { "latency values not numbers", """{"call_id":"x","agent_id":"a","call_type":"web_call","call_status":"ended","latency":{"e2e":{"values":["fast"]}}}""" },
        { "metadata over 50 kB", $$$"""{"call_id":"x","agent_id":"a","call_type":"web_call","call_status":"ended","metadata":{"a":"{{{new string('x', 50_000)}}}"}}""" },
        { "a string instead of a call", "\"x\"" },
        { "null instead of a call", "null" },
        { "an array instead of a call", "[]" },
        { "a duplicated field", """{"call_id":"x","call_id":"y","agent_id":"a","call_type":"web_call","call_status":"ended"}""" },
    };

    [Theory]
    [MemberData(nameof(BadRecords))]
    public async Task AnInvalidRecordIsABadRequestNamingItsIndexAndNothingIsStored(string problem, string record)
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        var body = $"[{Web("ok_0", start: Base).ToJsonString()},{record},{Web("ok_2", start: Base).ToJsonString()}]";
        var error = await Api.AssertErrorAsync(await client.PostJsonAsync("/v2/import-calls", body), HttpStatusCode.BadRequest);
        var errors = error.GetProperty("errors").EnumerateArray().ToList();
        Assert.True(errors.Count == 1, problem);
        Assert.Equal(1, errors[0].GetProperty("index").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(errors[0].GetProperty("message").GetString()));
        Assert.Empty(await client.ListIdsAsync());
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("null")]
    [InlineData("\"calls\"")]
    [InlineData("")]
    public async Task ABodyThatIsNotAnArrayIsABadRequest(string body)
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await Api.AssertErrorAsync(await client.PostJsonAsync("/v2/import-calls", body), HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("""{"asr":{"values":["fast"]}}""")]
    [InlineData("""{"asr":{"values":[null]}}""")]
    [InlineData("""{"asr":{"values":[{"ms":1}]}}""")]
    [InlineData("""{"asr":{"values":[1e400]}}""")]
    [InlineData("""{"e2e":{"values":[1e400]}}""")]
    [InlineData("""{"e2e":{"values":[1,"2"]}}""")]
    [InlineData("""{"e2e":{"values":{"a":1}}}""")]
    [InlineData("""{"e2e":"fast"}""")]
    [InlineData("""[1,2]""")]
    public async Task LatencySamplesThatAreNotFiniteNumbersAreABadRequest(string latency)
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        var body = """[{"call_id":"x","agent_id":"a","call_type":"web_call","call_status":"ended","latency":""" + latency + "}]";
        var error = await Api.AssertErrorAsync(await client.PostJsonAsync("/v2/import-calls", body), HttpStatusCode.BadRequest);
        Assert.Equal(0, error.GetProperty("errors")[0].GetProperty("index").GetInt32());
        Assert.Empty(await client.ListIdsAsync());
    }

    public static TheoryData<string, string> BadTranscripts => new()
    {
        { """[{"role":"agent","words":[{"word":"a","start":0,"end":1},{"word":"b","start":"1","end":2}]}]""", "transcript_object[0].words[1].start: wrong type" },
        { """[{"role":"agent","words":[{"word":5}]}]""", "transcript_object[0].words[0].word: wrong type" },
        { """[{"role":"agent","words":[{"word":"a","end":true}]}]""", "transcript_object[0].words[0].end: wrong type" },
        { """[{"role":"agent","words":[{"word":"a","start":1,"start":2}]}]""", "transcript_object[0].words[0].start: duplicate field" },
        { """[{"role":"agent","words":{"word":"a"}}]""", "transcript_object[0].words: wrong type" },
        { """[{"content":"hi"}]""", "transcript_object[0]: missing required field 'role'" },
        { """[{"role":null}]""", "transcript_object[0].role: must not be null" },
        { """[{"role":"agent","content":7}]""", "transcript_object[0].content: wrong type" },
    };

    /// <summary>Word timings are checked without being built (the import fast path); errors still name the path.</summary>
    [Theory]
    [MemberData(nameof(BadTranscripts))]
    public async Task ABadWordOrUtteranceIsABadRequestNamingItsPath(string transcript, string message)
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        var record = """{"call_id":"x","agent_id":"a","call_type":"web_call","call_status":"ended","transcript_object":""" + transcript + "}";
        var body = $"[{Web("ok_0", start: Base).ToJsonString()},{record}]";
        var error = await Api.AssertErrorAsync(await client.PostJsonAsync("/v2/import-calls", body), HttpStatusCode.BadRequest);
        var errors = error.GetProperty("errors").EnumerateArray().ToList();
        Assert.Equal(1, Assert.Single(errors).GetProperty("index").GetInt32());
        Assert.Equal(message, errors[0].GetProperty("message").GetString());
        Assert.Empty(await client.ListIdsAsync());
    }

    /// <summary>What the Word contract allows (no text, null values, fields it does not know) is stored as sent.</summary>
    [Fact]
    public async Task UnusualButValidWordsAreImportedAsSent()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        const string record = """{"call_id":"x","agent_id":"a","call_type":"web_call","call_status":"ended","transcript_object":[{"role":"agent","words":[{"start":1,"end":2},{"word":null,"start":null},{"word":"a","confidence":0.98,"extra":{"k":[1]}},null]},{"role":"user","words":null}]}""";
        await Api.OkJsonAsync(await client.PostJsonAsync("/v2/import-calls", $"[{record}]"));
        Assert.Equal(record, (await client.GetCallAsync("x")).GetRawText());
    }
}
