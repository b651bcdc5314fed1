namespace CallVault.Store.Sqlite;

/// <summary>
/// Coarse classes of a duration or a latency, which lead the indexes of those ranges (migration 5) so that calls
/// written in time order append to the end of each class instead of landing on random pages of the index.
/// </summary>
/// <remarks>
/// <para>
/// A class is 64 × the binary exponent of the value plus the first six bits of its fraction: 64 classes per
/// doubling, each at most 1.6% of its values wide; every value of zero or less is in one class below all others,
/// and every value from 1e308 up (infinity too) in one above them.
/// The class never decreases with the value, so every value inside [lower, upper] has its class inside
/// [class(lower), class(upper)]: a range seeks on the classes of its bounds and checks the exact bounds on the
/// index entries.
/// </para>
/// <para>
/// It is an SQL expression (SQLite's built-in math functions), not a function of the store's: the indexes are
/// on the expression itself, so the table holds no extra column, building them reads each row once, and any
/// SQLite client with the math functions (3.35 or later, as usually built) can still write the table. A query
/// uses an index on an expression only where it writes the same expression, so <see cref="Of"/> is the one place
/// it is spelled; changing it needs a migration that rebuilds both indexes. Only the exponent can be off by one
/// in floating point (log2 just below a power of two), and the fraction term then moves the value back into the
/// same class, so the expression is exact.
/// </para>
/// </remarks>
static class ValueBuckets
{
    /// <summary>The class of <paramref name="value"/>, a column or a parameter, as SQL.</summary>
    public static string Of(string value) =>
        $"(CASE WHEN {value} >= 1e308 THEN 100000 WHEN {value} > 0 THEN 64 * floor(log2({value})) + floor(64 * ({value} / pow(2, floor(log2({value}))) - 1)) ELSE -100000 END)";
}
