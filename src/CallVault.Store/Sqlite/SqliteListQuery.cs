using System.Text;
using System.Text.Json;
using CallVault.Client.Models;
using Microsoft.Data.Sqlite;

namespace CallVault.Store.Sqlite;

/// <summary>
/// Builds the SQL of one list-calls page from fixed fragments: which fragments appear depends on which
/// filters are set, and every value is bound as a parameter.
/// </summary>
/// <remarks>
/// The plan is chosen here rather than left to SQLite's planner, which has no statistics on a fresh store and
/// would otherwise pick, say, the index of <c>call_successful</c> over the one of <c>agent_id</c>:
/// <list type="bullet">
/// <item>One list filter drives the query: the one whose values are likely rarest (phone numbers, then agents,
/// then rare enum values...). Its index is led by (workspace, value) and ends with the list order, so a page
/// reads about as many index entries as the filters let through. Every other filter is written with a unary
/// <c>+</c>, which keeps SQLite from using its index.</item>
/// <item>A driving filter with several values becomes one ordered sub-query per value, each limited to the
/// page size, merged by UNION ALL: reading stays proportional to the page, not to the calls of all values.</item>
/// <item>A <c>start_timestamp</c> range is also a <c>sort_key</c> range (sort_key is the start time of every call
/// that has one), which every index can seek on.</item>
/// <item>A duration or latency range without a driving filter first counts, up to a cap, how many calls its
/// own index holds in the range: few, and the page is taken from those and sorted; many, and the calls are
/// walked in list order with the range as a filter. Both branches are in the SQL; the count disables one. That
/// index is led by value classes (<see cref="ValueBuckets"/>): the seek is on the classes of the bounds, and the
/// exact bounds are checked on its entries; the count reads the classes wholly inside the range first. When the
/// range is the only filter, the few calls are first cut to those up to the page's last start time, read from
/// the index alone, so that only about a page of them is looked up in the table.</item>
/// <item>Only (rowid, sort key, call id) are ordered, and the documents of the page are read afterwards: a
/// sort, even of the few calls that share a start time, would otherwise copy every document of the page.</item>
/// </list>
/// </remarks>
static class SqliteListQuery
{
    /// <summary>Most values of the driving filter that become sub-queries of their own.</summary>
    const int MaxBranches = 16;

    /// <summary>Beyond this many values a list is bound as one JSON array parameter.</summary>
    const int MaxInlineValues = 64;

    const string Workspace = "workspace_id = $ws";
    const string AfterDescending = "(sort_key, call_id) < ($after_sort, $after_id)";
    const string AfterAscending = "(sort_key, call_id) > ($after_sort, $after_id)";
    const string OrderDescending = " ORDER BY sort_key DESC, call_id DESC LIMIT $limit";
    const string OrderAscending = " ORDER BY sort_key ASC, call_id ASC LIMIT $limit";
    const string MergeDescending = " ORDER BY s DESC, i DESC LIMIT $limit";
    const string MergeAscending = " ORDER BY s ASC, i ASC LIMIT $limit";

    /// <summary>
    /// The name of a function that diagnostics can register on a connection to count the rows a query visits;
    /// see <see cref="Build(long, CallQuery, SqliteParameterCollection, bool)"/>.
    /// </summary>
    public const string RowsReadFunction = "callvault_rows_read";

    public static string Build(long workspaceId, CallQuery query, SqliteParameterCollection parameters) =>
        Build(workspaceId, query, parameters, countRowsRead: false);

