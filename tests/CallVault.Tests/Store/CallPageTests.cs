using System.Text;
using CallVault.Store;

namespace CallVault.Tests.Store;

public class CallPageTests
{
    [Fact]
    public void DocumentsAppendedPastTheReservedRoomAreKeptWholeAndInOrder()
    {
        using var page = CallPage.Create(1); // room for about one 6 kB document
        var documents = Enumerable.Range(0, 20).Select(i => Encoding.UTF8.GetBytes($"{{\"n\":{i},\"pad\":\"{new string('p', i * 1_000)}\"}}")).ToList();
        foreach (var document in documents)
            page.Add(document);

        Assert.Equal(20, page.Count);
        Assert.Equal(documents, page.ToArrays());
        Assert.Equal("[" + string.Join(",", documents.Select(Encoding.UTF8.GetString)) + "]", Encoding.UTF8.GetString(page.Json.Span));
    }

    [Fact]
    public void APageFromArraysServesTheSameJsonArray()
    {
        byte[][] documents = ["{\"a\":1}"u8.ToArray(), "{}"u8.ToArray()];
        using var page = CallPage.From(documents);
        Assert.Equal("[{\"a\":1},{}]", Encoding.UTF8.GetString(page.Json.Span));
    }

    [Fact]
    public void APageCannotBeReadAfterItsBufferWentBack()
    {
        var page = CallPage.From(["{}"u8.ToArray()]);
        page.Dispose();
        page.Dispose(); // twice is harmless
        Assert.Throws<ObjectDisposedException>(() => page.Json);
        Assert.Throws<ObjectDisposedException>(() => page.Add("{}"u8));
    }
}
