using System.Globalization;
using System.Text;

namespace CallVault.Bench;

/// <summary>The numbers of one benchmark run on one store, printed as a Markdown table.</summary>
sealed class Report(BenchOptions options)
{
    readonly List<(string Shape, int Limit, ShapeTiming Timing, double? RowsRead)> _shapes = [];

    public double JsonBytesPerCall { get; set; }
    public double ImportCallsPerSecond { get; set; }
    public double ImportServerCpuMsPerCall { get; set; }
    public double DiskBytesPerCall { get; set; }
    public double ImportPeakMemoryMb { get; set; }
    public double ServePeakMemoryMb { get; set; }
    public int FixedAnswerBytes { get; set; }
    public LoadResult? Mixed { get; set; }
    public LoadResult? Fixed { get; set; }

    /// <summary>The fixed answer's sequential requests at page 50: the round trip when the answer costs the server nothing.</summary>
    public ShapeTiming? Floor { get; set; }

    /// <summary>Every sequential request over its page size's target, in the order they ran.</summary>
    public IReadOnlyList<SlowRequest> Slow { get; set; } = [];

    /// <summary>How many sequential requests were timed, the floor's included.</summary>
    public long TimedRequests { get; set; }

    /// <summary>The kernel's DAMON threads during the sequential requests: how many, their CPU seconds, over how many seconds.</summary>
    public (int Threads, double CpuSeconds, double Seconds) KernelReclaimer { get; set; }

    sealed record ImportNumbers(double JsonBytesPerCall, double CallsPerSecond, double CpuMsPerCall, double PeakMemoryMb);

    public void SaveImport(string file) =>
        File.WriteAllText(file, System.Text.Json.JsonSerializer.Serialize(new ImportNumbers(JsonBytesPerCall, ImportCallsPerSecond, ImportServerCpuMsPerCall, ImportPeakMemoryMb)));

    /// <summary>The numbers of the import phase, or zeros when there was none (a store imported earlier).</summary>
    public void LoadImport(string file)
    {
        if (!File.Exists(file))
            return;
        var n = System.Text.Json.JsonSerializer.Deserialize<ImportNumbers>(File.ReadAllText(file))!;
        (JsonBytesPerCall, ImportCallsPerSecond, ImportServerCpuMsPerCall, ImportPeakMemoryMb) = (n.JsonBytesPerCall, n.CallsPerSecond, n.CpuMsPerCall, n.PeakMemoryMb);
    }

    public void Add(string shape, int limit, ShapeTiming timing, double? rowsRead) =>
        _shapes.Add((shape, limit, timing, rowsRead));

