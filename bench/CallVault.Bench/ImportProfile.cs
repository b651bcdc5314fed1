using System.Diagnostics;
using System.Text.Json;
using CallVault.Store;
using CallVault.Store.Sqlite;

namespace CallVault.Bench;

/// <summary>
/// Where the import's CPU goes, in-process and single-threaded on a temporary SQLite store: reading, validating
/// and preparing a request body (CallDocuments.TryPrepareAll, the path of valid bodies), the store's upsert,
/// and for comparison the element-by-element path (CallDocuments.Prepare). Process CPU time per call, after a
/// first batch that warms the JIT. Run by <c>bench/run.sh --profile-import</c>.
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
            TimeSpan prepare = default, elementPath = default, upsert = default;
            long prepareBytes = 0, upsertBytes = 0;
            var measured = 0;
            for (var from = 0; from < calls; from += batchSize)
            {
                var to = Math.Min(calls, from + batchSize);
                var body = generator.Batch(from, to, []);
                var t0 = Cpu();
                var a0 = GC.GetTotalAllocatedBytes(precise: true);
                var prepared = CallDocuments.TryPrepareAll(body, batchSize) ?? throw new InvalidOperationException("the fast path declined a generated batch");
                var t1 = Cpu();
                var a1 = GC.GetTotalAllocatedBytes(precise: true);
                await store.UpsertCallsAsync(workspace.Id, prepared, CancellationToken.None);
                var t2 = Cpu();
                var a2 = GC.GetTotalAllocatedBytes(precise: true);
                // The element-by-element path (JsonDocument, the whole Call model), which answers bodies with errors.
                using (var document = JsonDocument.Parse(body, WireJson.DocumentOptions))
                    _ = document.RootElement.EnumerateArray().Select(CallDocuments.Prepare).Count();
                var t3 = Cpu();
                if (from == 0)
                    continue; // JIT warm-up
                prepare += t1 - t0;
                upsert += t2 - t1;
                prepareBytes += a1 - a0;
                upsertBytes += a2 - a1;
                elementPath += t3 - t2;
                measured += to - from;
            }
            double Us(TimeSpan t) => t.TotalMicroseconds / Math.Max(1, measured);
            Console.WriteLine($"| import CPU per call, in-process (parse+validate+prepare / SQLite upsert) | {Us(prepare):F0} / {Us(upsert):F0} µs | |");
            Console.WriteLine($"| bytes allocated per call, in-process (prepare / SQLite upsert) | {prepareBytes / Math.Max(1, measured):N0} / {upsertBytes / Math.Max(1, measured):N0} | |");
            Console.WriteLine($"| the same, element by element (the path of bodies with errors) | {Us(elementPath):F0} µs | |");
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            folder.Delete(recursive: true);
        }
    }

    static TimeSpan Cpu() => Process.GetCurrentProcess().TotalProcessorTime;
}
