using System.Runtime.InteropServices;

namespace CallVault.Store.Sqlite;

/// <summary>
/// How the C heap that SQLite allocates from keeps and gives back memory (glibc on Linux; nothing elsewhere).
/// </summary>
/// <remarks>
/// <para>
/// SQLite's page caches are thousands of small blocks from the C heap; glibc keeps freed blocks for reuse and
/// returns them only at the top of the heap, so a writer that has shrunk its cache after an import would
/// otherwise keep its peak size for the life of the process (measured: 595 MB resident before <see cref="Trim"/>,
/// 298 MB after).
/// </para>
/// <para>
/// The other way round, while serving: by default glibc gives memory back by itself whenever more than 128 kB is
/// free at the top of a heap. A list query with a materialized sub-query or a sorter builds a temporary table
/// with a page cache of its own and frees it when it ends, and that was often enough to cross the line: each
/// request's temporary pages were returned to the kernel and faulted in again by the next one. A page fault is
/// dear on a virtual machine (issue 3, session 9: 41 faults and about 1 ms of CPU per page of a latency range;
/// 2 faults with the line raised). <see cref="KeepFreedMemory"/> raises it, so only <see cref="Trim"/> gives
/// memory back.
/// </para>
/// </remarks>
static class NativeHeap
{
    /// <summary>Free memory at the top of a heap that glibc keeps for reuse instead of returning it.</summary>
    const int TrimThresholdBytes = 64 << 20;

    /// <summary>
    /// Blocks at least this large are mapped on their own and unmapped when freed. Setting the trim threshold turns
    /// off glibc's own raising of this one (it would otherwise follow the largest block freed), so it is set too:
    /// without it every block over 128 kB, such as a growing sorter of a page of 1000, would be mapped and faulted
    /// in afresh at each request.
    /// </summary>
    const int MmapThresholdBytes = 4 << 20;

    // mallopt's parameters (malloc.h).
    const int MTrimThreshold = -1;
    const int MMmapThreshold = -3;

    static int _configured;

    /// <summary>
    /// Lets freed memory stay in the heap for the next request (see the remarks); idempotent, once per process.
    /// </summary>
    public static void KeepFreedMemory()
    {
        if (!OperatingSystem.IsLinux() || Interlocked.Exchange(ref _configured, 1) == 1)
            return;
        try
        {
            MallOpt(MTrimThreshold, TrimThresholdBytes);
            MallOpt(MMmapThreshold, MmapThresholdBytes);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // not glibc (musl has no mallopt settings of these)
        }
    }

    /// <summary>Returns the free memory of every heap to the system.</summary>
    public static void Trim()
    {
        if (!OperatingSystem.IsLinux())
            return;
        try
        {
            MallocTrim(0);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // not glibc (musl has no malloc_trim, and returns freed memory on its own)
        }
    }

    // DllImport, not LibraryImport: the generated stub needs unsafe code, and ints and a nuint need no marshalling.
    [DllImport("libc", EntryPoint = "malloc_trim", ExactSpelling = true)]
    static extern int MallocTrim(nuint pad);

    [DllImport("libc", EntryPoint = "mallopt", ExactSpelling = true)]
    static extern int MallOpt(int parameter, int value);
}
