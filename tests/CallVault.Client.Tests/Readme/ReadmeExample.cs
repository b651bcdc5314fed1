// The README's C# example. It is compiled here; ReadmeTests checks that both READMEs show exactly these lines.
using CallVault.Client;

namespace CallVault.Client.Tests.Readme;

static class ReadmeExample
{
    public static async Task MainAsync()
    {
        // README example begins
        var client = new CallVaultClient("YOUR_RETELL_API_KEY");
        var calls = await client.ListCallsAsync();
        foreach (var call in calls)
            Console.WriteLine($"{call.CallId} {call.CallStatus} {call.StartTime}");
        // README example ends
    }
}
