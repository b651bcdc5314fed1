using System.Diagnostics;
using System.Text.Json;
using CallVault.Store;
using CallVault.Store.Sqlite;

namespace CallVault.Bench;

/// <summary>
/// Where the import's CPU goes, in-process and single-threaded on a temporary SQLite store: parsing the
/// request body, validating and preparing each call (CallDocuments.Prepare), and the store's upsert. Process
/// CPU time per call, after a first batch that warms the JIT. Run by <c>bench/run.sh --profile-import</c>.
/// </summary>
static class ImportProfile
{
    public static async Task RunAsync(int calls, int batchSize)
    {
        var generator = new CallGenerator(calls);
        var folder = Directory.CreateTempSubdirectory("callvault-import-profile-");
        try
        {
            await using var store = new SqliteCallStore(Path.Combine(folder.FullName, "profile.db"));
            await store.MigrateAsync(CancellationToken.None);
            var workspace = await store.GetOrCreateWorkspaceAsync("profile", CancellationToken.None);
            TimeSpan parse = default, prepare = default, upsert = default;
            var measured = 0;
            for (var from = 0; from < calls; from += batchSize)
            {
                var to = Math.Min(calls, from + batchSize);
                var body = generator.Batch(from, to, []);
                var t0 = Cpu();
                using var document = JsonDocument.Parse(body, WireJson.DocumentOptions);
                var t1 = Cpu();
                var prepared = document.RootElement.EnumerateArray().Select(CallDocuments.Prepare).ToList();
                var t2 = Cpu();
                await store.UpsertCallsAsync(workspace.Id, prepared, CancellationToken.None);
                var t3 = Cpu();
                if (from == 0)
                    continue; // JIT warm-up
                parse += t1 - t0;
                prepare += t2 - t1;
                upsert += t3 - t2;
                measured += to - from;
            }
            double Us(TimeSpan t) => t.TotalMicroseconds / Math.Max(1, measured);
            Console.WriteLine($"| import CPU per call, in-process (parse / validate+prepare / SQLite upsert) | {Us(parse):F0} / {Us(prepare):F0} / {Us(upsert):F0} µs | |");
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            folder.Delete(recursive: true);
        }
    }

    static TimeSpan Cpu() => Process.GetCurrentProcess().TotalProcessorTime;
}
