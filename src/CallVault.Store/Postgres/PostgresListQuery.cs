using System.Text;
using CallVault.Client.Models;
using Npgsql;
using NpgsqlTypes;

namespace CallVault.Store.Postgres;

/// <summary>
/// Builds the SQL of one list-calls page from fixed fragments: which fragments appear depends on which
/// filters are set, and every value is bound as a parameter (lists as arrays, <c>= ANY(@p)</c>).
/// </summary>
/// <remarks>
/// One value per list filter is an equality, so an index (workspace_id, column, sort_key, call_id) returns
/// the rows already in list order and the scan stops after the page. A list of a few values cannot be read
/// in order from such an index with <c>= ANY</c>: PostgreSQL would read every matching row and sort. So the
/// most selective list of a few values drives the query instead: for each of its values, the index gives
/// the first <c>limit</c> rows in order (a LATERAL subquery), and the small union is merged. That reads at
/// most (values x limit) index entries, whatever the size of the table. The subqueries select (sort_key, call_id,
/// version) from the index alone, and only the documents of the merged page are read afterwards, by primary
/// key (or, for the document cache, only the ids and versions are returned): selecting them in the
/// subqueries decompressed (values x limit) documents to serve limit of them (two agents with two flags,
/// 1,000,000 calls, page of 1000: median 54 ms that way, 30 ms this way).
/// </remarks>
static class PostgresListQuery
{
    /// <summary>Lists with more values than this are matched with = ANY, and the planner chooses.</summary>
    const int MaxDrivingValues = 16;

    const string Select = " FROM calls WHERE workspace_id = @ws";
    const string DrivenSelect = " FROM (SELECT c.sort_key, c.call_id, c.version FROM unnest(@driver) AS v(value) CROSS JOIN LATERAL (SELECT sort_key, call_id, version FROM calls WHERE workspace_id = @ws";
    const string AfterDescending = " AND (sort_key, call_id) < (@after_sort, @after_id)";
    const string AfterAscending = " AND (sort_key, call_id) > (@after_sort, @after_id)";

    /// <summary>
    /// The position (sort key) of the call @after_id in workspace @ws, or null: a live call's position wins over an
    /// older tombstone of the same id. Looked up on its own (PostgresCallStore.FindPositionAsync) or in the list
    /// query itself (<see cref="TryBuild(long, CallQuery, NpgsqlParameterCollection, Columns, string?, out string)"/>).
    /// </summary>
    internal const string KeyPosition = "(SELECT coalesce((SELECT sort_key FROM calls WHERE workspace_id = @ws AND call_id = @after_id), (SELECT sort_key FROM deleted_calls WHERE workspace_id = @ws AND call_id = @after_id)))";
    const string AfterKeyDescending = " AND (sort_key, call_id) < (" + KeyPosition + ", @after_id)";
    const string AfterKeyAscending = " AND (sort_key, call_id) > (" + KeyPosition + ", @after_id)";
    const string OrderDescending = " ORDER BY sort_key DESC, call_id DESC LIMIT @limit";
    const string OrderAscending = " ORDER BY sort_key ASC, call_id ASC LIMIT @limit";
    const string DrivenEnd = ") c";
    const string DrivenLimitDescending = " ORDER BY c.sort_key DESC, c.call_id DESC LIMIT @limit) p";
    const string DrivenLimitAscending = " ORDER BY c.sort_key ASC, c.call_id ASC LIMIT @limit) p";
    /// <summary>
    /// The document of a row of the merged page, by primary key. A subquery in the select list, not a join: the
    /// same 50 lookups, but PostgreSQL ran a page of two agents in 0.33 ms this way against 0.64 ms with the join
    /// (bench/RESULTS.md, session 17). The row is there: it was just read in the same statement's snapshot.
    /// </summary>
    const string DrivenDocument = "(SELECT d.packed_doc FROM calls d WHERE d.workspace_id = @ws AND d.call_id = p.call_id)";
    const string DrivenOrderDescending = " ORDER BY p.sort_key DESC, p.call_id DESC";
    const string DrivenOrderAscending = " ORDER BY p.sort_key ASC, p.call_id ASC";

    /// <summary>A list filter reduced to the values that can match, with its column and array type.</summary>
    sealed record ListFilter(string Column, object[] Values, NpgsqlDbType ElementType);

    /// <summary>What the rows of a page hold.</summary>
    public enum Columns
    {
        /// <summary>The document alone.</summary>
        Documents,

