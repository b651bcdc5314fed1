using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallVault.Tests.Infrastructure;
using static CallVault.Tests.Infrastructure.CallJson;

namespace CallVault.Tests.Calls;

/// <summary>Bodies over the configured limits, and imports of too many calls, are a 413 and change nothing.</summary>
public class BodyLimitTests
{
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
    public async Task TenThousandAndOneCallsAreTooManyForOneImport()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        var body = new StringBuilder("[");
        for (var i = 0; i < 10_001; i++)
            body.Append(i == 0 ? "" : ",").Append($$"""{"call_id":"c{{i}}","agent_id":"a","call_type":"web_call","call_status":"ended"}""");
        body.Append(']');
        var error = await Api.AssertErrorAsync(await client.PostJsonAsync("/v2/import-calls", body.ToString()), HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("10000", error.GetProperty("message").GetString()!.Replace(",", ""));
        Assert.Empty(await client.ListIdsAsync());
    }

    [Fact]
    public async Task TheCallCountLimitIsConfigurableAndExact()
    {
        await using var app = await CallVaultApp.StartAsync(new() { ["CallVault:MaxImportCalls"] = "3" });
        var client = await app.ClientForAsync();
        await client.ImportAsync(Web("a"), Web("b"), Web("c"));
        var four = new JsonArray(Web("d"), Web("e"), Web("f"), Web("g"));
        await Api.AssertErrorAsync(await client.PostJsonAsync("/v2/import-calls", four), HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(3, await client.CountAllAsync());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AnImportBodyOverTheConfiguredLimitIsTooLargeAndStoresNothing(bool withLength)
    {
        await using var app = await CallVaultApp.StartAsync(new() { ["CallVault:MaxImportBytes"] = "2048" });
        var client = await app.ClientForAsync();
        var fits = $"[{Web("fits").With("metadata", new JsonObject { ["pad"] = new string('x', 1500) }).ToJsonString()}]";
        var over = $"[{Web("over").With("metadata", new JsonObject { ["pad"] = new string('x', 2100) }).ToJsonString()}]";
        Assert.True(Encoding.UTF8.GetByteCount(fits) <= 2048);
        await Api.OkJsonAsync(await client.SendAsync(BodyRequest.Post("/v2/import-calls", fits, withLength)));
        await Api.AssertErrorAsync(await client.SendAsync(BodyRequest.Post("/v2/import-calls", over, withLength)), HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(["fits"], await client.ListIdsAsync());
    }
}
