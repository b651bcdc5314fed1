using System.Collections.Concurrent;

namespace CallVault.Auth;

/// <summary>
/// Remembers for <see cref="Lifetime"/> which workspace a valid API key belongs to, so that a busy client does
/// not cost a database lookup per request. Entries are keyed by the SHA-256 of the key (never the key itself),
/// only successful lookups are cached, and a revoked key stops working within <see cref="Lifetime"/>.
/// </summary>
sealed class ApiKeyCache
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(2);
    const int MaxEntries = 10_000;

    readonly ConcurrentDictionary<string, (long Workspace, long ExpiresAt)> _entries = new(StringComparer.Ordinal);

    public bool TryGet(byte[] keyHash, out long workspace)
    {
        if (_entries.TryGetValue(Convert.ToBase64String(keyHash), out var entry) && entry.ExpiresAt > Environment.TickCount64)
        {
            workspace = entry.Workspace;
            return true;
        }
        workspace = 0;
        return false;
    }

    public void Add(byte[] keyHash, long workspace)
    {
        if (_entries.Count >= MaxEntries)
            _entries.Clear(); // many distinct keys: start over rather than grow without bound
        _entries[Convert.ToBase64String(keyHash)] = (workspace, Environment.TickCount64 + (long)Lifetime.TotalMilliseconds);
    }
}