    /// <param name="countRowsRead">
    /// When true, every row the query visits (index entries in a scan, matches of a range) first passes through
    /// <see cref="RowsReadFunction"/>(rowid), which the caller registers to count them. Diagnostics only.
    /// </param>
    public static string Build(long workspaceId, CallQuery query, SqliteParameterCollection parameters, bool countRowsRead)
    {
        parameters.AddWithValue("$ws", workspaceId);
        parameters.AddWithValue("$limit", query.Limit);
        var lists = new List<ListFilter>();
        var filters = new List<string>();
        Range? probe = null;
        var rangeAlone = false; // the probed range is the only filter
        if (query.Filter is { } f)
        {
            AddList(lists, parameters, "agent_id", Rank.Agent, f.AgentId);
            AddList(lists, parameters, "call_status", f.CallStatus is { } cs && cs.All(s => s == CallStatus.Ended) ? Rank.Common : Rank.RareEnum, Wire(f.CallStatus));
            AddList(lists, parameters, "call_type", Rank.Unindexed, Wire(f.CallType));
            AddList(lists, parameters, "direction", Rank.Unindexed, Wire(f.Direction));
            AddList(lists, parameters, "from_number", Rank.Number, f.FromNumber);
            AddList(lists, parameters, "to_number", Rank.Number, f.ToNumber);
            AddList(lists, parameters, "user_sentiment", Rank.Enum, Wire(f.UserSentiment));
            AddList(lists, parameters, "call_successful", Rank.Unindexed, f.CallSuccessful);
            AddList(lists, parameters, "in_voicemail", Rank.Unindexed, f.InVoicemail);
            AddList(lists, parameters, "disconnection_reason",
                f.DisconnectionReason is { } dr && dr.All(r => r is DisconnectionReason.UserHangup or DisconnectionReason.AgentHangup) ? Rank.Common : Rank.RareEnum,
                Wire(f.DisconnectionReason));
            if (AddRange(parameters, "start_timestamp", f.StartTimestamp) is { } start)
            {
                filters.Add(start.Condition(indexed: false));
                // The same bounds on sort_key, which equals start_timestamp wherever that is set: an index range.
                filters.Add(start.Condition(indexed: true, column: "sort_key"));
            }
            var duration = AddRange(parameters, "duration_ms", f.DurationMs);
            var latency = AddRange(parameters, "e2e_p50", f.E2eLatencyP50);
            if (duration is not null)
                filters.Add(duration.Condition(indexed: false));
            if (latency is not null)
                filters.Add(latency.Condition(indexed: false));
            if (f.StartTimestamp is null)
                probe = latency ?? duration;
            rangeAlone = probe is not null && (duration is null || latency is null);
        }
        if (query.After is { } after)
        {
            filters.Add(query.Ascending ? AfterAscending : AfterDescending);
            parameters.AddWithValue("$after_sort", after.SortKey);
            parameters.AddWithValue("$after_id", after.CallId);
        }

        var driver = lists.OrderBy(l => l.Rank).FirstOrDefault(l => l.Rank != Rank.Unindexed && (l.Values.Count <= MaxBranches || l.Rank == Rank.Number));
        var others = lists.Where(l => l != driver).Select(l => l.Condition(indexed: false)).ToList();
        var order = query.Ascending ? OrderAscending : OrderDescending;
        var counter = countRowsRead ? RowsReadFunction + "(calls.rowid) AND " : "";

        if (driver is null && probe is null)
            return Page(Branch("calls", counter, [.. others, .. filters], order));
        if (driver is { Values.Count: 1 })
            return Page(Branch("calls", counter, [driver.Condition(indexed: true), .. others, .. filters], order));

        var branches = new List<string>();
        var with = "";
        if (driver is null)
        {
            // Few calls in the range: take them from the range's index and sort. Many: walk the list order. The
            // count, taken once, sets the LIMIT of the branch it rules out to 0, and SQLite skips a query whose
            // limit is 0 before it starts scanning (a WHERE term would be tested on every row).
            var cap = 2_000 + 2 * query.Limit;
            // The count reads the classes inside the range first, where every entry counts, and the bounds' own
            // classes (where entries outside the range are skipped) only when those hold fewer than the cap.
            var seek = probe!.Seek();
            var index = $"calls INDEXED BY {probe.Index} WHERE {counter}{Workspace} AND ";
            with = $"WITH probe (n) AS MATERIALIZED (SELECT count(*) FROM (SELECT 1 FROM {index}{seek.Interior} UNION ALL SELECT 1 FROM {index}{seek.Edges} LIMIT {cap})) ";
            // Both bounds in one class: that class's entries, in list order, are read until a page of them is in
            // the range, with neither the count nor a sort. CASE evaluates the count only when it is needed.
            var oneClass = seek.OneClass is { } same ? $"WHEN {same.Test} THEN 0 " : "";
            var fewOnly = $"(CASE {oneClass}WHEN (SELECT n FROM probe) < {cap} THEN $limit ELSE 0 END)";
            var few = order.Replace("$limit", fewOnly, StringComparison.Ordinal);
            var many = order.Replace("$limit", $"(CASE {oneClass}WHEN (SELECT n FROM probe) >= {cap} THEN $limit ELSE 0 END)", StringComparison.Ordinal);
            List<string> fewConditions = [seek.Whole, .. others, .. filters];
            if (rangeAlone && others.Count == 0)
                fewConditions.Add(PageEdge(index + seek.Whole, query.After is not null, query.Ascending, fewOnly));
            if (seek.OneClass is { } single)
            {
                var inClass = order.Replace("$limit", $"(CASE WHEN {single.Test} THEN $limit ELSE 0 END)", StringComparison.Ordinal);
                branches.Add(Branch($"calls INDEXED BY {probe.Index}", counter, [single.Calls, .. others, .. filters], inClass));
            }
            branches.Add(Branch($"calls INDEXED BY {probe.Index}", counter, fewConditions, few));
            branches.Add(Branch("calls", counter, [.. others, .. filters], many));
        }
        else if (driver.Values.Count <= MaxBranches)
        {
            foreach (var value in driver.Values)
                branches.Add(Branch("calls", counter, [$"{driver.Column} = {value}", .. others, .. filters], order));
        }
        else
        {
            // Many phone numbers: each has few calls, so look them all up and sort.
            branches.Add(Branch("calls", counter, [driver.Condition(indexed: true), .. others, .. filters], order));
        }
        return with + Merge(branches, query.Ascending);
    }

