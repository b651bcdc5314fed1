using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CallVault.Store;

/// <summary>The Retell webhook events that carry a call, ranked in lifecycle order.</summary>
public enum CallEvent
{
    CallStarted = 1,
    CallEnded = 2,
    CallAnalyzed = 3,
}

/// <summary>
/// Merges webhook deliveries (and copies of a call from a sync source, see <see cref="MergeFromSource"/>) into
/// the stored call. Deliveries arrive late, twice and out of order, so the outcome must not depend on their
/// order: the stored call is the union of what arrived, and where two deliveries disagree on a top-level field
/// the later lifecycle event wins. To know that, the merge state (kept beside the document, never served)
/// records for each field the rank of the event that wrote it and a hash of the value written. A field whose
/// current value no longer matches its hash (or has no record) was written by someone else: update-call or
/// import. Metadata and opt-out written that way belong to the user and are never overwritten by a delivery;
/// other such fields rank as the stored call's own lifecycle stage (see <see cref="StageOf"/>). Status only
/// moves forward; opt-out only goes from false to true, and an opted-out call never receives sensitive fields.
/// </summary>
public static class CallMerge
{
    /// <summary>The event of a webhook's <c>event</c> name, or null for events that carry no call to store.</summary>
    public static CallEvent? ParseEvent(string? name) => name switch
    {
        "call_started" => CallEvent.CallStarted,
        "call_ended" => CallEvent.CallEnded,
        "call_analyzed" => CallEvent.CallAnalyzed,
        _ => null,
    };

    /// <summary>
    /// The stored call after <paramref name="incoming"/> (already validated by <see cref="CallDocuments.Prepare"/>)
    /// arrives with <paramref name="evt"/>; null when that changes nothing.
    /// </summary>
    public static MergedCall? Merge(StoredCall? current, PreparedCall incoming, CallEvent evt)
    {
        var delivered = JsonNode.Parse(incoming.Document, documentOptions: WireJson.DocumentOptions)!.AsObject();
        return Merge(current, delivered, (int)evt, keep: null);
    }

    /// <summary>
    /// The stored call after a copy of it from a sync source arrives; null when that changes nothing. The copy
    /// is a delivery at its own lifecycle stage (<see cref="StageOf"/>), so it obeys the rules of
    /// <see cref="Merge(StoredCall?, PreparedCall, CallEvent)"/>: what the user changed stays, status only moves
    /// forward, and an older copy (say ongoing, fetched before the call_analyzed delivery came in) fills gaps
    /// but changes nothing a later stage wrote. A tie goes to the later arrival, as between deliveries of one
    /// event: the copy replaces what was written at its own stage, and a delivery at that stage arriving after
    /// it replaces the copy's values. When the outcome is the copy itself, the copy's bytes are stored as the
    /// source served them.
    /// </summary>
    public static MergedCall? MergeFromSource(StoredCall? current, PreparedCall incoming)
    {
        var delivered = JsonNode.Parse(incoming.Document, documentOptions: WireJson.DocumentOptions)!.AsObject();
        return Merge(current, delivered, StageOf(delivered), keep: incoming);
    }

    /// <param name="keep">The delivered call, whose bytes are stored as they are when the outcome equals it.</param>
    static MergedCall? Merge(StoredCall? current, JsonObject delivered, int rank, PreparedCall? keep)
    {
        var result = current is null
            ? new JsonObject()
            : JsonNode.Parse(current.Document, documentOptions: WireJson.DocumentOptions)!.AsObject();
        var marks = current is null ? new Dictionary<string, Mark>(StringComparer.Ordinal) : ReadState(current.MergeState);
        var stage = StageOf(result);

        foreach (var (name, value) in delivered.ToArray())
        {
            if (value is null || value.GetValueKind() == JsonValueKind.Null)
            {
                // A null says nothing new: it fills an absent field (to keep the call's shape) and never
                // replaces a value.
                if (!result.ContainsKey(name))
                    result[name] = null;
                continue;
            }
            var hash = Hash(value);
            var present = result.TryGetPropertyValue(name, out var existing) && existing is not null && existing.GetValueKind() != JsonValueKind.Null;
            if (!present)
            {
                Take(result, marks, name, value, rank, hash);
                continue;
            }
            var existingHash = Hash(existing!);
            var ours = marks.TryGetValue(name, out var mark) && mark.Hash == existingHash;
            if (existingHash == hash)
            {
                if (ours && rank > mark.Rank)
                    marks[name] = new Mark(rank, hash);
                continue;
            }
            if (Wins(name, existing!, value, ours, ours ? mark.Rank : stage, rank))
                Take(result, marks, name, value, rank, hash);
        }

        var erases = false;
        if (result["opt_out_sensitive_data_storage"]?.GetValueKind() == JsonValueKind.True)
        {
            foreach (var field in CallDocuments.SensitiveFields)
            {
                erases |= result.Remove(field);
                marks.Remove(field);
            }
        }
        // Erasing what the current document held must also reach the files (a checkpoint in the store).
        erases &= current is not null && CurrentHasSensitive(current.Document);

        var merged = keep is not null && JsonNode.DeepEquals(result, delivered)
            ? keep with { ErasesSensitiveData = erases }
            : CallDocuments.FromNode(Canonical(result)) with { ErasesSensitiveData = erases };
        var state = WriteState(marks);
        if (current is not null && current.Document.AsSpan().SequenceEqual(merged.Document) && (current.MergeState ?? EmptyState) == state)
            return null;
        return new MergedCall(merged, state);
    }

