using System.ComponentModel;
using CallVault.Hosting;
using CallVault.Store;
using Spectre.Console.Cli;

namespace CallVault.Cli;

sealed class ServeCommand : AsyncCommand<ServeCommand.Settings>
{
    public sealed class Settings : StoreSettings
    {
        public const string DefaultUrls = "http://127.0.0.1:8080";

        [CommandOption("--urls <URL>")]
        [Description("Where to listen. Default: $CALLVAULT_URLS, else http://127.0.0.1:8080.")]
        public string? Urls { get; init; }
    }

    public override Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken) =>
        RunAsync(HostArguments(context.Remaining), settings.ExplicitDatabase, settings.Urls ?? Environment.GetEnvironmentVariable("CALLVAULT_URLS"),
            printFirstKey: true, cancellationToken);

    /// <summary>
    /// Options Spectre does not know (such as <c>--CallVault:MaxImportCalls=20000</c>) are host configuration.
    /// Spectre hands them over split at the first ':' or '=' (name <c>--CallVault</c>, value
    /// <c>MaxImportCalls=20000</c>), so they are joined back: with ':' when the value still holds a '=' (a
    /// section path), else with '='. Anything after a <c>--</c> follows as it is.
    /// </summary>
    internal static string[] HostArguments(IRemainingArguments remaining) =>
    [
        .. remaining.Parsed.SelectMany(option => option
            .Where(value => value is not null)
            .Select(value => Option(option.Key) + (value!.Contains('=', StringComparison.Ordinal) ? ":" : "=") + value)),
        .. remaining.Raw,
    ];

    static string Option(string name) => name.StartsWith('-') ? name : "--" + name;

    /// <summary>
    /// The host's default watches its content root, the current folder, and every folder below it for changes to
    /// appsettings.json (inotify on Linux). The default store is <c>./callvault.db</c> in that folder, so every
    /// write to its WAL woke the watcher: 15% more server CPU per imported call (issue 3). The server reads its
    /// settings once at start; an argument given after this one can still turn the reload back on.
    /// </summary>
    internal const string NoConfigReload = "--hostBuilder:reloadConfigOnChange=false";

    public static async Task<int> RunAsync(string[] hostArgs, string? database, string? urls, bool printFirstKey, CancellationToken ct)
    {
        var builder = WebApplication.CreateBuilder([NoConfigReload, .. hostArgs]);
        if (!string.IsNullOrWhiteSpace(database))
            builder.Configuration[$"{CallVaultOptions.Section}:{nameof(CallVaultOptions.Database)}"] = database;
        builder.WebHost.UseUrls(string.IsNullOrWhiteSpace(urls) ? Settings.DefaultUrls : urls);
        builder.AddCallVault();

        // Disposed on the way out, and with it the store: SQLite copies its WAL back and removes it.
        await using var app = builder.Build();
        app.MapCallVault();
        await app.StartAsync(ct);
        if (printFirstKey)
            await PrintFirstKeyAsync(app.Services.GetRequiredService<ICallStore>(), ct);
        await app.WaitForShutdownAsync(ct);
        return 0;
    }

    /// <summary>On a new store, creates the workspace "default" with one key and shows that key once.</summary>
    static async Task PrintFirstKeyAsync(ICallStore store, CancellationToken ct)
    {
        if (await store.HasAnyApiKeyAsync(ct))
            return;
        var key = await ApiKeys.CreateAsync(store, "default", ct);
        Console.WriteLine("Created workspace 'default' with this API key (shown once, store it now):");
        Console.WriteLine(key);
    }
}
