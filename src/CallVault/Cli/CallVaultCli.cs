using Spectre.Console.Cli;

namespace CallVault.Cli;

/// <summary>The command line: <c>serve</c> runs the API, the other verbs administer the store.</summary>
static class CallVaultCli
{
    public static Task<int> RunAsync(string[] args)
    {
        // No verb, only --Key=Value pairs: host configuration, as ASP.NET Core's test host passes it. Serve.
        if (args.Length == 0 || args.All(a => a.StartsWith("--", StringComparison.Ordinal) && a.Contains('=', StringComparison.Ordinal)))
            return ServeCommand.RunAsync(args, database: null, urls: null, printFirstKey: false, CancellationToken.None);
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.SetApplicationName("CallVault");
            config.PropagateExceptions();
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
        });
        return RunCatchingAsync(app, args);
    }

    static async Task<int> RunCatchingAsync(CommandApp app, string[] args)
    {
        try
        {
            return await app.RunAsync(args);
        }
        catch (CommandParseException ex)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}");
            return 2;
        }
        catch (CommandRuntimeException ex)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}");
            return 2;
        }
        catch (CliUsageException ex)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}");
            return 2;
        }
    }
}

/// <summary>A command line that asks for something impossible; exits with code 2.</summary>
sealed class CliUsageException(string message) : Exception(message);
