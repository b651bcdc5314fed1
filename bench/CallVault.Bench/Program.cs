using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CallVault.Bench;
using CallVault.Client.Models;

// The benchmark client: runs in its own process against a running `serve` (started by bench/run.sh), imports
// N synthetic calls through the API, times every query shape, measures rows read through a side channel to
// the database, runs the mixed load with wrk, and prints one table. Only 127.0.0.1 is ever a target.
// run.sh runs it twice, restarting the server in between: `--phase import`, then `--phase serve`, so that
// serving is measured on a server whose memory holds no leftovers of the import (both peaks are reported).
if (args is ["--profile-import", var profileCalls])
{
    await ImportProfile.RunAsync(int.Parse(profileCalls, CultureInfo.InvariantCulture), 2000);
    return 0;
}
var options = BenchOptions.Parse(args);
var report = new Report(options);
using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 8, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
{
    BaseAddress = new Uri(options.Url),
    Timeout = TimeSpan.FromMinutes(5),
};
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.Key);

var generator = new CallGenerator(options.Calls);
var order = new List<(string CallId, long Start)>(options.Calls);

// ---- import ----
if (options.Phase is "import" or "all")
{
    var batches = PrepareBatches(generator, options, order, out var jsonBytes);
    report.JsonBytesPerCall = (double)jsonBytes / options.Calls;
    Console.Error.WriteLine($"[{options.Store}] importing {options.Calls:N0} calls ({report.JsonBytesPerCall:N0} JSON bytes each) in {batches.Count} requests...");
    var cpuBefore = ServerMemory.CpuSeconds(options.ServerPid);
    var importClock = Stopwatch.StartNew();
    await ImportAsync(http, batches, options.ImportParallelism);
    importClock.Stop();
    report.ImportServerCpuMsPerCall = (ServerMemory.CpuSeconds(options.ServerPid) - cpuBefore) * 1000 / options.Calls;
    report.ImportCallsPerSecond = options.Calls / importClock.Elapsed.TotalSeconds;
    report.ImportPeakMemoryMb = ServerMemory.PeakMb(options.ServerPid);
    ServerMemory.ResetPeak(options.ServerPid);
    foreach (var batch in batches)
        File.Delete(batch);
    if (options.Phase == "import")
    {
        report.SaveImport(options.State);
        return 0;
    }
}
else
{
    report.LoadImport(options.State);
    for (var i = 0; i < options.Calls; i++)
        order.Add((generator.IdOf(i), generator.StartOf(i)));
}

await using var side = await DatabaseSideChannel.OpenAsync(options);
await side.AfterImportAsync();
report.DiskBytesPerCall = (double)await side.BytesOnDiskAsync() / options.Calls;
var warmClock = Stopwatch.StartNew();
var warmed = await side.WarmCacheAsync();
Console.Error.WriteLine($"  read the store into memory ({warmed / 1e6:N0} MB) in {warmClock.Elapsed.TotalSeconds:F1} s");

// The list order: start time descending, ties by call id in byte order.
order.Sort((a, b) => a.Start != b.Start ? b.Start.CompareTo(a.Start) : string.CompareOrdinal(b.CallId, a.CallId));
var deepIndex = Math.Min(9_999 * 50, options.Calls / 2) - 1;
var shapes = Shapes.All(generator, order[deepIndex].CallId);
await CheckOrderAsync(http, order, deepIndex);

// ---- the fixed answer: a page-50 list-calls answer, served as it is by /bench/fixed-answer ----
var bodies = shapes.Select(s => JsonSerializer.Serialize(s.Request(0, 50), CallVaultJsonContext.Default.ListCallsRequest)).ToList();
var sample = await http.PostAsync("/v2/list-calls", new StringContent(bodies[0], Encoding.UTF8, "application/json"));
var fixedAnswer = await sample.Content.ReadAsByteArrayAsync();
var upload = await http.PutAsync("/bench/fixed-answer", new ByteArrayContent(fixedAnswer));
upload.EnsureSuccessStatusCode();
report.FixedAnswerBytes = fixedAnswer.Length;

