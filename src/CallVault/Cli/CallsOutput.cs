using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using CallVault.Client.Models;
using CallVault.Files;

namespace CallVault.Cli;

enum CallsFormat { Table, Json, Ndjson, Csv }

/// <summary>Writes calls in one format, a batch at a time, so that <c>--all</c> can stream pages as they come.</summary>
abstract class CallsOutput(TextWriter writer)
{
    protected TextWriter Writer { get; } = writer;

    public static CallsFormat? ParseFormat(string text) => text.ToLowerInvariant() switch
    {
        "table" => CallsFormat.Table,
        "json" => CallsFormat.Json,
        "ndjson" => CallsFormat.Ndjson,
        "csv" => CallsFormat.Csv,
        _ => null,
    };

    public static CallsOutput Create(CallsFormat format, TextWriter writer, int width) => format switch
    {
        CallsFormat.Table => new TableOutput(writer, width),
        CallsFormat.Json => new JsonOutput(writer),
        CallsFormat.Ndjson => new NdjsonOutput(writer),
        _ => new CsvOutput(writer),
    };

    public void Write(IReadOnlyList<Call> calls)
    {
        WriteCalls(calls);
        Writer.Flush();
    }

    protected abstract void WriteCalls(IReadOnlyList<Call> calls);

    /// <summary>Closes the output (the JSON array); called once after the last batch.</summary>
    public virtual void End() => Writer.Flush();

    /// <summary>A call as indented JSON, exactly the fields the server sent (unknown ones included).</summary>
    public static string Indented(Call call) => JsonSerializer.Serialize(call, IndentedCall);

    // Output for people and pipes, not for HTML: keep '+' of phone numbers and non-ASCII text as they are.
    static readonly JsonTypeInfo<Call> IndentedCall = CallTypeInfo(indented: true);
    protected static readonly JsonTypeInfo<Call> CompactCall = CallTypeInfo(indented: false);

    static JsonTypeInfo<Call> CallTypeInfo(bool indented) =>
        (JsonTypeInfo<Call>)new JsonSerializerOptions(CallVaultJsonContext.Default.Options)
        {
            WriteIndented = indented,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }.GetTypeInfo(typeof(Call));

    protected static string Compact(Call call) => JsonSerializer.Serialize(call, CompactCall);

    protected static string Time(long? unixMs, bool local) => unixMs is { } ms
        ? (local ? DateTimeOffset.FromUnixTimeMilliseconds(ms).ToLocalTime() : DateTimeOffset.FromUnixTimeMilliseconds(ms))
            .ToString(local ? "yyyy-MM-dd HH:mm:ss" : "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)
        : "";

    protected static string Wire<T>(T? value) where T : struct, Enum => value is { } v ? WireEnum.ToWire(v) : "";

    protected static string Flag(bool? value) => value switch { true => "true", false => "false", null => "" };
}

/// <summary>A JSON array, one indented call after another, written as the batches come.</summary>
sealed class JsonOutput(TextWriter writer) : CallsOutput(writer)
{
    bool _any;

    protected override void WriteCalls(IReadOnlyList<Call> calls)
    {
        foreach (var call in calls)
        {
            Writer.Write(_any ? ",\n  " : "[\n  ");
            Writer.Write(Indented(call).ReplaceLineEndings("\n  "));
            _any = true;
        }
    }

    public override void End()
    {
        Writer.Write(_any ? "\n]\n" : "[]\n");
        base.End();
    }
}

/// <summary>One compact JSON call per line.</summary>
sealed class NdjsonOutput(TextWriter writer) : CallsOutput(writer)
{
    protected override void WriteCalls(IReadOnlyList<Call> calls)
    {
        foreach (var call in calls)
            Writer.Write(Compact(call) + "\n");
    }
}

/// <summary>
/// The CSV of <c>export</c> (<see cref="CallCsv"/>: RFC 4180, the same columns), so that a spreadsheet made from
/// either command reads the same; no byte order mark, since this goes to a terminal or a pipe.
/// </summary>
sealed class CsvOutput(TextWriter writer) : CallsOutput(writer)
{
    bool _headerWritten;

    protected override void WriteCalls(IReadOnlyList<Call> calls)
    {
        if (!_headerWritten)
        {
            Writer.Write(CallCsv.Header);
            _headerWritten = true;
        }
        foreach (var call in calls)
            Writer.Write(CallCsv.Row(JsonSerializer.SerializeToUtf8Bytes(call, CompactCall)));
    }
}

/// <summary>
/// Aligned columns, the widths set by the first batch (later values that do not fit are cut with an ellipsis),
/// each line cut to the terminal's width.
/// </summary>
sealed class TableOutput(TextWriter writer, int width) : CallsOutput(writer)
{
    static readonly string[] Header = ["CALL ID", "START (LOCAL)", "AGENT", "TYPE", "STATUS", "DURATION", "SENTIMENT", "SUCCESSFUL", "FROM", "TO"];
    const int MaxColumnWidth = 32;

    int[]? _widths;

    protected override void WriteCalls(IReadOnlyList<Call> calls)
    {
        var rows = calls.Select(Row).ToList();
        if (_widths is null)
        {
            _widths = [.. Header.Select((h, i) => Math.Min(MaxColumnWidth, rows.Select(r => r[i].Length).Append(h.Length).Max()))];
            WriteLine(Header);
        }
        foreach (var row in rows)
            WriteLine(row);
    }

    public override void End()
    {
        if (_widths is null)
            Writer.Write("No calls.\n");
        base.End();
    }

    void WriteLine(string[] cells)
    {
        var line = new StringBuilder();
        for (var i = 0; i < cells.Length; i++)
        {
            if (i > 0)
                line.Append("  ");
            line.Append(Fit(cells[i], _widths![i]).PadRight(_widths[i]));
        }
        Writer.Write(Fit(line.ToString().TrimEnd(), Math.Max(width, 20)) + "\n");
    }

    static string Fit(string text, int width) => text.Length <= width ? text : text[..(width - 1)] + "…";

    static string[] Row(Call c) =>
    [
        c.CallId, Time(c.StartTimestamp, local: true), c.AgentId, Wire<CallType>(c.CallType), Wire<CallStatus>(c.CallStatus),
        Duration(c.DurationMs), Wire(c.CallAnalysis?.UserSentiment), Flag(c.CallAnalysis?.CallSuccessful), c.FromNumber ?? "", c.ToNumber ?? "",
    ];

    static string Duration(long? ms) => ms switch
    {
        null => "",
        < 60_000 => $"{ms / 1000.0:0.#}s".Replace(',', '.'),
        < 3_600_000 => $"{ms / 60_000}m{ms % 60_000 / 1000:00}s",
        _ => $"{ms / 3_600_000}h{ms % 3_600_000 / 60_000:00}m",
    };
}

/// <summary>A progress line on standard error, rewritten in place; shown only on a terminal.</summary>
sealed class CallsProgress(StandardError stderr, bool enabled)
{
    readonly bool _enabled = enabled && stderr.IsTerminal;

    public void Show(string text)
    {
        if (!_enabled)
            return;
        stderr.Writer.Write("\r\u001b[2K" + text);
        stderr.Writer.Flush();
    }

    public void Clear()
    {
        if (_enabled)
            stderr.Writer.Write("\r\u001b[2K");
    }

    public void Done(string text)
    {
        if (_enabled)
            stderr.Writer.WriteLine(text);
    }
}
