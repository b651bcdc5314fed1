using CallVault.Auth;
using CallVault.Bench;
using CallVault.Calls;
using CallVault.Http;
using CallVault.Store;
using CallVault.Webhooks;
using Microsoft.Extensions.Options;

namespace CallVault.Hosting;

static class CallVaultHosting
{
    /// <summary>Registers the options, the store, authentication and error handling of the API.</summary>
    public static IHostApplicationBuilder AddCallVault(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<CallVaultOptions>()
            .BindConfiguration(CallVaultOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<ICallStore>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<CallVaultOptions>>().Value;
            return CallStores.Open(options.Database, documentCacheBytes: (long)options.DocumentCacheMb << 20);
        });
        builder.Services.AddHostedService<StoreMigrator>();
        builder.Services.AddApiKeyAuthentication();
        builder.Services.AddProblemDetails();
        builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(kestrel =>
            kestrel.Limits.MaxRequestBodySize = null); // enforced per route by RequestBody, with a JSON 413
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Routing", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Http.Result", LogLevel.Warning);
        builder.Logging.AddFilter("CallVault.Auth", LogLevel.Warning);
        return builder;
    }

    /// <summary>Maps every route of the API.</summary>
    public static WebApplication MapCallVault(this WebApplication app)
    {
        app.UseExceptionHandler(errors => errors.Run(ApiErrors.WriteUnhandledAsync));
        app.UseStatusCodePages(ApiErrors.WriteStatusCodeAsync);
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGet("/healthz", () => TypedResults.Ok(new HealthStatus("ok"))).AllowAnonymous();
        app.MapCalls();
        app.MapRetellWebhooks();
        if (app.Services.GetRequiredService<IOptions<CallVaultOptions>>().Value.BenchmarkEndpoints)
            app.MapBenchmark();
        return app;
    }
}

sealed record HealthStatus(string Status);

/// <summary>Creates or migrates the schema before the server takes requests.</summary>
sealed class StoreMigrator(ICallStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => store.MigrateAsync(cancellationToken);
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
