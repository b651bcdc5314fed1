using System.Collections.Concurrent;

namespace CallVault.Store.Postgres;

/// <summary>
/// Documents this process has served from PostgreSQL more than once lately, each with the version of the row it
/// was read from (the <c>version</c> column, a new number from a sequence at every write of the document). A
/// page of list-calls first reads the ids and versions of its calls, from the index alone; when this process
/// holds every one of those documents at that version, PostgreSQL sends no document. So several processes on
/// one database stay one service: a call another process rewrote has a new version, and is read again.
/// </summary>
/// <remarks>
/// <para>
/// Issue 3: on PostgreSQL much of the cost of a page of 50 was its 240 kB of documents, read from the table,
/// decompressed (lz4), sent over a socket and read by Npgsql, for pages that dashboards ask for again and again
/// (the newest calls, an agent's). The documents of a page of a walk (after a pagination key) are kept the
/// second time the same page (the same SQL and values) is served, and only from the third time is it read ids
/// and versions first: a page read once (a walk, an export) costs what it cost without the cache, and does not
/// push out what is read often. A list's first page is kept from its first visit, and read ids and versions
/// first from its second: it is the page people come back to, and a walk has only one of it (session 18: a
/// dashboard's second look at a page no longer reads its documents again).
/// </para>
/// <para>
/// The documents live in one ring of bytes, allocated (and so touched) once, written in turn and overwritten
/// when it comes round: the oldest kept go first. Not a cache of arrays (MemoryCache, tried first): every
/// document kept there is a new array that lives on, in memory the process has never touched, and on the
/// benchmark's virtual machine faulting in the 240 kB of a page cost about 5 ms of CPU. One writer at a time
/// (a lock held for a copy); readers take no lock: they copy, then check that the ring's write position has not
/// come round to what they copied (a document is overwritten only after the position has passed it by the
/// ring's length), and a page that lost the race is read from PostgreSQL instead.
/// </para>
/// <para>
/// An entry is not served after <see cref="Lifetime"/>, and a call this process writes or deletes is dropped and
/// its bytes zeroed, so that the text of an erased call (opted out) does not linger here.
/// </para>
/// </remarks>
sealed class PostgresDocumentCache
{
    /// <summary>How long an entry is served after it was read from PostgreSQL.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(1);

    /// <summary>A call's entry: the version of its document, and where that is in the ring.</summary>
    readonly record struct Entry(long Version, long Position, int Length, long ReadAtMs);

    readonly record struct Key(long WorkspaceId, string CallId);

    readonly ConcurrentDictionary<Key, Entry> _entries = new();
    readonly ConcurrentDictionary<string, (int Visits, long AtMs, long KeptAt)> _pages = new(StringComparer.Ordinal);
    readonly Lock _writing = new();
    readonly int _capacity;
    readonly int _maxEntries;
    byte[]? _ring;
    long _head; // bytes of the ring claimed so far, over all its turns
    int _sweeping;
    Task<byte[]>? _allocation;
    long _changes;
    long _hits;

    /// <param name="maxBytes">The ring's length: the most bytes of documents held at once.</param>
    /// <param name="allocateNow">Allocate the ring now (tests), not when the first document is to be kept.</param>
    public PostgresDocumentCache(long maxBytes, bool allocateNow = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        _capacity = (int)Math.Min(maxBytes, Array.MaxLength);
        // Room for every document of 512 bytes or more, and as many pages.
        _maxEntries = Math.Max(1024, _capacity / 512);
        if (allocateNow)
            _ring = NewRing(_capacity);
    }

    /// <summary>Documents served from here so far (for tests and diagnostics).</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Entries in the dictionary, held or not yet swept (for tests).</summary>
    internal int EntryCount => _entries.Count;

    /// <summary>Documents held now (for tests and diagnostics).</summary>
    public int Count => _entries.Values.Count(e => Current(e, Environment.TickCount64));

