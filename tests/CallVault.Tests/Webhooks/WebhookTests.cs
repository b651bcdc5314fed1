using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallVault.Tests.Infrastructure;
using CallVault.Webhooks;

namespace CallVault.Tests.Webhooks;

public class WebhookTests
{
    const string RetellKey = "key_test_0123456789abcdef";

    sealed class Setup(CallVaultApp app, HttpClient api, HttpClient anonymous) : IAsyncDisposable
    {
        public CallVaultApp App => app;
        public HttpClient Api => api;

        public Task<HttpResponseMessage> DeliverAsync(string body, string? signature, string workspace = "acme")
        {
            var request = new HttpRequestMessage(HttpMethod.Post, $"/webhooks/retell/{workspace}")
            {
                Content = new StringContent(body, Encoding.UTF8, "application/json"),
            };
            if (signature is not null)
                request.Headers.TryAddWithoutValidation("x-retell-signature", signature);
            return anonymous.SendAsync(request);
        }

        public async Task<HttpResponseMessage> DeliverSignedAsync(string body, string workspace = "acme") =>
            await DeliverAsync(body, await RetellSdkSigner.SignAsync(body, RetellKey), workspace);

        public async Task<JsonObject?> GetCallAsync(string callId)
        {
            var response = await api.GetAsync($"/v2/get-call/{callId}");
            return response.StatusCode == HttpStatusCode.NotFound ? null : JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        }

        public async ValueTask DisposeAsync() => await app.DisposeAsync();
    }

    static async Task<Setup> StartAsync(string workspace = "acme")
    {
        var app = await CallVaultApp.StartAsync();
        var api = await app.ClientForAsync(workspace);
        await WebhookKeys.SetAsync(app.Store, workspace, RetellKey, CancellationToken.None);
        return new Setup(app, api, app.ClientWithKey(null));
    }

    [Fact]
    public async Task DeliveriesSignedByTheRetellSdkAreMergedIntoTheStoredCall()
    {
        await using var s = await StartAsync();
        var started = await s.DeliverSignedAsync(WebhookCalls.Delivery("call_started", WebhookCalls.Started("c1")));
        Assert.Equal(HttpStatusCode.NoContent, started.StatusCode);
        Assert.Equal("ongoing", (string?)(await s.GetCallAsync("c1"))!["call_status"]);

        Assert.Equal(HttpStatusCode.NoContent, (await s.DeliverSignedAsync(WebhookCalls.Delivery("call_ended", WebhookCalls.Ended("c1")))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await s.DeliverSignedAsync(WebhookCalls.Delivery("call_analyzed", WebhookCalls.Analyzed("c1")))).StatusCode);
        var call = (await s.GetCallAsync("c1"))!;
        Assert.Equal("ended", (string?)call["call_status"]);
        Assert.Equal("Positive", (string?)call["call_analysis"]!["user_sentiment"]);
        Assert.Equal("Ada", (string?)call["retell_llm_dynamic_variables"]!["name"]);
        Assert.Equal(900.0, (double)call["latency"]!["e2e"]!["p50"]!);
        Assert.Equal("Agent: Hello\nUser: Hi, é ü 电话", (string?)call["transcript"]);

        // Listed and filterable like any other call.
        var list = await s.Api.PostAsJsonAsync("/v2/list-calls", new { filter_criteria = new { user_sentiment = new[] { "Positive" } } });
        Assert.Equal("c1", (await list.Content.ReadFromJsonAsync<JsonElement>())[0].GetProperty("call_id").GetString());
    }

    [Fact]
    public async Task TheSignatureCheckAgreesWithTheRetellSdkBothWays()
    {
        var body = WebhookCalls.Delivery("call_started", WebhookCalls.Started("c1"));
        const long stamp = 1_700_000_123_456;
        var sdk = await RetellSdkSigner.SignAsync(body, RetellKey, stamp);
        Assert.Equal(sdk, RetellSignature.Sign(Encoding.UTF8.GetBytes(body), RetellKey, stamp));
        Assert.True(RetellSignature.Verify(Encoding.UTF8.GetBytes(body), RetellKey, sdk, stamp + RetellSignature.WindowMs));
        Assert.False(RetellSignature.Verify(Encoding.UTF8.GetBytes(body), RetellKey, sdk, stamp + RetellSignature.WindowMs + 1));
        Assert.True(RetellSignature.Verify(Encoding.UTF8.GetBytes(body), RetellKey, sdk, stamp - RetellSignature.WindowMs));
        Assert.False(RetellSignature.Verify(Encoding.UTF8.GetBytes(body), RetellKey, sdk.ToUpperInvariant().Replace("V=", "v=", StringComparison.Ordinal).Replace(",D=", ",d=", StringComparison.Ordinal), stamp));
        // Like the SDK's Number(), leading zeros in the timestamp are read away.
        Assert.True(RetellSignature.Verify(Encoding.UTF8.GetBytes(body), RetellKey, sdk.Replace("v=", "v=00", StringComparison.Ordinal), stamp));
    }