    /// <summary>
    /// When a range is the only filter and holds few calls, the start time that the page cannot go past: the
    /// <c>$limit</c>-th start time among the range's calls beyond the cursor's start time, read from the range's
    /// index alone (it holds sort_key). Every call of the range that far is a match, so at least a page of them
    /// lies between that edge and the cursor, and ties with the cursor's own start time only add to them; the
    /// page is among the calls up to the edge. The branch then looks up only those in the table, for their call
    /// ids, instead of every call of the range (issue 3: a duration range of 1,700 calls took 11-12 ms for a page
    /// of 50). The edge's own LIMIT follows the probe, so a range of many calls never sorts them here.
    /// </summary>
    /// <param name="rangeSeek">The range's index and seek: "calls INDEXED BY ... WHERE ... AND seek".</param>
    static string PageEdge(string rangeSeek, bool hasCursor, bool ascending, string fewOnly)
    {
        var beyondCursor = hasCursor ? (ascending ? " AND sort_key > $after_sort" : " AND sort_key < $after_sort") : "";
        var (direction, compare, open) = ascending ? ("ASC", "<=", "9223372036854775807") : ("DESC", ">=", "-9223372036854775808");
        var limit = fewOnly.Replace("$limit", "1", StringComparison.Ordinal);
        return $"sort_key {compare} coalesce((SELECT sort_key FROM {rangeSeek}{beyondCursor} ORDER BY sort_key {direction} LIMIT {limit} OFFSET $limit - 1), {open})";
    }

    /// <summary>
    /// Reads the documents of one ordered branch's page. Selecting the documents in the branch itself would
    /// copy each of them through the sorter that orders ties by call id (the indexes end with sort_key alone):
    /// 5 kB per call, about a fifth of the cost of a page.
    /// </summary>
    static string Page(string branch) => $"SELECT c.doc FROM ({branch}) AS page CROSS JOIN calls AS c ON c.rowid = page.r";

    static string Branch(string table, string counter, IEnumerable<string> conditions, string order) =>
        $"SELECT * FROM (SELECT calls.rowid AS r, sort_key AS s, call_id AS i FROM {table} WHERE {counter}{Workspace}{string.Concat(conditions.Select(c => " AND " + c))}{order})";

    /// <summary>
    /// Merges ordered branches, keeps one page of (rowid, sort key, id), then reads the documents of that page.
    /// The page is the outer loop of the join (CROSS JOIN fixes the order of loops in SQLite), so the documents
    /// come out in the page's order without being copied into a sorter; the tests check that order.
    /// </summary>
    static string Merge(List<string> branches, bool ascending)
    {
        var sql = new StringBuilder("SELECT c.doc FROM (");
        sql.AppendJoin(" UNION ALL ", branches);
        sql.Append(ascending ? MergeAscending : MergeDescending);
        sql.Append(") AS page CROSS JOIN calls AS c ON c.rowid = page.r");
        return sql.ToString();
    }

    /// <summary>How rare a filter's values usually are; the lowest rank drives the query.</summary>
    enum Rank
    {
        Number,
        Agent,
        RareEnum,
        Enum,
        Common,
        /// <summary>No index (see migration 3): never drives, always a filter on the rows read.</summary>
        Unindexed,
    }

    sealed record ListFilter(string Column, Rank Rank, IReadOnlyList<string> Values, string? JsonParameter)
    {
        /// <summary>The filter as SQL; not indexed means a unary + that keeps SQLite off the column's index.</summary>
        public string Condition(bool indexed)
        {
            var column = indexed ? Column : "+" + Column;
            if (JsonParameter is { } json)
                return $"{column} IN (SELECT value FROM json_each({json}))";
            return Values.Count == 1 ? $"{column} = {Values[0]}" : $"{column} IN ({string.Join(", ", Values)})";
        }
    }

