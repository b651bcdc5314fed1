using System.Text;
using System.Text.Json;
using CallVault.Client.Models;
using Microsoft.Data.Sqlite;

namespace CallVault.Store.Sqlite;

/// <summary>
/// Builds the SQL of one list-calls page from fixed fragments: which fragments appear depends on which
/// filters are set, and every value is bound as a parameter.
/// </summary>
static class SqliteListQuery
{
    const string Select = "SELECT doc FROM calls WHERE workspace_id = $ws";
    const string AfterDescending = " AND (sort_key, call_id) < ($after_sort, $after_id)";
    const string AfterAscending = " AND (sort_key, call_id) > ($after_sort, $after_id)";
    const string OrderDescending = " ORDER BY sort_key DESC, call_id DESC LIMIT $limit";
    const string OrderAscending = " ORDER BY sort_key ASC, call_id ASC LIMIT $limit";

    public static string Build(long workspaceId, CallQuery query, SqliteParameterCollection parameters)
    {
        var sql = new StringBuilder(Select);
        parameters.AddWithValue("$ws", workspaceId);
        if (query.Filter is { } f)
        {
            AnyOf(sql, parameters, "agent_id", f.AgentId);
            AnyOf(sql, parameters, "call_status", f.CallStatus?.Select(WireEnum.ToWire).ToList());
            AnyOf(sql, parameters, "call_type", f.CallType?.Select(WireEnum.ToWire).ToList());
            AnyOf(sql, parameters, "direction", f.Direction?.Select(WireEnum.ToWire).ToList());
            AnyOf(sql, parameters, "from_number", f.FromNumber);
            AnyOf(sql, parameters, "to_number", f.ToNumber);
            AnyOf(sql, parameters, "user_sentiment", f.UserSentiment?.Select(WireEnum.ToWire).ToList());
            AnyOf(sql, parameters, "call_successful", f.CallSuccessful);
            AnyOf(sql, parameters, "in_voicemail", f.InVoicemail);
            AnyOf(sql, parameters, "disconnection_reason", f.DisconnectionReason?.Select(WireEnum.ToWire).ToList());
            Range(sql, parameters, "start_timestamp", f.StartTimestamp);
            Range(sql, parameters, "duration_ms", f.DurationMs);
            Range(sql, parameters, "e2e_p50", f.E2eLatencyP50);
        }
        if (query.After is { } after)
        {
            sql.Append(query.Ascending ? AfterAscending : AfterDescending);
            parameters.AddWithValue("$after_sort", after.SortKey);
            parameters.AddWithValue("$after_id", after.CallId);
        }
        sql.Append(query.Ascending ? OrderAscending : OrderDescending);
        parameters.AddWithValue("$limit", query.Limit);
        return sql.ToString();
    }

    // The column names below come from the fixed calls above, never from input.
    static void AnyOf<T>(StringBuilder sql, SqliteParameterCollection parameters, string column, IReadOnlyList<T>? values)
    {
        if (values is not { Count: > 0 })
            return;
        var name = "$" + column;
        if (values.Count == 1)
        {
            sql.Append(" AND ").Append(column).Append(" = ").Append(name);
            parameters.AddWithValue(name, values[0]);
        }
        else
        {
            sql.Append(" AND ").Append(column).Append(" IN (SELECT value FROM json_each(").Append(name).Append("))");
            parameters.AddWithValue(name, JsonSerializer.Serialize(values.Select(v => (object?)v).ToArray()));
        }
    }

    static void Range(StringBuilder sql, SqliteParameterCollection parameters, string column, Threshold? range)
    {
        if (range?.LowerThreshold is { } lower)
        {
            sql.Append(" AND ").Append(column).Append(" >= $").Append(column).Append("_min");
            parameters.AddWithValue("$" + column + "_min", lower);
        }
        if (range?.UpperThreshold is { } upper)
        {
            sql.Append(" AND ").Append(column).Append(" <= $").Append(column).Append("_max");
            parameters.AddWithValue("$" + column + "_max", upper);
        }
    }
}