        /// <summary>The call id and the version of its document (for <see cref="PostgresDocumentCache"/>).</summary>
        Versions,

        /// <summary>The call id, the version of its document and the document.</summary>
        VersionedDocuments,
    }

    /// <summary>
    /// Whether the query's plan cannot depend on the values bound to it: no list filter and no latency or
    /// duration range, only the workspace, a start time range, the cursor, the order and the limit. The order's
    /// index serves all of those as index conditions and returns the rows in the page's order, and any other plan
    /// would read and sort every matching row. So such a query may be planned once without its values (a generic
    /// plan) as long as sorting is ruled out (PostgresCallStore.FixedPlanSettings). A list or a range of another
    /// column is different: which index drives the query, and whether it pays to sort, depends on how many calls
    /// the value matches (docs/scaling.md).
    /// </summary>
    public static bool HasFixedPlan(CallQuery query) =>
        query.Filter is not { } f
        || (None(f.FromNumber) && None(f.ToNumber) && None(f.AgentId) && None(f.DisconnectionReason)
            && None(f.UserSentiment) && None(f.CallStatus) && None(f.CallType) && None(f.Direction)
            && None(f.CallSuccessful) && None(f.InVoicemail)
            && Unbounded(f.DurationMs) && Unbounded(f.E2eLatencyP50));

    /// <summary>
    /// The least fraction of the table's rows the flag filters of a query must keep together for its plan to be
    /// kept (<see cref="HasKeptPlan"/>): the agent index then reads at most 20 entries per call it returns.
    /// </summary>
    public const double MinKeptPlanFrequency = 0.05;

    /// <summary>
    /// Whether a query planned with its values would get the plan it gets without them, so that it may be planned
    /// once per connection like a fixed-plan query: a list of 2 to <see cref="MaxDrivingValues"/> agents, which
    /// drives it (a LATERAL walk of <c>calls_by_agent_filtered</c> for each agent), with no other filter than lists
    /// of the flags that index carries (call_successful, in_voicemail, direction, call_status, user_sentiment), and
    /// those flags' values common in the table (<paramref name="frequency"/>, from PostgreSQL's statistics): at least
    /// <see cref="MinKeptPlanFrequency"/> of the rows together.
    /// </summary>
    /// <remarks>
    /// The planner never sees the agents of such a query, custom plan or not: they are the LATERAL's parameter. What
    /// it sees are the flags' values, and its only other plans are for rare ones (a bitmap of the flag's own index,
    /// or that index walked in order and the agent checked in the table), which it chooses from the same table-wide
    /// statistics read here. With common values the plan is the agent index, the flags checked in it, whatever the
    /// values; planning it at every request cost PostgreSQL 0.2-0.4 ms, about a third of such a page served from the
    /// document cache (bench/RESULTS.md, sessions 15 and 18). A rare value, or one the statistics do not list (a
    /// table not analyzed yet), keeps the query planned with its values. A start time, duration or latency range
    /// does too: the agent index does not carry those columns, and how wide the range is decides the plan.
    /// </remarks>
    /// <param name="frequency">The fraction of the table's rows whose column holds one of the values (<see cref="PostgresValueFrequencies.Of"/>).</param>
    public static bool HasKeptPlan(CallQuery query, Func<string, IEnumerable<string>, double> frequency)
    {
        if (query.Filter is not { } f
            || !None(f.FromNumber) || !None(f.ToNumber) || !None(f.DisconnectionReason) || !None(f.CallType)
            || !Unbounded(f.StartTimestamp) || !Unbounded(f.DurationMs) || !Unbounded(f.E2eLatencyP50))
            return false;
        var agents = f.AgentId?.Where(PostgresCallStore.IsStorable).Distinct(StringComparer.Ordinal).Count() ?? 0;
        if (agents is < 2 or > MaxDrivingValues)
            return false;
        var kept = 1.0;
        foreach (var (column, values) in Flags(f))
            kept *= frequency(column, values);
        return kept >= MinKeptPlanFrequency;
    }

    /// <summary>The filter's flag lists that are set, their values written as PostgreSQL writes them.</summary>
    static IEnumerable<(string Column, IEnumerable<string> Values)> Flags(CallFilter f)
    {
        if (!None(f.CallSuccessful))
            yield return ("call_successful", f.CallSuccessful!.Select(Boolean));
        if (!None(f.InVoicemail))
            yield return ("in_voicemail", f.InVoicemail!.Select(Boolean));
        if (!None(f.Direction))
            yield return ("direction", f.Direction!.Select(WireEnum.ToWire));
        if (!None(f.CallStatus))
            yield return ("call_status", f.CallStatus!.Select(WireEnum.ToWire));
        if (!None(f.UserSentiment))
            yield return ("user_sentiment", f.UserSentiment!.Select(WireEnum.ToWire));

        static string Boolean(bool value) => value ? "t" : "f";
    }