    [Fact]
    public async Task ADeliverySignedWithAnotherKeyIsRefusedAndNothingIsStored()
    {
        await using var s = await StartAsync();
        var body = WebhookCalls.Delivery("call_started", WebhookCalls.Started("c1"));
        var response = await s.DeliverAsync(body, await RetellSdkSigner.SignAsync(body, "key_someone_else"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("x-retell-signature", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
        Assert.Null(await s.GetCallAsync("c1"));
    }

    [Fact]
    public async Task ADeliveryWithoutSignatureIsRefused()
    {
        await using var s = await StartAsync();
        var response = await s.DeliverAsync(WebhookCalls.Delivery("call_started", WebhookCalls.Started("c1")), null);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Null(await s.GetCallAsync("c1"));
    }

    [Fact]
    public async Task ADeliveryStampedMoreThanFiveMinutesAgoIsRefusedButFourMinutesIsAccepted()
    {
        await using var s = await StartAsync();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var stale = WebhookCalls.Delivery("call_started", WebhookCalls.Started("c1"));
        var recent = WebhookCalls.Delivery("call_started", WebhookCalls.Started("c2"));
        var signatures = await RetellSdkSigner.SignAllAsync([new(stale, RetellKey, now - 6 * 60_000), new(recent, RetellKey, now - 4 * 60_000)]);
        Assert.Equal(HttpStatusCode.Unauthorized, (await s.DeliverAsync(stale, signatures[0])).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await s.DeliverAsync(recent, signatures[1])).StatusCode);
        Assert.Null(await s.GetCallAsync("c1"));
        Assert.NotNull(await s.GetCallAsync("c2"));
    }

    [Fact]
    public async Task ATamperedBodyIsRefused()
    {
        await using var s = await StartAsync();
        var body = WebhookCalls.Delivery("call_started", WebhookCalls.Started("c1"));
        var signature = await RetellSdkSigner.SignAsync(body, RetellKey);
        var tampered = body.Replace("crm-c1", "crm-c9", StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await s.DeliverAsync(tampered, signature)).StatusCode);
        Assert.Null(await s.GetCallAsync("c1"));
    }

    [Fact]
    public async Task AWorkspaceWithoutWebhookKeyRefusesEveryDelivery()
    {
        await using var s = await StartAsync();
        await s.App.ClientForAsync("nokey");
        var body = WebhookCalls.Delivery("call_started", WebhookCalls.Started("c1"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await s.DeliverSignedAsync(body, "nokey")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await s.DeliverSignedAsync(body, "no-such-workspace")).StatusCode);
    }

    [Fact]
    public async Task OtherEventsAreAcknowledgedButNotStored()
    {
        await using var s = await StartAsync();
        foreach (var evt in new[] { "transcript_updated", "transfer_started" })
            Assert.Equal(HttpStatusCode.NoContent, (await s.DeliverSignedAsync(WebhookCalls.Delivery(evt, WebhookCalls.Started("c1")))).StatusCode);
        Assert.Null(await s.GetCallAsync("c1"));
    }

    [Fact]
    public async Task ASignedDeliveryThatIsNotACallIsABadRequest()
    {
        await using var s = await StartAsync();
        var noCall = await s.DeliverSignedAsync("""{"event":"call_ended"}""");
        Assert.Equal(HttpStatusCode.BadRequest, noCall.StatusCode);
        var badStatus = WebhookCalls.Started("c1");
        badStatus["call_status"] = "finished";
        var bad = await s.DeliverSignedAsync(WebhookCalls.Delivery("call_started", badStatus));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await s.DeliverSignedAsync("{not json")).StatusCode);
        Assert.Null(await s.GetCallAsync("c1"));
    }

    [Fact]
    public async Task AnOldDeliveryReplayedAfterNewerOnesChangesNothing()
    {
        await using var s = await StartAsync();
        var bodies = new[]
        {
            WebhookCalls.Delivery("call_started", WebhookCalls.Started("c1")),
            WebhookCalls.Delivery("call_ended", WebhookCalls.Ended("c1")),
            WebhookCalls.Delivery("call_analyzed", WebhookCalls.Analyzed("c1")),
        };
        var signatures = await RetellSdkSigner.SignAllAsync([.. bodies.Select(b => new RetellSdkSigner.Request(b, RetellKey))]);
        for (var i = 0; i < bodies.Length; i++)
            Assert.Equal(HttpStatusCode.NoContent, (await s.DeliverAsync(bodies[i], signatures[i])).StatusCode);
        var settled = (await s.GetCallAsync("c1"))!.ToJsonString();

        // The very same signed requests again, inside the window: accepted, and nothing moves back.
        for (var i = 0; i < bodies.Length - 1; i++)
        {
            Assert.Equal(HttpStatusCode.NoContent, (await s.DeliverAsync(bodies[i], signatures[i])).StatusCode);
            Assert.Equal(settled, (await s.GetCallAsync("c1"))!.ToJsonString());
        }
    }

    [Fact]
    public async Task MetadataAndOptOutSetThroughUpdateCallAreNotUndoneByLaterDeliveries()
    {
        await using var s = await StartAsync();
        await s.DeliverSignedAsync(WebhookCalls.Delivery("call_started", WebhookCalls.Started("c1")));
        var update = await s.Api.PatchAsJsonAsync("/v2/update-call/c1", new { metadata = new { crm_id = "fixed-by-hand" }, opt_out_sensitive_data_storage = true });
        Assert.Equal(HttpStatusCode.OK, update.StatusCode);

        await s.DeliverSignedAsync(WebhookCalls.Delivery("call_ended", WebhookCalls.Ended("c1")));
        await s.DeliverSignedAsync(WebhookCalls.Delivery("call_analyzed", WebhookCalls.Analyzed("c1")));
        var call = (await s.GetCallAsync("c1"))!;
        Assert.Equal("fixed-by-hand", (string?)call["metadata"]!["crm_id"]);
        Assert.True((bool)call["opt_out_sensitive_data_storage"]!);
        Assert.False(call.ContainsKey("transcript"));
        Assert.False(call.ContainsKey("recording_url"));
        Assert.Equal("ended", (string?)call["call_status"]);
        Assert.Equal("Positive", (string?)call["call_analysis"]!["user_sentiment"]);
    }

    [Fact]
    public async Task ADeliveryOptingOutErasesSensitiveDataAlreadyStored()
    {
        await using var s = await StartAsync();
        await s.DeliverSignedAsync(WebhookCalls.Delivery("call_ended", WebhookCalls.Ended("c1")));
        Assert.NotNull((await s.GetCallAsync("c1"))!["transcript"]);
        var analyzed = WebhookCalls.Analyzed("c1");
        analyzed["opt_out_sensitive_data_storage"] = true;
        await s.DeliverSignedAsync(WebhookCalls.Delivery("call_analyzed", analyzed));
        // A late call_ended with the transcript does not bring it back.
        await s.DeliverSignedAsync(WebhookCalls.Delivery("call_ended", WebhookCalls.Ended("c1")));
        var call = (await s.GetCallAsync("c1"))!;
        Assert.False(call.ContainsKey("transcript"));
        Assert.True((bool)call["opt_out_sensitive_data_storage"]!);
    }

    [Fact]
    public async Task ADeletedCallIsNotBroughtBackByALateDelivery()
    {
        await using var s = await StartAsync();
        await s.DeliverSignedAsync(WebhookCalls.Delivery("call_ended", WebhookCalls.Ended("c1")));
        Assert.Equal(HttpStatusCode.NoContent, (await s.Api.DeleteAsync("/v2/delete-call/c1")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await s.DeliverSignedAsync(WebhookCalls.Delivery("call_analyzed", WebhookCalls.Analyzed("c1")))).StatusCode);
        Assert.Null(await s.GetCallAsync("c1"));
    }

    [Fact]
    public async Task ShuffledAndDuplicatedDeliveriesForManyCallsEndInTheSameStateAsTheOrderedOnes()
    {
        await using var app = await CallVaultApp.StartAsync();
        var ordered = await app.ClientForAsync("ordered");
        var shuffled = await app.ClientForAsync("shuffled");
        await WebhookKeys.SetAsync(app.Store, "ordered", RetellKey, CancellationToken.None);
        await WebhookKeys.SetAsync(app.Store, "shuffled", RetellKey, CancellationToken.None);

        const int calls = 40;
        var lifecycle = new List<(string Workspace, string Body)>();
        for (var i = 0; i < calls; i++)
        {
            var id = $"call_{i:D3}";
            var start = 1_700_000_000_000 + i * 1000;
            lifecycle.Add(("ordered", WebhookCalls.Delivery("call_started", WebhookCalls.Started(id, start))));
            lifecycle.Add(("ordered", WebhookCalls.Delivery("call_ended", WebhookCalls.Ended(id, start))));
            lifecycle.Add(("ordered", WebhookCalls.Delivery("call_analyzed", WebhookCalls.Analyzed(id, start))));
        }
        var random = new Random(20261125);
        var mixed = lifecycle.Select(d => (Workspace: "shuffled", d.Body))
            .Concat(lifecycle.Where(_ => random.Next(3) == 0).Select(d => (Workspace: "shuffled", d.Body))) // about a third twice
            .OrderBy(_ => random.Next())
            .ToList();
        var all = lifecycle.Concat(mixed).ToList();
        var signatures = await RetellSdkSigner.SignAllAsync([.. all.Select(d => new RetellSdkSigner.Request(d.Body, RetellKey))]);

        var anonymous = app.ClientWithKey(null);
        await Parallel.ForAsync(0, all.Count, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, ct) =>
        {
            // The ordered workspace gets one call's deliveries strictly in order; calls interleave freely.
            if (all[i].Workspace == "ordered" && i % 3 != 0)
                return;
            await Deliver(i);
            if (all[i].Workspace == "ordered")
            {
                await Deliver(i + 1);
                await Deliver(i + 2);
            }
        });

        async Task Deliver(int i)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, $"/webhooks/retell/{all[i].Workspace}") { Content = new StringContent(all[i].Body, Encoding.UTF8, "application/json") };
            request.Headers.TryAddWithoutValidation("x-retell-signature", signatures[i]);
            var response = await anonymous.SendAsync(request);
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }

        var expected = await ListAllAsync(ordered);
        var actual = await ListAllAsync(shuffled);
        Assert.Equal(calls, expected.Count);
        Assert.Equal(expected, actual);
        Assert.All(expected, doc => Assert.Contains("\"call_analysis\":{", doc, StringComparison.Ordinal));
    }

    static async Task<List<string>> ListAllAsync(HttpClient client)
    {
        var response = await client.PostAsJsonAsync("/v2/list-calls", new { limit = 1000, sort_order = "ascending" });
        var array = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsArray();
        return [.. array.Select(c => c!.ToJsonString())];
    }
}

