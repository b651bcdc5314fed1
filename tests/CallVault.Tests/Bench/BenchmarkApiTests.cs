using System.Net;
using System.Net.Http.Json;
using CallVault.Tests.Infrastructure;

namespace CallVault.Tests.Bench;

public class BenchmarkApiTests
{
    [Fact]
    public async Task TheFixedAnswerEndpointDoesNotExistByDefault()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsJsonAsync("/bench/fixed-answer", new { })).StatusCode);
    }

    [Fact]
    public async Task WithBenchmarkEndpointsOnTheFixedAnswerIsServedAsUploadedToKeyHoldersOnly()
    {
        await using var app = await CallVaultApp.StartAsync(new() { ["CallVault:BenchmarkEndpoints"] = "true" });
        var client = await app.ClientForAsync();
        var answer = "[{\"call_id\":\"x\"}]"u8.ToArray();
        Assert.Equal(HttpStatusCode.NoContent, (await client.PutAsync("/bench/fixed-answer", new ByteArrayContent(answer))).StatusCode);
        var response = await client.PostAsJsonAsync("/bench/fixed-answer", new { limit = 50 });
        Assert.Equal(answer, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.ClientWithKey(null).PostAsJsonAsync("/bench/fixed-answer", new { })).StatusCode);
    }

    [Fact]
    public async Task ABodyOverTheLimitIsA413WithAMessageAsOnListCalls()
    {
        await using var app = await CallVaultApp.StartAsync(new() { ["CallVault:BenchmarkEndpoints"] = "true", ["CallVault:MaxBodyBytes"] = "2000" });
        var client = await app.ClientForAsync();
        var body = new ByteArrayContent(new byte[5000]);

        var response = await client.PostAsync("/bench/fixed-answer", body);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("request body is larger than the limit of 2000 bytes", (await response.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>())!["message"]!.GetValue<string>());
    }
}