    static bool None<T>(IReadOnlyList<T>? values) => values is not { Count: > 0 };

    static bool Unbounded(Threshold? range) => range?.LowerThreshold is null && range?.UpperThreshold is null;

    /// <summary>
    /// Sets the command's SQL and parameters; false when no call can match (a list of values none of which
    /// can be stored, such as text holding a NUL character), in which case there is nothing to run.
    /// </summary>
    public static bool TryBuild(long workspaceId, CallQuery query, NpgsqlCommand command, Columns columns = Columns.Documents, string? afterKey = null)
    {
        if (!TryBuild(workspaceId, query, command.Parameters, columns, afterKey, out var sql))
            return false;
        command.CommandText = sql;
        return true;
    }

    /// <summary>
    /// Adds the parameters and gives the SQL; false when no call can match (see the overload above). For a command
    /// of a batch (PostgresCallStore.ListBatch). With <paramref name="afterKey"/> (and no <c>query.After</c>), the
    /// page starts after that call, whose position the query looks up itself: one round trip instead of two for a
    /// page of a walk. A key that names no call matches no call. Only for queries with a fixed plan
    /// (<see cref="HasFixedPlan"/>), which are planned without the cursor's value anyway; a query planned with its
    /// values is given the position found beforehand, so that its plan is made for it.
    /// </summary>
    public static bool TryBuild(long workspaceId, CallQuery query, NpgsqlParameterCollection parameters, Columns columns, string? afterKey, out string text)
    {
        if (afterKey is not null && (query.After is not null || !HasFixedPlan(query)))
            throw new ArgumentException("a pagination key is looked up in the query only for a query with a fixed plan and no position", nameof(afterKey));
        text = "";
        var lists = new List<ListFilter>();
        var conditions = new StringBuilder();
        if (query.Filter is { } f)
        {
            // Most selective first: the first list of a few values drives the query.
            if (!AddList(lists, "from_number", f.FromNumber)
                || !AddList(lists, "to_number", f.ToNumber)
                || !AddList(lists, "agent_id", f.AgentId)
                || !AddList(lists, "disconnection_reason", f.DisconnectionReason?.Select(WireEnum.ToWire).ToList())
                || !AddList(lists, "user_sentiment", f.UserSentiment?.Select(WireEnum.ToWire).ToList())
                || !AddList(lists, "call_status", f.CallStatus?.Select(WireEnum.ToWire).ToList())
                || !AddList(lists, "call_type", f.CallType?.Select(WireEnum.ToWire).ToList())
                || !AddList(lists, "direction", f.Direction?.Select(WireEnum.ToWire).ToList())
                || !AddList(lists, "call_successful", f.CallSuccessful)
                || !AddList(lists, "in_voicemail", f.InVoicemail))
                return false;
            // The order's own index serves a start time range: a call that has a start time sorts by it.
            if (!IntegerRange(conditions, parameters, "start_timestamp", f.StartTimestamp, alsoOn: "sort_key")
                || !IntegerRange(conditions, parameters, "duration_ms", f.DurationMs, alsoOn: null))
                return false;
            DoubleRange(conditions, parameters, "e2e_p50", f.E2eLatencyP50);
        }

        var driver = lists.FirstOrDefault(l => l.Values.Length is > 1 and <= MaxDrivingValues);
        var sql = new StringBuilder((driver, columns) switch
        {
            (null, Columns.Documents) => "SELECT packed_doc",
            (null, Columns.Versions) => "SELECT call_id, version",
            (null, _) => "SELECT call_id, version, packed_doc",
            (_, Columns.Documents) => "SELECT " + DrivenDocument,
            (_, Columns.Versions) => "SELECT p.call_id, p.version",
            _ => "SELECT p.call_id, p.version, " + DrivenDocument,
        });
        sql.Append(driver is null ? Select : DrivenSelect);
        parameters.Add(new NpgsqlParameter<long>("ws", workspaceId));
        foreach (var list in lists)
        {
            if (list == driver)
            {
                sql.Append(" AND ").Append(list.Column).Append(" = v.value");
                parameters.Add(new NpgsqlParameter("driver", NpgsqlDbType.Array | list.ElementType) { Value = list.Values });
            }
            else if (list.Values.Length == 1)
            {
                sql.Append(" AND ").Append(list.Column).Append(" = @").Append(list.Column);
                parameters.Add(new NpgsqlParameter(list.Column, list.ElementType) { Value = list.Values[0] });
            }
            else
            {
                sql.Append(" AND ").Append(list.Column).Append(" = ANY(@").Append(list.Column).Append(')');
                parameters.Add(new NpgsqlParameter(list.Column, NpgsqlDbType.Array | list.ElementType) { Value = list.Values });
            }
        }
        sql.Append(conditions);
        if (query.After is { } after)
        {
            sql.Append(query.Ascending ? AfterAscending : AfterDescending);
            parameters.Add(new NpgsqlParameter<long>("after_sort", after.SortKey));
            parameters.Add(new NpgsqlParameter<string>("after_id", after.CallId));
        }
        else if (afterKey is not null)
        {
            sql.Append(query.Ascending ? AfterKeyAscending : AfterKeyDescending);
            parameters.Add(new NpgsqlParameter<string>("after_id", afterKey));
        }
        sql.Append(query.Ascending ? OrderAscending : OrderDescending);
        if (driver is not null)
        {
            sql.Append(DrivenEnd).Append(query.Ascending ? DrivenLimitAscending : DrivenLimitDescending);
            sql.Append(query.Ascending ? DrivenOrderAscending : DrivenOrderDescending);
        }
        parameters.Add(new NpgsqlParameter<int>("limit", query.Limit));
        text = sql.ToString();
        return true;
    }

