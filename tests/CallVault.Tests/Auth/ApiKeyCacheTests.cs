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
        // The key entered the cache while that request was authenticated, before its answer came back, so no cache
        // entry for it can outlive cachedBy + Lifetime. (Taken before the request, on a busy machine the first
        // request's own time counts against the cache: in one CI-like run, a request sent 2.08 s after it got a 200.)
        var cachedBy = Stopwatch.GetTimestamp();

        Assert.True(await app.Store.RevokeApiKeyAsync(key[..ApiKeys.PrefixLength], CancellationToken.None));
        // Judge each request by when it was sent, not by when it was answered: on a busy machine an answer can
        // take longer than the cache lifetime, which says nothing about the cache.
        var mustBeRefusedFrom = ApiKeyCache.Lifetime + TimeSpan.FromMilliseconds(50);
        HttpStatusCode status;
        do
        {
            var sentAt = Stopwatch.GetElapsedTime(cachedBy);
            status = (await client.PostAsJsonAsync("/v2/list-calls", new { })).StatusCode;
            if (status == HttpStatusCode.OK)
            {
                Assert.True(sentAt < mustBeRefusedFrom, $"a request sent {sentAt} after the key was cached still worked");
                await Task.Delay(100);
            }
        }
        while (status == HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
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
