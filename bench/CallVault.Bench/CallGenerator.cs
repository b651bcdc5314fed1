using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace CallVault.Bench;

/// <summary>
/// Deterministic synthetic calls shaped like Retell's: transcripts with word timings, latency statistics,
/// analysis and cost, about 4-5 KB of JSON each. Calls come in ascending start time over one year, with ties
/// (every tenth call starts in the same millisecond as the one before), 50 agents, 10% web calls without
/// numbers or direction, and a few calls with a rare caller number and a rare disconnection reason so that
/// those query shapes have something to find.
/// </summary>
sealed class CallGenerator
{
    public const int AgentCount = 50;
    public const string RareFromNumber = "+19995550123";
    public const string RareDisconnectionReason = "scam_detected";
    public static readonly long YearStart = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
    public const long YearMs = 365L * 24 * 3600 * 1000;

    static readonly string[] Vocabulary =
    [
        "hello", "thanks", "for", "calling", "how", "can", "I", "help", "you", "today", "my", "order", "has", "not",
        "arrived", "yet", "let", "me", "check", "that", "sure", "the", "number", "is", "account", "appointment",
        "tomorrow", "morning", "would", "like", "to", "reschedule", "please", "confirm", "your", "address", "great",
        "perfect", "anything", "else", "no", "that's", "all", "have", "a", "nice", "day", "bye", "payment", "card",
        "refund", "delivery", "Tuesday", "afternoon", "insurance", "policy", "claim", "question", "about", "bill",
    ];

    static readonly string[] Summaries =
    [
        "The customer asked about a delayed order and the agent confirmed a new delivery date.",
        "The caller rescheduled an appointment to the next available morning slot.",
        "The user asked for a refund; the agent opened a ticket and explained the timeline.",
        "The agent reached voicemail and left a short callback message.",
        "The customer updated their billing address and confirmed the payment card on file.",
    ];

    readonly int _count;
    readonly string[] _agents;
    readonly string[] _agentNumbers;
    readonly string[] _customers;
    readonly int _rareFromEvery;
    readonly int _rareReasonEvery;

    public CallGenerator(int count)
    {
        _count = count;
        var seed = new Random(20251125);
        _agents = [.. Enumerable.Range(0, AgentCount).Select(_ => "agent_" + Hex(seed, 24))];
        _agentNumbers = [.. Enumerable.Range(0, AgentCount).Select(i => $"+1415555{1000 + i:D4}")];
        _customers = [.. Enumerable.Range(0, Math.Max(1000, count / 8)).Select(_ => "+1" + seed.NextInt64(2_000_000_000, 9_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture))];
        _rareFromEvery = Math.Max(1, count / Math.Max(5, count / 50_000));
        _rareReasonEvery = Math.Max(1, count / Math.Max(5, count / 20_000));
    }

    public IReadOnlyList<string> Agents => _agents;

    /// <summary>Start time of call <paramref name="i"/>: spread over the year, every tenth tied with the previous.</summary>
    public long StartOf(int i)
    {
        var slot = i % 10 == 9 ? i - 1 : i;
        return YearStart + (long)((double)slot / _count * YearMs) + new Random(slot).Next(0, 1000);
    }

    /// <summary>The id of call <paramref name="i"/> (the first thing <see cref="Write"/> draws).</summary>
    public string IdOf(int i) => "call_" + Hex(new Random(i * 7919 + 13), 27);

