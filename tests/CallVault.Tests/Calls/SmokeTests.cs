using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CallVault.Tests.Infrastructure;

namespace CallVault.Tests.Calls;

public class SmokeTests
{
    [Fact]
    public async Task HealthzAnswersWithoutAKey()
    {
        await using var app = await CallVaultApp.StartAsync();
        var response = await app.ClientWithKey(null).GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task ImportedCallIsListedBack()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        var call = new { call_id = "c1", agent_id = "a1", call_type = "web_call", call_status = "ended", start_timestamp = 1000 };
        var import = await client.PostAsJsonAsync("/v2/import-calls", new[] { call });
        Assert.Equal(HttpStatusCode.OK, import.StatusCode);
        var list = await client.PostAsJsonAsync("/v2/list-calls", new { });
        var calls = await list.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("c1", calls[0].GetProperty("call_id").GetString());
    }
}
