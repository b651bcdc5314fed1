using System.Buffers;

namespace CallVault.Store;

/// <summary>
/// One page of list-calls as the JSON array it is served as: the stored documents as they are, comma
/// separated, in one buffer rented from <see cref="ArrayPool{T}.Shared"/>. A page of 50 is about 240 kB and
/// one of 1000 about 5 MB; building it from a fresh array per document made the collector's work a large
/// part of serving a page (issue 3). Dispose gives the buffer back; the page must not be used after that.
/// </summary>
public sealed class CallPage : IDisposable
{
    /// <summary>Room reserved per expected document; the buffer grows when documents are larger.</summary>
    const int ExpectedDocumentBytes = 6 * 1024;

    byte[] _buffer;
    int _length;
    readonly List<Range> _documents;

    CallPage(int expectedDocuments)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, expectedDocuments) * ExpectedDocumentBytes + 2);
        _buffer[0] = (byte)'[';
        _length = 1;
        _documents = new List<Range>(expectedDocuments);
    }

    /// <summary>An empty page with room for about <paramref name="expectedDocuments"/> documents.</summary>
    public static CallPage Create(int expectedDocuments) => new(Math.Clamp(expectedDocuments, 1, 1000));

    /// <summary>A page of the given documents (for stores that read documents into arrays of their own).</summary>
    public static CallPage From(IReadOnlyList<byte[]> documents)
    {
        var page = Create(documents.Count);
        foreach (var document in documents)
            page.Add(document);
        return page;
    }

    /// <summary>The number of documents.</summary>
    public int Count => _documents.Count;

    /// <summary>Where the store found the documents (<see cref="PageSource.Database"/> unless the store says otherwise).</summary>
    public PageSource Source { get; set; }

    /// <summary>The i-th document, as stored.</summary>
    public ReadOnlyMemory<byte> this[int index] => Buffer.AsMemory(_documents[index]);

    /// <summary>The page as a JSON array: <c>[</c>, the documents separated by commas, <c>]</c>.</summary>
    public ReadOnlyMemory<byte> Json
    {
        get
        {
            Buffer[_length] = (byte)']'; // Add always leaves room for the closing bracket
            return _buffer.AsMemory(0, _length + 1);
        }
    }

    /// <summary>Appends a document.</summary>
    public void Add(ReadOnlySpan<byte> document) => document.CopyTo(Append(document.Length));

    /// <summary>Appends a document of <paramref name="length"/> bytes, which the caller writes into the span returned.</summary>
    public Span<byte> Append(int length)
    {
        var needed = _length + 1 + length + 1; // comma, document, closing bracket
        if (needed > Buffer.Length)
            Grow(needed);
        if (_documents.Count > 0)
            _buffer[_length++] = (byte)',';
        _documents.Add(new Range(_length, _length + length));
        _length += length;
        return _buffer.AsSpan(_length - length, length);
    }

    /// <summary>Copies the documents out into arrays of their own.</summary>
    public List<byte[]> ToArrays()
    {
        var documents = new List<byte[]>(Count);
        for (var i = 0; i < Count; i++)
            documents.Add(this[i].ToArray());
        return documents;
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = null!;
        if (buffer is not null)
            ArrayPool<byte>.Shared.Return(buffer);
    }

    byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(CallPage));

    void Grow(int needed)
    {
        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, 2 * _buffer.Length));
        _buffer.AsSpan(0, _length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }
}

/// <summary>Where the documents of a list page came from: what <c>CallVault:ServerTiming</c> reports.</summary>
public enum PageSource
{
    /// <summary>Read from the database with the page (always on SQLite).</summary>
    Database,

    /// <summary>
    /// PostgreSQL: the page's ids and versions read from the database, every document from this process's
    /// document cache.
    /// </summary>
    Cache,

    /// <summary>PostgreSQL: as <see cref="Cache"/>, and the few documents the cache lacked read by id.</summary>
    CacheAndDatabase,
}