public class WebhookKeyCommandTests
{
    [Fact]
    public async Task WebhookKeySetStoresTheKeyWithoutEverPrintingIt()
    {
        await using var database = await TestDatabase.CreateAsync();
        const string key = "key_from_the_command_line_42";
        var (code, stdout, stderr) = await CliProcess.RunAsync(["webhook-key", "set", "--workspace", "acme", "--key", key, "--db", database.ConnectionString]);
        Assert.Equal(0, code);
        Assert.DoesNotContain(key, stdout + stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(key[..8], stdout + stderr, StringComparison.Ordinal);

        await using var store = await CallVault.Store.CallStores.OpenAsync(database.ConnectionString, CancellationToken.None);
        var ws = await store.FindWorkspaceAsync("acme", CancellationToken.None);
        Assert.Equal(key, await store.GetSettingAsync(ws!.Id, WebhookKeys.Setting, CancellationToken.None));
    }

    [Fact]
    public async Task WebhookKeySetWithoutAWorkspaceIsAUsageError()
    {
        await using var database = await TestDatabase.CreateAsync();
        var (code, _, stderr) = await CliProcess.RunAsync(["webhook-key", "set", "--key", "k", "--db", database.ConnectionString]);
        Assert.Equal(2, code);
        Assert.Contains("--workspace", stderr, StringComparison.Ordinal);
    }
}
