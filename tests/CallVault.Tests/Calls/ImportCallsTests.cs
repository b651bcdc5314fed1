using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CallVault.Tests.Infrastructure;
using static CallVault.Tests.Infrastructure.CallJson;

namespace CallVault.Tests.Calls;

/// <summary>import-calls: upsert by id, and everything that goes in comes back.</summary>
public class ImportCallsTests
{
    static readonly string[] Sensitive = ["transcript", "transcript_object", "transcript_with_tool_calls", "recording_url", "public_log_url"];

    [Fact]
    public async Task AnEmptyArrayImportsNothing()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        var answer = await Api.OkJsonAsync(await client.PostJsonAsync("/v2/import-calls", "[]"));
        Assert.Equal("""{"imported":0}""", answer.GetRawText());
    }

    [Fact]
    public async Task ImportingACallIdAgainReplacesTheCall()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        await client.ImportAsync(Phone("c1", "agent_old", "ongoing", Base).With("metadata", new JsonObject { ["v"] = 1 }), Phone("c2", start: Base + 1));
        var replacement = Web("c1", "agent_new", "ended", Base + 2).With("transcript", "new");
        await client.ImportAsync(replacement);

        Assert.Equal(["c1", "c2"], await client.ListIdsAsync());
        Assert.True(JsonNode.DeepEquals(replacement, JsonNode.Parse((await client.GetCallAsync("c1")).GetRawText())));
        Assert.Empty(await client.ListIdsAsync("""{"filter_criteria":{"agent_id":["agent_old"]}}"""));
        Assert.Empty(await client.ListIdsAsync("""{"filter_criteria":{"direction":["inbound"],"agent_id":["agent_new"]}}"""));
        Assert.Equal(["c1"], await client.ListIdsAsync("""{"filter_criteria":{"call_type":["web_call"]}}"""));
    }

    [Fact]
    public async Task TheSameCallIdTwiceInOneBatchKeepsTheLastOne()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        var batch = new JsonArray(Web("c1", "agent_first", start: Base), Web("c1", "agent_last", start: Base));
        await Api.OkJsonAsync(await client.PostJsonAsync("/v2/import-calls", batch));
        Assert.Equal(["c1"], await client.ListIdsAsync());
        Assert.Equal("agent_last", (await client.GetCallAsync("c1")).GetProperty("agent_id").GetString());
    }

    [Theory]
    [InlineData(24, 40, 2000, 24)] // bodies of about 90 kB (the shared pool's arrays), all at once
    [InlineData(9, 300, 4000, 3)] // bodies of 1.2-1.4 MB (LargeBufferPool's), three at a time, so that a request starts while others wait for the writer
    public async Task ConcurrentImportsEachStoreTheCallsTheySent(int requests, int callsPerRequest, int transcriptLength, int atOnce)
    {
        // Imported documents are slices of the request body, which goes back to a pool: a body given back before
        // its calls are written would be reused by the next request, and one import would store another's bytes.
        // Bodies of about one size (each a little longer than the one before, so that a reused array holds the
        // end of a longer body past a shorter one), several at a time, waiting for the one writer.
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        string CallText(int request, int call) =>
            $$"""{"call_id":"r{{request:D2}}c{{call:D3}}","agent_id":"agent_{{request:D2}}","call_type":"web_call","call_status":"ended","start_timestamp":{{1_700_000_000_000L + request * 1000 + call}},"transcript":"{{new string((char)('a' + request), transcriptLength + request * 50)}}"}""";
        var bodies = Enumerable.Range(0, requests).Select(r => "[" + string.Join(",", Enumerable.Range(0, callsPerRequest).Select(c => CallText(r, c))) + "]").ToList();
        // Three waves of the same bodies, the longest first in the later ones: the stored calls must be the last
        // wave's, which are the same.
        for (var wave = 0; wave < 3; wave++)
        {
            var order = wave == 0 ? bodies : Enumerable.Reverse(bodies);
            await Parallel.ForEachAsync(order, new ParallelOptions { MaxDegreeOfParallelism = atOnce },
                async (body, _) => await Api.OkJsonAsync(await client.PostJsonAsync("/v2/import-calls", body)));
        }

        Assert.Equal(requests * callsPerRequest, await client.CountAllAsync());
        for (var r = 0; r < requests; r++)
        {
            for (var c = 0; c < callsPerRequest; c += 13)
                Assert.Equal(CallText(r, c), (await client.GetCallAsync($"r{r:D2}c{c:D3}")).GetRawText());
            Assert.Equal(callsPerRequest, (await client.ListIdsAsync("{\"limit\":1000,\"filter_criteria\":{\"agent_id\":[\"agent_" + r.ToString("D2", CultureInfo.InvariantCulture) + "\"]}}")).Length);
        }
    }

    /// <summary>A call carrying what a newer Retell version might send, odd numbers and every kind of text.</summary>
    const string RichCall = """
        {"call_type":"phone_call","call_id":"rich_1","agent_id":"agent_😀","call_status":"ended",
         "direction":"inbound","from_number":"+819012345678","to_number":"+14155550100",
         "start_timestamp":1700000000000,"end_timestamp":1700000061500,
         "agent_version":12,"future_field":{"nested":[1,{"deeper":[true,null,"x"]}],"empty":{},"list":[]},
         "metadata":{"big":123456789012345678901234567890,"max_long":9223372036854775807,"min_long":-9223372036854775808,
                     "price":1.50,"exp":1e3,"exp2":1E+3,"neg":-42.75,"tiny":5e-324,"huge":1.7976931348623157e308,
                     "zero":0,"negzero":-0,"pi":3.141592653589793238462643383279,"int_as_decimal":10.0},
         "retell_llm_dynamic_variables":{"name":"Zoë","city":"東京","emoji":"👩‍👩‍👧‍👦","rtl":"שלום","escaped":"caf\u00e9 \ud83d\ude00","ctrl":"tab\there\nnew line \u2028 \u0001","quote":"\"\\/"},
         "transcript":"Agent: 你好，我能帮你什么？\nUser: Ça va 🙂",
         "transcript_object":[{"role":"agent","content":"你好","words":[{"word":"你好","start":0.25,"end":1.125,"confidence":0.98}],"metadata":{"response_id":3}}],
         "latency":{"e2e":{"p50":812.5,"p90":1200,"p95":1300.25,"p99":1500,"max":1600,"min":400,"num":42,"values":[400,1600]},
                    "asr":{"p50":1,"unknown_stat":2}},
         "call_analysis":{"call_summary":"Résumé ✓","user_sentiment":"Positive","call_successful":true,"in_voicemail":false,
                          "custom_analysis_data":{"score":7.0,"tags":["a","b"]},"new_analysis_field":"kept"},
         "call_cost":{"combined_cost":12.50,"product_costs":[{"product":"elevenlabs_tts","unitPrice":0.0011666666666666668,"cost":7.0}],
                      "total_duration_seconds":61,"total_duration_unit_price":0.1,"total_one_time_price":0},
         "telephony_identifier":{"twilio_call_sid":"CA123","other_sid":"X9"},
         "disconnection_reason":"user_hangup"}
        """;

    /// <summary>
    /// <paramref name="actual"/> holds exactly the values of <paramref name="expected"/>: the same fields, strings
    /// and exact number values (at any precision; 1.50 may come back as 1.5, never as 1.5000001).
    /// </summary>
    static void AssertSameJson(JsonElement expected, JsonElement actual, string path = "$")
    {
        Assert.True(expected.ValueKind == actual.ValueKind, $"{path}: {expected.ValueKind} became {actual.ValueKind}");
        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                Assert.Equal(expected.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal),
                    actual.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
                foreach (var property in expected.EnumerateObject())
                    AssertSameJson(property.Value, actual.GetProperty(property.Name), $"{path}.{property.Name}");
                break;
            case JsonValueKind.Array:
                Assert.Equal(expected.GetArrayLength(), actual.GetArrayLength());
                for (var i = 0; i < expected.GetArrayLength(); i++)
                    AssertSameJson(expected[i], actual[i], $"{path}[{i}]");
                break;
            case JsonValueKind.Number:
                JsonNumbers.AssertSameValue(expected.GetRawText(), actual, path);
                break;
            case JsonValueKind.String:
                Assert.True(expected.GetString() == actual.GetString(), $"{path}: '{expected.GetString()}' became '{actual.GetString()}'");
                break;
        }
    }

    [Fact]
    public async Task UnknownFieldsNumbersNestingAndUnicodeComeBackIntact()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        Assert.Equal("""{"imported":1}""", (await Api.OkJsonAsync(await client.PostJsonAsync("/v2/import-calls", $"[{RichCall}]"))).GetRawText());
        var sent = JsonDocument.Parse(RichCall).RootElement;

        AssertSameJson(sent, await client.GetCallAsync("rich_1"));
        AssertSameJson(sent, (await client.ListAsync())[0]);
        AssertSameJson(sent, (await client.ListAsync("""{"filter_criteria":{"agent_id":["agent_😀"],"from_number":["+819012345678"]}}"""))[0]);
    }

    [Fact]
    public async Task ImportedDataStaysIntactWhenTheServerRewritesTheDocument()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        // Computing latency statistics and an update both rewrite the stored document.
        var call = JsonNode.Parse(RichCall)!.AsObject();
        call["latency"]!["llm"] = new JsonObject { ["values"] = new JsonArray(1, 2) };
        await client.ImportAsync(call);
        var updated = await Api.OkJsonAsync(await client.PatchJsonAsync("/v2/update-call/rich_1", """{"metadata":{"big":123456789012345678901234567890,"price":1.50}}"""));

        var expected = call.DeepClone().AsObject();
        expected["latency"]!["llm"] = JsonNode.Parse("""{"values":[1,2],"p50":1.5,"p90":1.9,"p95":1.95,"p99":1.99,"max":2,"min":1,"num":2}""");
        expected["metadata"] = JsonNode.Parse("""{"big":123456789012345678901234567890,"price":1.50}""");
        var llm = updated.GetProperty("latency").GetProperty("llm");
        foreach (var stat in new[] { "p50", "p90", "p95", "p99", "max", "min", "num" })
            Assert.Equal(expected["latency"]!["llm"]![stat]!.GetValue<double>(), llm.GetProperty(stat).GetDouble(), 1e-9);
        expected["latency"]!["llm"] = JsonNode.Parse(llm.GetRawText());
        var wanted = JsonDocument.Parse(expected.ToJsonString()).RootElement;
        AssertSameJson(wanted, updated);
        AssertSameJson(wanted, await client.GetCallAsync("rich_1"));
    }

    [Fact]
    public async Task ACallImportedOptedOutHasItsSensitiveFieldsDropped()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        var call = JsonNode.Parse(RichCall)!.AsObject()
            .With("opt_out_sensitive_data_storage", true)
            .With("transcript_with_tool_calls", new JsonArray(new JsonObject { ["role"] = "dtmf", ["digit"] = "1" }))
            .With("recording_url", "https://example.test/r.wav")
            .With("public_log_url", "https://example.test/l.txt");
        await client.ImportAsync(call);

        var expected = call.DeepClone().AsObject();
        foreach (var field in Sensitive)
            expected.Remove(field);
        AssertSameJson(JsonDocument.Parse(expected.ToJsonString()).RootElement, await client.GetCallAsync("rich_1"));
    }

    /// <summary>numpy.percentile's default ("linear"): virtual index (n-1)q, then numpy's lerp.</summary>
    static double NumpyPercentile(double[] samples, double percent)
    {
        var sorted = samples.Order().ToArray();
        var index = (sorted.Length - 1) * (percent / 100);
        var below = (int)Math.Floor(index);
        var above = Math.Min(below + 1, sorted.Length - 1);
        var t = index - below;
        var a = sorted[below];
        var b = sorted[above];
        return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
    }

    [Fact]
    public async Task LatencyStatisticsAreComputedFromValuesLikeNumpyWhenMissingAndKeptWhenGiven()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await app.ClientForAsync();
        double[] e2e = [812.5, 640, 1203.25, 990, 455, 1500, 733.125, 640];
        double[] tts = [1, 2, 3, 4];
        double[] single = [7];
        var call = Web("lat", start: Base).With("latency", new JsonObject
        {
            ["e2e"] = new JsonObject { ["values"] = new JsonArray([.. e2e.Select(v => (JsonNode)v)]) },
            ["tts"] = new JsonObject { ["values"] = new JsonArray([.. tts.Select(v => (JsonNode)v)]) },
            ["llm"] = new JsonObject { ["values"] = new JsonArray(7) },
            ["knowledge_base"] = new JsonObject { ["p50"] = 1, ["values"] = new JsonArray(10, 20, 30) },
            ["s2s"] = new JsonObject { ["num"] = 0, ["values"] = new JsonArray() },
        });
        await client.ImportAsync(call);
        var latency = (await client.GetCallAsync("lat")).GetProperty("latency");

        foreach (var (metric, samples) in new[] { ("e2e", e2e), ("tts", tts), ("llm", single) })
        {
            var stats = latency.GetProperty(metric);
            Assert.Equal(samples, stats.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()));
            foreach (var (stat, percent) in new[] { ("p50", 50.0), ("p90", 90.0), ("p95", 95.0), ("p99", 99.0) })
                Assert.Equal(NumpyPercentile(samples, percent), stats.GetProperty(stat).GetDouble(), 1e-9);
            Assert.Equal(samples.Min(), stats.GetProperty("min").GetDouble());
            Assert.Equal(samples.Max(), stats.GetProperty("max").GetDouble());
            Assert.Equal(samples.Length, stats.GetProperty("num").GetDouble());
        }
        // Known numpy results, as a check on the reference above.
        Assert.Equal(2.5, latency.GetProperty("tts").GetProperty("p50").GetDouble(), 1e-9);
        Assert.Equal(3.7, latency.GetProperty("tts").GetProperty("p90").GetDouble(), 1e-9);
        Assert.Equal(3.85, latency.GetProperty("tts").GetProperty("p95").GetDouble(), 1e-9);
        Assert.Equal(3.97, latency.GetProperty("tts").GetProperty("p99").GetDouble(), 1e-9);
        Assert.Equal(7, latency.GetProperty("llm").GetProperty("p99").GetDouble());
        // Given statistics are kept exactly, and nothing is added next to them.
        AssertSameJson(JsonDocument.Parse("""{"p50":1,"values":[10,20,30]}""").RootElement, latency.GetProperty("knowledge_base"));
        AssertSameJson(JsonDocument.Parse("""{"num":0,"values":[]}""").RootElement, latency.GetProperty("s2s"));
        // The computed median is what the e2e filter reads.
        var p50 = NumpyPercentile(e2e, 50);
        Assert.Equal(["lat"], await client.ListIdsAsync(Api.ListBody(new JsonObject { ["e2e_latency_p50"] = new JsonObject { ["lower_threshold"] = p50, ["upper_threshold"] = p50 } })));
    }
}