// ---- warm-up: every shape at both page sizes, then a short mixed load, so that the server's JIT has
// compiled its hot paths at full optimization (tiered compilation recompiles them in the background after
// about 30 calls, which on 2 cores shows as latency spikes) and the page cache holds the working set; then a
// wait until the server is idle, so that what the load left behind is not timed as sequential latency ----
var responseBuffer = new byte[8 << 20];
if (!options.Quick)
{
    Console.Error.WriteLine("  warming up (every shape x 50 requests at both page sizes, then 5 s of the mixed load)...");
    foreach (var limit in new[] { 50, 1000 })
        foreach (var shape in shapes)
            for (var i = 0; i < 50; i++)
                _ = await SequentialTimer.PostAsync(http, "/v2/list-calls", shape.Request(i, limit), responseBuffer);
    await new LoadGenerator(options).WarmUpAsync("/v2/list-calls", bodies, 5);
    var settled = await ServerMemory.WaitUntilIdleAsync(options.ServerPid, TimeSpan.FromSeconds(15));
    Console.Error.WriteLine($"  the server was idle again {settled.TotalSeconds:F1} s after the load");
}

// ---- sequential latency per shape ----
// One shape after the other by default, as in every run of record. With --order interleaved: request i of every
// shape, then request i + 1 of every shape, the fixed answer (the floor) among the page-50 ones, as users asking
// for different lists would; the document cache then holds fewer of each shape's pages (bench/RESULTS.md, "What
// session 19 measured").
var reclaimer = KernelReclaimer.Threads();
var reclaimerCpu = KernelReclaimer.CpuSeconds(reclaimer);
var sequentialClock = Stopwatch.StartNew();
var timer = new SequentialTimer(http, options.ServerPid, responseBuffer);
var floor = new TimedShape("(floor: fixed answer of the same size)", shapes[0], "/bench/fixed-answer");
var warmupRequests = options.Quick ? 3 : 20;
foreach (var limit in new[] { 50, 1000 })
{
    var timed = shapes.Select(s => new TimedShape(s.Name, s)).ToList();
    if (limit == 50 && options.Order == RequestOrder.Interleaved)
        timed.Add(floor);
    var requests = limit == 1000 && options.Quick ? Math.Min(options.Requests, 50) : options.Requests;
    var timings = await timer.RunAsync(timed, limit, requests, warmupRequests, options.Order, limit == 50 ? 5 : 60);
    for (var i = 0; i < timed.Count; i++)
    {
        var (shape, timing) = (timed[i], timings[i]);
        double? read = null;
        if (shape == floor)
        {
            report.Floor = timing;
        }
        else
        {
            read = await side.RowsReadAsync(shape.Shape.Request(0, limit));
            report.Add(shape.Name, limit, timing, read);
        }
        Console.Error.WriteLine($"  {shape.Name,-24} limit {limit,4}: median {timing.Median:F2} ms, p99 {timing.P99:F2} ms, {timing.Rows} rows, {read?.ToString("F2", CultureInfo.InvariantCulture) ?? "-"} read/row, server CPU {timing.CpuMicroseconds:F0} µs, {timing.ReadCalls:F0} read calls, {timing.PageFaults:F1} page faults per request; {timing.Sources}; slowest {timing.Slowest}");
    }
}
report.KernelReclaimer = (reclaimer.Count, KernelReclaimer.CpuSeconds(reclaimer) - reclaimerCpu, sequentialClock.Elapsed.TotalSeconds);

// The floor, one shape after the other: after every shape. The same round trip when the answer costs the server
// nothing.
if (options.Order == RequestOrder.Blocks)
    report.Floor = (await timer.RunAsync([floor], 50, options.Requests, warmupRequests, RequestOrder.Blocks, 5))[0];
(report.Slow, report.TimedRequests) = (timer.Slow, timer.Timed);
foreach (var slow in timer.Slow)
    Console.Error.WriteLine($"  over the target: {slow}");

// ---- mixed load vs the fixed answer ----
(report.Mixed, report.Fixed) = await new LoadGenerator(options).RunAlternatingAsync("/v2/list-calls", "/bench/fixed-answer", bodies, options.Quick ? 1 : 5);
report.ServePeakMemoryMb = ServerMemory.PeakMb(options.ServerPid);

report.Print();
return 0;

static List<string> PrepareBatches(CallGenerator generator, BenchOptions options, List<(string, long)> order, out long jsonBytes)
{
    // Generated before the clock starts, so that the import rate measures the server, not the generator.
    var files = new List<string>();
    jsonBytes = 0;
    for (var from = 0; from < options.Calls; from += options.BatchSize)
    {
        var bytes = generator.Batch(from, Math.Min(options.Calls, from + options.BatchSize), order);
        jsonBytes += bytes.Length - 2 - (Math.Min(options.Calls, from + options.BatchSize) - from - 1);
        var file = Path.Combine(options.WorkDir, $"batch-{from:D8}.json");
        File.WriteAllBytes(file, bytes);
        files.Add(file);
    }
    return files;
}

