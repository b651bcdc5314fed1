using Spectre.Console;
using Spectre.Console.Cli;

namespace CallVault.Cli;

/// <summary>The command line: <c>serve</c> runs the API, the other verbs administer the store.</summary>
static class CallVaultCli
{
    public static Task<int> RunAsync(string[] args) =>
        RunAsync(args, AnsiConsole.Console, new StandardError(Console.Error, IsTerminal: !Console.IsErrorRedirected));

    /// <summary>Runs a command line on the given console and error stream (tests pass fakes of both).</summary>
    internal static Task<int> RunAsync(string[] args, IAnsiConsole console, StandardError stderr)
    {
        // No verb, only --Key=Value pairs: host configuration, as ASP.NET Core's test host passes it. Serve.
        if (args.Length == 0 || args.All(a => a.StartsWith("--", StringComparison.Ordinal) && a.Contains('=', StringComparison.Ordinal)))
            return ServeCommand.RunAsync(args, database: null, urls: null, printFirstKey: false, CancellationToken.None);
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.SetApplicationName("CallVault");
            config.PropagateExceptions();
            config.ConfigureConsole(console);
            config.Settings.Registrar.RegisterInstance(stderr);
            config.AddCommand<ServeCommand>("serve")
                .WithDescription("Runs the HTTP API.")
                .WithExample("serve", "--db", "./callvault.db", "--urls", "http://127.0.0.1:8080");
            config.AddBranch("keys", keys =>
            {
                keys.SetDescription("Manages API keys.");
                keys.AddCommand<KeysCreateCommand>("create").WithDescription("Creates an API key for a workspace (creating the workspace if needed) and prints it.");
                keys.AddCommand<KeysListCommand>("list").WithDescription("Lists workspaces and key prefixes, never whole keys.");
                keys.AddCommand<KeysRevokeCommand>("revoke").WithDescription("Revokes the key with the given prefix.");
            });
            config.AddBranch("webhook-key", webhook =>
            {
                webhook.SetDescription("Manages the Retell key that signs a workspace's webhooks.");
                webhook.AddCommand<WebhookKeySetCommand>("set").WithDescription("Sets the Retell API key that webhook signatures are checked with (never printed back).");
            });
            config.AddBranch("calls", calls =>
            {
                calls.SetDescription("Reads and deletes calls through the API of a server (CallVault's or Retell's).");
                calls.AddCommand<CallsListCommand>("list").WithDescription("Lists calls, filtered and sorted, one page or --all.")
                    .WithExample("calls", "list", "--status", "ended", "--since", "2024-05-01", "--all", "--format", "csv");
                calls.AddCommand<CallsGetCommand>("get").WithDescription("Prints one call as JSON.");
                calls.AddCommand<CallsDeleteCommand>("delete").WithDescription("Deletes a call and all its data.");
            });
            config.AddCommand<SyncCommand>("sync")
                .WithDescription("Copies every call of a Retell-compatible API into a workspace; resumable, rerun it any time.")
                .WithExample("sync", "--source", "https://api.retellai.com", "--source-key", "key_...", "--workspace", "acme");
            config.AddCommand<ExportCommand>("export")
                .WithDescription("Writes a workspace's calls, in list-calls order, as NDJSON, JSON or CSV.")
                .WithExample("export", "--workspace", "acme", "--format", "csv", "--out", "calls.csv");
            config.AddCommand<ImportCommand>("import")
                .WithDescription("Reads calls from a JSON array or NDJSON file into a workspace (upsert by call_id, in batches).")
                .WithExample("import", "calls.ndjson", "--workspace", "acme");
        });
        return RunCatchingAsync(app, args, stderr.Writer);
    }

    static async Task<int> RunCatchingAsync(CommandApp app, string[] args, TextWriter error)
    {
        string message;
        try
        {
            return await app.RunAsync(args);
        }
        catch (CommandParseException ex)
        {
            message = ex.Message;
        }
        catch (CommandRuntimeException ex)
        {
            message = ex.Message;
        }
        catch (CliUsageException ex)
        {
            message = ex.Message;
        }
        await error.WriteLineAsync($"error: {message}");
        await error.WriteLineAsync(Usage(args));
        return 2;
    }

    /// <summary>A usage line for the verb the arguments name (their leading words), pointing at its --help.</summary>
    static string Usage(string[] args)
    {
        var verb = string.Join(' ', args.TakeWhile(a => !a.StartsWith('-')).Take(2));
        var command = verb.Length == 0 ? "CallVault" : $"CallVault {verb}";
        return $"usage: {command} [OPTIONS]; run '{command} --help' for the arguments and options.";
    }
}

/// <summary>Where commands write errors and progress: standard error, or a test's writer.</summary>
sealed record StandardError(TextWriter Writer, bool IsTerminal);

/// <summary>A command line that asks for something impossible; exits with code 2.</summary>
sealed class CliUsageException(string message) : Exception(message);
