using CallVault.Store;

namespace CallVault.Webhooks;

/// <summary>Where a workspace's Retell API key (the webhook signing secret) is kept.</summary>
static class WebhookKeys
{
    /// <summary>The workspace setting holding the key. Never printed or logged.</summary>
    public const string Setting = "retell_webhook_key";

    public static async Task SetAsync(ICallStore store, string workspace, string key, CancellationToken ct)
    {
        var ws = await store.GetOrCreateWorkspaceAsync(workspace, ct);
        await store.SetSettingAsync(ws.Id, Setting, key, ct);
    }
}
