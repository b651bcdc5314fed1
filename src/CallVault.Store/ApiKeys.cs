using System.Security.Cryptography;
using System.Text;

namespace CallVault.Store;

/// <summary>
/// API keys: <c>cv_</c> followed by 48 hex digits (192 random bits). Only a SHA-256 hash is stored, looked up
/// by the key's first 12 characters (its prefix, which is safe to show) and compared in constant time.
/// </summary>
public static class ApiKeys
{
    const string Scheme = "cv_";
    const int SecretHexLength = 48;
    public const int PrefixLength = 12;

    public sealed record NewKey(string Key, string Prefix, byte[] Hash);

    public static NewKey Generate()
    {
        var key = Scheme + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(SecretHexLength / 2));
        return new NewKey(key, key[..PrefixLength], Hash(key));
    }

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <summary>The prefix of a well-formed key; false for anything else.</summary>
    public static bool TryGetPrefix(string key, out string prefix)
    {
        prefix = "";
        if (key.Length != Scheme.Length + SecretHexLength || !key.StartsWith(Scheme, StringComparison.Ordinal))
            return false;
        foreach (var c in key.AsSpan(Scheme.Length))
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
                return false;
        prefix = key[..PrefixLength];
        return true;
    }

    /// <summary>Whether <paramref name="key"/> is the key stored as <paramref name="record"/> and still live.</summary>
    public static bool Matches(string key, ApiKeyRecord record) =>
        CryptographicOperations.FixedTimeEquals(Hash(key), record.Hash) && !record.Revoked;

    /// <summary>Creates a key for a workspace (creating the workspace if needed) and returns the whole key.</summary>
    public static async Task<string> CreateAsync(ICallStore store, string workspace, CancellationToken ct)
    {
        var ws = await store.GetOrCreateWorkspaceAsync(workspace, ct);
        var key = Generate();
        await store.AddApiKeyAsync(ws.Id, key.Prefix, key.Hash, ct);
        return key.Key;
    }
}
