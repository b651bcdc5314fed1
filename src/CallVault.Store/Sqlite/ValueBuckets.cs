namespace CallVault.Store.Sqlite;

/// <summary>
/// Coarse classes of a duration or a latency, which lead the indexes of those ranges (migration 5) so that calls
/// written in time order append to the end of each class instead of landing on random pages of the index.
/// </summary>
/// <remarks>
/// A class is the top bits of the number's IEEE 754 form taken in numeric order: the sign, the exponent and the
/// first six bits of the fraction, so 64 classes per doubling, each at most 1.6% of its values wide. The map never
/// decreases (a &lt;= b implies Of(a) &lt;= Of(b)), so every value inside [lower, upper] has its class inside
/// [Of(lower), Of(upper)]: a range query seeks on the classes and checks the exact bounds on the index entries.
/// It is exact arithmetic on bits, so the class stored with a call and the class of a query bound never
/// disagree through rounding.
/// </remarks>
static class ValueBuckets
{
    /// <summary>The name under which the writer's connection knows <see cref="Of(double)"/> (for migration 5).</summary>
    public const string SqlFunction = "callvault_value_bucket";

    const int DroppedBits = 52 - 6;

    public static long Of(double value)
    {
        if (double.IsNaN(value))
            throw new ArgumentOutOfRangeException(nameof(value), "a bucket needs a number");
        if (value == 0)
            value = 0; // -0.0 and 0.0 compare equal, so they share a class
        var bits = BitConverter.DoubleToInt64Bits(value);
        // Negative numbers have the sign bit set and grow in magnitude as their bits grow: flipping every bit but
        // the sign makes the integers order as the numbers do. The arithmetic shift keeps that order.
        var ordered = bits >= 0 ? bits : bits ^ long.MaxValue;
        return ordered >> DroppedBits;
    }

    public static long? Of(double? value) => value is { } v ? Of(v) : null;
}
