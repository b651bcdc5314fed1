using System.ComponentModel;
using CallVault.Store;
using Spectre.Console;
using Spectre.Console.Cli;

namespace CallVault.Cli;

sealed class KeysCreateCommand(IAnsiConsole console) : AsyncCommand<KeysCreateCommand.Settings>
{
    public sealed class Settings : StoreSettings
    {
        [CommandOption("--workspace <NAME>")]
        [Description("The workspace the key belongs to; created if it does not exist.")]
        public string? Workspace { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Workspace) ? ValidationResult.Error("--workspace NAME is required") : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var store = await CallStores.OpenAsync(settings.Database, cancellationToken);
        var key = await ApiKeys.CreateAsync(store, settings.Workspace!, cancellationToken);
        console.WriteLine($"Created an API key for workspace '{settings.Workspace}'. It is shown once:");
        // Alone on the last line, so that scripts can take it with `tail -n 1`.
        console.WriteLine(key);
        return 0;
    }
}

sealed class KeysListCommand(IAnsiConsole console) : AsyncCommand<StoreSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, StoreSettings settings, CancellationToken cancellationToken)
    {
        await using var store = await CallStores.OpenAsync(settings.Database, cancellationToken);
        var keys = await store.ListApiKeysAsync(cancellationToken);
        var table = new Table().AddColumns("workspace", "key prefix", "created", "revoked");
        foreach (var key in keys)
            table.AddRow(
                Markup.Escape(key.Workspace),
                key.Prefix,
                key.CreatedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture),
                key.RevokedAt?.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) ?? "");
        console.Write(table);
        return 0;
    }
}

sealed class KeysRevokeCommand(IAnsiConsole console) : AsyncCommand<KeysRevokeCommand.Settings>
{
    public sealed class Settings : StoreSettings
    {
        [CommandArgument(0, "<PREFIX>")]
        [Description("The key prefix shown by `keys list` (the first 12 characters of the key).")]
        public string Prefix { get; init; } = "";
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var store = await CallStores.OpenAsync(settings.Database, cancellationToken);
        if (!await store.RevokeApiKeyAsync(settings.Prefix, cancellationToken))
        {
            console.MarkupLineInterpolated($"[red]No live key with prefix {settings.Prefix}.[/]");
            return 1;
        }
        console.WriteLine($"Revoked key {settings.Prefix}.");
        return 0;
    }
}
