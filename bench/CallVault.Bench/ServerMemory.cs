namespace CallVault.Bench;

/// <summary>Peak resident memory of the server process, from /proc (Linux).</summary>
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
    public static double CpuSeconds(int pid)
    {
        // Fields 14 and 15 of /proc/PID/stat, in clock ticks; the command name (field 2) may hold spaces.
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture)) / 100.0;
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
}
