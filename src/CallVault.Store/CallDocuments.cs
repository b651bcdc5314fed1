using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using CallVault.Client.Models;

namespace CallVault.Store;

/// <summary>A call record that cannot be stored, with the reason.</summary>
public sealed class CallValidationException(string message) : Exception(message);

/// <summary>
/// Turns call objects as they arrive (import, webhooks, update-call) into documents ready to store, and
/// applies the rules every stored call obeys: required fields and enum values, metadata size, erasure of
/// sensitive data on opt-out, latency statistics computed from samples.
/// </summary>
public static class CallDocuments
{
    /// <summary>Largest metadata accepted, as serialized JSON.</summary>
    public const int MaxMetadataBytes = 50_000;

    /// <summary>The fields deleted from a call that opts out of sensitive data storage.</summary>
    public static readonly string[] SensitiveFields =
        ["transcript", "transcript_object", "transcript_with_tool_calls", "recording_url", "public_log_url"];

    static readonly string[] LatencyStatistics = ["p50", "p90", "p95", "p99", "max", "min", "num"];

    /// <summary>Validates a call object and prepares it for storage.</summary>
    /// <exception cref="CallValidationException">The object is not a valid call.</exception>
    public static PreparedCall Prepare(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new CallValidationException("a call must be a JSON object");
        var call = Parse(element);
        var optOut = call.OptOutSensitiveDataStorage == true;
        var scrub = optOut && SensitiveFields.Any(f => element.TryGetProperty(f, out _));
        var addStats = NeedsLatencyStatistics(element);
        if (!scrub && !addStats)
            return new PreparedCall(call.CallId, ColumnsOf(call), Written(() => WireJson.Minified(element)));

        var node = JsonObject.Create(element)!;
        if (scrub)
            RemoveSensitive(node);
        if (addStats)
            AddLatencyStatistics(node);
        return FromNode(node) with { ErasesSensitiveData = scrub };
    }