    public void Print()
    {
        var s = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        s.AppendLine(inv, $"### {options.Store}, {options.Calls:N0} calls");
        s.AppendLine();
        s.AppendLine("| measure | value | target |");
        s.AppendLine("|---|---|---|");
        s.AppendLine(inv, $"| import through POST /v2/import-calls | {ImportCallsPerSecond:N0} calls/s | >= 15,000 (SQLite) |");
        s.AppendLine(inv, $"| server CPU time per imported call | {ImportServerCpuMsPerCall * 1000:N0} µs | |");
        s.AppendLine(inv, $"| JSON bytes per call | {JsonBytesPerCall:N0} | |");
        s.AppendLine(inv, $"| bytes on disk per call | {DiskBytesPerCall:N0} ({DiskBytesPerCall / JsonBytesPerCall:F2}x JSON) | <= 1.2x |");
        if (Mixed is { } mixed && Fixed is { } fixedLoad)
        {
            s.AppendLine(inv, $"| mixed page-50 list-calls, {LoadGenerator.Connections} connections (rounds alternating with the fixed answer) | {mixed.RequestsPerSecond:N0} req/s, worst round's p99 {mixed.P99Ms:F1} ms, {mixed.Errors} errors | |");
            s.AppendLine(inv, $"| fixed {FixedAnswerBytes / 1024.0:N0} kB answer, same load | {fixedLoad.RequestsPerSecond:N0} req/s, worst round's p99 {fixedLoad.P99Ms:F1} ms, {fixedLoad.Errors} errors | |");
            s.AppendLine(inv, $"| ratio mixed / fixed | {mixed.RequestsPerSecond / fixedLoad.RequestsPerSecond:F2} | >= 0.30 |");
        }
        if (options.Store == "postgres")
            s.AppendLine(inv, $"| the server's connection to PostgreSQL | {(options.Transport == "unix" ? "Unix socket" : "TCP on loopback")} | |");
        s.AppendLine(inv, $"| server peak memory (VmHWM) while serving | {ServePeakMemoryMb:N0} MB | < 300 MB |");
        s.AppendLine(inv, $"| server peak memory (VmHWM) during the import | {ImportPeakMemoryMb:N0} MB | |");
        var (threads, cpu, seconds) = KernelReclaimer;
        s.AppendLine(threads == 0
            ? "| kernel memory reclaimer (DAMON) during the sequential requests | not running | |"
            : string.Create(inv, $"| kernel memory reclaimer (DAMON) during the sequential requests | running: {cpu * 1000:N0} ms of CPU in {seconds:F0} s, in bursts | |"));
        s.AppendLine();
        var order = options.Order == RequestOrder.Interleaved
            ? "interleaved (request i of every shape, the fixed answer among the page-50 ones, then request i + 1 of every shape), after 20 untimed rounds"
            : "one shape after the other, each after 20 untimed requests of its own, the fixed answer last";
        s.AppendLine(inv, $"Sequential requests over loopback, {options.Requests} per row, {order}, after a warm-up of the server (every shape 50 times at both page sizes, then 5 s of the mixed load); rows read = rows the database visited per row returned; server CPU, read calls and page faults = the server process's CPU time, read system calls and minor page faults, read after every request and summed over the row's requests, divided by their number (CPU time includes whatever else the server did meanwhile, such as the runtime's background work, so it can overstate the cost of one request under load; the read calls are SQLite's reads from the file, overflow pages included, which bypass its cache; socket receives are not counted: the fixed answer makes none); store ms = the server's own time in the store per request (median, from its Server-Timing header); read with documents = pages whose documents the store read from the database (every page on SQLite; on PostgreSQL the others come from the process's document cache, which keeps the documents of a list's first page from its first visit on, of a page of a walk from its second).");
        s.AppendLine();
        s.AppendLine("| shape | page | median ms | p99 ms | rows | rows read per row | store ms | read with documents | server CPU µs per request | read calls per request | page faults per request |");
        s.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var row in _shapes)
        {
            var (t, target) = (row.Timing, row.Limit == 50 ? 5.0 : 60.0);
            var flag = t.P99 < target ? "" : " (over)";
            var read = row.RowsRead is { } r ? r.ToString("F2", inv) : "-";
            s.AppendLine(inv, $"| {row.Shape} | {row.Limit} | {t.Median:F2} | {t.P99:F2}{flag} | {t.Rows} | {read} | {t.Sources.StoreColumn} | {t.Sources.ReadColumn} | {t.CpuMicroseconds:N0} | {t.ReadCalls:N0} | {t.PageFaults:N1} |");
        }
        if (Floor is { } f)
            s.AppendLine(inv, $"| (floor: fixed answer of the same size) | 50 | {f.Median:F2} | {f.P99:F2} | {f.Rows} | - | - | - | {f.CpuMicroseconds:N0} | {f.ReadCalls:N0} | {f.PageFaults:N1} |");
        s.AppendLine();
        s.AppendLine(inv, $"Sequential requests over their page size's target (5 ms at page 50, 60 ms at page 1000): {Slow.Count} of {TimedRequests:N0}{(Slow.Count == 0 ? "." : ", in the order they ran, with the requests just before and after each:")}");
        foreach (var slow in Slow.Take(30))
            s.AppendLine(inv, $"- {slow}");
        if (Slow.Count > 30)
            s.AppendLine(inv, $"- and {Slow.Count - 30} more");
        var text = s.ToString();
        Console.WriteLine(text);
        if (options.Output is { } file)
            File.AppendAllText(file, text + Environment.NewLine);
    }
}
