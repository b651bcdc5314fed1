using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using CallVault.Tests.Infrastructure;
using static CallVault.Tests.Infrastructure.CallJson;

namespace CallVault.Tests.Calls;

/// <summary>Bad input gets a 4xx with a JSON message, never a 500, never a widened query, and changes nothing.</summary>
public class BadInputTests
{
    static string Nested(int depth) => new string('[', depth) + new string(']', depth);

    public static TheoryData<string, string> BadListBodies => new()
    {
        // Malformed JSON.
        { "unclosed object", "{" },
        { "missing value", """{"limit":}""" },
        { "single quotes", "{'limit':1}" },
        { "trailing garbage", "{} x" },
        { "two documents", "{}{}" },
        { "trailing comma", """{"limit":1,}""" },
        { "comment", """{/* hi */"limit":1}""" },
        { "bare word", "limit" },
        // Nesting deeper than 64 levels.
        { "deep nesting", """{"filter_criteria":{"agent_id":""" + Nested(70) + "}}" },
        { "deep nesting in an unknown field", """{"x":""" + Nested(100) + "}" },
        // Not an object, wrong types.
        { "array body", "[]" },
        { "string body", "\"x\"" },
        { "number body", "5" },
        { "filter_criteria as an array", """{"filter_criteria":[]}""" },
        { "filter_criteria as a string", """{"filter_criteria":"agent_id=a"}""" },
        { "list field as a string", """{"filter_criteria":{"agent_id":"agent_a"}}""" },
        { "list of numbers", """{"filter_criteria":{"agent_id":[1]}}""" },
        { "null inside a list", """{"filter_criteria":{"agent_id":[null]}}""" },
        { "boolean as a string", """{"filter_criteria":{"call_successful":["true"]}}""" },
        { "boolean as a number", """{"filter_criteria":{"in_voicemail":[1]}}""" },
        { "threshold as a string", """{"filter_criteria":{"start_timestamp":{"lower_threshold":"1700000000000"}}}""" },
        { "threshold as a number", """{"filter_criteria":{"duration_ms":1000}}""" },
        { "range as a list", """{"filter_criteria":{"e2e_latency_p50":[1,2]}}""" },
        { "pagination_key as a number", """{"pagination_key":5}""" },
        { "duplicate field", """{"limit":1,"limit":2}""" },
        // Unknown fields (a typo must never widen a query).
        { "unknown top-level field", """{"filter":{"agent_id":["a"]}}""" },
        { "misspelled limit", """{"limt":5}""" },
        { "unknown filter field", """{"filter_criteria":{"agent":["agent_a"]}}""" },
        { "misspelled filter field", """{"filter_criteria":{"call_statuses":["ended"]}}""" },
        { "filter field from another API", """{"filter_criteria":{"batch_call_id":["b"]}}""" },
        { "unknown threshold field", """{"filter_criteria":{"start_timestamp":{"lower":1}}}""" },
        // Unknown enum values, wrong case, integers.
        { "unknown sort order", """{"sort_order":"newest"}""" },
        { "sort order abbreviated", """{"sort_order":"asc"}""" },
        { "sort order in another case", """{"sort_order":"Ascending"}""" },
        { "sort order as an integer", """{"sort_order":1}""" },
        { "unknown call_status", """{"filter_criteria":{"call_status":["done"]}}""" },
        { "call_status in another case", """{"filter_criteria":{"call_status":["Ended"]}}""" },
        { "call_status as an integer", """{"filter_criteria":{"call_status":[2]}}""" },
        { "unknown call_type", """{"filter_criteria":{"call_type":["video_call"]}}""" },
        { "call_type in upper case", """{"filter_criteria":{"call_type":["WEB_CALL"]}}""" },
        { "direction as an integer", """{"filter_criteria":{"direction":[0]}}""" },
        { "direction in another case", """{"filter_criteria":{"direction":["Inbound"]}}""" },
        { "user_sentiment in lower case", """{"filter_criteria":{"user_sentiment":["positive"]}}""" },
        { "unknown user_sentiment", """{"filter_criteria":{"user_sentiment":["Happy"]}}""" },
        { "unknown disconnection_reason", """{"filter_criteria":{"disconnection_reason":["hangup"]}}""" },
        { "disconnection_reason in another case", """{"filter_criteria":{"disconnection_reason":["USER_HANGUP"]}}""" },
        { "one bad value among good ones", """{"filter_criteria":{"call_status":["ended","done"]}}""" },
    };

