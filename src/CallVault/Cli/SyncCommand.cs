using System.ComponentModel;
using System.Globalization;
using CallVault.Store;
using CallVault.Sync;
using Spectre.Console;
using Spectre.Console.Cli;

namespace CallVault.Cli;

sealed class SyncCommand(IAnsiConsole console, StandardError stderr) : AsyncCommand<SyncCommand.Settings>
{
    public sealed class Settings : StoreSettings
    {
        [CommandOption("--source <URL>")]
        [Description("The Retell-compatible API to copy from: https://api.retellai.com, or another CallVault.")]
        public string? Source { get; init; }

        [CommandOption("--source-key <KEY>")]
        [Description("The API key of the source; sent to the source only. Default: $CALLVAULT_SOURCE_KEY.")]
        public string? SourceKey { get; init; }

        [CommandOption("--workspace <NAME>")]
        [Description("The local workspace to copy into; created if it does not exist.")]
        public string? Workspace { get; init; }

        [CommandOption("--since <UNIX_MS>")]
        [Description("Only calls that started at or after this time (Unix milliseconds).")]
        public long? Since { get; init; }

        [CommandOption("--page-size <N>")]
        [Description("Calls per list-calls page, 1 to 1000. Default: 1000.")]
        [DefaultValue(1000)]
        public int PageSize { get; init; } = 1000;

        [CommandOption("--give-up-after <SECONDS>")]
        [Description("How long one request may keep failing (429, 5xx, network) before sync stops. Default: 300.")]
        [DefaultValue(300)]
        public int GiveUpAfter { get; init; } = 300;

        [CommandOption("--restart")]
        [Description("Walk the source from its first call again instead of resuming after the last one copied (nothing is doubled).")]
        public bool Restart { get; init; }

        public string? Key => string.IsNullOrEmpty(SourceKey) ? Environment.GetEnvironmentVariable("CALLVAULT_SOURCE_KEY") : SourceKey;

        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(Source))
                return ValidationResult.Error("--source URL is required");
            if (string.IsNullOrWhiteSpace(Workspace))
                return ValidationResult.Error("--workspace NAME is required");
            if (string.IsNullOrEmpty(Key))
                return ValidationResult.Error("--source-key KEY (or $CALLVAULT_SOURCE_KEY) is required");
            if (PageSize is < 1 or > 1000)
                return ValidationResult.Error("--page-size must be between 1 and 1000");
            if (GiveUpAfter < 1)
                return ValidationResult.Error("--give-up-after must be at least 1 second");
            return ValidationResult.Success();
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var sourceUri = SourceClient.ParseSource(settings.Source);
        await using var store = await CallStores.OpenAsync(settings.Database, cancellationToken);
        var workspace = await store.GetOrCreateWorkspaceAsync(settings.Workspace!, cancellationToken);
        using var source = new SourceClient(sourceUri, settings.Key!, TimeSpan.FromSeconds(settings.GiveUpAfter));
        var started = DateTime.UtcNow;
        // A progress line (on standard error) only for a person watching; logs and pipes get the summary alone.
        var progress = new CallsProgress(stderr, enabled: true);
        var sync = new CallSync(store, workspace.Id, source, sourceUri, settings.PageSize, settings.Since)
        {
            Restart = settings.Restart,
            Progress = copied => progress.Show($"{copied.ToString("N0", CultureInfo.InvariantCulture)} calls copied ({Rate(copied, DateTime.UtcNow - started)} calls/s)"),
        };
        try
        {
            var result = await sync.RunAsync(cancellationToken);
            progress.Clear();
            // Unwrapped, whatever the width: one summary line that scripts and logs can read.
            console.Profile.Out.Writer.WriteLine($"Synced {settings.Workspace} from {sourceUri.GetLeftPart(UriPartial.Authority)}: {result.Copied} calls copied, " +
                $"{result.Refreshed} unfinished calls refreshed, in {result.Elapsed.TotalSeconds:0.0}s ({Rate(result.Copied, result.Elapsed)} calls/s).");
            return 0;
        }
        catch (SyncException ex)
        {
            progress.Clear();
            await stderr.Writer.WriteLineAsync($"sync failed: {ex.Message}");
            return 1;
        }
    }

    static string Rate(int copied, TimeSpan elapsed) =>
        (copied / Math.Max(elapsed.TotalSeconds, 0.001)).ToString("0", CultureInfo.InvariantCulture);
}
