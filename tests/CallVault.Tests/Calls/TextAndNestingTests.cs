using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using CallVault.Tests.Infrastructure;
using static CallVault.Tests.Infrastructure.CallJson;

namespace CallVault.Tests.Calls;

/// <summary>Text that is not valid Unicode, and JSON nested deeper than 64 levels: a 400, never a 500.</summary>
public class TextAndNestingTests
{
    static string Nested(int depth) => new string('[', depth) + new string(']', depth);

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
}