    /// <summary>Writes call <paramref name="i"/> as one JSON object and returns its id and start time.</summary>
    public (string CallId, long Start) Write(Utf8JsonWriter w, int i)
    {
        var r = new Random(i * 7919 + 13);
        var callId = "call_" + Hex(r, 27);
        var agent = r.Next(AgentCount);
        var rareFrom = i % _rareFromEvery == 3;
        var rareReason = i % _rareReasonEvery == 11;
        var web = !rareFrom && r.Next(10) == 0;
        var start = StartOf(i);
        var duration = r.Next(15_000, 600_000);
        var status = r.Next(100) < 96 ? "ended" : "error";

        w.WriteStartObject();
        w.WriteString("call_id", callId);
        w.WriteString("call_type", web ? "web_call" : "phone_call");
        w.WriteString("agent_id", _agents[agent]);
        w.WriteString("call_status", status);
        if (web)
        {
            w.WriteString("access_token", "eyJ" + Hex(r, 40));
        }
        else
        {
            var inbound = r.Next(10) < 6;
            var customer = rareFrom ? RareFromNumber : _customers[r.Next(_customers.Length)];
            w.WriteString("direction", inbound ? "inbound" : "outbound");
            w.WriteString("from_number", inbound || rareFrom ? customer : _agentNumbers[agent]);
            w.WriteString("to_number", inbound || rareFrom ? _agentNumbers[agent] : customer);
            w.WriteStartObject("telephony_identifier");
            w.WriteString("twilio_call_sid", "CA" + Hex(r, 32));
            w.WriteEndObject();
        }
        w.WriteStartObject("metadata");
        w.WriteString("crm_id", "crm-" + r.Next(1_000_000));
        w.WriteString("campaign", r.Next(3) switch { 0 => "renewals", 1 => "support", _ => "onboarding" });
        w.WriteEndObject();
        w.WriteStartObject("retell_llm_dynamic_variables");
        w.WriteString("customer_name", r.Next(2) == 0 ? "Alex" : "Sam");
        w.WriteEndObject();
        w.WriteBoolean("opt_out_sensitive_data_storage", false);
        w.WriteNumber("start_timestamp", start);
        w.WriteNumber("end_timestamp", start + duration);

        var turns = r.Next(6, 11);
        var utterances = new List<(bool Agent, string[] Words)>(turns);
        for (var t = 0; t < turns; t++)
            utterances.Add((t % 2 == 0, [.. Enumerable.Range(0, r.Next(4, 10)).Select(_ => Vocabulary[r.Next(Vocabulary.Length)])]));
        w.WriteString("transcript", string.Join("\n", utterances.Select(u => (u.Agent ? "Agent: " : "User: ") + string.Join(' ', u.Words))));
        w.WriteStartArray("transcript_object");
        var clock = 0.4;
        foreach (var (isAgent, words) in utterances)
        {
            w.WriteStartObject();
            w.WriteString("role", isAgent ? "agent" : "user");
            w.WriteString("content", string.Join(' ', words));
            w.WriteStartArray("words");
            foreach (var word in words)
            {
                var end = clock + 0.12 + r.NextDouble() * 0.3;
                w.WriteStartObject();
                w.WriteString("word", word);
                w.WriteNumber("start", Math.Round(clock, 3));
                w.WriteNumber("end", Math.Round(end, 3));
                w.WriteEndObject();
                clock = end + 0.05;
            }
            w.WriteEndArray();
            w.WriteEndObject();
            clock += 0.6;
        }
        w.WriteEndArray();
        w.WriteString("recording_url", $"https://recordings.example.com/{callId}/recording.wav");
        w.WriteString("public_log_url", $"https://logs.example.com/{callId}/public.log");

        var p50 = Math.Round(600 + r.NextDouble() * 700 + r.NextDouble() * 700, 1);
        w.WriteStartObject("latency");
        Stats(w, "e2e", p50, r);
        Stats(w, "llm", Math.Round(p50 * 0.45, 1), r);
        Stats(w, "tts", Math.Round(p50 * 0.2, 1), r);
        w.WriteEndObject();
        w.WriteString("disconnection_reason", rareReason ? RareDisconnectionReason : r.Next(100) switch
        {
            < 55 => "user_hangup",
            < 88 => "agent_hangup",
            < 94 => "call_transfer",
            < 98 => "voicemail_reached",
            _ => "inactivity",
        });
        w.WriteStartObject("call_analysis");
        w.WriteString("call_summary", Summaries[r.Next(Summaries.Length)]);
        w.WriteBoolean("in_voicemail", r.Next(100) < 4);
        w.WriteString("user_sentiment", r.Next(100) switch { < 40 => "Positive", < 75 => "Neutral", < 95 => "Negative", _ => "Unknown" });
        w.WriteBoolean("call_successful", r.Next(100) < 70);
        w.WriteStartObject("custom_analysis_data");
        w.WriteNumber("satisfaction", r.Next(1, 6));
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteStartObject("call_cost");
        w.WriteStartArray("product_costs");
        foreach (var (product, price) in new[] { ("elevenlabs_tts", 0.07), ("gpt_4o_mini", 0.006), ("retell_platform", 0.05) })
        {
            w.WriteStartObject();
            w.WriteString("product", product);
            w.WriteNumber("unitPrice", price);
            w.WriteNumber("cost", Math.Round(price * duration / 60_000.0, 4));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNumber("total_duration_seconds", duration / 1000);
        w.WriteNumber("total_duration_unit_price", 0.126);
        w.WriteNumber("total_one_time_price", 0);
        w.WriteNumber("combined_cost", Math.Round(0.126 * duration / 60_000.0, 4));
        w.WriteEndObject();
        w.WriteEndObject();
        return (callId, start);
    }

    static void Stats(Utf8JsonWriter w, string name, double p50, Random r)
    {
        w.WriteStartObject(name);
        w.WriteNumber("p50", p50);
        w.WriteNumber("p90", Math.Round(p50 * 1.4, 1));
        w.WriteNumber("p95", Math.Round(p50 * 1.6, 1));
        w.WriteNumber("p99", Math.Round(p50 * 2.1, 1));
        w.WriteNumber("max", Math.Round(p50 * 2.4, 1));
        w.WriteNumber("min", Math.Round(p50 * 0.5, 1));
        w.WriteNumber("num", r.Next(4, 12));
        w.WriteEndObject();
    }

    static string Hex(Random r, int length)
    {
        Span<byte> bytes = stackalloc byte[(length + 1) / 2];
        r.NextBytes(bytes);
        return Convert.ToHexStringLower(bytes)[..length];
    }

    /// <summary>One import batch: a JSON array of calls <paramref name="from"/> to <paramref name="to"/> (exclusive).</summary>
    public byte[] Batch(int from, int to, List<(string CallId, long Start)> written)
    {
        var buffer = new ArrayBufferWriter<byte>(5000 * (to - from));
        // Escaped as JavaScript's JSON.stringify escapes (Retell's own answers, the SDKs): only what must be,
        // so "+1415..." and "that's" are sent as they are, not as \u002B and \u0027.
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartArray();
            for (var i = from; i < to; i++)
                written.Add(Write(w, i));
            w.WriteEndArray();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
