using System.Numerics;
using System.Text.Json;

namespace CallVault.Tests.Infrastructure;

/// <summary>
/// Exact comparison of JSON numbers by value, at any precision: 1.50 equals 1.5 and 1e3 equals 1000, but
/// 123456789012345678901234567890 does not equal 123456789012345678901234567900. A store may write a number
/// differently; it must never change its value.
/// </summary>
public static class JsonNumbers
{
    /// <summary>The number as (digits, exponent) with no trailing zeros in the digits: value = digits * 10^exponent.</summary>
    public static (BigInteger Digits, int Exponent) Canonical(string text)
    {
        var exponent = 0;
        var e = text.IndexOfAny(['e', 'E']);
        if (e >= 0)
        {
            exponent = int.Parse(text[(e + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            text = text[..e];
        }
        var dot = text.IndexOf('.');
        if (dot >= 0)
        {
            exponent -= text.Length - dot - 1;
            text = text.Remove(dot, 1);
        }
        var digits = BigInteger.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        if (digits.IsZero)
            return (BigInteger.Zero, 0);
        while (digits % 10 == 0)
        {
            digits /= 10;
            exponent++;
        }
        return (digits, exponent);
    }

    public static bool SameValue(string expected, string actual) => Canonical(expected) == Canonical(actual);

    public static void AssertSameValue(string expected, JsonElement actual, string path = "")
    {
        Assert.True(actual.ValueKind == JsonValueKind.Number, $"{path}: expected the number {expected}, got {actual.ValueKind}");
        Assert.True(SameValue(expected, actual.GetRawText()), $"{path}: {expected} became {actual.GetRawText()}");
    }
}
