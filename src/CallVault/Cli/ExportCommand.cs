using System.ComponentModel;
using System.Text;
using System.Text.Json;
using CallVault.Client.Models;
using CallVault.Files;
using CallVault.Store;
using Spectre.Console;
using Spectre.Console.Cli;

namespace CallVault.Cli;

sealed class ExportCommand(StandardError stderr) : AsyncCommand<ExportCommand.Settings>
{
    const int PageSize = 1000;

    public sealed class Settings : StoreSettings
    {
        [CommandOption("--workspace <NAME>")]
        [Description("The workspace to export.")]
        public string? Workspace { get; init; }

        [CommandOption("--format <FORMAT>")]
        [Description("ndjson (one call per line, the default), json (an array, as list-calls answers) or csv (one row per call, for spreadsheets).")]
        [DefaultValue("ndjson")]
        public string Format { get; init; } = "ndjson";

        [CommandOption("--out <FILE>")]
        [Description("Where to write; standard output when omitted. The file appears only once complete.")]
        public string? Out { get; init; }

        [CommandOption("--filter <JSON>")]
        // Descriptions are Spectre markup: [[ and ]] print [ and ].
        [Description("A list-calls filter_criteria object, e.g. '{\"call_status\":[[\"ended\"]]}'.")]
        public string? Filter { get; init; }

        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(Workspace))
                return ValidationResult.Error("--workspace NAME is required");
            if (Format is not ("ndjson" or "json" or "csv"))
                return ValidationResult.Error($"--format must be ndjson, json or csv, got '{Format}'");
            return ValidationResult.Success();
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var filter = ParseFilter(settings.Filter);
        await using var store = await CallStores.OpenAsync(settings.Database, cancellationToken);
        var workspace = await store.FindWorkspaceAsync(settings.Workspace!, cancellationToken)
            ?? throw new CliUsageException($"there is no workspace '{settings.Workspace}' in {settings.Database}");

        var temporary = settings.Out is null ? null : settings.Out + ".partial";
        var count = 0;
        await using (var output = temporary is null ? Console.OpenStandardOutput() : File.Create(temporary))
        {
            var writer = new BufferedStream(output, 256 * 1024);
            await WriteAsync(writer, Prefix(settings.Format), cancellationToken);
            CallPosition? after = null;
            while (true)
            {
                // Keyset pages: one page in memory at a time, whatever the size of the workspace.
                var page = await store.ListCallsAsync(workspace.Id, new CallQuery(filter, Ascending: false, PageSize, after), cancellationToken);
                foreach (var doc in page)
                {
                    switch (settings.Format)
                    {
                        case "ndjson":
                            await writer.WriteAsync(doc, cancellationToken);
                            writer.WriteByte((byte)'\n');
                            break;
                        case "json":
                            await WriteAsync(writer, count == 0 ? "\n" : ",\n", cancellationToken);
                            await writer.WriteAsync(doc, cancellationToken);
                            break;
                        default:
                            await WriteAsync(writer, CallCsv.Row(doc), cancellationToken);
                            break;
                    }
                    count++;
                }
                if (page.Count < PageSize)
                    break;
                after = await store.FindPositionAsync(workspace.Id, CallIdOf(page[^1]), cancellationToken);
            }
            await WriteAsync(writer, settings.Format == "json" ? "\n]\n" : "", cancellationToken);
            await writer.FlushAsync(cancellationToken);
        }
        if (temporary is not null)
            File.Move(temporary, settings.Out!, overwrite: true);
        // Standard error, since standard output may be the export itself.
        await stderr.Writer.WriteLineAsync($"Exported {count} calls of workspace '{settings.Workspace}' as {settings.Format}{(settings.Out is null ? "" : " to " + settings.Out)}.");
        return 0;
    }

    static string Prefix(string format) => format switch
    {
        "json" => "[",
        "csv" => Encoding.UTF8.GetString(CallCsv.Preamble) + CallCsv.Header,
        _ => "",
    };

    static ValueTask WriteAsync(Stream stream, string text, CancellationToken ct) => stream.WriteAsync(Encoding.UTF8.GetBytes(text), ct);

    static string CallIdOf(byte[] document)
    {
        var reader = new Utf8JsonReader(document);
        using var doc = JsonDocument.ParseValue(ref reader);
        return doc.RootElement.GetProperty("call_id").GetString()!;
    }

    static CallFilter? ParseFilter(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
            return null;
        try
        {
            using var filter = JsonDocument.Parse(json, WireJson.DocumentOptions);
            if (filter.RootElement.ValueKind != JsonValueKind.Object)
                throw new CliUsageException("--filter must be a JSON object (a list-calls filter_criteria)");
            // Read through the list-calls request, so that the filter obeys exactly the API's rules.
            var request = JsonSerializer.Deserialize("{\"filter_criteria\":" + json + "}", CallVaultJsonContext.Default.ListCallsRequest);
            return request?.FilterCriteria;
        }
        catch (JsonException ex)
        {
            throw new CliUsageException($"--filter: {WireJson.Describe(ex)}");
        }
    }
}