    /// <summary>
    /// Appends to the page the documents of the calls, if this process holds every one at its version; false
    /// otherwise, and then the page holds part of them and must be thrown away.
    /// </summary>
    public bool TryFill(long workspaceId, IReadOnlyList<(string CallId, long Version)> calls, CallPage page)
    {
        var ring = Volatile.Read(ref _ring);
        if (ring is null)
            return calls.Count == 0;
        var now = Environment.TickCount64;
        var oldest = long.MaxValue;
        Span<long> positions = calls.Count <= 128 ? stackalloc long[calls.Count] : new long[calls.Count];
        for (var i = 0; i < calls.Count; i++)
        {
            var (callId, version) = calls[i];
            if (!_entries.TryGetValue(new Key(workspaceId, callId), out var entry) || entry.Version != version || !Current(entry, now))
                return false;
            page.Add(ring.AsSpan((int)(entry.Position % _capacity), entry.Length));
            positions[i] = entry.Position;
            oldest = Math.Min(oldest, entry.Position);
        }
        // The copies must be complete before the write position is read again, and before the entries are: a
        // call forgotten meanwhile (Forget removes its entry, then zeroes its bytes) may have been copied torn.
        Interlocked.MemoryBarrier();
        if (calls.Count > 0 && !Unwritten(oldest))
            return false;
        for (var i = 0; i < calls.Count; i++)
        {
            if (!_entries.TryGetValue(new Key(workspaceId, calls[i].CallId), out var entry) || entry.Position != positions[i])
                return false;
        }
        Interlocked.Add(ref _hits, calls.Count);
        return true;
    }

    /// <summary>The calls of a page whose documents this process does not hold at their version.</summary>
    public List<(string CallId, long Version)> Missing(long workspaceId, IReadOnlyList<(string CallId, long Version)> calls)
    {
        var now = Environment.TickCount64;
        var missing = new List<(string CallId, long Version)>();
        foreach (var (callId, version) in calls)
        {
            if (!_entries.TryGetValue(new Key(workspaceId, callId), out var entry) || entry.Version != version || !Current(entry, now))
                missing.Add((callId, version));
        }
        return missing;
    }

    /// <summary>What a list page does, given how often this process served the same query lately.</summary>
    public enum Plan
    {
        /// <summary>First time (a page of a walk): read the page with its documents, as without the cache.</summary>
        Read,

        /// <summary>Second time (a list's first page: first time): read it the same way, and keep its documents.</summary>
        ReadAndKeep,

        /// <summary>Since: read the ids and versions, and the documents only if they are not all held.</summary>
        TryHeld,
    }

    /// <summary>
    /// Counts a visit of a page (its SQL and parameter values) and says how to read it. Two different pages
    /// that happened to share a key would only be read the wrong way round, never served wrong: every page
    /// served from here is checked against the versions PostgreSQL gives.
    /// </summary>
    /// <param name="page">What identifies the page.</param>
    /// <param name="firstPage">
    /// The first page of a list (no pagination key): its documents are kept from its first visit, not its second.
    /// It is the page people come back to (the list a dashboard opens on, back from a call, a refresh), and a walk
    /// through every page (an export, a sync) has only one of it.
    /// </param>
    public Plan Visit(string page, bool firstPage = false)
    {
        var now = Environment.TickCount64;
        if (!_pages.TryGetValue(page, out var last) || now - last.AtMs > Lifetime.TotalMilliseconds)
            last = (0, now, -1);
        _pages[page] = (Math.Min(last.Visits + 1, 2), now, last.KeptAt);
        if (_ring is null)
            Allocate();
        SweepIfFull();
        return last.Visits switch
        {
            0 => firstPage ? Plan.ReadAndKeep : Plan.Read,
            // Not kept yet (read once, or kept by a visit still under way), or certainly overwritten since: once
            // the ring has turned, the ids and versions alone cannot be enough, and the page is read and kept
            // again at once.
            _ when last.KeptAt < 0 || !Unwritten(last.KeptAt) => Plan.ReadAndKeep,
            _ => Plan.TryHeld,
        };
    }

    /// <summary>Where the ring was before a page's documents were kept (<see cref="Kept"/>).</summary>
    public long Mark => Interlocked.Read(ref _head);

    /// <summary>Records that the page's documents were kept, from <paramref name="mark"/> (<see cref="Mark"/>) on.</summary>
    public void Kept(string page, long mark)
    {
        if (_pages.TryGetValue(page, out var visit))
            _pages[page] = visit with { KeptAt = mark };
    }