    [Theory]
    [MemberData(nameof(BadListBodies))]
    public async Task AListRequestThatIsNotExactlyRightIsABadRequestWithAMessage(string problem, string body)
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        var error = await Api.AssertErrorAsync(await client.PostJsonAsync("/v2/list-calls", body), HttpStatusCode.BadRequest);
        Assert.True(error.GetProperty("message").GetString()!.Length > 5, problem);
    }

    [Theory]
    [InlineData("""{"filter_criteria":{"agent":["agent_a"]}}""", "agent")]
    [InlineData("""{"limt":5}""", "limt")]
    [InlineData("""{"filter_criteria":{"start_timestamp":{"lower":1}}}""", "lower")]
    [InlineData("""{"sort_order":"asc"}""", "sort_order")]
    [InlineData("""{"filter_criteria":{"call_status":["done"]}}""", "call_status")]
    public async Task TheMessageNamesTheFieldAtFault(string body, string field)
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        var error = await Api.AssertErrorAsync(await client.PostJsonAsync("/v2/list-calls", body), HttpStatusCode.BadRequest);
        Assert.Contains(field, error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task AFilterListOfAThousandValuesIsServedAndOneMoreIsABadRequest()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync(Web("c1", "agent_0999", start: Base), Web("c2", "agent_1000", start: Base));
        static string Agents(int count) => Api.ListBody(new JsonObject { ["agent_id"] = new JsonArray([.. Enumerable.Range(0, count).Select(i => (JsonNode)$"agent_{i:D4}")]) });
        Assert.Equal(["c1"], await client.ListIdsAsync(Agents(1000)));
        var error = await Api.AssertErrorAsync(await client.PostJsonAsync("/v2/list-calls", Agents(1001)), HttpStatusCode.BadRequest);
        Assert.Contains("agent_id", error.GetProperty("message").GetString());
    }

    public static TheoryData<string, string> BadUpdateBodies => new()
    {
        { "malformed JSON", """{"metadata":""" },
        { "array body", "[]" },
        { "unknown field", """{"metadta":{"a":1}}""" },
        { "field of another endpoint", """{"agent_id":"a"}""" },
        { "opt-out as a string", """{"opt_out_sensitive_data_storage":"true"}""" },
        { "opt-out as a number", """{"opt_out_sensitive_data_storage":1}""" },
        { "deep metadata", """{"metadata":""" + Nested(80) + "}" },
    };

    [Theory]
    [MemberData(nameof(BadUpdateBodies))]
    public async Task ABadUpdateIsABadRequestAndChangesNothing(string problem, string body)
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync(Web("c1", start: Base).With("transcript", "kept").With("metadata", new JsonObject { ["m"] = 1 }));
        var before = (await client.GetCallAsync("c1")).GetRawText();
        await Api.AssertErrorAsync(await client.PatchJsonAsync("/v2/update-call/c1", body), HttpStatusCode.BadRequest);
        Assert.True(before == (await client.GetCallAsync("c1")).GetRawText(), problem);
    }

    [Theory]
    [InlineData("[")]
    [InlineData("[{]")]
    [InlineData("[{\"call_id\":\"x\"},]")]
    [InlineData("[] []")]
    public async Task MalformedImportJsonIsABadRequestAndStoresNothing(string body)
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await Api.AssertErrorAsync(await client.PostJsonAsync("/v2/import-calls", body), HttpStatusCode.BadRequest);
        Assert.Empty(await client.ListIdsAsync());
    }

    [Fact]
    public async Task UnknownRoutesAndWrongMethodsAnswerWithAMessage()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await Api.AssertErrorAsync(await client.PostJsonAsync("/v2/list-call", "{}"), HttpStatusCode.NotFound);
        await Api.AssertErrorAsync(await client.GetAsync("/v2/list-calls"), HttpStatusCode.MethodNotAllowed);
    }
}
