using System.Net;
using CallVault.Client.Models;
using CallVault.Client.Tests.Infrastructure;
using CallVault.Tests.Infrastructure;

namespace CallVault.Client.Tests;

/// <summary>Error answers become <see cref="CallVaultApiException"/> with the status, kind and the server's message.</summary>
public class ErrorMappingTests
{
    [Fact]
    public async Task ABadPageSizeIsABadRequestCarryingTheServersMessage()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.CallVaultClientForAsync("acme");

        var error = await Assert.ThrowsAsync<CallVaultApiException>(() => client.ListCallsAsync(new ListCallsRequest { Limit = 0 }));

        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.Equal(CallVaultErrorKind.BadRequest, error.Kind);
        Assert.Equal("limit must be between 1 and 1000, got 0", error.ServerMessage);
        Assert.Contains("limit must be between 1 and 1000", error.Message);
        Assert.False(error.IsTransient);
    }

    [Fact]
    public async Task AnUnknownKeyIsUnauthorized()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = new CallVaultClient(app.CreateClient(), new CallVaultClientOptions { ApiKey = "key_not_issued" });

        var error = await Assert.ThrowsAsync<CallVaultApiException>(() => client.GetCallAsync("c1"));

        Assert.Equal(CallVaultErrorKind.Unauthorized, error.Kind);
        Assert.False(string.IsNullOrEmpty(error.ServerMessage));
    }

    [Fact]
    public async Task AMissingCallIsNotFoundWithTheServersMessage()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.CallVaultClientForAsync("acme");

        var error = await Assert.ThrowsAsync<CallVaultApiException>(() => client.GetCallAsync("no_such_call"));

        Assert.Equal(CallVaultErrorKind.NotFound, error.Kind);
        Assert.Equal("call no_such_call not found", error.ServerMessage);
    }

    [Fact]
    public async Task AnInvalidImportIsABadRequestNamingEachBadRecordAndStoresNothing()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.CallVaultClientForAsync("acme");
        var bad = TestCalls.Phone("bad", "", minute: 0);

        var error = await Assert.ThrowsAsync<CallVaultApiException>(() => client.ImportCallsAsync([TestCalls.Phone("ok", "a1", 0), bad]));

        Assert.Equal(CallVaultErrorKind.BadRequest, error.Kind);
        var record = Assert.Single(error.Errors);
        Assert.Equal((1, "bad"), (record.Index, record.CallId));
        Assert.Empty(await client.ListCallsAsync());
    }

    [Fact]
    public async Task ImportingMoreCallsThanTheServerAllowsIsPayloadTooLarge()
    {
        await using var app = await CallVaultApp.StartAsync(new() { ["CallVault:MaxImportCalls"] = "2" });
        var client = await app.CallVaultClientForAsync("acme");

        var error = await Assert.ThrowsAsync<CallVaultApiException>(() => client.ImportCallsAsync(TestCalls.Series(3)));

        Assert.Equal(CallVaultErrorKind.PayloadTooLarge, error.Kind);
        Assert.Equal("3 calls in one request; at most 2 are allowed", error.ServerMessage);
    }

    [Theory]
    [InlineData(400, CallVaultErrorKind.BadRequest, false)]
    [InlineData(401, CallVaultErrorKind.Unauthorized, false)]
    [InlineData(403, CallVaultErrorKind.Forbidden, false)]
    [InlineData(404, CallVaultErrorKind.NotFound, false)]
    [InlineData(408, CallVaultErrorKind.RequestTimeout, true)]
    [InlineData(409, CallVaultErrorKind.Conflict, false)]
    [InlineData(413, CallVaultErrorKind.PayloadTooLarge, false)]
    [InlineData(422, CallVaultErrorKind.Other, false)]
    [InlineData(429, CallVaultErrorKind.TooManyRequests, true)]
    [InlineData(500, CallVaultErrorKind.ServerError, true)]
    [InlineData(503, CallVaultErrorKind.ServerError, true)]
    public async Task EachErrorStatusMapsToItsKindAndKeepsTheMessage(int status, CallVaultErrorKind kind, bool transient)
    {
        await using var fake = await FakeServer.StartAsync(FakeServer.Answer(status, """{"message":"the reason"}"""));
        var client = new CallVaultClient(new HttpClient(), new CallVaultClientOptions { ApiKey = "k", BaseAddress = fake.BaseAddress, MaxRetries = 0 });

        var error = await Assert.ThrowsAsync<CallVaultApiException>(() => client.GetCallAsync("c1"));

        Assert.Equal((HttpStatusCode)status, error.StatusCode);
        Assert.Equal(kind, error.Kind);
        Assert.Equal(transient, error.IsTransient);
        Assert.Equal("the reason", error.ServerMessage);
    }

    [Fact]
    public async Task AnErrorAnswerThatIsNotJsonStillCarriesItsStatus()
    {
        await using var fake = await FakeServer.StartAsync(FakeServer.Answer(502, "<html>Bad gateway</html>"));
        var client = new CallVaultClient(new HttpClient(), new CallVaultClientOptions { ApiKey = "k", BaseAddress = fake.BaseAddress, MaxRetries = 0 });

        var error = await Assert.ThrowsAsync<CallVaultApiException>(() => client.ListCallsAsync());

        Assert.Equal(CallVaultErrorKind.ServerError, error.Kind);
        Assert.Null(error.ServerMessage);
        Assert.Equal("HTTP 502 BadGateway", error.Message);
    }
}