    /// <summary>Keeps a copy of a document just read, replacing any other version of the call.</summary>
    public void Add(long workspaceId, string callId, long version, ReadOnlySpan<byte> document)
    {
        // A document longer than an eighth of the ring would push out too much at once.
        if (document.Length > _capacity / 8)
            return;
        var ring = Volatile.Read(ref _ring) ?? Allocate().GetAwaiter().GetResult();
        lock (_writing)
        {
            var position = _head;
            var offset = position % _capacity;
            if (offset + document.Length > _capacity)
                position += _capacity - offset; // a document never wraps: start the next turn
            // Claimed before written (a full fence): a reader that copied these bytes sees the new position.
            Interlocked.Exchange(ref _head, position + document.Length);
            document.CopyTo(ring.AsSpan((int)(position % _capacity)));
            _entries[new Key(workspaceId, callId)] = new Entry(version, position, document.Length, Environment.TickCount64);
        }
        SweepIfFull();
    }

    /// <summary>
    /// The ring, allocated once on a thread-pool thread from the first visit of a page on, so that the first page
    /// to keep documents (the second visit of a page) mostly finds it there: touching all of it takes a while on a
    /// virtual machine (about 0.5 s for 32 MB on the benchmark's), better not in a request.
    /// </summary>
    Task<byte[]> Allocate()
    {
        if (Volatile.Read(ref _allocation) is { } started)
            return started;
        var allocation = new Task<byte[]>(() =>
        {
            var ring = NewRing(_capacity);
            Volatile.Write(ref _ring, ring);
            return ring;
        });
        if (Interlocked.CompareExchange(ref _allocation, allocation, null) is { } other)
            return other;
        allocation.Start(TaskScheduler.Default);
        return allocation;
    }

    /// <summary>
    /// A ring with every page of it touched: the collector takes an array this large straight from the system,
    /// whose fresh pages read as zeroes without being touched, so each would otherwise fault on its first copy.
    /// </summary>
    static byte[] NewRing(int capacity)
    {
        var ring = new byte[capacity];
        for (var i = 0; i < ring.Length; i += Environment.SystemPageSize)
            ring[i] = 1;
        return ring;
    }

    /// <summary>Drops the call (written or deleted by this process) and zeroes its bytes.</summary>
    public void Forget(long workspaceId, string callId)
    {
        if (!_entries.TryRemove(new Key(workspaceId, callId), out var entry))
            return;
        lock (_writing)
        {
            if (Unwritten(entry.Position))
                _ring.AsSpan((int)(entry.Position % _capacity), entry.Length).Clear();
        }
    }

    bool Current(Entry entry, long now) => Unwritten(entry.Position) && now - entry.ReadAtMs <= Lifetime.TotalMilliseconds;

    /// <summary>Whether nothing has been written over the document at this position since it was written.</summary>
    bool Unwritten(long position) => Interlocked.Read(ref _head) - position <= _capacity;

    /// <summary>
    /// Drops entries overwritten or out of date, and pages not visited lately, once there are too many. Counted
    /// every 1024 changes only: ConcurrentDictionary.Count takes every one of the dictionary's locks. The sweep
    /// runs on a thread-pool thread, not in the request that set it off: sweeping the 60,000-67,000 entries the
    /// default cache reaches took 30 ms, which that request waited for.
    /// </summary>
    void SweepIfFull()
    {
        if ((Interlocked.Increment(ref _changes) & 1023) != 0
            || (_entries.Count <= _maxEntries && _pages.Count <= _maxEntries)
            || Interlocked.Exchange(ref _sweeping, 1) == 1)
            return;
        ThreadPool.UnsafeQueueUserWorkItem(static cache => cache.Sweep(), this, preferLocal: false);
    }

    void Sweep()
    {
        try
        {
            var now = Environment.TickCount64;
            foreach (var (key, entry) in _entries)
            {
                if (!Current(entry, now))
                    _entries.TryRemove(new KeyValuePair<Key, Entry>(key, entry));
            }
            foreach (var (page, visit) in _pages)
            {
                if (now - visit.AtMs > Lifetime.TotalMilliseconds)
                    _pages.TryRemove(new KeyValuePair<string, (int, long, long)>(page, visit));
            }
            if (_pages.Count > _maxEntries)
                _pages.Clear();
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }
}
