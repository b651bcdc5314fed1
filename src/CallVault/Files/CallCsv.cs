using System.Globalization;
using System.Text;
using System.Text.Json;

namespace CallVault.Files;

/// <summary>
/// One CSV row per call for spreadsheets: RFC 4180 (CRLF line ends; a field holding a comma, quote, CR or LF
/// quoted, quotes doubled), UTF-8 with a byte order mark so that spreadsheet programs read it as UTF-8.
/// Scalar fields and the analysis fields are columns; objects (metadata, custom analysis data) are JSON
/// text in one column, and so is nothing else: the transcript is its plain text.
/// </summary>
static class CallCsv
{
    /// <summary>Column name and where its value is in the call object.</summary>
    static readonly (string Column, string[] Path)[] Columns =
    [
        ("call_id", ["call_id"]),
        ("call_type", ["call_type"]),
        ("agent_id", ["agent_id"]),
        ("call_status", ["call_status"]),
        ("direction", ["direction"]),
        ("from_number", ["from_number"]),
        ("to_number", ["to_number"]),
        ("start_time_utc", []), // start_timestamp as ISO 8601, for people
        ("start_timestamp", ["start_timestamp"]),
        ("end_timestamp", ["end_timestamp"]),
        ("duration_ms", []),
        ("disconnection_reason", ["disconnection_reason"]),
        ("opt_out_sensitive_data_storage", ["opt_out_sensitive_data_storage"]),
        ("e2e_latency_p50", ["latency", "e2e", "p50"]),
        ("combined_cost", ["call_cost", "combined_cost"]),
        ("call_summary", ["call_analysis", "call_summary"]),
        ("user_sentiment", ["call_analysis", "user_sentiment"]),
        ("call_successful", ["call_analysis", "call_successful"]),
        ("in_voicemail", ["call_analysis", "in_voicemail"]),
        ("custom_analysis_data", ["call_analysis", "custom_analysis_data"]),
        ("metadata", ["metadata"]),
        ("recording_url", ["recording_url"]),
        ("public_log_url", ["public_log_url"]),
        ("transcript", ["transcript"]),
    ];

    public static readonly byte[] Preamble = Encoding.UTF8.GetPreamble();

    public static string Header => string.Join(',', Columns.Select(c => c.Column)) + "\r\n";

    public static string Row(ReadOnlySpan<byte> document)
    {
        var reader = new Utf8JsonReader(document);
        using var doc = JsonDocument.ParseValue(ref reader);
        var call = doc.RootElement;
        var row = new StringBuilder(256);
        for (var i = 0; i < Columns.Length; i++)
        {
            if (i > 0)
                row.Append(',');
            row.Append(Quote(ValueOf(call, Columns[i])));
        }
        return row.Append("\r\n").ToString();
    }

    static string ValueOf(JsonElement call, (string Column, string[] Path) column)
    {
        switch (column.Column)
        {
            case "start_time_utc":
                return Number(call, "start_timestamp") is { } start
                    ? DateTimeOffset.FromUnixTimeMilliseconds(start).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)
                    : "";
            case "duration_ms":
                return Number(call, "start_timestamp") is { } s && Number(call, "end_timestamp") is { } e
                    ? (e - s).ToString(CultureInfo.InvariantCulture)
                    : "";
        }
        var value = call;
        foreach (var step in column.Path)
            if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty(step, out value))
                return "";
        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!,
            JsonValueKind.Number => value.GetRawText(),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            JsonValueKind.Object or JsonValueKind.Array => value.GetRawText(),
            _ => "",
        };
    }

    static long? Number(JsonElement call, string name) =>
        call.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : null;

    static string Quote(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
