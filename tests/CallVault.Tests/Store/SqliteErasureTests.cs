using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using CallVault.Tests.Infrastructure;
using static CallVault.Tests.Infrastructure.CallJson;

namespace CallVault.Tests.Store;

/// <summary>
/// Erasure is real: once delete-call or an opt-out has answered, the removed text cannot be found in the
/// SQLite database file or its WAL. Each test plants unique strings, checks that they are in the files, erases,
/// then searches the files' bytes.
/// </summary>
public class SqliteErasureTests
{
    sealed record Planted(string Transcript, string Utterance, string ToolCall, string RecordingUrl, string LogUrl, string FromNumber, string ToNumber)
    {
        public static Planted New()
        {
            var tag = Guid.NewGuid().ToString("N");
            var digits = string.Concat(Guid.NewGuid().ToByteArray().Take(5).Select(b => (b % 10).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            return new Planted($"TRANSCRIPT{tag}", $"UTTERANCE{tag}", $"TOOLCALL{tag}", $"https://recordings.example/{tag}.wav",
                $"https://logs.example/{tag}.txt", $"+1999{digits}01", $"+1888{digits}02");
        }

        public string[] Sensitive => [Transcript, Utterance, ToolCall, RecordingUrl, LogUrl];
        public string[] All => [.. Sensitive, FromNumber, ToNumber];

        /// <summary>A call holding every planted string; the transcript is long enough to spill into overflow pages.</summary>
        public JsonObject Call(string callId) => Phone(callId, start: Base)
            .With("from_number", FromNumber).With("to_number", ToNumber)
            .With("transcript", Transcript + " " + string.Concat(Enumerable.Repeat("lorem ipsum ", 800)) + Transcript)
            .With("transcript_object", new JsonArray(new JsonObject { ["role"] = "user", ["content"] = Utterance }))
            .With("transcript_with_tool_calls", new JsonArray(new JsonObject { ["role"] = "tool_call_invocation", ["tool_call_id"] = "t1", ["name"] = "x", ["arguments"] = ToolCall }))
            .With("recording_url", RecordingUrl)
            .With("public_log_url", LogUrl);
    }

    static List<string> Occurrences(SqliteFolder folder, IEnumerable<string> texts)
    {
        var files = folder.ReadFiles();
        var found = new List<string>();
        foreach (var text in texts)
            foreach (var (name, bytes) in files)
                if (bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0)
                    found.Add($"{text} in {name}");
        return found;
    }

    static void AssertPlanted(SqliteFolder folder, IEnumerable<string> texts)
    {
        var found = Occurrences(folder, texts);
        foreach (var text in texts)
            Assert.True(found.Any(f => f.StartsWith(text + " in", StringComparison.Ordinal)), $"{text} was never written to the files, so the test proves nothing");
    }

    /// <summary>Neighbours on the same pages, so that erasure has to clear space inside pages that stay in use.</summary>
    static async Task ImportNeighboursAsync(HttpClient client) =>
        await client.ImportAsync([.. Enumerable.Range(0, 40).Select(i => Phone($"neighbour_{i:D2}", start: Base + i).With("transcript", $"neighbour text {i}"))]);

    [Fact]
    public async Task DeleteCallLeavesNoneOfTheCallsTextInTheDatabaseOrItsWal()
    {
        using var folder = new SqliteFolder();
        await using var app = await CallVaultApp.StartAsync(folder.AppSettings);
        var client = await app.ClientForAsync();
        var planted = Planted.New();
        await ImportNeighboursAsync(client);
        await client.ImportAsync(planted.Call("doomed"));
        await ImportNeighboursAsync(client);
        AssertPlanted(folder, planted.All);

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/v2/delete-call/doomed")).StatusCode);

        Assert.Empty(Occurrences(folder, planted.All));
        Assert.Equal(40, await client.CountAllAsync());
    }

    [Fact]
    public async Task DeleteCallErasesTheTextEvenWhileOtherClientsKeepReading()
    {
        using var folder = new SqliteFolder();
        await using var app = await CallVaultApp.StartAsync(folder.AppSettings);
        var client = await app.ClientForAsync();
        var planted = Planted.New();
        await ImportNeighboursAsync(client);
        await client.ImportAsync(planted.Call("doomed"));
        AssertPlanted(folder, planted.All);

        // Readers that never pause hold WAL snapshots open; the erasure must still get the WAL emptied.
        using var stop = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            var reads = 0;
            while (!stop.IsCancellationRequested)
            {
                using var page = await client.PostAsync("/v2/list-calls", new StringContent("""{"limit":1000}""", Encoding.UTF8, "application/json"));
                reads++;
            }
            return reads;
        })).ToArray();
        await Task.Delay(200);
        var deleted = await client.DeleteAsync("/v2/delete-call/doomed");
        await stop.CancelAsync();
        var reads = await Task.WhenAll(readers);

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.All(reads, r => Assert.True(r > 1));
        Assert.Empty(Occurrences(folder, planted.All));
    }

    [Fact]
    public async Task OptingOutThroughUpdateCallLeavesNoneOfTheSensitiveTextInTheFiles()
    {
        using var folder = new SqliteFolder();
        await using var app = await CallVaultApp.StartAsync(folder.AppSettings);
        var client = await app.ClientForAsync();
        var planted = Planted.New();
        await ImportNeighboursAsync(client);
        await client.ImportAsync(planted.Call("private"));
        // Later versions of the call (still opted in) leave older copies of the text behind in the WAL.
        await Api.OkJsonAsync(await client.PatchJsonAsync("/v2/update-call/private", """{"metadata":{"v":1}}"""));
        await Api.OkJsonAsync(await client.PatchJsonAsync("/v2/update-call/private", """{"metadata":{"v":2}}"""));
        AssertPlanted(folder, planted.Sensitive);

        await Api.OkJsonAsync(await client.PatchJsonAsync("/v2/update-call/private", """{"opt_out_sensitive_data_storage":true}"""));

        Assert.Empty(Occurrences(folder, planted.Sensitive));
        // Phone numbers are not among the sensitive fields: they stay.
        Assert.Equal(planted.FromNumber, (await client.GetCallAsync("private")).GetProperty("from_number").GetString());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task OptingOutByImportingTheCallAgainLeavesNoneOfTheSensitiveTextInTheFiles(bool resendSensitiveFields)
    {
        using var folder = new SqliteFolder();
        await using var app = await CallVaultApp.StartAsync(folder.AppSettings);
        var client = await app.ClientForAsync();
        var planted = Planted.New();
        await ImportNeighboursAsync(client);
        await client.ImportAsync(planted.Call("private"));
        AssertPlanted(folder, planted.Sensitive);

        var optedOut = resendSensitiveFields
            ? planted.Call("private").With("opt_out_sensitive_data_storage", true)
            : Phone("private", start: Base).With("opt_out_sensitive_data_storage", true);
        await client.ImportAsync(optedOut);

        Assert.Empty(Occurrences(folder, planted.Sensitive));
    }

    [Fact]
    public async Task ACallImportedAlreadyOptedOutNeverWritesItsSensitiveText()
    {
        using var folder = new SqliteFolder();
        await using var app = await CallVaultApp.StartAsync(folder.AppSettings);
        var client = await app.ClientForAsync();
        var planted = Planted.New();
        await client.ImportAsync(planted.Call("private").With("opt_out_sensitive_data_storage", true));
        Assert.Empty(Occurrences(folder, planted.Sensitive));
        AssertPlanted(folder, [planted.FromNumber]);
    }
}
