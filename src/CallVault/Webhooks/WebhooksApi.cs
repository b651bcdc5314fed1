using System.Text.Json;
using CallVault.Http;
using CallVault.Store;

namespace CallVault.Webhooks;

/// <summary>
/// Receives Retell's webhook deliveries. Retell signs each delivery instead of sending an API key, so the route
/// is anonymous for the Bearer scheme and checks the signature against the workspace's Retell key.
/// </summary>
static class WebhooksApi
{
    /// <summary>A delivery carries one call, transcript and word timings included; more is refused unread.</summary>
    public const long MaxBodyBytes = 16L << 20;

    public static IEndpointRouteBuilder MapRetellWebhooks(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/webhooks/retell/{workspace}", ReceiveRetell)
            .AllowAnonymous()
            .AddEndpointFilter<ApiExceptionFilter>()
            .WithName("ReceiveRetellWebhook")
            .WithSummary("Merges a signed Retell webhook delivery (call_started, call_ended, call_analyzed) into the stored call.");
        return routes;
    }

    static async Task<IResult> ReceiveRetell(string workspace, HttpRequest request, ICallStore store, CancellationToken ct)
    {
        // Same answer whether the workspace is unknown or has no key, so that names cannot be probed.
        var ws = await store.FindWorkspaceAsync(workspace, ct);
        var key = ws is null ? null : await store.GetSettingAsync(ws.Id, WebhookKeys.Setting, ct);
        if (ws is null || key is null)
            return ApiErrors.Result(StatusCodes.Status401Unauthorized, $"workspace '{workspace}' accepts no webhooks: set its Retell key with `webhook-key set`");

        var body = await RequestBody.ReadAsync(request, MaxBodyBytes, ct);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        if (!RetellSignature.Verify(body, key, request.Headers[RetellSignature.Header], now))
            return ApiErrors.Result(StatusCodes.Status401Unauthorized, $"missing, wrong or expired {RetellSignature.Header} header");

        using (var document = RequestBody.ParseDocument(body))
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("event", out var name) || name.ValueKind != JsonValueKind.String)
                return ApiErrors.BadRequest("a webhook delivery is a JSON object with a string 'event'");
            if (CallMerge.ParseEvent(name.GetString()) is not { } evt)
                return TypedResults.NoContent(); // transcript_updated, transfer_*...: nothing to keep
            if (!root.TryGetProperty("call", out var callElement) || callElement.ValueKind != JsonValueKind.Object)
                return ApiErrors.BadRequest($"a {name.GetString()} delivery needs a 'call' object");
            var call = CallDocuments.Prepare(callElement);

            // A call the user deleted stays deleted: a late or retried delivery must not bring its data back.
            // Position first, then document: a call that another delivery inserts between the two reads is then
            // seen as live, never as deleted (a call loses its document only by being deleted).
            if (await store.FindPositionAsync(ws.Id, call.CallId, ct) is not null && await store.GetCallAsync(ws.Id, call.CallId, ct) is null)
                return TypedResults.NoContent();
            await store.MergeCallAsync(ws.Id, call.CallId, current => CallMerge.Merge(current, call, evt), ct);
            return TypedResults.NoContent();
        }
    }
}
