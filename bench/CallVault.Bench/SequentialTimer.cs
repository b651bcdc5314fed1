using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CallVault.Client.Models;

namespace CallVault.Bench;

/// <summary>One row of the sequential timings: a shape's requests on list-calls, or on the fixed answer (the floor).</summary>
sealed record TimedShape(string Name, Shape Shape, string Path = "/v2/list-calls");

/// <summary>The order of the sequential requests of a page size.</summary>
enum RequestOrder
{
    /// <summary>All the requests of one shape, then all of the next (the default, and the order of every run of record).</summary>
    Blocks,

    /// <summary>
    /// Round by round: request i of every shape, then request i + 1 of every shape, as users asking for different
    /// lists would. A stall of the machine then slows the requests in flight during it, whichever shapes they are,
    /// and a shape's pages compete with every other shape's for the document cache.
    /// </summary>
    Interleaved,
}

/// <summary>
/// Times sequential requests over one HTTP connection: per shape, each round trip, the server's Server-Timing, and
/// the server process's CPU time, read calls and page faults (from /proc, read after every request, so that what
/// the server did between two requests is counted with the one that ended it).
/// </summary>
sealed class SequentialTimer(HttpClient http, int serverPid, byte[] buffer)
{
    long _sequence;

    /// <summary>Every timed request over the target of its page size, in the order they ran, with the ones either side of it.</summary>
    public List<SlowRequest> Slow { get; } = [];

    /// <summary>How many timed requests have run.</summary>
    public long Timed => _sequence;

    /// <param name="warmup">Untimed requests of each shape first (its request 0), in the same order.</param>
    /// <param name="targetMs">A request over this goes into <see cref="Slow"/>.</param>
    public async Task<IReadOnlyList<ShapeTiming>> RunAsync(IReadOnlyList<TimedShape> shapes, int limit, int requests, int warmup, RequestOrder order, double targetMs)
    {
        var recorders = shapes.Select(_ => new Recorder(requests)).ToArray();
        (string Shape, double Ms)? previous = null;
        var awaitingNext = false;
        var last = Usage.Read(serverPid);
        if (order == RequestOrder.Blocks)
        {
            for (var s = 0; s < shapes.Count; s++)
                for (var i = -warmup; i < requests; i++)
                    await OneAsync(s, i);
        }
        else
        {
            for (var i = -warmup; i < requests; i++)
                for (var s = 0; s < shapes.Count; s++)
                    await OneAsync(s, i);
        }
        return [.. recorders.Select(r => r.Finish())];

        async Task OneAsync(int s, int i)
        {
            var shape = shapes[s];
            var clock = Stopwatch.StartNew();
            var (length, header) = await PostAsync(http, shape.Path, shape.Shape.Request(Math.Max(i, 0), limit), buffer);
            clock.Stop();
            var now = Usage.Read(serverPid);
            var used = now - last;
            last = now;
            if (i < 0)
                return;
            var ms = clock.Elapsed.TotalMilliseconds;
            var served = ServerTiming.Parse(header);
            recorders[s].Add(ms, served, used, i == 0 ? CountTopLevel(buffer.AsMemory(0, length)) : null);
            // With its neighbours: a slow request whose neighbours were slow too was in a stall of the machine.
            if (awaitingNext)
                Slow[^1] = Slow[^1] with { After = (shape.Name, ms) };
            awaitingNext = ms > targetMs;
            if (awaitingNext)
                Slow.Add(new SlowRequest(_sequence, limit, shape.Name, ms, served, previous, null));
            previous = (shape.Name, ms);
            _sequence++;
        }
    }