    /// <summary>False when the list is not empty but none of its values can match.</summary>
    static bool AddList<T>(List<ListFilter> lists, string column, IReadOnlyList<T>? values)
    {
        if (values is not { Count: > 0 })
            return true;
        // Text holding NUL cannot be stored in PostgreSQL, so it matches no call.
        var usable = values.Where(v => v is not string s || PostgresCallStore.IsStorable(s)).Distinct().Select(v => (object)v!).ToArray();
        if (usable.Length == 0)
            return false;
        lists.Add(new ListFilter(column, usable, typeof(T) == typeof(bool) ? NpgsqlDbType.Boolean : NpgsqlDbType.Text));
        return true;
    }

    // Integer columns compared with an integer bound, so that their indexes serve: x >= 1.5 is x >= 2.
    // False when the range excludes every integer. The column names come from the fixed calls above.
    static bool IntegerRange(StringBuilder sql, NpgsqlParameterCollection parameters, string column, Threshold? range, string? alsoOn)
    {
        const double TwoToThe63 = 9223372036854775808.0;
        if (range?.LowerThreshold is { } lower)
        {
            var bound = Math.Ceiling(lower);
            if (bound >= TwoToThe63)
                return false;
            AddBound(sql, parameters, column, alsoOn, " >= ", "_min", bound < -TwoToThe63 ? long.MinValue : (long)bound);
        }
        if (range?.UpperThreshold is { } upper)
        {
            var bound = Math.Floor(upper);
            if (bound < -TwoToThe63)
                return false;
            AddBound(sql, parameters, column, alsoOn, " <= ", "_max", bound >= TwoToThe63 ? long.MaxValue : (long)bound);
        }
        return true;
    }

    static void AddBound(StringBuilder sql, NpgsqlParameterCollection parameters, string column, string? alsoOn, string op, string suffix, long value)
    {
        var name = column + suffix;
        sql.Append(" AND ").Append(column).Append(op).Append('@').Append(name);
        if (alsoOn is not null)
            sql.Append(" AND ").Append(alsoOn).Append(op).Append('@').Append(name);
        parameters.Add(new NpgsqlParameter<long>(name, value));
    }

    static void DoubleRange(StringBuilder sql, NpgsqlParameterCollection parameters, string column, Threshold? range)
    {
        if (range?.LowerThreshold is { } lower)
        {
            sql.Append(" AND ").Append(column).Append(" >= @").Append(column).Append("_min");
            parameters.Add(new NpgsqlParameter<double>(column + "_min", lower));
        }
        if (range?.UpperThreshold is { } upper)
        {
            sql.Append(" AND ").Append(column).Append(" <= @").Append(column).Append("_max");
            parameters.Add(new NpgsqlParameter<double>(column + "_max", upper));
        }
    }
}