    sealed record Range(string Column, string? Lower, string? Upper)
    {
        public string Index => Column == "duration_ms" ? "calls_by_duration" : "calls_by_e2e_p50";

        /// <summary>The bounds as SQL, on this column or another; not indexed means with a unary +.</summary>
        public string Condition(bool indexed, string? column = null)
        {
            var name = (indexed ? "" : "+") + (column ?? Column);
            return (Lower, Upper) switch
            {
                ({ } lower, { } upper) => $"{name} >= {lower} AND {name} <= {upper}",
                ({ } lower, null) => $"{name} >= {lower}",
                (null, { } upper) => $"{name} <= {upper}",
                _ => throw new InvalidOperationException("a range has at least one bound"),
            };
        }

        /// <summary>
        /// The range as seeks in <see cref="Index"/>, on the value classes of the bounds. Every call in a class
        /// strictly between the bounds' classes is in the range (the classes never decrease with the value); in
        /// the bounds' own classes the exact bounds, which the index entry holds, decide.
        /// </summary>
        public BucketSeek Seek()
        {
            var column = ValueBuckets.Of(Column);
            var (min, max) = (Lower is { } l ? ValueBuckets.Of(l) : null, Upper is { } u ? ValueBuckets.Of(u) : null);
            var exact = Condition(indexed: true);
            // The index is partial: a query may use it only where its WHERE says the value is set.
            var set = $"{Column} IS NOT NULL";
            return (min, max) switch
            {
                ({ } lo, { } hi) => new($"{column} >= {lo} AND {column} <= {hi} AND {exact}", $"{column} > {lo} AND {column} < {hi} AND {set}", $"{column} IN ({lo}, {hi}) AND {exact}")
                {
                    OneClass = new($"{lo} = {hi}", $"{column} = {lo} AND {exact}"),
                },
                ({ } lo, null) => new($"{column} >= {lo} AND {exact}", $"{column} > {lo} AND {set}", $"{column} = {lo} AND {exact}"),
                (null, { } hi) => new($"{column} <= {hi} AND {exact}", $"{column} < {hi} AND {set}", $"{column} = {hi} AND {exact}"),
                _ => throw new InvalidOperationException("a range has at least one bound"),
            };
        }
    }

    /// <param name="Whole">Every call in the range.</param>
    /// <param name="Interior">The calls of the classes strictly between the bounds' classes: all in the range.</param>
    /// <param name="Edges">The calls of the range in the bounds' own classes.</param>
    sealed record BucketSeek(string Whole, string Interior, string Edges)
    {
        /// <summary>With both bounds: whether they are in one class, and the range's calls seeked as that class.</summary>
        public (string Test, string Calls)? OneClass { get; init; }
    }

    static IReadOnlyList<string>? Wire<T>(IReadOnlyList<T>? values) where T : struct, Enum =>
        values?.Select(v => WireEnum.ToWire(v)).ToList();

    // The column names below come from the fixed calls above, never from input.
    static void AddList<T>(List<ListFilter> lists, SqliteParameterCollection parameters, string column, Rank rank, IReadOnlyList<T>? values)
    {
        if (values is not { Count: > 0 })
            return;
        if (values.Count > MaxInlineValues)
        {
            var json = "$" + column;
            parameters.AddWithValue(json, JsonSerializer.Serialize(values.Select(v => (object?)v).ToArray()));
            lists.Add(new ListFilter(column, rank, [.. values.Select((_, i) => i.ToString(System.Globalization.CultureInfo.InvariantCulture))], json));
            return;
        }
        var names = new List<string>(values.Count);
        foreach (var value in values.Distinct())
        {
            var name = $"${column}_{names.Count}";
            parameters.AddWithValue(name, value);
            names.Add(name);
        }
        lists.Add(new ListFilter(column, rank, names, null));
    }

    static Range? AddRange(SqliteParameterCollection parameters, string column, Threshold? range)
    {
        string? min = null, max = null;
        if (range?.LowerThreshold is { } lower)
        {
            min = $"${column}_min";
            parameters.AddWithValue(min, lower);
        }
        if (range?.UpperThreshold is { } upper)
        {
            max = $"${column}_max";
            parameters.AddWithValue(max, upper);
        }
        return min is null && max is null ? null : new Range(column, min, max);
    }
}