    /// <summary>
    /// How far along its lifecycle a stored call is, on the event scale: registered 0, ongoing 1, ended or
    /// error 2, analysed 3. Fields written by others than webhooks rank at this stage.
    /// </summary>
    public static int StageOf(JsonObject call)
    {
        var stage = StatusOrder(call["call_status"]);
        if (call["call_analysis"] is JsonObject)
            stage = 3;
        return stage;
    }

    static bool Wins(string name, JsonNode existing, JsonNode delivered, bool ours, int existingRank, int rank)
    {
        switch (name)
        {
            case "call_status":
                var order = StatusOrder(delivered).CompareTo(StatusOrder(existing));
                if (order != 0)
                    return order > 0;
                break;
            case "opt_out_sensitive_data_storage":
                // Only ever from false to true, whoever set it.
                return delivered.GetValueKind() == JsonValueKind.True;
            case "metadata" when !ours:
                return false; // set by update-call (or an import): the user's, not a delivery's
        }
        return rank >= existingRank;
    }

    static void Take(JsonObject result, Dictionary<string, Mark> marks, string name, JsonNode value, int rank, string hash)
    {
        result[name] = value.DeepClone();
        marks[name] = new Mark(rank, hash);
    }

    static int StatusOrder(JsonNode? status) => (status?.GetValueKind() == JsonValueKind.String ? status.GetValue<string>() : null) switch
    {
        "ongoing" => 1,
        "ended" or "error" => 2,
        _ => 0,
    };

    static bool CurrentHasSensitive(byte[] document)
    {
        using var doc = JsonDocument.Parse(document, WireJson.DocumentOptions);
        return CallDocuments.SensitiveFields.Any(f => doc.RootElement.TryGetProperty(f, out _));
    }

    /// <summary>The order of the call model; fields it does not know follow in byte order.</summary>
    static readonly string[] FieldOrder =
    [
        "call_id", "agent_id", "call_type", "call_status", "access_token", "direction", "from_number", "to_number",
        "telephony_identifier", "metadata", "retell_llm_dynamic_variables", "opt_out_sensitive_data_storage",
        "start_timestamp", "end_timestamp", "transcript", "transcript_object", "transcript_with_tool_calls",
        "recording_url", "public_log_url", "latency", "disconnection_reason", "call_analysis", "call_cost",
    ];

    /// <summary>
    /// Fields in one fixed order, so that the same union of deliveries is the same bytes whatever the order
    /// they came in.
    /// </summary>
    static JsonObject Canonical(JsonObject call)
    {
        var ordered = new JsonObject();
        var properties = call.ToArray();
        call.Clear();
        foreach (var (name, value) in properties
            .OrderBy(p => Array.IndexOf(FieldOrder, p.Key) is var i and >= 0 ? i : FieldOrder.Length)
            .ThenBy(p => p.Key, StringComparer.Ordinal))
            ordered[name] = value;
        return ordered;
    }

    readonly record struct Mark(int Rank, string Hash);

    static readonly JsonSerializerOptions HashOptions = new() { Encoder = WireJson.WriterOptions.Encoder };

    static string Hash(JsonNode value)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(value, HashOptions);
        return Convert.ToBase64String(SHA256.HashData(bytes).AsSpan(0, 12));
    }

    static Dictionary<string, Mark> ReadState(string? state)
    {
        var marks = new Dictionary<string, Mark>(StringComparer.Ordinal);
        if (string.IsNullOrEmpty(state))
            return marks;
        using var doc = JsonDocument.Parse(state);
        foreach (var field in doc.RootElement.EnumerateObject())
            marks[field.Name] = new Mark(field.Value[0].GetInt32(), field.Value[1].GetString()!);
        return marks;
    }

    /// <summary>The state of a call no merge wrote a field of (what a call stored by other writes has).</summary>
    const string EmptyState = "{}";

    static string WriteState(Dictionary<string, Mark> marks)
    {
        var node = new JsonObject();
        foreach (var (name, mark) in marks.OrderBy(m => m.Key, StringComparer.Ordinal))
            node[name] = new JsonArray(mark.Rank, mark.Hash);
        return node.ToJsonString(HashOptions);
    }
}
