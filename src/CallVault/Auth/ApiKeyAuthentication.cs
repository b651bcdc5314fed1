using System.Security.Claims;
using System.Text.Encodings.Web;
using CallVault.Http;
using CallVault.Store;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace CallVault.Auth;

static class ApiKeyAuthentication
{
    public const string Scheme = "ApiKey";
    const string WorkspaceClaim = "callvault:workspace";

    public static IServiceCollection AddApiKeyAuthentication(this IServiceCollection services)
    {
        services.AddSingleton<ApiKeyCache>();
        services.AddAuthentication(Scheme).AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(Scheme, null);
        services.AddAuthorizationBuilder().SetFallbackPolicy(
            new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder(Scheme).RequireAuthenticatedUser().Build());
        return services;
    }

    /// <summary>The workspace of the key that authenticated this request.</summary>
    public static long WorkspaceId(this ClaimsPrincipal user) =>
        long.Parse(user.FindFirstValue(WorkspaceClaim) ?? throw new InvalidOperationException("request is not authenticated"),
            System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Accepts <c>Authorization: Bearer &lt;key&gt;</c> when the key's hash matches a live key (looked up in the
    /// store, or found in the short-lived <see cref="ApiKeyCache"/>). Every failure answers 401 with a message;
    /// the key itself is never logged.
    /// </summary>
    sealed class ApiKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ICallStore store, ApiKeyCache cache)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            string? header = Request.Headers.Authorization;
            if (string.IsNullOrEmpty(header))
                return AuthenticateResult.Fail("missing Authorization header: send 'Authorization: Bearer <API key>'");
            if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
                return AuthenticateResult.Fail("malformed Authorization header: expected 'Bearer <API key>'");
            var key = header["Bearer ".Length..].Trim();
            if (!ApiKeys.TryGetPrefix(key, out var prefix))
                return AuthenticateResult.Fail("malformed API key");
            var hash = ApiKeys.Hash(key);
            if (!cache.TryGet(hash, out var workspace))
            {
                var record = await store.FindApiKeyAsync(prefix, Context.RequestAborted);
                if (record is null || !ApiKeys.Matches(key, record))
                    return AuthenticateResult.Fail("unknown or revoked API key");
                workspace = record.WorkspaceId;
                cache.Add(hash, workspace);
            }
            var identity = new ClaimsIdentity([new Claim(WorkspaceClaim, workspace.ToString(System.Globalization.CultureInfo.InvariantCulture))], ApiKeyAuthentication.Scheme);
            return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), ApiKeyAuthentication.Scheme));
        }

        protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
        {
            var result = await HandleAuthenticateOnceSafeAsync();
            var message = result.Failure?.Message ?? "authentication required";
            Response.Headers.WWWAuthenticate = "Bearer";
            await ApiErrors.WriteAsync(Context, StatusCodes.Status401Unauthorized, message);
        }

        protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
            ApiErrors.WriteAsync(Context, StatusCodes.Status403Forbidden, "forbidden");
    }
}
