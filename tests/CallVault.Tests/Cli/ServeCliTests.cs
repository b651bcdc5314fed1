using System.Net;
using System.Text;
using CallVault.Tests.Infrastructure;

namespace CallVault.Tests.Cli;

/// <summary>The serve verb through the real executable.</summary>
public class ServeCliTests
{
    [Fact]
    public async Task ServeTakesUnknownSectionOptionsAsHostConfiguration()
    {
        using var folder = new SqliteFolder();
        await using var server = await CallVaultProcess.ServeAsync(folder.DatabasePath, "--CallVault:MaxBodyBytes=2000");
        var key = await server.WaitForLineAsync(line => line.StartsWith("cv_", StringComparison.Ordinal));
        var client = server.ClientWithKey(key);
        var body = """{"limit": 5}""" + new string(' ', 2500);

        var tooLarge = await client.PostAsync("/v2/list-calls", new StringContent(body, Encoding.UTF8, "application/json"));
        var small = await client.PostAsync("/v2/list-calls", new StringContent("""{"limit": 5}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        Assert.Contains("2000", await tooLarge.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
    }
}
