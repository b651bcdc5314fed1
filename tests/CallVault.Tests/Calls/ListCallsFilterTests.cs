using System.Text.Json.Nodes;
using CallVault.Tests.Infrastructure;
using static CallVault.Tests.Infrastructure.CallJson;

namespace CallVault.Tests.Calls;

/// <summary>
/// Every filter of list-calls over one small, varied set of calls. In the default (descending) order the set
/// reads: w2 (no start: received now, so on top), p3, w1, p2, p1.
/// </summary>
public class ListCallsFilterTests
{
    /// <summary>
    /// p1, p2, p3 are phone calls; w1 and w2 web calls (no direction or numbers). p3 and w2 have no call_analysis,
    /// w1 has no end (no duration), w2 has no start, p3 has no latency; w1's e2e p50 is computed from samples.
    /// </summary>
    static async Task<HttpClient> SeedAsync(CallVaultApp app)
    {
        var client = await app.ClientForAsync();
        await client.ImportAsync(
            Phone("p1", "agent_a", "ended", Base + 1000)
                .With("from_number", "+15550001").With("to_number", "+15559001")
                .With("end_timestamp", Base + 61_000)
                .With("disconnection_reason", "user_hangup")
                .With("call_analysis", new JsonObject { ["user_sentiment"] = "Positive", ["call_successful"] = true, ["in_voicemail"] = false })
                .With("latency", new JsonObject { ["e2e"] = new JsonObject { ["p50"] = 800, ["p90"] = 900 } }),
            Phone("p2", "agent_b", "error", Base + 2000)
                .With("direction", "outbound")
                .With("from_number", "+15550002").With("to_number", "+15559002")
                .With("end_timestamp", Base + 32_000)
                .With("disconnection_reason", "dial_busy")
                .With("call_analysis", new JsonObject { ["user_sentiment"] = "Negative", ["call_successful"] = false, ["in_voicemail"] = true })
                .With("latency", new JsonObject { ["e2e"] = new JsonObject { ["p50"] = 1200.5 } }),
            Web("w1", "agent_a", "ongoing", Base + 3000)
                .With("disconnection_reason", "agent_hangup")
                .With("call_analysis", new JsonObject { ["user_sentiment"] = "Neutral", ["call_successful"] = true, ["in_voicemail"] = false })
                .With("latency", new JsonObject { ["e2e"] = new JsonObject { ["values"] = new JsonArray(100, 1000, 200, 300) } }),
            Web("w2", "agent_c", "registered"),
            Phone("p3", "agent_b", "ended", Base + 4000)
                .With("from_number", "+15550001").With("to_number", "+15559003")
                .With("end_timestamp", Base + 94_000)
                .With("disconnection_reason", "voicemail_reached"));
        return client;
    }

