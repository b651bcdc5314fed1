using System.ComponentModel;
using CallVault.Files;
using CallVault.Store;
using Spectre.Console;
using Spectre.Console.Cli;

namespace CallVault.Cli;

sealed class ImportCommand(IAnsiConsole console, StandardError stderr) : AsyncCommand<ImportCommand.Settings>
{
    public sealed class Settings : StoreSettings
    {
        [CommandArgument(0, "<FILE>")]
        [Description("A JSON array of calls (as list-calls answers) or NDJSON (one call per line), as export writes them.")]
        public string File { get; init; } = "";

        [CommandOption("--workspace <NAME>")]
        [Description("The workspace to import into; created if it does not exist.")]
        public string? Workspace { get; init; }

        [CommandOption("--batch-size <N>")]
        [Description("Calls stored per transaction, 1 to 10000. Default: 1000.")]
        [DefaultValue(1000)]
        public int BatchSize { get; init; } = 1000;

        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(Workspace))
                return ValidationResult.Error("--workspace NAME is required");
            if (BatchSize is < 1 or > 10_000)
                return ValidationResult.Error("--batch-size must be between 1 and 10000");
            return ValidationResult.Success();
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (!System.IO.File.Exists(settings.File))
            throw new CliUsageException($"no file {settings.File}");
        await using var store = await CallStores.OpenAsync(settings.Database, cancellationToken);
        var workspace = await store.GetOrCreateWorkspaceAsync(settings.Workspace!, cancellationToken);
        await using var file = System.IO.File.OpenRead(settings.File);
        var batch = new List<PreparedCall>(settings.BatchSize);
        var imported = 0;
        try
        {
            await foreach (var record in CallFileReader.ReadAsync(file, cancellationToken))
            {
                try
                {
                    // The rules of POST /v2/import-calls, record by record.
                    batch.Add(CallDocuments.Prepare(record.Call));
                }
                catch (CallValidationException ex)
                {
                    throw new CallFileException($"{record.Where}{CallIdOf(record.Call)}: {ex.Message}");
                }
                if (batch.Count == settings.BatchSize)
                    imported += await FlushAsync(store, workspace.Id, batch, cancellationToken);
            }
            imported += await FlushAsync(store, workspace.Id, batch, cancellationToken);
        }
        catch (CallFileException ex)
        {
            await stderr.Writer.WriteLineAsync(
                $"import stopped at {settings.File} {ex.Message}. {imported} calls before that batch were imported; " +
                "the batch holding this record and everything after it were not. Fix the record and run import again (it upserts, so nothing is doubled).");
            return 1;
        }
        console.Profile.Out.Writer.WriteLine($"Imported {imported} calls into workspace '{settings.Workspace}'.");
        return 0;
    }

    static async Task<int> FlushAsync(ICallStore store, long workspaceId, List<PreparedCall> batch, CancellationToken ct)
    {
        if (batch.Count == 0)
            return 0;
        var count = await store.UpsertCallsAsync(workspaceId, batch, ct);
        batch.Clear();
        return count;
    }

    static string CallIdOf(System.Text.Json.JsonElement call) =>
        call.ValueKind == System.Text.Json.JsonValueKind.Object && call.TryGetProperty("call_id", out var id) && id.ValueKind == System.Text.Json.JsonValueKind.String
            ? $" (call {id.GetString()})"
            : "";
}
