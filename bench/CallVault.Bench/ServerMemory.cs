namespace CallVault.Bench;

/// <summary>What the server process has used so far, from /proc (Linux): peak memory, CPU time, read calls, page faults.</summary>
static class ServerMemory
{
    public static double PeakMb(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line[6..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) / 1024.0;
        return double.NaN;
    }

    /// <summary>CPU time (user + system) the server process has used so far, in seconds.</summary>
    public static double CpuSeconds(int pid) => CpuSeconds(StatFields(pid));

    // Fields 14 and 15 of /proc/PID/stat, in clock ticks.
    static double CpuSeconds(string[] fields) =>
        (long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture)) / 100.0;

    /// <summary>
    /// Read system calls the server has made so far (<c>syscr</c> of /proc/PID/io): SQLite's reads of pages that are
    /// not in its own cache (overflow pages always: SQLite reads them past its cache). The runtime receives from
    /// sockets with calls that this does not count.
    /// </summary>
    public static long ReadCalls(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/io"))
            if (line.StartsWith("syscr:", StringComparison.Ordinal))
                return long.Parse(line[6..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        return 0;
    }

    /// <summary>
    /// Minor page faults of the server so far (field 10 of /proc/PID/stat): memory it touches for the first time,
    /// or again after giving it back. Each costs a trip into the kernel, and on a virtual machine more.
    /// </summary>
    static long PageFaults(string[] fields) => long.Parse(fields[7], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary><see cref="CpuSeconds(int)"/> and <see cref="PageFaults(string[])"/> from one read of /proc/PID/stat.</summary>
    public static (double CpuSeconds, long PageFaults) CpuAndPageFaults(int pid)
    {
        var fields = StatFields(pid);
        return (CpuSeconds(fields), PageFaults(fields));
    }

    /// <summary>
    /// Waits until the server has used at most 20 ms of CPU in half a second (the clock ticks are 10 ms), or
    /// <paramref name="limit"/> has passed; returns how long it waited. After a burst of load the runtime goes on
    /// working for a while (a background collection of what the burst allocated, threads the pool retires), and
    /// on 2 cores that would show in the first sequential timings rather than in the load that caused it.
    /// </summary>
    public static async Task<TimeSpan> WaitUntilIdleAsync(int pid, TimeSpan limit)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var before = CpuSeconds(pid);
        while (clock.Elapsed < limit)
        {
            await Task.Delay(500);
            var now = CpuSeconds(pid);
            if (now - before <= 0.02)
                break;
            before = now;
        }
        return clock.Elapsed;
    }

    /// <summary>Starts a new peak (writing 5 to clear_refs resets VmHWM), so that serving is measured apart from importing.</summary>
    public static void ResetPeak(int pid)
    {
        try
        {
            File.WriteAllText($"/proc/{pid}/clear_refs", "5");
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>The fields of /proc/PID/stat from the third on (index 0 is field 3); the command name (field 2) may hold spaces.</summary>
    static string[] StatFields(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    }
}