    /// <summary>One request, the answer read into the caller's buffer: a fresh 240 kB (or 5 MB) array per answer would be garbage for the client's collector, whose pauses would then show in the timings.</summary>
    public static async Task<(int Length, string? ServerTiming)> PostAsync(HttpClient http, string path, ListCallsRequest request, byte[] buffer)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(request, CallVaultJsonContext.Default.ListCallsRequest));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var message = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead);
        await using var stream = await response.Content.ReadAsStreamAsync();
        var length = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer.AsMemory(length))) > 0)
            length += read;
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"{path}: {(int)response.StatusCode} {Encoding.UTF8.GetString(buffer, 0, length)}");
        return (length, response.Headers.TryGetValues("Server-Timing", out var values) ? values.FirstOrDefault() : null);
    }

    static int CountTopLevel(ReadOnlyMemory<byte> json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetArrayLength();
    }

    /// <summary>What the server process has used so far.</summary>
    readonly record struct Usage(double CpuSeconds, long ReadCalls, long PageFaults)
    {
        public static Usage Read(int pid)
        {
            var (cpu, faults) = ServerMemory.CpuAndPageFaults(pid);
            return new(cpu, ServerMemory.ReadCalls(pid), faults);
        }

        public static Usage operator -(Usage a, Usage b) => new(a.CpuSeconds - b.CpuSeconds, a.ReadCalls - b.ReadCalls, a.PageFaults - b.PageFaults);

        public static Usage operator +(Usage a, Usage b) => new(a.CpuSeconds + b.CpuSeconds, a.ReadCalls + b.ReadCalls, a.PageFaults + b.PageFaults);
    }

    /// <summary>One shape's timed requests, as they come.</summary>
    sealed class Recorder(int requests)
    {
        readonly List<double> _timings = new(requests);
        readonly List<ServerTiming?> _served = new(requests);
        Usage _used;
        int _rows;

        public void Add(double ms, ServerTiming? served, Usage used, int? rows)
        {
            _timings.Add(ms);
            _served.Add(served);
            _used += used;
            if (rows is { } r)
                _rows = r;
        }

        public ShapeTiming Finish()
        {
            var count = _timings.Count;
            // The slowest requests with their place among the shape's requests and where their documents came from
            // (bench/RESULTS.md, sessions 16 and 17).
            var slowest = _timings.Select((ms, index) => (ms, index)).OrderByDescending(t => t.ms).Take(3).ToList();
            var sources = ServerTiming.Summarize(_timings, _served);
            var sorted = _timings.Order().ToList();
            return new ShapeTiming(Percentile(sorted, 0.5), Percentile(sorted, 0.99), _rows,
                _used.CpuSeconds * 1e6 / count, (double)_used.ReadCalls / count, (double)_used.PageFaults / count,
                string.Join(", ", slowest.Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.ms:F2} ms (#{t.index}{(_served[t.index] is { } st ? ", " + st.Source : "")})"))),
                sources);
        }

        static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }
}

/// <summary>
/// One shape's sequential requests: latency, and what the server process spent per request (CPU time, read system
/// calls, page faults; from /proc, so they include whatever else the server did meanwhile).
/// </summary>
/// <param name="Slowest">The slowest requests, each with its index among the shape's timed ones.</param>
/// <param name="Sources">What the server's Server-Timing headers said (<see cref="ServerTiming.Summarize"/>).</param>
sealed record ShapeTiming(double Median, double P99, int Rows, double CpuMicroseconds, double ReadCalls, double PageFaults, string Slowest, SourceSummary Sources);

/// <summary>A timed request over its page size's target, with the requests just before and after it.</summary>
/// <param name="Sequence">Its place among all the timed requests of the run.</param>
/// <param name="Served">Its Server-Timing: the store's time, and where the documents came from.</param>
sealed record SlowRequest(long Sequence, int Limit, string Shape, double Ms, ServerTiming? Served, (string Shape, double Ms)? Before, (string Shape, double Ms)? After)
{
    public override string ToString()
    {
        var inv = CultureInfo.InvariantCulture;
        static string Near((string Shape, double Ms)? n) => n is { } v ? string.Create(CultureInfo.InvariantCulture, $"{v.Shape} {v.Ms:F2}") : "none";
        var served = Served is { } st ? string.Create(inv, $" (store {st.StoreMs:F2} ms, {st.Source})") : "";
        return string.Create(inv, $"#{Sequence} {Shape} (page {Limit}) {Ms:F2} ms{served}; before it {Near(Before)}, after it {Near(After)}");
    }
}
