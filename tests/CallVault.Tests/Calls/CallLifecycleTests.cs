using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallVault.Tests.Infrastructure;
using static CallVault.Tests.Infrastructure.CallJson;

namespace CallVault.Tests.Calls;

/// <summary>get-call, update-call, delete-call and register-phone-call, and how workspaces keep calls apart.</summary>
public class CallLifecycleTests
{
    static readonly string[] Sensitive = ["transcript", "transcript_object", "transcript_with_tool_calls", "recording_url", "public_log_url"];

    static JsonObject WithSensitiveData(JsonObject call) => call
        .With("transcript", "Agent: Hello\nUser: my card is 4111")
        .With("transcript_object", JsonNode.Parse("""[{"role":"agent","content":"Hello","words":[{"word":"Hello","start":0.5,"end":0.9}]}]"""))
        .With("transcript_with_tool_calls", JsonNode.Parse("""[{"role":"tool_call_invocation","tool_call_id":"t1","name":"lookup","arguments":"{}"}]"""))
        .With("recording_url", "https://example.test/rec.wav")
        .With("public_log_url", "https://example.test/log.txt")
        .With("call_analysis", new JsonObject { ["call_summary"] = "kept", ["user_sentiment"] = "Positive" })
        .With("metadata", new JsonObject { ["customer"] = 42 });

