using System.Text;
using System.Text.Json.Nodes;
using CallVault.Cli;
using CallVault.Store;
using CallVault.Tests.Infrastructure;

namespace CallVault.Tests.Files;

public class FileTests : IAsyncLifetime
{
    TestDatabase _source = null!;
    TestDatabase _target = null!;
    string _folder = null!;

    public async Task InitializeAsync()
    {
        _source = await TestDatabase.CreateAsync();
        _target = await TestDatabase.CreateAsync();
        _folder = Directory.CreateTempSubdirectory("callvault-files-").FullName;
    }

    public async Task DisposeAsync()
    {
        await _source.DisposeAsync();
        await _target.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>Calls that exercise the formats: 2,300 (more than two export pages), plus odd ones.</summary>
    static List<JsonObject> Calls()
    {
        var calls = SampleCalls.Generate(2300);
        calls[5]["opt_out_sensitive_data_storage"] = true;
        calls[5].Remove("transcript");
        var registered = new JsonObject { ["call_id"] = "registered_1", ["agent_id"] = "agent_9", ["call_type"] = "phone_call", ["call_status"] = "registered", ["direction"] = "outbound" };
        calls.Add(registered);
        calls[10]["future_field_from_a_newer_api"] = new JsonObject { ["kept"] = true };
        return calls;
    }

    async Task<Dictionary<string, string>> DumpAsync(string db)
    {
        await using var store = await CallStores.OpenAsync(db, CancellationToken.None);
        return await SampleCalls.DumpAsync(store, "acme");
    }

    async Task SeedSourceAsync(IReadOnlyList<JsonObject> calls)
    {
        await using var store = await CallStores.OpenAsync(_source.ConnectionString, CancellationToken.None);
        await SampleCalls.SeedAsync(store, "acme", calls);
    }

    [Theory]
    [InlineData("ndjson")]
    [InlineData("json")]
    public async Task ExportThenImportIntoAnEmptyWorkspaceGivesTheSameCallsFieldForField(string format)
    {
        await SeedSourceAsync(Calls());
        var file = Path.Combine(_folder, "calls." + format);
        Assert.Equal(0, await CallVaultCli.RunAsync(["export", "--workspace", "acme", "--db", _source.ConnectionString, "--format", format, "--out", file]));
        Assert.False(File.Exists(file + ".partial"));
        Assert.Equal(0, await CallVaultCli.RunAsync(["import", file, "--workspace", "acme", "--db", _target.ConnectionString]));

        var expected = await DumpAsync(_source.ConnectionString);
        var actual = await DumpAsync(_target.ConnectionString);
        Assert.Equal(2301, expected.Count);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task AJsonExportIsTheArrayListCallsAnswersInListCallsOrder()
    {
        await SeedSourceAsync(SampleCalls.Generate(1500));
        var file = Path.Combine(_folder, "calls.json");
        Assert.Equal(0, await CallVaultCli.RunAsync(["export", "--workspace", "acme", "--db", _source.ConnectionString, "--format", "json", "--out", file]));
        var array = JsonNode.Parse(await File.ReadAllTextAsync(file))!.AsArray();
        var starts = array.Select(c => (long)c!["start_timestamp"]!).ToList();
        Assert.Equal(1500, starts.Count);
        Assert.Equal(starts.OrderDescending(), starts); // list-calls' default order: newest first
    }

    [Fact]
    public async Task ACsvExportHasOneRfc4180RowPerCallWithAnalysisColumnsAndTheTranscript()
    {
        var calls = Calls();
        await SeedSourceAsync(calls);
        var file = Path.Combine(_folder, "calls.csv");
        Assert.Equal(0, await CallVaultCli.RunAsync(["export", "--workspace", "acme", "--db", _source.ConnectionString, "--format", "csv", "--out", file]));

        var bytes = await File.ReadAllBytesAsync(file);
        Assert.True(bytes.AsSpan().StartsWith(Encoding.UTF8.Preamble), "no UTF-8 byte order mark");
        var rows = Csv.Parse(Encoding.UTF8.GetString(bytes.AsSpan(3)));
        var header = rows[0];
        Assert.Equal(calls.Count + 1, rows.Count);
        Assert.All(rows, r => Assert.Equal(header.Count, r.Count));
        var byId = rows.Skip(1).ToDictionary(r => r[header.IndexOf("call_id")]);
        string Cell(string id, string column) => byId[id][header.IndexOf(column)];

        var c1 = calls[1];
        Assert.Equal((string)c1["transcript"]!, Cell("call_000001", "transcript")); // quotes, comma, newline, UTF-8
        Assert.Equal("Summary of call 1, with a comma", Cell("call_000001", "call_summary"));
        Assert.Equal("Neutral", Cell("call_000001", "user_sentiment"));
        Assert.Equal("false", Cell("call_000001", "call_successful"));
        Assert.Equal("""{"score":1}""", Cell("call_000001", "custom_analysis_data"));
        Assert.Equal("""{"n":1,"tags":["a","b"]}""", Cell("call_000001", "metadata"));
        Assert.Equal("31000", Cell("call_000001", "duration_ms"));
        Assert.Equal("2023-11-14T22:14:20.000Z", Cell("call_000001", "start_time_utc"));
        Assert.Equal("801", Cell("call_000001", "e2e_latency_p50"));
        Assert.Equal("", Cell("call_000005", "transcript"));
        Assert.Equal("true", Cell("call_000005", "opt_out_sensitive_data_storage"));
        Assert.Equal("registered", Cell("registered_1", "call_status"));
        Assert.Equal("", Cell("registered_1", "start_timestamp"));
    }

    [Fact]
    public async Task AFilteredExportHoldsOnlyTheMatchingCallsAndABadFilterIsRefused()
    {
        await SeedSourceAsync(SampleCalls.Generate(300));
        var file = Path.Combine(_folder, "errors.ndjson");
        Assert.Equal(0, await CallVaultCli.RunAsync(["export", "--workspace", "acme", "--db", _source.ConnectionString, "--filter", """{"call_status":["error"],"agent_id":["agent_1"]}""", "--out", file]));
        var lines = await File.ReadAllLinesAsync(file);
        Assert.Equal(SampleCalls.Generate(300).Count(c => (string)c["call_status"]! == "error" && (string)c["agent_id"]! == "agent_1"), lines.Length);
        Assert.All(lines, l => Assert.Contains("\"call_status\":\"error\"", l, StringComparison.Ordinal));

        Assert.Equal(2, await CallVaultCli.RunAsync(["export", "--workspace", "acme", "--db", _source.ConnectionString, "--filter", """{"call_status":["finished"]}""", "--out", file]));
        Assert.Equal(2, await CallVaultCli.RunAsync(["export", "--workspace", "acme", "--db", _source.ConnectionString, "--filter", """{"agent":["a"]}""", "--out", file]));
    }

    [Theory]
    [InlineData("ndjson", "line 24 (call call_000023)")]
    [InlineData("json", "index 23 (call call_000023)")]
    public async Task AnImportWithABadRecordInTheMiddleStopsBeforeStoringThatBatch(string format, string where)
    {
        var calls = SampleCalls.Generate(40);
        calls[23]["call_status"] = "finished";
        var file = Path.Combine(_folder, "bad." + format);
        await File.WriteAllTextAsync(file, format == "ndjson"
            ? string.Concat(calls.Select(c => c.ToJsonString() + "\n"))
            : new JsonArray([.. calls.Select(c => c.DeepClone())]).ToJsonString());

        var stderr = new StringWriter();
        var code = await CallVaultCli.RunAsync(["import", file, "--workspace", "acme", "--db", _target.ConnectionString, "--batch-size", "10"], Spectre.Console.AnsiConsole.Console, new StandardError(stderr, IsTerminal: false));
        Assert.Equal(1, code);
        Assert.Contains(where, stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("call_status", stderr.ToString(), StringComparison.Ordinal);
        var stored = await DumpAsync(_target.ConnectionString);
        // The two batches before the bad record's batch are in; nothing from its batch or after.
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"call_{i:D6}"), stored.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task AnImportLineThatIsNotJsonIsReportedWithItsLine()
    {
        var file = Path.Combine(_folder, "broken.ndjson");
        var calls = SampleCalls.Generate(3);
        await File.WriteAllTextAsync(file, calls[0].ToJsonString() + "\n\n" + "{\"call_id\": \n" + calls[2].ToJsonString() + "\n");
        var stderr = new StringWriter();
        Assert.Equal(1, await CallVaultCli.RunAsync(["import", file, "--workspace", "acme", "--db", _target.ConnectionString], Spectre.Console.AnsiConsole.Console, new StandardError(stderr, IsTerminal: false)));
        Assert.Contains("line 3: malformed JSON", stderr.ToString(), StringComparison.Ordinal);
        Assert.Empty(await DumpAsync(_target.ConnectionString));
    }

    [Fact]
    public async Task ImportingTheSameFileTwiceLeavesEveryCallOnce()
    {
        var file = Path.Combine(_folder, "calls.ndjson");
        await File.WriteAllTextAsync(file, string.Concat(SampleCalls.Generate(50).Select(c => c.ToJsonString() + "\n")));
        Assert.Equal(0, await CallVaultCli.RunAsync(["import", file, "--workspace", "acme", "--db", _target.ConnectionString]));
        var once = await DumpAsync(_target.ConnectionString);
        Assert.Equal(0, await CallVaultCli.RunAsync(["import", file, "--workspace", "acme", "--db", _target.ConnectionString]));
        Assert.Equal(once, await DumpAsync(_target.ConnectionString));
        Assert.Equal(50, once.Count);
    }
}

/// <summary>An RFC 4180 reader, strict: CRLF records, quoted fields with doubled quotes.</summary>
static class Csv
{
    public static List<List<string>> Parse(string text)
    {
        var rows = new List<List<string>>();
        var row = new List<string>();
        var field = new StringBuilder();
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] == '"')
            {
                i++;
                while (true)
                {
                    if (text[i] == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i += 2; }
                    else if (text[i] == '"') { i++; break; }
                    else field.Append(text[i++]);
                }
            }
            else if (text[i] == ',') { row.Add(field.ToString()); field.Clear(); i++; }
            else if (text[i] == '\r' && text[i + 1] == '\n') { row.Add(field.ToString()); field.Clear(); rows.Add(row); row = []; i += 2; }
            else
            {
                Assert.False(text[i] is '\r' or '\n', $"bare line break at {i}");
                field.Append(text[i++]);
            }
        }
        Assert.True(field.Length == 0 && row.Count == 0, "the last record does not end with CRLF");
        return rows;
    }
}
