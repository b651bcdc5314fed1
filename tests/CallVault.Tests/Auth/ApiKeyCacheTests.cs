using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using CallVault.Auth;
using CallVault.Store;
using CallVault.Tests.Infrastructure;

namespace CallVault.Tests.Auth;

public class ApiKeyCacheTests
{
    [Fact]
    public async Task ARevokedKeyStopsWorkingWithinTheCacheLifetime()
    {
        await using var app = await CallVaultApp.StartAsync();
        var key = await ApiKeys.CreateAsync(app.Store, "acme", CancellationToken.None);
        var client = app.ClientWithKey(key);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/v2/list-calls", new { })).StatusCode);

        Assert.True(await app.Store.RevokeApiKeyAsync(key[..ApiKeys.PrefixLength], CancellationToken.None));
        var clock = Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            status = (await client.PostAsJsonAsync("/v2/list-calls", new { })).StatusCode;
            if (status == HttpStatusCode.OK)
                await Task.Delay(100);
        }
        while (status == HttpStatusCode.OK && clock.Elapsed < ApiKeyCache.Lifetime + TimeSpan.FromSeconds(3));
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.True(clock.Elapsed <= ApiKeyCache.Lifetime + TimeSpan.FromSeconds(1), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task AWrongKeyWithTheSamePrefixAsACachedKeyIsRefused()
    {
        await using var app = await CallVaultApp.StartAsync();
        var key = await ApiKeys.CreateAsync(app.Store, "acme", CancellationToken.None);
        Assert.Equal(HttpStatusCode.OK, (await app.ClientWithKey(key).PostAsJsonAsync("/v2/list-calls", new { })).StatusCode);
        var forged = key[..^1] + (key[^1] == '0' ? '1' : '0');
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.ClientWithKey(forged).PostAsJsonAsync("/v2/list-calls", new { })).StatusCode);
    }
}