    static readonly (string Field, string Filter, string[] Expected)[] Cases =
    [
        // Each list field: one value, several values (OR), a value no call has.
        ("agent_id", """{"agent_id":["agent_a"]}""", ["w1", "p1"]),
        ("agent_id", """{"agent_id":["agent_a","agent_c"]}""", ["w2", "w1", "p1"]),
        ("agent_id", """{"agent_id":["agent_z"]}""", []),
        ("call_status", """{"call_status":["ended"]}""", ["p3", "p1"]),
        ("call_status", """{"call_status":["error","registered"]}""", ["w2", "p2"]),
        ("call_status", """{"call_status":["ongoing"]}""", ["w1"]),
        ("call_type", """{"call_type":["web_call"]}""", ["w2", "w1"]),
        ("call_type", """{"call_type":["phone_call"]}""", ["p3", "p2", "p1"]),
        ("call_type", """{"call_type":["phone_call","web_call"]}""", ["w2", "p3", "w1", "p2", "p1"]),
        // Web calls have no direction or numbers, so they never match these.
        ("direction", """{"direction":["inbound"]}""", ["p3", "p1"]),
        ("direction", """{"direction":["outbound"]}""", ["p2"]),
        ("direction", """{"direction":["inbound","outbound"]}""", ["p3", "p2", "p1"]),
        ("from_number", """{"from_number":["+15550001"]}""", ["p3", "p1"]),
        ("from_number", """{"from_number":["+15550002","+15550001"]}""", ["p3", "p2", "p1"]),
        ("from_number", """{"from_number":["15550001"]}""", []),
        ("to_number", """{"to_number":["+15559002"]}""", ["p2"]),
        ("to_number", """{"to_number":["+15559001","+15559003"]}""", ["p3", "p1"]),
        ("to_number", """{"to_number":["+15550001"]}""", []),
        // The analysis fields live in call_analysis: p3 and w2 have none and never match.
        ("user_sentiment", """{"user_sentiment":["Positive"]}""", ["p1"]),
        ("user_sentiment", """{"user_sentiment":["Negative","Neutral"]}""", ["w1", "p2"]),
        ("user_sentiment", """{"user_sentiment":["Unknown"]}""", []),
        ("user_sentiment", """{"user_sentiment":["Negative","Neutral","Positive","Unknown"]}""", ["w1", "p2", "p1"]),
        ("call_successful", """{"call_successful":[true]}""", ["w1", "p1"]),
        ("call_successful", """{"call_successful":[false]}""", ["p2"]),
        ("call_successful", """{"call_successful":[true,false]}""", ["w1", "p2", "p1"]),
        ("in_voicemail", """{"in_voicemail":[true]}""", ["p2"]),
        ("in_voicemail", """{"in_voicemail":[false]}""", ["w1", "p1"]),
        ("in_voicemail", """{"in_voicemail":[false,true]}""", ["w1", "p2", "p1"]),
        ("disconnection_reason", """{"disconnection_reason":["user_hangup"]}""", ["p1"]),
        ("disconnection_reason", """{"disconnection_reason":["dial_busy","voicemail_reached"]}""", ["p3", "p2"]),
        ("disconnection_reason", """{"disconnection_reason":["inactivity"]}""", []),
        // Ranges, bounds inclusive. w2 has no start, so no start range matches it.
        ("start_timestamp", """{"start_timestamp":{"lower_threshold":1700000002000}}""", ["p3", "w1", "p2"]),
        ("start_timestamp", """{"start_timestamp":{"lower_threshold":1700000002001}}""", ["p3", "w1"]),
        ("start_timestamp", """{"start_timestamp":{"upper_threshold":1700000002000}}""", ["p2", "p1"]),
        ("start_timestamp", """{"start_timestamp":{"upper_threshold":1700000001999}}""", ["p1"]),
        ("start_timestamp", """{"start_timestamp":{"lower_threshold":1700000002000,"upper_threshold":1700000002000}}""", ["p2"]),
        ("start_timestamp", """{"start_timestamp":{"lower_threshold":1700000002001,"upper_threshold":1700000002999}}""", []),
        ("start_timestamp", """{"start_timestamp":{"lower_threshold":0}}""", ["p3", "w1", "p2", "p1"]),
        // Durations: p1 60000, p2 30000, p3 90000; w1 has no end and w2 no start, so they have none.
        ("duration_ms", """{"duration_ms":{"lower_threshold":60000}}""", ["p3", "p1"]),
        ("duration_ms", """{"duration_ms":{"lower_threshold":60001}}""", ["p3"]),
        ("duration_ms", """{"duration_ms":{"upper_threshold":60000}}""", ["p2", "p1"]),
        ("duration_ms", """{"duration_ms":{"upper_threshold":59999}}""", ["p2"]),
        ("duration_ms", """{"duration_ms":{"lower_threshold":30000,"upper_threshold":30000}}""", ["p2"]),
        ("duration_ms", """{"duration_ms":{"lower_threshold":0}}""", ["p3", "p2", "p1"]),
        // e2e p50: p1 800, p2 1200.5, w1 250 (median of 100, 200, 300, 1000); p3 and w2 have no latency.
        ("e2e_latency_p50", """{"e2e_latency_p50":{"lower_threshold":800,"upper_threshold":800}}""", ["p1"]),
        ("e2e_latency_p50", """{"e2e_latency_p50":{"lower_threshold":800.001}}""", ["p2"]),
        ("e2e_latency_p50", """{"e2e_latency_p50":{"upper_threshold":1200.5}}""", ["w1", "p2", "p1"]),
        ("e2e_latency_p50", """{"e2e_latency_p50":{"upper_threshold":1200.49}}""", ["w1", "p1"]),
        ("e2e_latency_p50", """{"e2e_latency_p50":{"lower_threshold":250,"upper_threshold":250}}""", ["w1"]),
        ("e2e_latency_p50", """{"e2e_latency_p50":{"upper_threshold":249.99}}""", []),
        ("e2e_latency_p50", """{"e2e_latency_p50":{"lower_threshold":0}}""", ["w1", "p2", "p1"]),
        // AND across fields.
        ("agent_id+call_status", """{"agent_id":["agent_b"],"call_status":["ended"]}""", ["p3"]),
        ("direction+user_sentiment", """{"direction":["inbound"],"user_sentiment":["Positive","Negative"]}""", ["p1"]),
        ("call_type+call_successful", """{"call_type":["web_call"],"call_successful":[true,false]}""", ["w1"]),
        ("agent_id+start_timestamp+duration_ms", """{"agent_id":["agent_a","agent_b"],"start_timestamp":{"lower_threshold":1700000001500},"duration_ms":{"upper_threshold":90000}}""", ["p3", "p2"]),
        ("from_number+to_number", """{"from_number":["+15550001"],"to_number":["+15559002"]}""", []),
        // Empty lists, empty ranges and an empty filter constrain nothing.
        ("empty", """{}""", ["w2", "p3", "w1", "p2", "p1"]),
        ("empty lists", """{"agent_id":[],"call_status":[],"call_type":[],"direction":[],"from_number":[],"to_number":[],"user_sentiment":[],"call_successful":[],"in_voicemail":[],"disconnection_reason":[]}""", ["w2", "p3", "w1", "p2", "p1"]),
        ("empty list with another field", """{"direction":[],"agent_id":["agent_b"]}""", ["p3", "p2"]),
        ("null lists", """{"agent_id":null,"direction":null}""", ["w2", "p3", "w1", "p2", "p1"]),
    ];

