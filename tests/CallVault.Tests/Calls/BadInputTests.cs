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
    public async Task InvalidUtf8IsABadRequest()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        byte[] body = [.. """{"pagination_key":" """u8, 0xC3, 0x28, .. "\"}"u8];
        foreach (var path in new[] { "/v2/list-calls", "/v2/import-calls", "/v2/register-phone-call" })
        {
            var content = new ByteArrayContent(path == "/v2/import-calls" ? [(byte)'[', .. body, (byte)']'] : body);
            content.Headers.ContentType = new("application/json");
            await Api.AssertErrorAsync(await client.PostAsync(path, content), HttpStatusCode.BadRequest);
        }
    }

    public static TheoryData<string, string, string> LoneSurrogates => new()
    {
        { "import, in metadata", "/v2/import-calls", """[{"call_id":"x","agent_id":"a","call_type":"web_call","call_status":"ended","metadata":{"t":"\ud800"}}]""" },
        { "import, in an unknown field", "/v2/import-calls", """[{"call_id":"x","agent_id":"a","call_type":"web_call","call_status":"ended","future":["\udc00x"]}]""" },
        { "import, as a property name", "/v2/import-calls", """[{"call_id":"x","agent_id":"a","call_type":"web_call","call_status":"ended","future":{"\ud800":1}}]""" },
        { "import, in call_id", "/v2/import-calls", """[{"call_id":"\udc00","agent_id":"a","call_type":"web_call","call_status":"ended"}]""" },
        { "import, opted out", "/v2/import-calls", """[{"call_id":"x","agent_id":"a","call_type":"web_call","call_status":"ended","opt_out_sensitive_data_storage":true,"transcript":"t","future":"\ud800"}]""" },
        { "register, in metadata", "/v2/register-phone-call", """{"agent_id":"a","metadata":{"t":"\ud800"}}""" },
        { "register, in a dynamic variable", "/v2/register-phone-call", """{"agent_id":"a","retell_llm_dynamic_variables":{"t":"\ud800"}}""" },
        { "register, in agent_id", "/v2/register-phone-call", """{"agent_id":"\ud800"}""" },
        { "update, in metadata", "/v2/update-call/c1", """{"metadata":{"t":"\ud800"}}""" },
        { "list, in pagination_key", "/v2/list-calls", """{"pagination_key":"\ud800"}""" },
        { "list, in a filter", "/v2/list-calls", """{"filter_criteria":{"agent_id":["\ud800"]}}""" },
    };

    /// <summary>An escaped lone surrogate is valid JSON syntax but not Unicode text: a 400, never a 500.</summary>
    [Theory]
    [MemberData(nameof(LoneSurrogates))]
    public async Task AStringWithALoneSurrogateIsABadRequest(string where, string path, string body)
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync(Web("c1", start: Base).With("metadata", new JsonObject { ["m"] = 1 }));
        var before = (await client.GetCallAsync("c1")).GetRawText();
        var method = path.StartsWith("/v2/update-call", StringComparison.Ordinal) ? HttpMethod.Patch : HttpMethod.Post;
        var response = await client.SendJsonAsync(method, path, body);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{where}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(["c1"], await client.ListIdsAsync());
        Assert.Equal(before, (await client.GetCallAsync("c1")).GetRawText());
    }

    [Fact]
    public async Task NestingUpToSixtyFourLevelsIsAcceptedAndDeeperIsABadRequest()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync(Web("c1", start: Base));

        // update-call: the body is level 1, so metadata may nest 63 levels more.
        await Api.OkJsonAsync(await client.PatchJsonAsync("/v2/update-call/c1", """{"metadata":""" + Nested(63) + "}"));
        var error = await Api.AssertErrorAsync(await client.PatchJsonAsync("/v2/update-call/c1", """{"metadata":""" + Nested(64) + "}"), HttpStatusCode.BadRequest);
        Assert.Contains("64", error.GetProperty("message").GetString());
        Assert.Equal(Nested(63), (await client.GetCallAsync("c1")).GetProperty("metadata").GetRawText());

        // import-calls: the array is level 1 and the call level 2.
        static string Deep(string id, int depth) => """[{"call_id":"ID","agent_id":"a","call_type":"web_call","call_status":"ended","future":""".Replace("ID", id) + Nested(depth) + "}]";
        await Api.OkJsonAsync(await client.PostJsonAsync("/v2/import-calls", Deep("c2", 62)));
        await Api.AssertErrorAsync(await client.PostJsonAsync("/v2/import-calls", Deep("c3", 63)), HttpStatusCode.BadRequest);
        Assert.Equal(Nested(62), (await client.GetCallAsync("c2")).GetProperty("future").GetRawText());
        await Api.AssertErrorAsync(await client.GetAsync("/v2/get-call/c3"), HttpStatusCode.NotFound);

        // The deepest stored call can still be updated and listed.
        await Api.OkJsonAsync(await client.PatchJsonAsync("/v2/update-call/c2", """{"metadata":{"m":1}}"""));
        Assert.Equal(2, (await client.ListAsync()).GetArrayLength());
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

    [Theory]
    [InlineData("list-calls", true)]
    [InlineData("list-calls", false)]
    [InlineData("update-call", true)]
    [InlineData("register-phone-call", false)]
    public async Task ABodyOverTheConfiguredLimitIsTooLarge(string route, bool withLength)
    {
        await using var app = await CallVaultApp.StartAsync(new() { ["CallVault:MaxBodyBytes"] = "1024" });
        var client = await app.ClientForAsync();
        await client.ImportAsync(Web("c1", start: Base));
        var (method, path, small, large) = route switch
        {
            "list-calls" => (HttpMethod.Post, "/v2/list-calls",
                Api.ListBody(new JsonObject { ["agent_id"] = new JsonArray("agent_a", new string('a', 900)) }),
                Api.ListBody(new JsonObject { ["agent_id"] = new JsonArray("agent_a", new string('a', 1100)) })),
            "update-call" => (HttpMethod.Patch, "/v2/update-call/c1",
                new JsonObject { ["metadata"] = new string('m', 900) }.ToJsonString(),
                new JsonObject { ["metadata"] = new string('m', 1100) }.ToJsonString()),
            _ => (HttpMethod.Post, "/v2/register-phone-call",
                new JsonObject { ["agent_id"] = "a", ["metadata"] = new string('m', 900) }.ToJsonString(),
                new JsonObject { ["agent_id"] = "a", ["metadata"] = new string('m', 1100) }.ToJsonString()),
        };
        var fits = await client.SendAsync(BodyRequest.Create(method, path, small, withLength));
        Assert.True(fits.IsSuccessStatusCode, await fits.Content.ReadAsStringAsync());
        var error = await Api.AssertErrorAsync(await client.SendAsync(BodyRequest.Create(method, path, large, withLength)), HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("1024", error.GetProperty("message").GetString());
        if (route == "update-call")
            Assert.Equal(900, (await client.GetCallAsync("c1")).GetProperty("metadata").GetString()!.Length);
    }

    [Fact]
    public async Task TheDefaultBodyLimitIsOneMebibyteOutsideImport()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        var padding = new string('a', (1 << 20) - Encoding.UTF8.GetByteCount(Api.ListBody(new JsonObject { ["agent_id"] = new JsonArray("") })));
        var exactly = Api.ListBody(new JsonObject { ["agent_id"] = new JsonArray(padding) });
        Assert.Equal(1 << 20, Encoding.UTF8.GetByteCount(exactly));
        await Api.OkJsonAsync(await client.PostJsonAsync("/v2/list-calls", exactly));
        var over = Api.ListBody(new JsonObject { ["agent_id"] = new JsonArray(padding + "a") });
        await Api.AssertErrorAsync(await client.PostJsonAsync("/v2/list-calls", over), HttpStatusCode.RequestEntityTooLarge);
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
