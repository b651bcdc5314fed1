using System.Net;
using System.Text.RegularExpressions;
using CallVault.Store;
using CallVault.Tests.Infrastructure;
using static CallVault.Tests.Infrastructure.CallJson;

namespace CallVault.Tests.Cli;

/// <summary>The keys verbs, run as the real executable against the same database as a server.</summary>
public partial class KeysCliTests
{
    [GeneratedRegex("^cv_[0-9a-f]{48}$")]
    private static partial Regex KeyLine();

    static async Task<string> CreateKeyAsync(string database, string workspace)
    {
        var result = await CallVaultProcess.RunAsync(["keys", "create", "--workspace", workspace, "--db", database]);
        Assert.True(result.ExitCode == 0, result.ToString());
        var last = result.StdoutLines[^1];
        Assert.Matches(KeyLine(), last);
        return last;
    }

    [Fact]
    public async Task KeysCreatePrintsTheKeyAloneOnTheLastLineAndTheKeyWorksAgainstAServerOnTheSameDatabase()
    {
        await using var app = await CallVaultApp.StartAsync();
        var key = await CreateKeyAsync(app.Database, "cli_ws");
        var client = app.ClientWithKey(key);
        await client.ImportAsync(Phone("c1", start: Base));
        Assert.Equal(["c1"], await client.ListIdsAsync());

        // A second key of the same workspace sees the same calls; a key of another workspace does not.
        var same = app.ClientWithKey(await CreateKeyAsync(app.Database, "cli_ws"));
        Assert.Equal(["c1"], await same.ListIdsAsync());
        var other = await app.ClientForAsync("other_ws");
        Assert.Empty(await other.ListIdsAsync());
    }

    [Fact]
    public async Task KeysCreateReadsTheDatabaseFromCallVaultDb()
    {
        await using var app = await CallVaultApp.StartAsync();
        var result = await CallVaultProcess.RunAsync(["keys", "create", "--workspace", "env_ws"], new Dictionary<string, string?> { ["CALLVAULT_DB"] = app.Database });
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(HttpStatusCode.OK, (await app.ClientWithKey(result.StdoutLines[^1]).PostJsonAsync("/v2/list-calls", "{}")).StatusCode);
    }

    [Fact]
    public async Task KeysListShowsWorkspacesAndPrefixesButNeverAWholeKey()
    {
        await using var app = await CallVaultApp.StartAsync();
        var first = await CreateKeyAsync(app.Database, "list_one");
        var second = await CreateKeyAsync(app.Database, "list_two");

        var result = await CallVaultProcess.RunAsync(["keys", "list", "--db", app.Database]);
        Assert.True(result.ExitCode == 0, result.ToString());
        var output = result.Stdout + result.Stderr;
        foreach (var key in new[] { first, second })
        {
            Assert.Contains(key[..ApiKeys.PrefixLength], output);
            Assert.DoesNotContain(key, output);
            Assert.DoesNotContain(key[ApiKeys.PrefixLength..(ApiKeys.PrefixLength + 8)], output);
        }
        Assert.Contains("list_one", output);
        Assert.Contains("list_two", output);
    }

    [Fact]
    public async Task KeysRevokeMakesTheKeyUnauthorizedAndLeavesOtherKeysWorking()
    {
        await using var app = await CallVaultApp.StartAsync();
        var doomed = await CreateKeyAsync(app.Database, "revoke_ws");
        var kept = await CreateKeyAsync(app.Database, "revoke_ws");
        var client = app.ClientWithKey(doomed);
        Assert.Equal(HttpStatusCode.OK, (await client.PostJsonAsync("/v2/list-calls", "{}")).StatusCode);

        var result = await CallVaultProcess.RunAsync(["keys", "revoke", doomed[..ApiKeys.PrefixLength], "--db", app.Database]);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain(doomed, result.Stdout + result.Stderr);

        // A server remembers a valid key for ApiKeyCache.Lifetime (documented): revocation takes effect after it.
        await Task.Delay(CallVault.Auth.ApiKeyCache.Lifetime + TimeSpan.FromMilliseconds(200));
        await Api.AssertErrorAsync(await client.PostJsonAsync("/v2/list-calls", "{}"), HttpStatusCode.Unauthorized);
        Assert.Equal(HttpStatusCode.OK, (await app.ClientWithKey(kept).PostJsonAsync("/v2/list-calls", "{}")).StatusCode);

        // Revoking it again, or a prefix that names no key, fails with a message.
        foreach (var prefix in new[] { doomed[..ApiKeys.PrefixLength], "cv_000000000" })
        {
            var again = await CallVaultProcess.RunAsync(["keys", "revoke", prefix, "--db", app.Database]);
            Assert.True(again.ExitCode != 0, again.ToString());
            Assert.Contains(prefix, again.Stdout + again.Stderr);
        }
    }

    [Fact]
    public async Task HelpOnEveryVerbExitsZeroAndDescribesTheVerb()
    {
        string[][] verbs =
        [
            [], ["serve"], ["keys"], ["keys", "create"], ["keys", "list"], ["keys", "revoke"],
            ["webhook-key"], ["webhook-key", "set"], ["calls"], ["calls", "list"], ["calls", "get"], ["calls", "delete"],
            ["sync"], ["export"], ["import"],
        ];
        var results = await Task.WhenAll(verbs.Select(verb => CallVaultProcess.RunAsync([.. verb, "--help"])));
        for (var i = 0; i < verbs.Length; i++)
        {
            var verb = string.Join(' ', verbs[i]);
            Assert.True(results[i].ExitCode == 0, $"{verb} --help: {results[i]}");
            Assert.Contains("USAGE", results[i].Stdout, StringComparison.OrdinalIgnoreCase);
        }
        Assert.Contains("--db", results[1].Stdout);
        Assert.Contains("--urls", results[1].Stdout);
        Assert.Contains("--workspace", results[3].Stdout);
        Assert.Contains("PREFIX", results[5].Stdout);
    }

    [Fact]
    public async Task KeysCreateWithoutAWorkspaceFailsWithAMessageAndCreatesNoKey()
    {
        using var folder = new SqliteFolder();
        var result = await CallVaultProcess.RunAsync(["keys", "create", "--db", folder.DatabasePath]);
        Assert.True(result.ExitCode != 0, result.ToString());
        Assert.Contains("--workspace", result.Stdout + result.Stderr);
        Assert.DoesNotMatch(KeyLine(), string.Join('\n', result.StdoutLines.Select(l => l.Trim())));
        Assert.DoesNotContain("cv_", result.Stdout);
    }
}
