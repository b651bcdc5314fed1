namespace CallVault.Bench;

/// <summary>
/// The kernel's DAMON threads (<c>kdamond.N</c>), which some virtual machines run to find and page out memory that
/// is not in use, for the host. On this benchmark's machine one samples the whole physical memory every 0.5 s and
/// holds one of the 2 cores each time, from a few microseconds to tens of milliseconds (perf sched), and a request
/// in flight then waits for a core: one source of the page-50 p99s of sequential requests (bench/RESULTS.md,
/// "What session 15 measured"). The report says whether such a thread ran during the timed requests and how
/// much CPU it took, so that every run tells what it was measured beside; <c>bench/run.sh --pause-damon</c>
/// pauses them for a run.
/// </summary>
static class KernelReclaimer
{
    /// <summary>The process ids of the kernel's DAMON threads running now (none on most machines).</summary>
    public static IReadOnlyList<int> Threads()
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "comm")).StartsWith("kdamond", StringComparison.Ordinal))
                    pids.Add(pid);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // A process that ended meanwhile.
            }
        }
        return pids;
    }

    /// <summary>CPU time the threads have used so far, in seconds; threads that ended count for nothing.</summary>
    public static double CpuSeconds(IReadOnlyList<int> threads)
    {
        var total = 0.0;
        foreach (var pid in threads)
        {
            try
            {
                total += ServerMemory.CpuSeconds(pid);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }
        return total;
    }
}
