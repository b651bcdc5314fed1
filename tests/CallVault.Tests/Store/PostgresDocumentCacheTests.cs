using CallVault.Store;
using CallVault.Store.Postgres;

namespace CallVault.Tests.Store;

public class PostgresDocumentCacheTests
{
    static PostgresDocumentCache Cache(long maxBytes = 1 << 20) => new(maxBytes, allocateNow: true);

    /// <summary>The documents of a page filled from the cache, or null when it could not be.</summary>
    static List<byte[]>? Fill(PostgresDocumentCache cache, long workspace, params (string, long)[] calls)
    {
        using var page = CallPage.Create(calls.Length);
        return cache.TryFill(workspace, calls, page) ? page.ToArrays() : null;
    }

    [Fact]
    public void APageIsFilledOnlyWhenEveryDocumentIsHeldAtItsVersionInItsWorkspace()
    {
        var cache = Cache();
        cache.Add(1, "c1", 7, [1, 1]);
        cache.Add(1, "c2", 3, [2]);

        Assert.Equal([[2], [1, 1]], Fill(cache, 1, ("c2", 3), ("c1", 7)));
        Assert.Equal(2, cache.Hits);
        Assert.Null(Fill(cache, 1, ("c2", 3), ("c1", 8)));
        Assert.Null(Fill(cache, 2, ("c1", 7)));
        Assert.Null(Fill(cache, 1, ("c1", 7), ("c3", 1)));
        Assert.Equal([], Fill(cache, 1));
    }