    public static TheoryData<string> Fields => [.. Cases.Select(c => c.Field).Distinct()];

    /// <summary>One app per field; each case of that field is checked against the same seeded calls.</summary>
    [Theory]
    [MemberData(nameof(Fields))]
    public async Task AFilterReturnsExactlyTheMatchingCallsInOrder(string field)
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await SeedAsync(app);
        foreach (var (_, filter, expected) in Cases.Where(c => c.Field == field))
        {
            var ids = await client.ListIdsAsync($$"""{"filter_criteria":{{filter}}}""");
            Assert.True(expected.SequenceEqual(ids), $"{filter}: expected [{string.Join(",", expected)}], got [{string.Join(",", ids)}]");
        }
    }

    [Fact]
    public async Task AFilterAppliesInAscendingOrderToo()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await SeedAsync(app);
        Assert.Equal(["p1", "p2", "w1", "p3", "w2"], await client.ListIdsAsync("""{"sort_order":"ascending"}"""));
        Assert.Equal(["p1", "p3"], await client.ListIdsAsync("""{"sort_order":"ascending","filter_criteria":{"direction":["inbound"]}}"""));
        Assert.Equal(["p1", "w1"], await client.ListIdsAsync("""{"sort_order":"ascending","filter_criteria":{"call_successful":[true]}}"""));
    }

    [Fact]
    public async Task ACallMatchesAgainAfterAnUpdateFillsInTheTestedValue()
    {
        await using var app = await CallVaultApp.StartAsync();
        var client = await SeedAsync(app);
        // p3 gains an analysis on re-import: the columns the filters read follow the document.
        await client.ImportAsync(Phone("p3", "agent_b", "ended", Base + 4000)
            .With("call_analysis", new JsonObject { ["user_sentiment"] = "Positive" }));
        Assert.Equal(["p3", "p1"], await client.ListIdsAsync("""{"filter_criteria":{"user_sentiment":["Positive"]}}"""));
        Assert.Equal(["p3"], await client.ListIdsAsync("""{"filter_criteria":{"to_number":["+14155550199"]}}"""));
        Assert.Empty(await client.ListIdsAsync("""{"filter_criteria":{"to_number":["+15559003"]}}"""));
    }
}
