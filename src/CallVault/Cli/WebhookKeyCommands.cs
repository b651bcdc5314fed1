using System.ComponentModel;
using CallVault.Store;
using CallVault.Webhooks;
using Spectre.Console;
using Spectre.Console.Cli;

namespace CallVault.Cli;

sealed class WebhookKeySetCommand(IAnsiConsole console) : AsyncCommand<WebhookKeySetCommand.Settings>
{
    public sealed class Settings : StoreSettings
    {
        [CommandOption("--workspace <NAME>")]
        [Description("The workspace whose webhooks this key signs; created if it does not exist.")]
        public string? Workspace { get; init; }

        [CommandOption("--key <RETELL_KEY>")]
        [Description("The Retell API key that signs the webhooks. Omit it to read it from standard input (keeps it out of shell history).")]
        public string? Key { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Workspace) ? ValidationResult.Error("--workspace NAME is required") : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var key = (settings.Key ?? await Console.In.ReadLineAsync(cancellationToken))?.Trim();
        if (string.IsNullOrEmpty(key))
            throw new CliUsageException("no key given: pass --key RETELL_KEY or write it to standard input");
        await using var store = await CallStores.OpenAsync(settings.Database, cancellationToken);
        await WebhookKeys.SetAsync(store, settings.Workspace!, key, cancellationToken);
        // Never echo the key, not even in part.
        console.WriteLine($"Set the Retell webhook key of workspace '{settings.Workspace}'.");
        console.WriteLine($"Webhook URL: <this server>/webhooks/retell/{settings.Workspace}");
        return 0;
    }
}
