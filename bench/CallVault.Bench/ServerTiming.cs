using System.Globalization;
using System.Text.RegularExpressions;

namespace CallVault.Bench;

/// <summary>
/// One list-calls answer's Server-Timing header (the server runs with <c>CallVault:ServerTiming</c>): the store's
/// milliseconds, and where the page's documents came from: <c>database</c>, <c>cache</c> or <c>cache+database</c>.
/// </summary>
sealed partial record ServerTiming(double StoreMs, string Source)
{
    [GeneratedRegex("""store;dur=(?<ms>[0-9.]+), documents;desc="(?<source>[a-z+]+)"$""")]
    private static partial Regex Header();

    /// <summary>The header's values; null when there is none (the fixed answer) or it is not the server's.</summary>
    public static ServerTiming? Parse(string? header) =>
        header is not null && Header().Match(header) is { Success: true } m
            ? new ServerTiming(double.Parse(m.Groups["ms"].Value, CultureInfo.InvariantCulture), m.Groups["source"].Value)
            : null;

    /// <summary>Sums up a shape's timed requests: how many pages came from where, and how long those read with their documents took.</summary>
    public static SourceSummary Summarize(IReadOnlyList<double> timings, IReadOnlyList<ServerTiming?> served)
    {
        if (served.Any(s => s is null))
            return new SourceSummary(0, 0, 0, [], double.NaN, double.NaN);
        var readIndexes = Enumerable.Range(0, timings.Count).Where(i => served[i]!.Source == "database").ToList();
        var store = served.Select(s => s!.StoreMs).Order().ToList();
        var readStore = readIndexes.Select(i => served[i]!.StoreMs).Order().ToList();
        return new SourceSummary(
            served.Count,
            readIndexes.Count,
            served.Count(s => s!.Source == "cache+database"),
            [.. readIndexes.Select(i => timings[i]).Order()],
            store[store.Count / 2],
            readStore.Count == 0 ? double.NaN : readStore[readStore.Count / 2]);
    }
}

/// <summary>Where a shape's pages came from; all zero when the server sent no Server-Timing.</summary>
/// <param name="Requests">Timed requests with the header.</param>
/// <param name="Read">Pages read from the database with their documents (every page on SQLite).</param>
/// <param name="Partly">Pages from the document cache but for a few documents read by id (PostgreSQL).</param>
/// <param name="ReadTimings">The round trips of the pages read with their documents, in order.</param>
/// <param name="StoreMedianMs">The store's median time per request, as the server measured it.</param>
/// <param name="ReadStoreMedianMs">The same, over the pages read with their documents.</param>
sealed record SourceSummary(int Requests, int Read, int Partly, IReadOnlyList<double> ReadTimings, double StoreMedianMs, double ReadStoreMedianMs)
{
    public int FromCache => Requests - Read - Partly;

    /// <summary>For the table: pages read with their documents out of the timed ones.</summary>
    public string ReadColumn => Requests == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{Read} of {Requests}");

    public string StoreColumn => Requests == 0 ? "-" : StoreMedianMs.ToString("F2", CultureInfo.InvariantCulture);

    public override string ToString()
    {
        if (Requests == 0)
            return "no Server-Timing";
        var inv = CultureInfo.InvariantCulture;
        var read = Read == 0
            ? "none read with their documents"
            : string.Create(inv, $"{Read} read with their documents (median {ReadTimings[ReadTimings.Count / 2]:F2} ms, store {ReadStoreMedianMs:F2} ms, slowest {ReadTimings[^1]:F2} ms)");
        return string.Create(inv, $"store median {StoreMedianMs:F2} ms; pages: {read}, {FromCache} from the cache, {Partly} partly");
    }
}
