using System.Net;
using System.Net.Http.Headers;
using CallVault.Store;
using CallVault.Tests.Infrastructure;
using static CallVault.Tests.Infrastructure.CallJson;

namespace CallVault.Tests.Calls;

/// <summary>Every route but /healthz needs a live API key of the workspace.</summary>
public class AuthenticationTests
{
    static readonly (HttpMethod Method, string Path, string? Body)[] Routes =
    [
        (HttpMethod.Post, "/v2/list-calls", "{}"),
        (HttpMethod.Get, "/v2/get-call/c1", null),
        (HttpMethod.Patch, "/v2/update-call/c1", """{"opt_out_sensitive_data_storage":true}"""),
        (HttpMethod.Delete, "/v2/delete-call/c1", null),
        (HttpMethod.Post, "/v2/register-phone-call", """{"agent_id":"a"}"""),
        (HttpMethod.Post, "/v2/import-calls", """[{"call_id":"c2","agent_id":"a","call_type":"web_call","call_status":"ended"}]"""),
    ];

    static async Task AssertEveryRouteIsUnauthorizedAsync(CallVaultApp app, Action<HttpRequestHeaders> authorize)
    {
        var client = app.CreateClient();
        foreach (var (method, path, body) in Routes)
        {
            var request = new HttpRequestMessage(method, path);
            if (body is not null)
                request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
            authorize(request.Headers);
            var error = await Api.AssertErrorAsync(await client.SendAsync(request), HttpStatusCode.Unauthorized);
            Assert.DoesNotContain("cv_", error.GetProperty("message").GetString());
        }
    }

    static async Task<(CallVaultApp App, HttpClient Client)> StartWithACallAsync()
    {
        var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync(Phone("c1", start: Base).With("transcript", "kept"));
        return (app, client);
    }

    static async Task AssertNothingChangedAsync(HttpClient client)
    {
        Assert.Equal(["c1"], await client.ListIdsAsync());
        Assert.Equal("kept", (await client.GetCallAsync("c1")).GetProperty("transcript").GetString());
    }

    [Fact]
    public async Task AMissingKeyIsUnauthorizedOnEveryRoute()
    {
        var (app, client) = await StartWithACallAsync();
        await using var _ = app;
        await AssertEveryRouteIsUnauthorizedAsync(app, _ => { });
        await AssertNothingChangedAsync(client);
    }

    [Theory]
    [InlineData("Bearer")]
    [InlineData("Bearer ")]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Token cv_000000000000000000000000000000000000000000000000")]
    [InlineData("Bearer cv_short")]
    [InlineData("Bearer sk_000000000000000000000000000000000000000000000000")]
    [InlineData("Bearer cv_00000000000000000000000000000000000000000000000G")]
    [InlineData("Bearer cv_0000000000000000000000000000000000000000000000000")]
    [InlineData("Bearer ' OR 1=1 --")]
    public async Task AMalformedAuthorizationIsUnauthorized(string header)
    {
        var (app, client) = await StartWithACallAsync();
        await using var _ = app;
        await AssertEveryRouteIsUnauthorizedAsync(app, h => h.TryAddWithoutValidation("Authorization", header));
        await AssertNothingChangedAsync(client);
    }

    [Fact]
    public async Task AWellFormedKeyThatWasNeverIssuedIsUnauthorized()
    {
        var (app, client) = await StartWithACallAsync();
        await using var _ = app;
        var unknown = ApiKeys.Generate().Key;
        await AssertEveryRouteIsUnauthorizedAsync(app, h => h.Authorization = new AuthenticationHeaderValue("Bearer", unknown));
        await AssertNothingChangedAsync(client);
    }

    [Fact]
    public async Task AKeyWithAKnownPrefixButAnotherSecretIsUnauthorized()
    {
        var (app, client) = await StartWithACallAsync();
        await using var _ = app;
        var real = client.DefaultRequestHeaders.Authorization!.Parameter!;
        var forged = real[..ApiKeys.PrefixLength] + new string(real[ApiKeys.PrefixLength..].Select(c => c == '0' ? '1' : '0').ToArray());
        await AssertEveryRouteIsUnauthorizedAsync(app, h => h.Authorization = new AuthenticationHeaderValue("Bearer", forged));
        await AssertNothingChangedAsync(client);
    }

    [Fact]
    public async Task ARevokedKeyIsUnauthorizedAndOtherKeysKeepWorking()
    {
        var (app, client) = await StartWithACallAsync();
        await using var _ = app;
        var other = await app.ClientForAsync();
        var key = client.DefaultRequestHeaders.Authorization!.Parameter!;
        Assert.True(await app.Store.RevokeApiKeyAsync(key[..ApiKeys.PrefixLength], CancellationToken.None));
        // A server remembers a valid key for ApiKeyCache.Lifetime (documented): revocation takes effect after it.
        await Task.Delay(CallVault.Auth.ApiKeyCache.Lifetime + TimeSpan.FromMilliseconds(200));
        await AssertEveryRouteIsUnauthorizedAsync(app, h => h.Authorization = new AuthenticationHeaderValue("Bearer", key));
        await AssertNothingChangedAsync(other);
    }

    [Fact]
    public async Task TheBearerSchemeIsCaseInsensitiveAsHttpSays()
    {
        var (app, client) = await StartWithACallAsync();
        await using var _ = app;
        var key = client.DefaultRequestHeaders.Authorization!.Parameter!;
        var lower = app.CreateClient();
        lower.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "bearer " + key);
        Assert.Equal(["c1"], await lower.ListIdsAsync());
    }

    [Fact]
    public async Task HealthzNeedsNoKey()
    {
        await using var app = await CallVaultApp.StartAsync();
        var response = await app.CreateClient().GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
