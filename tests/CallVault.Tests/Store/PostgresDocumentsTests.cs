using System.Text;
using CallVault.Store.Postgres;

namespace CallVault.Tests.Store;

/// <summary>The stored form of a document in PostgreSQL's calls table (no database needed).</summary>
public class PostgresDocumentsTests
{
    static readonly byte[] Call = Encoding.UTF8.GetBytes(
        "{\"call_id\":\"c1\",\"transcript\":\"" + string.Concat(Enumerable.Repeat("Agent: How can I help? User: I'd like to book. ", 60)) + "\"}");

    [Fact]
    public void ADocumentIsStoredCompressedAndComesBackByteForByte()
    {
        var stored = PostgresDocuments.Pack(Call);

        Assert.Equal(0x01, stored[0]);
        Assert.True(stored.Length * 4 < Call.Length, $"{stored.Length} bytes for {Call.Length}");
        AssertReadsAs(Call, stored);
    }

    [Fact]
    public void ADocumentThatDoesNotShrinkIsStoredAsItIs()
    {
        var small = Encoding.UTF8.GetBytes("{\"call_id\":\"c1\"}");

        var stored = PostgresDocuments.Pack(small);

        Assert.Equal(small, stored);
        Assert.Same(stored, PostgresDocuments.Unpack(stored));
    }

    [Fact]
    public void JsonStoredByAnEarlierVersionIsReadAsItIs()
    {
        AssertReadsAs(Call, Call);
        Assert.Same(Call, PostgresDocuments.Unpack(Call));
    }

    [Fact]
    public void ADamagedDocumentIsAnErrorNotOtherBytes()
    {
        var truncated = PostgresDocuments.Pack(Call)[..^10];
        var wrongLength = PostgresDocuments.Pack(Call);
        wrongLength[1]++;

        Assert.Throws<InvalidDataException>(() => PostgresDocuments.Unpack(truncated));
        Assert.Throws<InvalidDataException>(() => PostgresDocuments.Unpack(wrongLength));
        Assert.Throws<InvalidDataException>(() => PostgresDocuments.UnpackedLength([0x01, 0x02]));
        // A length no LZ4 block of that size can hold is not allocated.
        Assert.Throws<InvalidDataException>(() => PostgresDocuments.UnpackedLength([0x01, 0xff, 0xff, 0xff, 0x7f, 0x10]));
    }

    /// <summary>Both ways of reading a stored document give the JSON back.</summary>
    static void AssertReadsAs(byte[] json, byte[] stored)
    {
        Assert.Equal(json.Length, PostgresDocuments.UnpackedLength(stored));
        Assert.Equal(json, PostgresDocuments.Unpack(stored));
        var into = new byte[json.Length];
        PostgresDocuments.Unpack(stored, into);
        Assert.Equal(json, into);
    }
}