    /// <summary>
    /// Prepares every call of an import body (a JSON array of call objects) in one pass over its bytes, or
    /// returns null when the body must go through <see cref="Prepare"/> element by element: whenever it is not
    /// an array of at most <paramref name="maxCalls"/> valid calls, and so whenever there is an error to
    /// report. For the calls it accepts, the result is the same as <see cref="Prepare"/>'s.
    /// </summary>
    /// <remarks>
    /// A call whose text is already its document (minified, as a program writes JSON) is not copied: its
    /// <see cref="PreparedCall.Json"/> is a slice of <paramref name="body"/>, so the body must stay as it is until
    /// the calls are written. Copying every document of a 48 MB body, and the collector moving those copies while
    /// the write transaction held them, took half the CPU of this method (issue 3: import rate).
    /// </remarks>
    public static List<PreparedCall>? TryPrepareAll(ReadOnlyMemory<byte> body, int maxCalls)
    {
        try
        {
            var reader = new Utf8JsonReader(body.Span, new JsonReaderOptions { MaxDepth = WireJson.MaxDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
                return null;
            var calls = new List<PreparedCall>(Math.Min(maxCalls, body.Length / 1024 + 1));
            while (true)
            {
                if (!reader.Read())
                    return null;
                if (reader.TokenType == JsonTokenType.EndArray)
                    break;
                if (reader.TokenType != JsonTokenType.StartObject || calls.Count == maxCalls)
                    return null;
                var start = (int)reader.TokenStartIndex;
                var call = Checked(SkimmingCall.Read(ref reader, typeof(Call), Skimming.Options)!);
                calls.Add(PrepareRead(call, body[start..(int)reader.BytesConsumed]));
            }
            return reader.Read() ? null : calls; // Read throws on anything but whitespace after the array
        }
        catch (Exception ex) when (ex is JsonException or CallValidationException or PlainTranscriptCheck.NotPlainException
                                       or InvalidOperationException or ArgumentException or FormatException or NotSupportedException)
        {
            return null;
        }
    }

    static PreparedCall PrepareRead(Call call, ReadOnlyMemory<byte> json)
    {
        if (call.OptOutSensitiveDataStorage == true || MayHoldLatencySamples(call.Latency))
        {
            using var document = JsonDocument.Parse(json.ToArray(), WireJson.DocumentOptions);
            return Prepare(document.RootElement);
        }
        return new PreparedCall(call.CallId, ColumnsOf(call), WrittenRewritten(json.Span) ?? json);
    }

    /// <summary>
    /// Whether a latency object may need <see cref="AddLatencyStatistics"/>: a known metric with samples, or a
    /// metric the model does not know. False means <see cref="NeedsLatencyStatistics"/> is false.
    /// </summary>
    static bool MayHoldLatencySamples(CallLatency? latency) =>
        latency is not null
        && (latency.ExtensionData is { Count: > 0 }
            || latency.E2e?.Values is not null || latency.Llm?.Values is not null || latency.LlmWebsocketNetworkRtt?.Values is not null
            || latency.Tts?.Values is not null || latency.KnowledgeBase?.Values is not null || latency.S2s?.Values is not null);

    /// <summary>
    /// The serializer as <see cref="Parse"/> uses it, except for transcripts (most of a call's tokens, and no
    /// column needs them): they are checked in place instead of built into objects.
    /// </summary>
    static readonly CallVaultJsonContext Skimming = new(new JsonSerializerOptions(CallVaultJsonContext.Default.Options) { Converters = { new PlainTranscriptCheck() } });

    /// <summary>
    /// The converter of <see cref="Call"/> itself: called on the body's reader, it reads the call once, where
    /// <c>JsonSerializer.Deserialize(ref reader)</c> would first read ahead to the end of the call.
    /// </summary>
    static readonly JsonConverter<Call> SkimmingCall = (JsonConverter<Call>)Skimming.Options.GetConverter(typeof(Call));

    /// <summary>Prepares a call from a document the server built or changed itself.</summary>
    public static PreparedCall FromNode(JsonObject node)
    {
        var bytes = Written(() => JsonSerializer.SerializeToUtf8Bytes(node, SerializerOptions));
        using var doc = JsonDocument.Parse(bytes, WireJson.DocumentOptions);
        var call = Parse(doc.RootElement);
        return new PreparedCall(call.CallId, ColumnsOf(call), bytes);
    }

    /// <summary>
    /// Applies update-call: metadata replaces the stored metadata; opt-out may only go from false to true, and
    /// when it does the sensitive fields are deleted.
    /// </summary>
    /// <param name="current">The stored document.</param>
    /// <param name="update">The update-call body.</param>
    /// <param name="removesMetadata">The body gave <c>"metadata": null</c>: the call's metadata goes.</param>
    public static PreparedCall ApplyUpdate(byte[] current, UpdateCallRequest update, bool removesMetadata = false)
    {
        var node = JsonNode.Parse(current, documentOptions: WireJson.DocumentOptions)!.AsObject();
        var optedOut = node["opt_out_sensitive_data_storage"]?.GetValueKind() == JsonValueKind.True;
        if (update.OptOutSensitiveDataStorage == false && optedOut)
            throw new CallValidationException("opt_out_sensitive_data_storage cannot go back from true to false");
        if (update.Metadata is { } metadata)
        {
            CheckMetadataSize(metadata);
            node["metadata"] = JsonNode.Parse(metadata.GetRawText());
        }
        else if (removesMetadata)
        {
            node.Remove("metadata");
        }
        var erases = false;
        if (update.OptOutSensitiveDataStorage == true)
        {
            node["opt_out_sensitive_data_storage"] = true;
            erases = RemoveSensitive(node);
        }
        return FromNode(node) with { ErasesSensitiveData = erases };
    }

    /// <summary>Makes a call opted out: flag set, sensitive fields gone.</summary>
    public static PreparedCall OptOut(PreparedCall call)
    {
        var node = JsonNode.Parse(call.Document, documentOptions: WireJson.DocumentOptions)!.AsObject();
        node["opt_out_sensitive_data_storage"] = true;
        var erased = RemoveSensitive(node);
        return FromNode(node) with { ErasesSensitiveData = erased || call.ErasesSensitiveData };
    }

    static readonly JsonSerializerOptions SerializerOptions = new() { Encoder = WireJson.WriterOptions.Encoder };

    static Call Parse(JsonElement element)
    {
        Call call;
        try
        {
            call = element.Deserialize(CallVaultJsonContext.Default.Call)!;
        }
        catch (JsonException ex)
        {
            throw new CallValidationException(WireJson.Describe(ex));
        }
        return Checked(call);
    }

    /// <summary>The rules of a call that its JSON contract does not say.</summary>
    static Call Checked(Call call)
    {
        if (call.CallId.Length == 0)
            throw new CallValidationException("call_id must not be empty");
        if (call.AgentId.Length == 0)
            throw new CallValidationException("agent_id must not be empty");
        if (call.Metadata is { } metadata)
            CheckMetadataSize(metadata);
        return call;
    }

    /// <summary>
    /// Writes JSON that was parsed from input. The parser lets an escaped lone surrogate (<c>"\ud800"</c>)
    /// through, but it cannot be written as UTF-8: that is bad input, not a server error.
    /// </summary>
    static T Written<T>(Func<T> write)
    {
        try
        {
            return write();
        }
        catch (Exception ex) when (IsInvalidUtf16(ex) || IsInvalidUtf16(ex.InnerException))
        {
            throw UnpairedSurrogate();
        }
    }

    /// <summary><see cref="WireJson.Rewritten(ReadOnlySpan{byte})"/>, failing as <see cref="Written"/> does.</summary>
    static byte[]? WrittenRewritten(ReadOnlySpan<byte> json)
    {
        try
        {
            return WireJson.Rewritten(json);
        }
        catch (Exception ex) when (IsInvalidUtf16(ex) || IsInvalidUtf16(ex.InnerException))
        {
            throw UnpairedSurrogate();
        }
    }

    static CallValidationException UnpairedSurrogate() =>
        new("a string holds an unpaired UTF-16 surrogate escape, which is not valid Unicode text");

    static bool IsInvalidUtf16(Exception? ex) =>
        ex is InvalidOperationException && ex.Message.Contains("UTF-16", StringComparison.Ordinal);

    static void CheckMetadataSize(JsonElement metadata)
    {
        var size = Written(() => WireJson.WrittenLength(metadata));
        if (size > MaxMetadataBytes)
            throw new CallValidationException($"metadata is {size} bytes as JSON; at most {MaxMetadataBytes} are allowed");
    }

    static bool RemoveSensitive(JsonObject node)
    {
        var removed = false;
        foreach (var field in SensitiveFields)
            removed |= node.Remove(field);
        return removed;
    }

    static CallColumns ColumnsOf(Call call) => new(
        call.AgentId,
        WireEnum.ToWire(call.CallStatus),
        WireEnum.ToWire(call.CallType),
        call.Direction is { } d ? WireEnum.ToWire(d) : null,
        call.FromNumber,
        call.ToNumber,
        call.CallAnalysis?.UserSentiment is { } s ? WireEnum.ToWire(s) : null,
        call.CallAnalysis?.CallSuccessful,
        call.CallAnalysis?.InVoicemail,
        call.DisconnectionReason is { } r ? WireEnum.ToWire(r) : null,
        call.StartTimestamp,
        call.DurationMs,
        call.Latency?.E2e?.P50,
        call.OptOutSensitiveDataStorage == true);

    static bool NeedsLatencyStatistics(JsonElement call)
    {
        if (!call.TryGetProperty("latency", out var latency) || latency.ValueKind != JsonValueKind.Object)
            return false;
        foreach (var metric in latency.EnumerateObject())
            if (IsSamplesOnly(metric.Value))
                return true;
        return false;
    }

    static bool IsSamplesOnly(JsonElement metric) =>
        metric.ValueKind == JsonValueKind.Object
        && metric.TryGetProperty("values", out var values) && values.ValueKind == JsonValueKind.Array
        && !LatencyStatistics.Any(s => metric.TryGetProperty(s, out _));

    static void AddLatencyStatistics(JsonObject call)
    {
        foreach (var (name, metricNode) in call["latency"]!.AsObject())
        {
            if (metricNode is not JsonObject metric || !IsSamplesOnly(JsonSerializer.SerializeToElement(metric)))
                continue;
            var samples = metric["values"]!.AsArray().Select(v => FiniteSample(name, v)).ToArray();
            var stats = Percentiles.Summarize(samples);
            if (stats is null)
            {
                metric["num"] = 0;
                continue;
            }
            metric["p50"] = stats.P50;
            metric["p90"] = stats.P90;
            metric["p95"] = stats.P95;
            metric["p99"] = stats.P99;
            metric["max"] = stats.Max;
            metric["min"] = stats.Min;
            metric["num"] = samples.Length;
        }
    }

    // Metrics the model does not know (and values too large for a double) reach here unchecked; statistics of
    // anything but finite numbers cannot be computed or written, so such a call is invalid.
    static double FiniteSample(string metric, JsonNode? value) =>
        value is JsonValue number && number.GetValueKind() == JsonValueKind.Number
        && number.TryGetValue<double>(out var sample) && double.IsFinite(sample)
            ? sample
            : throw new CallValidationException($"latency.{metric}.values must hold only finite numbers");
}

/// <summary>Percentiles as numpy computes them by default: linear interpolation between closest ranks.</summary>
public static class Percentiles
{
    public sealed record Summary(double P50, double P90, double P95, double P99, double Min, double Max);

    /// <summary>The summary of the samples, or null when there are none.</summary>
    public static Summary? Summarize(IReadOnlyList<double> samples)
    {
        if (samples.Count == 0)
            return null;
        var sorted = samples.Order().ToArray();
        return new Summary(Of(sorted, 50), Of(sorted, 90), Of(sorted, 95), Of(sorted, 99), sorted[0], sorted[^1]);
    }

    /// <summary>The <paramref name="percent"/>th percentile of already sorted samples.</summary>
    public static double Of(double[] sorted, double percent)
    {
        var rank = (sorted.Length - 1) * percent / 100.0;
        var lower = (int)Math.Floor(rank);
        var upper = Math.Min(lower + 1, sorted.Length - 1);
        return sorted[lower] + (rank - lower) * (sorted[upper] - sorted[lower]);
    }
}
