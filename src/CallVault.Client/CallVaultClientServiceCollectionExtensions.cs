using CallVault.Client;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="CallVaultClient"/> with dependency injection.</summary>
public static class CallVaultClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="CallVaultClient"/> as a typed client of <c>IHttpClientFactory</c>, configured by
    /// <paramref name="configure"/>. Add handlers or configure the primary handler on the returned builder.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the key, server and retry settings.</param>
    /// <returns>The builder of the underlying named <see cref="HttpClient"/>.</returns>
    public static IHttpClientBuilder AddCallVaultClient(this IServiceCollection services, Action<CallVaultClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<CallVaultClientOptions>().Configure(configure);
        return services
            .AddHttpClient(nameof(CallVaultClient))
            // The client's per-attempt timeout governs; the factory's 100 s default would cut across retries.
            .ConfigureHttpClient(http => http.Timeout = Timeout.InfiniteTimeSpan)
            .AddTypedClient((http, provider) => new CallVaultClient(http, provider.GetRequiredService<IOptions<CallVaultClientOptions>>().Value));
    }
}
