using System.Net;
using System.Text.Json.Nodes;
using CallVault.Tests.Infrastructure;
using static CallVault.Tests.Infrastructure.CallJson;

namespace CallVault.Tests.Store;

/// <summary>A write acknowledged with 2xx survives a kill of the server process; a resent batch adds nothing.</summary>
public class SqliteDurabilityTests
{
    static JsonObject[] Batch(string prefix, int count) =>
        [.. Enumerable.Range(0, count).Select(i => Phone($"{prefix}_{i:D3}", start: Base + i).With("transcript", $"words of {prefix} {i}"))];

    [Fact]
    public async Task CallsImportedRightBeforeAKillAreThereAfterARestartAndResendingAddsNoDuplicates()
    {
        using var folder = new SqliteFolder();
        string key;
        var first = Batch("first", 300);
        var second = Batch("second", 200);

        await using (var server = await CallVaultProcess.ServeAsync(folder.DatabasePath))
        {
            // A fresh store: serve creates the workspace "default" and prints its key once.
            key = await server.WaitForLineAsync(line => line.StartsWith("cv_", StringComparison.Ordinal));
            var client = server.ClientWithKey(key);
            await client.ImportAsync(first);
            await server.KillAsync();
        }

        await using (var server = await CallVaultProcess.ServeAsync(folder.DatabasePath))
        {
            var client = server.ClientWithKey(key);
            Assert.Equal(300, await client.CountAllAsync());
            Assert.Equal("words of first 7", (await client.GetCallAsync("first_007")).GetProperty("transcript").GetString());
            // The client never saw an answer for a resend in flight; it sends the batch again, plus more.
            await client.ImportAsync(first);
            await client.ImportAsync(second);
            Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/v2/delete-call/first_000")).StatusCode);
            await server.KillAsync();
        }

        await using (var server = await CallVaultProcess.ServeAsync(folder.DatabasePath))
        {
            var client = server.ClientWithKey(key);
            await client.ImportAsync(second);
            var all = await Paging.WalkAsync(client, "ascending", 1000);
            Assert.Equal(499, all.Count);
            Assert.Equal(all.Count, all.Distinct().Count());
            Assert.DoesNotContain("first_000", all);
            Assert.Equal(first.Skip(1).Concat(second).Select(c => (string)c["call_id"]!).Order(StringComparer.Ordinal), all.Order(StringComparer.Ordinal));
            // The key printed on the first start is not printed again: the store already has one.
            Assert.DoesNotContain("cv_", server.Output);
        }
    }

    [Fact]
    public async Task StoppingTheServerRightAfterAnImportLeavesEveryCallInTheDatabaseFileAndNoWal()
    {
        using var folder = new SqliteFolder();
        var calls = Batch("stop", 300);
        foreach (var call in calls)
            call["transcript"] = string.Concat(Enumerable.Repeat($"{call["call_id"]} says hello. ", 300));

        await using (var server = await CallVaultProcess.ServeAsync(folder.DatabasePath))
        {
            var key = await server.WaitForLineAsync(line => line.StartsWith("cv_", StringComparison.Ordinal));
            await server.ClientWithKey(key).ImportAsync(calls);
            Assert.Equal(0, await server.StopAsync());
        }

        Assert.False(File.Exists(folder.DatabasePath + "-wal"), "a stopped server should have copied its WAL back and removed it");
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={folder.DatabasePath};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var count = connection.CreateCommand();
        count.CommandText = "SELECT count(*) FROM calls";
        Assert.Equal(300L, await count.ExecuteScalarAsync());
    }
}