static async Task ImportAsync(HttpClient http, List<string> batches, int parallelism)
{
    await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (file, ct) =>
    {
        var content = new ByteArrayContent(await File.ReadAllBytesAsync(file, ct));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync("/v2/import-calls", content, ct);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"import failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
    });
}

// The first pages of the walk, the deep page and the ascending order must be exactly what the generator predicts.
static async Task CheckOrderAsync(HttpClient http, List<(string CallId, long Start)> order, int deepIndex)
{
    await Expect(new ListCallsRequest { Limit = 50 }, order.Take(50));
    await Expect(new ListCallsRequest { Limit = 50, PaginationKey = order[deepIndex].CallId }, order.Skip(deepIndex + 1).Take(50));
    await Expect(new ListCallsRequest { Limit = 50, SortOrder = SortOrder.Ascending }, Enumerable.Reverse(order).Take(50));

    async Task Expect(ListCallsRequest request, IEnumerable<(string CallId, long Start)> expected)
    {
        var ids = await ListIdsAsync(http, request);
        var want = expected.Select(e => e.CallId).ToList();
        if (!ids.SequenceEqual(want))
            throw new InvalidOperationException($"list-calls returned the wrong page for {JsonSerializer.Serialize(request, CallVaultJsonContext.Default.ListCallsRequest)}");
    }
}

static async Task<List<string>> ListIdsAsync(HttpClient http, ListCallsRequest request)
{
    using var response = await http.PostAsync("/v2/list-calls", new StringContent(JsonSerializer.Serialize(request, CallVaultJsonContext.Default.ListCallsRequest), Encoding.UTF8, "application/json"));
    response.EnsureSuccessStatusCode();
    using var doc = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
    return [.. doc.RootElement.EnumerateArray().Select(c => c.GetProperty("call_id").GetString()!)];
}

sealed record BenchOptions(string Url, string Key, int Calls, string Store, string Database, int ServerPid, int Requests,
    int LoadSeconds, bool Quick, RequestOrder Order, string Transport, string WorkDir, int BatchSize, int ImportParallelism, string? Output, string Phase, string State)
{
    public static BenchOptions Parse(string[] args)
    {
        var map = new Dictionary<string, string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
                throw new ArgumentException($"unexpected argument {args[i]}");
            var name = args[i][2..];
            map[name] = name is "quick" ? "true" : args[++i];
        }
        string Get(string name, string? fallback = null) => map.TryGetValue(name, out var v) ? v : fallback ?? throw new ArgumentException($"--{name} is required");
        var url = Get("url");
        if (!new Uri(url).IsLoopback || new Uri(url).Host != "127.0.0.1")
            throw new ArgumentException("the benchmark only targets 127.0.0.1");
        var quick = map.ContainsKey("quick");
        return new BenchOptions(
            url,
            Environment.GetEnvironmentVariable("CALLVAULT_BENCH_KEY") ?? throw new ArgumentException("CALLVAULT_BENCH_KEY is not set"),
            int.Parse(Get("calls", "1000000"), CultureInfo.InvariantCulture),
            Get("store", "sqlite"),
            Get("db"),
            int.Parse(Get("server-pid"), CultureInfo.InvariantCulture),
            int.Parse(Get("requests", quick ? "20" : "200"), CultureInfo.InvariantCulture),
            int.Parse(Get("load-seconds", quick ? "2" : "15"), CultureInfo.InvariantCulture),
            quick,
            Get("order", "blocks") switch
            {
                "interleaved" => RequestOrder.Interleaved,
                "blocks" => RequestOrder.Blocks,
                var other => throw new ArgumentException($"--order {other}: interleaved or blocks"),
            },
            Get("transport", "tcp"),
            Get("work"),
            int.Parse(Get("batch", "10000"), CultureInfo.InvariantCulture),
            int.Parse(Get("import-parallelism", "2"), CultureInfo.InvariantCulture),
            map.GetValueOrDefault("out"),
            Get("phase", "all"),
            Get("state", Path.Combine(Get("work"), "import.json")));
    }
}
