using System.Buffers;
using System.Buffers.Binary;
using K4os.Compression.LZ4;

namespace CallVault.Store.Postgres;

/// <summary>
/// How a call's document is kept in the <c>packed_doc</c> column of PostgreSQL's calls table (<c>doc</c> before
/// schema 5): compressed by CallVault with LZ4, and given back as the exact bytes that were stored.
/// </summary>
/// <remarks>
/// <para>
/// Issue 3: a page of 50 read with its documents cost PostgreSQL decompressing 240 kB (its own lz4 of the
/// column) and sending them 8 kB at a time over the socket to a server that reads them in turn, on the same
/// 2 cores. Compressed here, PostgreSQL stores and sends the 2.6 kB of a 4.9 kB document as they are, and this
/// process decompresses them (LZ4; session 5 measured 2.6 µs to decode such a document here). Measured at
/// 1,000,000 calls (bench/RESULTS.md, session 16): pages of 50 read by id with their documents, median
/// 1.05-1.26 ms with PostgreSQL's compression against 0.60-0.71 ms with CallVault's, decompression included.
/// </para>
/// <para>
/// Stored form: either the JSON document as it is, or the byte 0x01, the length of the JSON (4 bytes, little
/// endian), then one LZ4 block. A JSON document starts with <c>{</c> and never with 0x01, so rows written
/// before schema 5 (and a document that does not shrink) are read as they are.
/// </para>
/// </remarks>
static class PostgresDocuments
{
    const byte Lz4Block = 0x01;
    const int HeaderLength = 5;

    /// <summary>LZ4 cannot expand a block by more than this (a run of one byte), so a larger length is damage.</summary>
    const int MaxExpansion = 255;

    /// <summary>The document as it is stored: compressed, unless that does not make it shorter.</summary>
    public static byte[] Pack(ReadOnlySpan<byte> json)
    {
        var scratch = ArrayPool<byte>.Shared.Rent(HeaderLength + LZ4Codec.MaximumOutputSize(json.Length));
        try
        {
            var compressed = LZ4Codec.Encode(json, scratch.AsSpan(HeaderLength), LZ4Level.L00_FAST);
            if (compressed <= 0 || HeaderLength + compressed >= json.Length)
                return json.ToArray();
            scratch[0] = Lz4Block;
            BinaryPrimitives.WriteInt32LittleEndian(scratch.AsSpan(1), json.Length);
            return scratch.AsSpan(0, HeaderLength + compressed).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>The length of the JSON document that <paramref name="stored"/> holds.</summary>
    public static int UnpackedLength(ReadOnlySpan<byte> stored)
    {
        if (!IsPacked(stored))
            return stored.Length;
        var length = stored.Length > HeaderLength ? BinaryPrimitives.ReadInt32LittleEndian(stored[1..]) : -1;
        return length >= 0 && length <= (long)(stored.Length - HeaderLength) * MaxExpansion ? length : throw Damaged();
    }

    /// <summary>Writes the JSON document into <paramref name="json"/>, which is <see cref="UnpackedLength"/> long.</summary>
    public static void Unpack(ReadOnlySpan<byte> stored, Span<byte> json)
    {
        if (!IsPacked(stored))
        {
            stored.CopyTo(json);
            return;
        }
        if (LZ4Codec.Decode(stored[HeaderLength..], json) != json.Length)
            throw Damaged();
    }

    /// <summary>The JSON document: <paramref name="stored"/> itself when it is not compressed.</summary>
    public static byte[] Unpack(byte[] stored)
    {
        if (!IsPacked(stored))
            return stored;
        var json = new byte[UnpackedLength(stored)];
        Unpack(stored, json);
        return json;
    }

    static bool IsPacked(ReadOnlySpan<byte> stored) => stored.Length > 0 && stored[0] == Lz4Block;

    static InvalidDataException Damaged() =>
        new("a call document in the calls table is damaged: its LZ4 block does not decompress to the length it gives");
}
