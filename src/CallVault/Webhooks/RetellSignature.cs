using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace CallVault.Webhooks;

/// <summary>
/// Retell's webhook signature, exactly as <c>Retell.sign</c>/<c>Retell.verify</c> of the official retell-sdk
/// (4.20.0, src/lib/webhook_auth.ts) make and check it: the header is <c>v=&lt;unix ms&gt;,d=&lt;hex&gt;</c>
/// where hex is the lowercase HMAC-SHA256 of (body + timestamp) keyed by the Retell API key, and a timestamp
/// more than five minutes from now either way is refused.
/// </summary>
static partial class RetellSignature
{
    public const string Header = "x-retell-signature";
    public const long WindowMs = 5 * 60 * 1000;

    // The SDK's /v=(\d+),d=(.*)/: unanchored, first match, digest up to the end of the line. [0-9] because
    // .NET's \d also matches non-ASCII digits, which JavaScript's does not.
    [GeneratedRegex("v=([0-9]+),d=(.*)", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    public static string Sign(ReadOnlySpan<byte> body, string key, long timestampMs) =>
        $"v={timestampMs.ToString(CultureInfo.InvariantCulture)},d={Digest(body, key, timestampMs)}";

    public static bool Verify(ReadOnlySpan<byte> body, string key, string? signature, long nowMs)
    {
        if (string.IsNullOrEmpty(signature))
            return false;
        var match = Pattern().Match(signature);
        if (!match.Success)
            return false;
        // The SDK reads the digits with Number(): leading zeros vanish, and the digest covers the number as
        // JavaScript prints it. Anything longer than 16 significant digits is far outside the window anyway.
        var digits = match.Groups[1].Value.TrimStart('0');
        if (digits.Length > 16)
            return false;
        var stamp = digits.Length == 0 ? 0 : long.Parse(digits, CultureInfo.InvariantCulture);
        if (Math.Abs(nowMs - stamp) > WindowMs)
            return false;
        var expected = Encoding.ASCII.GetBytes(Digest(body, key, stamp));
        var given = Encoding.UTF8.GetBytes(match.Groups[2].Value);
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }

    static string Digest(ReadOnlySpan<byte> body, string key, long timestampMs)
    {
        var stamp = Encoding.ASCII.GetBytes(timestampMs.ToString(CultureInfo.InvariantCulture));
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(key));
        hmac.AppendData(body);
        hmac.AppendData(stamp);
        return Convert.ToHexStringLower(hmac.GetHashAndReset());
    }
}
