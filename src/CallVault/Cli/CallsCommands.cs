using CallVault.Client;
using Spectre.Console;
using Spectre.Console.Cli;

namespace CallVault.Cli;

/// <summary><c>calls get ID</c>: the whole call as indented JSON.</summary>
sealed class CallsGetCommand(IAnsiConsole console, StandardError stderr) : AsyncCommand<CallIdSettings>
{
    public override ValidationResult Validate(CommandContext context, CallIdSettings settings) => CallsSettings.NoUnknownArguments(context);

    public override Task<int> ExecuteAsync(CommandContext context, CallIdSettings settings, CancellationToken cancellationToken) =>
        CallsErrors.ReportAsync(stderr, settings, async () =>
        {
            var call = await settings.CreateClient().GetCallAsync(settings.CallId, cancellationToken);
            // Straight to the writer: Spectre's own WriteLine would wrap long lines at the terminal's width.
            await console.Profile.Out.Writer.WriteAsync(CallsOutput.Indented(call) + "\n");
            await console.Profile.Out.Writer.FlushAsync(cancellationToken);
            return 0;
        });
}

/// <summary><c>calls delete ID</c>: deletes the call and all its data.</summary>
sealed class CallsDeleteCommand(IAnsiConsole console, StandardError stderr) : AsyncCommand<CallIdSettings>
{
    public override ValidationResult Validate(CommandContext context, CallIdSettings settings) => CallsSettings.NoUnknownArguments(context);

    public override Task<int> ExecuteAsync(CommandContext context, CallIdSettings settings, CancellationToken cancellationToken) =>
        CallsErrors.ReportAsync(stderr, settings, async () =>
        {
            await settings.CreateClient().DeleteCallAsync(settings.CallId, cancellationToken);
            console.WriteLine($"Deleted call {settings.CallId}.");
            return 0;
        });
}

/// <summary>A failed request ends a <c>calls</c> verb with the server's message on standard error and exit code 1.</summary>
static class CallsErrors
{
    public static async Task<int> ReportAsync(StandardError stderr, CallsSettings settings, Func<Task<int>> run)
    {
        string message;
        try
        {
            return await run();
        }
        catch (CallVaultApiException ex)
        {
            message = $"{ex.ServerMessage ?? ex.StatusCode.ToString()} (HTTP {(int)ex.StatusCode})";
        }
        catch (HttpRequestException ex)
        {
            message = $"cannot reach {settings.ServerUrl}: {ex.Message}";
        }
        catch (TimeoutException ex)
        {
            message = $"{settings.ServerUrl} did not answer: {ex.Message}";
        }
        await stderr.Writer.WriteLineAsync($"error: {message}");
        return 1;
    }
}
