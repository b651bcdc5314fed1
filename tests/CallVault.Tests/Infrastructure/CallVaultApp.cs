using System.Net.Http.Headers;
using CallVault.Store;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CallVault.Tests.Infrastructure;

/// <summary>
/// The real server in-process on a database of its own. Each test builds its own app:
/// <c>await using var app = await CallVaultApp.StartAsync();</c>
/// </summary>
public sealed class CallVaultApp : WebApplicationFactory<Program>
{
    readonly TestDatabase _database;
    readonly Dictionary<string, string?> _settings;

    CallVaultApp(TestDatabase database, Dictionary<string, string?> settings)
    {
        _database = database;
        _settings = settings;
    }

    public string Database => _database.ConnectionString;

    public static async Task<CallVaultApp> StartAsync(Dictionary<string, string?>? settings = null)
    {
        var database = await TestDatabase.CreateAsync();
        var app = new CallVaultApp(database, settings ?? []);
        _ = app.Server; // builds the host and runs the migrations
        return app;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("CallVault:Database", _database.ConnectionString);
        foreach (var (key, value) in _settings)
            builder.UseSetting(key, value);
    }

    public ICallStore Store => Services.GetRequiredService<ICallStore>();

    /// <summary>Creates a workspace (if needed) and a key for it, and returns a client that sends that key.</summary>
    public async Task<HttpClient> ClientForAsync(string workspace = "acme")
    {
        var key = await ApiKeys.CreateAsync(Store, workspace, CancellationToken.None);
        return ClientWithKey(key);
    }

    public HttpClient ClientWithKey(string? key)
    {
        var client = CreateClient();
        if (key is not null)
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await _database.DisposeAsync();
    }
}
