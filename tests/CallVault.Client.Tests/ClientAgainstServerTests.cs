using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallVault.Client.Models;
using CallVault.Client.Tests.Infrastructure;
using CallVault.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace CallVault.Client.Tests;

/// <summary>Every method of <see cref="CallVaultClient"/> against the real server, in-process.</summary>
public class ClientAgainstServerTests
{
    [Fact]
    public async Task ImportedCallsAreListedInTheRequestedOrderWithTheFilterApplied()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.CallVaultClientForAsync("acme");
        var imported = await client.ImportCallsAsync(TestCalls.Series(6));
        Assert.Equal(6, imported.Imported);

        var page = await client.ListCallsAsync(new ListCallsRequest
        {
            FilterCriteria = new CallFilter { AgentId = ["a1"] },
            SortOrder = SortOrder.Ascending,
        });

        Assert.Equal(["c01", "c03", "c05"], page.Select(c => c.CallId));
        Assert.All(page, c => Assert.Equal(CallType.PhoneCall, c.CallType));
        Assert.Equal(TimeSpan.FromSeconds(90), page[0].Duration);
        Assert.Equal(TestCalls.Epoch.AddMinutes(1), page[0].StartTime);
    }

    [Fact]
    public async Task TimeAndDurationBoundsGivenAsDateTimeOffsetAndTimeSpanSelectTheCallsInRange()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.CallVaultClientForAsync("acme");
        await client.ImportCallsAsync(
        [
            TestCalls.Phone("early", "a1", minute: 0, seconds: 30),
            TestCalls.Phone("short", "a1", minute: 10, seconds: 30),
            TestCalls.Phone("long", "a1", minute: 20, seconds: 600),
            TestCalls.Phone("late", "a1", minute: 30, seconds: 30),
        ]);

        var inWindow = await client.ListCallsAsync(new ListCallsRequest
        {
            FilterCriteria = new CallFilter { StartTimestamp = Threshold.Between(TestCalls.Epoch.AddMinutes(10), TestCalls.Epoch.AddMinutes(20)) },
            SortOrder = SortOrder.Ascending,
        });
        var longOnes = await client.ListCallsAsync(new ListCallsRequest
        {
            FilterCriteria = new CallFilter { DurationMs = Threshold.Between(TimeSpan.FromMinutes(5), null) },
        });

        Assert.Equal(["short", "long"], inWindow.Select(c => c.CallId));
        Assert.Equal(["long"], longOnes.Select(c => c.CallId));
    }

    [Fact]
    public async Task GetCallReturnsTheWholeTypedCallObject()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.CallVaultClientForAsync("acme");
        var call = TestCalls.Phone("c1", "a1", minute: 0) with
        {
            TranscriptObject = [new Utterance { Role = "agent", Content = "Hello", Words = [new Word { Text = "Hello", Start = 0.5, End = 0.9 }] }],
            TranscriptWithToolCalls =
            [
                new Utterance { Role = "tool_call_invocation", Name = "lookup", Arguments = "{\"q\":1}", ToolCallId = "t1" },
                new Utterance { Role = "tool_call_result", Content = "42", ToolCallId = "t1" },
            ],
            Latency = new CallLatency { E2e = new LatencyStats { P50 = 800, Values = [700, 800, 900] } },
            CallCost = new CallCost { CombinedCost = 12.5, ProductCosts = [new ProductCost { Product = "tts", UnitPrice = 0.1, Cost = 2.5 }] },
            DisconnectionReason = DisconnectionReason.UserHangup,
        };
        await client.ImportCallsAsync([call]);

        var got = await client.GetCallAsync("c1");

        Assert.Equal("a1", got.AgentId);
        Assert.Equal(0.9, got.TranscriptObject![0].Words![0].End);
        Assert.Equal("lookup", got.TranscriptWithToolCalls![0].Name);
        Assert.Equal("t1", got.TranscriptWithToolCalls[1].ToolCallId);
        Assert.Equal(800, got.Latency!.E2e!.P50);
        Assert.Equal(2.5, got.CallCost!.ProductCosts![0].Cost);
        Assert.Equal(UserSentiment.Positive, got.CallAnalysis!.UserSentiment);
        Assert.Equal(DisconnectionReason.UserHangup, got.DisconnectionReason);
    }

    [Fact]
    public async Task UpdateCallReplacesMetadataAndOptingOutErasesTheTranscript()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.CallVaultClientForAsync("acme");
        await client.ImportCallsAsync([TestCalls.Phone("c1", "a1", minute: 0) with { Transcript = "Agent: hi", Metadata = Json("""{"old":true}""") }]);

        var updated = await client.UpdateCallAsync("c1", new UpdateCallRequest { Metadata = Json("""{"ticket":"T-7"}""") });
        var optedOut = await client.UpdateCallAsync("c1", new UpdateCallRequest { OptOutSensitiveDataStorage = true });

        Assert.Equal("T-7", updated.Metadata!.Value.GetProperty("ticket").GetString());
        Assert.False(updated.Metadata.Value.TryGetProperty("old", out _));
        Assert.Equal("Agent: hi", updated.Transcript);
        Assert.True(optedOut.OptOutSensitiveDataStorage);
        Assert.Null(optedOut.Transcript);
        Assert.Null((await client.GetCallAsync("c1")).Transcript);
    }

    [Fact]
    public async Task DeletedCallIsGoneAndDeletingItAgainIsNotFound()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.CallVaultClientForAsync("acme");
        await client.ImportCallsAsync(TestCalls.Series(2));

        await client.DeleteCallAsync("c01");

        Assert.Equal(["c02"], (await client.ListCallsAsync()).Select(c => c.CallId));
        var again = await Assert.ThrowsAsync<CallVaultApiException>(() => client.DeleteCallAsync("c01"));
        Assert.Equal(CallVaultErrorKind.NotFound, again.Kind);
    }

    [Fact]
    public async Task RegisteredPhoneCallGetsANewIdAndCanBeReadBack()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.CallVaultClientForAsync("acme");

        var registered = await client.RegisterPhoneCallAsync(new RegisterPhoneCallRequest
        {
            AgentId = "a1",
            Direction = CallDirection.Outbound,
            FromNumber = "+15550001",
            ToNumber = "+15550002",
            RetellLlmDynamicVariables = new() { ["customer_name"] = Json("\"John Doe\"") },
        });

        Assert.Equal(32, registered.CallId.Length);
        Assert.Equal(CallStatus.Registered, registered.CallStatus);
        Assert.Equal(CallType.PhoneCall, registered.CallType);
        var got = await client.GetCallAsync(registered.CallId);
        Assert.Equal(CallDirection.Outbound, got.Direction);
        Assert.Equal("John Doe", got.RetellLlmDynamicVariables!["customer_name"].GetString());
    }

    [Fact]
    public async Task FieldsTheModelsDoNotKnowSurviveAGetThenImportRoundTrip()
    {
        await using var app = await CallVaultApp.StartAsync();
        var source = await app.ClientForAsync("source");
        var original = JsonNode.Parse("""
            {
              "call_id": "c1", "agent_id": "a1", "call_type": "web_call", "call_status": "ended",
              "start_timestamp": 1714557600000, "end_timestamp": 1714557690000,
              "agent_version": 7, "future_field": {"nested": [1, "two", null, {"x": true}]},
              "transcript_object": [{"role": "user", "content": "hi", "confidence": 0.93,
                                     "words": [{"word": "hi", "start": 0.1, "end": 0.3, "speaker": 2}]}],
              "call_analysis": {"call_successful": true, "sentiment_score": 0.8},
              "latency": {"e2e": {"p50": 800, "values": [800], "p75": 810}, "asr": {"p50": 120}},
              "call_cost": {"combined_cost": 3, "currency": "usd", "product_costs": [{"product": "llm", "cost": 3, "tier": "pro"}]}
            }
            """)!;
        (await source.PostAsJsonAsync("/v2/import-calls", new JsonArray(original.DeepClone()))).EnsureSuccessStatusCode();
        var asServed = JsonNode.Parse(await source.GetStringAsync("/v2/get-call/c1"))!;

        var reader = await app.CallVaultClientForAsync("source");
        var call = await reader.GetCallAsync("c1");
        var writer = await app.CallVaultClientForAsync("copy");
        await writer.ImportCallsAsync([call]);

        var copy = await app.ClientForAsync("copy");
        var copied = JsonNode.Parse(await copy.GetStringAsync("/v2/get-call/c1"))!;
        Assert.True(JsonNode.DeepEquals(asServed, copied), $"served:\n{asServed}\ncopied:\n{copied}");
        Assert.Equal(7, call.ExtensionData!["agent_version"].GetInt32());
        Assert.Equal(2, call.TranscriptObject![0].Words![0].ExtensionData!["speaker"].GetInt32());
    }

    [Fact]
    public async Task ACallNestedAsDeepAsTheServerAcceptsIsReadBackInAListPage()
    {
        await using var app = await CallVaultApp.StartAsync();
        var raw = await app.ClientForAsync("acme");
        // update-call accepts a body 64 levels deep (its limit), so the stored call holds 64 levels; the list
        // answer wraps it in one more array.
        var metadata = new string('[', 63) + new string(']', 63);
        const string call = """[{"call_id":"deep","agent_id":"a1","call_type":"web_call","call_status":"ended"}]""";
        (await raw.PostAsync("/v2/import-calls", new StringContent(call, System.Text.Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        var update = new StringContent($$"""{"metadata":{{metadata}}}""", System.Text.Encoding.UTF8, "application/json");
        (await raw.PatchAsync("/v2/update-call/deep", update)).EnsureSuccessStatusCode();

        var client = await app.CallVaultClientForAsync("acme");
        var page = await client.ListCallsAsync(new ListCallsRequest());

        Assert.Equal("deep", Assert.Single(page).CallId);
        Assert.Equal(metadata, page[0].Metadata!.Value.GetRawText());
    }

    [Fact]
    public async Task ClientRegisteredWithTheServiceCollectionListsCallsThroughHttpClientFactory()
    {
        await using var app = await CallVaultApp.StartAsync();
        var seeded = await app.CallVaultClientForAsync("acme");
        await seeded.ImportCallsAsync(TestCalls.Series(3));
        var key = await Store.ApiKeys.CreateAsync(app.Store, "acme", CancellationToken.None);
        var services = new ServiceCollection();
        services.AddCallVaultClient(options =>
        {
            options.ApiKey = key;
            options.BaseAddress = app.Server.BaseAddress;
        }).ConfigurePrimaryHttpMessageHandler(() => app.Server.CreateHandler());
        await using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredService<CallVaultClient>();
        var calls = await client.ListCallsAsync();

        Assert.Equal(["c03", "c02", "c01"], calls.Select(c => c.CallId));
        Assert.Equal(app.Server.BaseAddress, client.BaseAddress);
    }

    [Fact]
    public async Task ClientMadeFromAKeyAndAnAddressTalksToThatServer()
    {
        await using var fake = await FakeServer.StartAsync(FakeServer.Answer(200, "[]"));
        var client = new CallVaultClient("key_123", fake.BaseAddress);

        var calls = await client.ListCallsAsync();

        Assert.Empty(calls);
        var request = Assert.Single(fake.Received);
        Assert.Equal(("POST", "/v2/list-calls", "{}", "Bearer key_123"), (request.Method, request.Path, request.Body, request.Authorization));
    }

    [Fact]
    public void ClientMadeFromAKeyAloneTalksToRetell() =>
        Assert.Equal(new Uri("https://api.retellai.com/"), new CallVaultClient("key_123").BaseAddress);

    static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();
}