    [Fact]
    public async Task GetCallAnswersTheCallAsImported()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        var call = WithSensitiveData(Phone("c1", start: Base).With("end_timestamp", Base + 5000));
        await client.ImportAsync(call);
        var got = await client.GetCallAsync("c1");
        Assert.True(JsonNode.DeepEquals(call, JsonNode.Parse(got.GetRawText())), got.GetRawText());
    }

    [Fact]
    public async Task GetUpdateAndDeleteOfAnUnknownCallAreNotFound()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync(Phone("c1", start: Base));
        await Api.AssertErrorAsync(await client.GetAsync("/v2/get-call/nope"), HttpStatusCode.NotFound);
        await Api.AssertErrorAsync(await client.GetAsync("/v2/get-call/C1"), HttpStatusCode.NotFound);
        await Api.AssertErrorAsync(await client.PatchJsonAsync("/v2/update-call/nope", """{"metadata":{"a":1}}"""), HttpStatusCode.NotFound);
        await Api.AssertErrorAsync(await client.DeleteAsync("/v2/delete-call/nope"), HttpStatusCode.NotFound);
        Assert.Equal(["c1"], await client.ListIdsAsync());
    }

    [Fact]
    public async Task ACallOfAnotherWorkspaceIsNotFoundForGetUpdateAndDelete()
    {
        await using var app = await CallVaultApp.StartAsync();
        var mine = await app.ClientForAsync("mine");
        var theirs = await app.ClientForAsync("theirs");
        await theirs.ImportAsync(WithSensitiveData(Phone("theirs_1", start: Base)));
        var before = (await theirs.GetCallAsync("theirs_1")).GetRawText();

        var notFound = await Api.AssertErrorAsync(await mine.GetAsync("/v2/get-call/theirs_1"), HttpStatusCode.NotFound);
        var unknown = await Api.AssertErrorAsync(await mine.GetAsync("/v2/get-call/never_existed"), HttpStatusCode.NotFound);
        // The answer must not reveal that the call exists elsewhere.
        Assert.Equal(unknown.GetProperty("message").GetString()!.Replace("never_existed", "theirs_1"), notFound.GetProperty("message").GetString());
        await Api.AssertErrorAsync(await mine.PatchJsonAsync("/v2/update-call/theirs_1", """{"metadata":{"x":1},"opt_out_sensitive_data_storage":true}"""), HttpStatusCode.NotFound);
        await Api.AssertErrorAsync(await mine.DeleteAsync("/v2/delete-call/theirs_1"), HttpStatusCode.NotFound);
        Assert.Empty(await mine.ListIdsAsync());

        Assert.Equal(before, (await theirs.GetCallAsync("theirs_1")).GetRawText());
        Assert.Equal(["theirs_1"], await theirs.ListIdsAsync());
    }

    [Fact]
    public async Task TheSameCallIdInTwoWorkspacesIsTwoSeparateCalls()
    {
        await using var app = await CallVaultApp.StartAsync();
        var one = await app.ClientForAsync("one");
        var two = await app.ClientForAsync("two");
        await one.ImportAsync(Phone("shared", "agent_one", start: Base));
        await two.ImportAsync(Web("shared", "agent_two", start: Base + 1));

        Assert.Equal("agent_one", (await one.GetCallAsync("shared")).GetProperty("agent_id").GetString());
        Assert.Equal("agent_two", (await two.GetCallAsync("shared")).GetProperty("agent_id").GetString());

        await Api.OkJsonAsync(await one.PatchJsonAsync("/v2/update-call/shared", """{"metadata":{"owner":"one"}}"""));
        Assert.False((await two.GetCallAsync("shared")).TryGetProperty("metadata", out _));

        Assert.Equal(HttpStatusCode.NoContent, (await two.DeleteAsync("/v2/delete-call/shared")).StatusCode);
        Assert.Equal("one", (await one.GetCallAsync("shared")).GetProperty("metadata").GetProperty("owner").GetString());
        Assert.Equal(["shared"], await one.ListIdsAsync());
        Assert.Empty(await two.ListIdsAsync());
    }

    [Fact]
    public async Task UpdateCallReplacesTheMetadataAndLeavesEverythingElse()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        var call = WithSensitiveData(Phone("c1", start: Base)).With("metadata", new JsonObject { ["old"] = 1, ["keep"] = "no" });
        await client.ImportAsync(call);

        var answer = await Api.OkJsonAsync(await client.PatchJsonAsync("/v2/update-call/c1", """{"metadata":{"new":[1.50,"二",{"deep":null}]}}"""));
        Assert.Equal("""{"new":[1.50,"二",{"deep":null}]}""", JsonNode.Parse(answer.GetProperty("metadata").GetRawText())!.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
        JsonNumbers.AssertSameValue("1.50", answer.GetProperty("metadata").GetProperty("new")[0]);
        var stored = await client.GetCallAsync("c1");
        Assert.Equal(answer.GetRawText(), stored.GetRawText());
        var expected = call.DeepClone().AsObject().With("metadata", JsonNode.Parse("""{"new":[1.50,"二",{"deep":null}]}"""));
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(stored.GetRawText())), stored.GetRawText());
    }

    [Fact]
    public async Task UpdateCallWithNullMetadataRemovesTheMetadataAndNothingElse()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        var call = Phone("c1", start: Base).With("metadata", new JsonObject { ["crm"] = "A-1" }).With("transcript", "hello");
        await client.ImportAsync(call, Phone("c2", start: Base + 1).With("metadata", new JsonObject { ["crm"] = "B-2" }));

        var answer = await Api.OkJsonAsync(await client.PatchJsonAsync("/v2/update-call/c1", """{ "opt_out_sensitive_data_storage": null, "metadata" : null }"""));

        Assert.False(answer.TryGetProperty("metadata", out _), answer.GetRawText());
        var expected = call.DeepClone().AsObject();
        expected.Remove("metadata");
        var stored = await client.GetCallAsync("c1");
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(stored.GetRawText())), stored.GetRawText());
        Assert.Equal("B-2", (await client.GetCallAsync("c2")).GetProperty("metadata").GetProperty("crm").GetString());
        // Metadata that is absent, or null only deeper down, is not a removal.
        await Api.OkJsonAsync(await client.PatchJsonAsync("/v2/update-call/c2", """{"opt_out_sensitive_data_storage":false}"""));
        Assert.Equal("B-2", (await client.GetCallAsync("c2")).GetProperty("metadata").GetProperty("crm").GetString());
        await Api.OkJsonAsync(await client.PatchJsonAsync("/v2/update-call/c2", """{"metadata":{"metadata":null}}"""));
        Assert.Equal(JsonValueKind.Null, (await client.GetCallAsync("c2")).GetProperty("metadata").GetProperty("metadata").ValueKind);
        // Given twice, it is a 400 and the stored metadata stays.
        await Api.AssertErrorAsync(await client.PatchJsonAsync("/v2/update-call/c2", """{"metadata":{"a":1},"metadata":null}"""), HttpStatusCode.BadRequest);
        Assert.Equal(JsonValueKind.Null, (await client.GetCallAsync("c2")).GetProperty("metadata").GetProperty("metadata").ValueKind);
    }

    [Fact]
    public async Task UpdateCallWithAnEmptyBodyChangesNothing()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        var call = WithSensitiveData(Phone("c1", start: Base));
        await client.ImportAsync(call);
        var answer = await Api.OkJsonAsync(await client.PatchJsonAsync("/v2/update-call/c1", "{}"));
        Assert.True(JsonNode.DeepEquals(call, JsonNode.Parse(answer.GetRawText())));
    }

    [Fact]
    public async Task MetadataOverFiftyKilobytesIsABadRequestAndChangesNothing()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync(Phone("c1", start: Base).With("metadata", new JsonObject { ["small"] = true }));
        var before = (await client.GetCallAsync("c1")).GetRawText();

        // {"a":"xxx..."} is 8 bytes plus the text: 50,000 bytes exactly is allowed, one more is not.
        var exact = new JsonObject { ["metadata"] = new JsonObject { ["a"] = new string('x', 50_000 - 8) } }.ToJsonString();
        var over = new JsonObject { ["metadata"] = new JsonObject { ["a"] = new string('x', 50_000 - 7) }, ["opt_out_sensitive_data_storage"] = true }.ToJsonString();

        var error = await Api.AssertErrorAsync(await client.PatchJsonAsync("/v2/update-call/c1", over), HttpStatusCode.BadRequest);
        Assert.Contains("metadata", error.GetProperty("message").GetString());
        Assert.Equal(before, (await client.GetCallAsync("c1")).GetRawText());

        var answer = await Api.OkJsonAsync(await client.PatchJsonAsync("/v2/update-call/c1", exact));
        Assert.Equal(50_000 - 8, answer.GetProperty("metadata").GetProperty("a").GetString()!.Length);
    }

    [Fact]
    public async Task OptingOutErasesTheFiveSensitiveFieldsAndKeepsTheRest()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        var call = WithSensitiveData(Phone("c1", start: Base).With("opt_out_sensitive_data_storage", false));
        await client.ImportAsync(call);

        var answer = await Api.OkJsonAsync(await client.PatchJsonAsync("/v2/update-call/c1", """{"opt_out_sensitive_data_storage":true}"""));
        var expected = call.DeepClone().AsObject().With("opt_out_sensitive_data_storage", true);
        foreach (var field in Sensitive)
            expected.Remove(field);
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(answer.GetRawText())), answer.GetRawText());
        Assert.Equal(answer.GetRawText(), (await client.GetCallAsync("c1")).GetRawText());
        var listed = (await client.ListAsync())[0];
        Assert.Equal(answer.GetRawText(), listed.GetRawText());
    }

    [Fact]
    public async Task OptingOutTwiceIsAllowedAndFalseOnAnOptedInCallChangesNothing()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync(WithSensitiveData(Phone("c1", start: Base)));
        var unchanged = await Api.OkJsonAsync(await client.PatchJsonAsync("/v2/update-call/c1", """{"opt_out_sensitive_data_storage":false}"""));
        Assert.Equal("Agent: Hello\nUser: my card is 4111", unchanged.GetProperty("transcript").GetString());
        await Api.OkJsonAsync(await client.PatchJsonAsync("/v2/update-call/c1", """{"opt_out_sensitive_data_storage":true}"""));
        var again = await Api.OkJsonAsync(await client.PatchJsonAsync("/v2/update-call/c1", """{"opt_out_sensitive_data_storage":true,"metadata":{"m":2}}"""));
        Assert.True(again.GetProperty("opt_out_sensitive_data_storage").GetBoolean());
        Assert.Equal(2, again.GetProperty("metadata").GetProperty("m").GetInt32());
    }

    [Fact]
    public async Task OptingBackInIsABadRequestAndChangesNothing()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync(Phone("c1", start: Base).With("opt_out_sensitive_data_storage", true).With("metadata", new JsonObject { ["m"] = 1 }));
        var before = (await client.GetCallAsync("c1")).GetRawText();
        var error = await Api.AssertErrorAsync(
            await client.PatchJsonAsync("/v2/update-call/c1", """{"opt_out_sensitive_data_storage":false,"metadata":{"m":2}}"""), HttpStatusCode.BadRequest);
        Assert.Contains("opt_out_sensitive_data_storage", error.GetProperty("message").GetString());
        Assert.Equal(before, (await client.GetCallAsync("c1")).GetRawText());
    }

    [Fact]
    public async Task AnOptedOutCallStaysOptedOutWhenImportedAgainWithSensitiveData()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync(WithSensitiveData(Phone("c1", start: Base)));
        await Api.OkJsonAsync(await client.PatchJsonAsync("/v2/update-call/c1", """{"opt_out_sensitive_data_storage":true}"""));
        await client.ImportAsync(WithSensitiveData(Phone("c1", start: Base)).With("opt_out_sensitive_data_storage", false));
        var got = await client.GetCallAsync("c1");
        Assert.True(got.GetProperty("opt_out_sensitive_data_storage").GetBoolean());
        foreach (var field in Sensitive)
            Assert.False(got.TryGetProperty(field, out _), field);
    }

    [Fact]
    public async Task DeleteAnswersNoContentThenTheCallIsGone()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync(WithSensitiveData(Phone("c1", start: Base)), Phone("c2", start: Base + 1));
        var deleted = await client.DeleteAsync("/v2/delete-call/c1");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Empty(await deleted.Content.ReadAsByteArrayAsync());
        await Api.AssertErrorAsync(await client.GetAsync("/v2/get-call/c1"), HttpStatusCode.NotFound);
        await Api.AssertErrorAsync(await client.DeleteAsync("/v2/delete-call/c1"), HttpStatusCode.NotFound);
        await Api.AssertErrorAsync(await client.PatchJsonAsync("/v2/update-call/c1", """{"metadata":{}}"""), HttpStatusCode.NotFound);
        Assert.Equal(["c2"], await client.ListIdsAsync());
        Assert.Empty(await client.ListIdsAsync("""{"filter_criteria":{"agent_id":["agent_a"],"start_timestamp":{"upper_threshold":1700000000000}}}"""));
    }

    [Fact]
    public async Task RegisterPhoneCallCreatesARegisteredCallWithANewThirtyTwoCharacterId()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        const string body = """
            {"agent_id":"agent_r","direction":"outbound","from_number":"+14155550001","to_number":"+14155550002",
             "metadata":{"order":1.50,"tags":["x"]},"retell_llm_dynamic_variables":{"name":"Zoë","n":3}}
            """;
        var response = await client.PostJsonAsync("/v2/register-phone-call", body);
        var call = await Api.OkJsonAsync(response, HttpStatusCode.Created);
        var id = call.GetProperty("call_id").GetString()!;
        Assert.Equal(32, id.Length);
        Assert.All(id, c => Assert.True(char.IsAsciiLetterOrDigit(c)));
        Assert.Equal("registered", call.GetProperty("call_status").GetString());
        Assert.Equal("phone_call", call.GetProperty("call_type").GetString());
        Assert.Equal("agent_r", call.GetProperty("agent_id").GetString());
        Assert.Equal("outbound", call.GetProperty("direction").GetString());
        Assert.Equal("+14155550001", call.GetProperty("from_number").GetString());
        Assert.Equal("+14155550002", call.GetProperty("to_number").GetString());
        JsonNumbers.AssertSameValue("1.50", call.GetProperty("metadata").GetProperty("order"));
        Assert.Equal("Zoë", call.GetProperty("retell_llm_dynamic_variables").GetProperty("name").GetString());
        Assert.False(call.TryGetProperty("start_timestamp", out _));

        Assert.Equal(call.GetRawText(), (await client.GetCallAsync(id)).GetRawText());
        Assert.Equal([id], await client.ListIdsAsync("""{"filter_criteria":{"call_status":["registered"],"direction":["outbound"],"from_number":["+14155550001"]}}"""));

        var second = await Api.OkJsonAsync(await client.PostJsonAsync("/v2/register-phone-call", """{"agent_id":"agent_r"}"""), HttpStatusCode.Created);
        Assert.NotEqual(id, second.GetProperty("call_id").GetString());
    }

    [Theory]
    [InlineData("通话-😀")]
    [InlineData("a b#c?d&e=f%g")]
    [InlineData("call.with.dots")]
    public async Task CallIdsWithUnicodeAndUrlCharactersWorkInEveryPath(string callId)
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync(Web(callId, start: Base), Web("other", start: Base + 1));
        var path = Uri.EscapeDataString(callId);
        Assert.Equal(callId, (await client.GetCallAsync(callId)).GetProperty("call_id").GetString());
        var updated = await Api.OkJsonAsync(await client.PatchJsonAsync("/v2/update-call/" + path, """{"metadata":{"m":1}}"""));
        Assert.Equal(callId, updated.GetProperty("call_id").GetString());
        Assert.Equal([callId], await client.ListIdsAsync(Api.ListBody(paginationKey: "other")));
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/v2/delete-call/" + path)).StatusCode);
        Assert.Equal(["other"], await client.ListIdsAsync());
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"agent_id":""}""")]
    [InlineData("""{"agent_id":null}""")]
    [InlineData("""{"agent_id":7}""")]
    [InlineData("""{"agent_id":"a","direction":"sideways"}""")]
    [InlineData("""{"agent_id":"a","from_number":123}""")]
    [InlineData("""{"agent_id":"a","agent_version":1}""")]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("[]")]
    public async Task RegisterPhoneCallWithABadBodyIsABadRequestAndCreatesNothing(string body)
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await Api.AssertErrorAsync(await client.PostJsonAsync("/v2/register-phone-call", body), HttpStatusCode.BadRequest);
        Assert.Empty(await client.ListIdsAsync());
    }
}