    [Fact]
    public void ANewerVersionReplacesTheOldAndForgetDropsIt()
    {
        var cache = Cache();
        cache.Add(1, "c1", 7, [1]);
        cache.Add(1, "c1", 9, [2]);

        Assert.Null(Fill(cache, 1, ("c1", 7)));
        Assert.Equal([[2]], Fill(cache, 1, ("c1", 9)));
        cache.Forget(1, "c1");
        Assert.Null(Fill(cache, 1, ("c1", 9)));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public async Task EntriesTheRingHasOverwrittenAreSweptAwayOnceThereAreTooMany()
    {
        var cache = Cache(); // 1 MB: a sweep once there are more than 2,048 entries
        var document = new byte[600];
        for (var i = 0; i < 20_000; i++)
            cache.Add(1, $"c{i:D5}", 1, document);

        // The sweeps run on the thread pool, so the last one may still be going, or one set off while another
        // ran may have been skipped: more changes set off another until the entries are few enough.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (cache.EntryCount > 2048 && DateTime.UtcNow < deadline)
        {
            for (var i = 0; i < 1024; i++)
                cache.Visit("another page");
            await Task.Delay(10);
        }
        Assert.InRange(cache.EntryCount, 1, 2048); // 20,000 without sweeping
        Assert.InRange(cache.Count, 1700, 1747); // what 1 MB holds of 600-byte documents
        Assert.NotNull(Fill(cache, 1, [.. Enumerable.Range(19_950, 50).Select(i => ($"c{i:D5}", 1L))]));
        Assert.Null(Fill(cache, 1, ("c00000", 1)));
    }

    [Fact]
    public void DocumentsAreKeptUntilTheRingComesRoundToThem()
    {
        var cache = Cache(maxBytes: 1000);
        cache.Add(1, "long", 1, new byte[126]);
        Assert.Null(Fill(cache, 1, ("long", 1))); // over an eighth of the ring

        for (var i = 0; i < 10; i++)
            cache.Add(1, $"c{i}", 1, Enumerable.Repeat((byte)i, 100).ToArray());
        Assert.Equal(10, cache.Count);
        cache.Add(1, "c10", 1, Enumerable.Repeat((byte)10, 100).ToArray()); // over c0
        Assert.Null(Fill(cache, 1, ("c0", 1)));
        Assert.Equal([Enumerable.Repeat((byte)1, 100).ToArray(), Enumerable.Repeat((byte)10, 100).ToArray()], Fill(cache, 1, ("c1", 1), ("c10", 1)));
        cache.Add(1, "c11", 1, Enumerable.Repeat((byte)11, 120).ToArray()); // over c1 and the start of c2
        Assert.Null(Fill(cache, 1, ("c2", 1)));
        Assert.Equal([Enumerable.Repeat((byte)3, 100).ToArray()], Fill(cache, 1, ("c3", 1)));
    }

    [Fact]
    public void APageIsReadThenKeptThenTriedFromTheCache()
    {
        var cache = Cache();
        Assert.Equal(PostgresDocumentCache.Plan.Read, cache.Visit("page a"));
        Assert.Equal(PostgresDocumentCache.Plan.ReadAndKeep, cache.Visit("page a"));
        Assert.Equal(PostgresDocumentCache.Plan.ReadAndKeep, cache.Visit("page a")); // nothing kept yet
        cache.Kept("page a", cache.Mark);
        Assert.Equal(PostgresDocumentCache.Plan.TryHeld, cache.Visit("page a"));
        Assert.Equal(PostgresDocumentCache.Plan.TryHeld, cache.Visit("page a"));
        Assert.Equal(PostgresDocumentCache.Plan.Read, cache.Visit("page b"));
    }

    [Fact]
    public void AListsFirstPageIsKeptFromItsFirstVisit()
    {
        var cache = Cache();
        Assert.Equal(PostgresDocumentCache.Plan.ReadAndKeep, cache.Visit("first page", firstPage: true));
        Assert.Equal(PostgresDocumentCache.Plan.ReadAndKeep, cache.Visit("first page", firstPage: true)); // nothing kept yet
        cache.Kept("first page", cache.Mark);
        Assert.Equal(PostgresDocumentCache.Plan.TryHeld, cache.Visit("first page", firstPage: true));

        // A page of a walk is still kept only from its second visit.
        Assert.Equal(PostgresDocumentCache.Plan.Read, cache.Visit("page of a walk"));
        Assert.Equal(PostgresDocumentCache.Plan.ReadAndKeep, cache.Visit("page of a walk"));
    }

    [Fact]
    public void APageWhoseDocumentsTheRingHasOverwrittenIsReadAndKeptAgainWithoutTrying()
    {
        var cache = Cache(maxBytes: 1000);
        cache.Visit("page");
        cache.Visit("page");
        var mark = cache.Mark;
        cache.Add(1, "c0", 1, new byte[100]);
        cache.Kept("page", mark);
        Assert.Equal(PostgresDocumentCache.Plan.TryHeld, cache.Visit("page"));
        for (var i = 1; i <= 10; i++)
            cache.Add(1, $"c{i}", 1, new byte[100]); // the ring turns over c0
        Assert.Equal(PostgresDocumentCache.Plan.ReadAndKeep, cache.Visit("page"));
        mark = cache.Mark;
        cache.Add(1, "c0", 1, new byte[100]);
        cache.Kept("page", mark);
        Assert.Equal(PostgresDocumentCache.Plan.TryHeld, cache.Visit("page"));
    }

    [Fact]
    public async Task AReaderNeverGetsADocumentThatIsBeingOverwritten()
    {
        // A small ring that a writer keeps going round; each document is 1000 bytes of one value, its version.
        // A page filled while its documents were overwritten must be refused, never served torn.
        var cache = Cache(maxBytes: 8000);
        var race = new Race();
        var versions = new long[8];
        var writer = Task.Run(() =>
        {
            for (long version = 1; race.Running; version++)
            {
                var id = (int)(version % versions.Length);
                cache.Add(1, $"c{id}", version, Enumerable.Repeat((byte)version, 1000).ToArray());
                Volatile.Write(ref versions[id], version);
            }
        });
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            while (race.Running)
            {
                var calls = Enumerable.Range(0, versions.Length).Select(i => ($"c{i}", Volatile.Read(ref versions[i]))).ToArray();
                var page = Fill(cache, 1, calls);
                if (page is null)
                    continue;
                race.Served();
                for (var i = 0; i < calls.Length; i++)
                    Assert.All(page[i], b => Assert.Equal((byte)calls[i].Item2, b));
            }
        })).ToArray();
        await Task.WhenAll([writer, .. readers]);
        Assert.True(race.ServedPages > 0, "no page was ever filled");
    }

    [Fact]
    public async Task AReaderNeverGetsADocumentBeingZeroedByForget()
    {
        // A writer keeps keeping and forgetting the same documents (Forget zeroes their bytes); a page filled
        // meanwhile must hold the documents whole, never zeroes.
        var cache = Cache(maxBytes: 1 << 20);
        var race = new Race();
        var whole = Enumerable.Repeat((byte)0xAB, 4000).ToArray();
        var writer = Task.Run(() =>
        {
            while (race.Running)
            {
                for (var i = 0; i < 4; i++)
                    cache.Add(1, $"c{i}", 1, whole);
                for (var i = 0; i < 4; i++)
                    cache.Forget(1, $"c{i}");
            }
        });
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            while (race.Running)
            {
                var page = Fill(cache, 1, [.. Enumerable.Range(0, 4).Select(i => ($"c{i}", 1L))]);
                if (page is null)
                    continue;
                race.Served();
                Assert.All(page, document => Assert.Equal(whole, document));
            }
        })).ToArray();
        await Task.WhenAll([writer, .. readers]);
        Assert.True(race.ServedPages > 0, "no page was ever filled");
    }
}

/// <summary>
/// How long a writer and readers race: 2 s, and on until a reader has filled a page (at most 30 s). On a loaded
/// machine (the whole suite running) the readers can lose every race of the first seconds.
/// </summary>
file sealed class Race
{
    readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    int _served;

    public bool Running => _clock.Elapsed < TimeSpan.FromSeconds(2) || (ServedPages == 0 && _clock.Elapsed < TimeSpan.FromSeconds(30));

    public int ServedPages => Volatile.Read(ref _served);

    public void Served() => Interlocked.Increment(ref _served);
}
