using CallVault.Http;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace CallVault.Tests.Calls;

/// <summary>The pool of import bodies' arrays (issue 3: import rate and memory).</summary>
public class LargeBufferPoolTests
{
    static readonly TimeSpan Idle = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task AnArrayReturnedOnOneThreadIsRentedOnAnother()
    {
        using var pool = new LargeBufferPool(2, Idle, new FakeTimeProvider());
        var first = await Task.Run(() => pool.Rent(3_000_000));
        await Task.Run(() => pool.Return(first));

        var second = await Task.Factory.StartNew(() => pool.Rent(3_500_000), TaskCreationOptions.LongRunning);

        Assert.Same(first, second);
        Assert.Equal(0, pool.FreeCount);
    }

    [Fact]
    public void NewArraysAreThePowerOfTwoAtOrAboveTheLength()
    {
        using var pool = new LargeBufferPool(2, Idle, new FakeTimeProvider());

        Assert.Equal(4 << 20, pool.Rent(3_000_000).Length);
        Assert.Equal(4 << 20, pool.Rent(4 << 20).Length);
        Assert.Equal(8 << 20, pool.Rent((4 << 20) + 1).Length);
    }

    [Fact]
    public void RentsTheSmallestWaitingArrayThatIsLongEnough()
    {
        using var pool = new LargeBufferPool(3, Idle, new FakeTimeProvider());
        byte[] small = new byte[2 << 20], middle = new byte[4 << 20], large = new byte[8 << 20];
        pool.Return(large);
        pool.Return(small);
        pool.Return(middle);

        Assert.Same(middle, pool.Rent(3 << 20));
        Assert.Same(large, pool.Rent(3 << 20));
        var fresh = pool.Rent(3 << 20);
        Assert.NotSame(small, fresh);
        Assert.Equal(4 << 20, fresh.Length);
        Assert.Same(small, pool.Rent(1 << 20));
    }

    [Fact]
    public void KeepsTheLargestArraysUpToItsCapacity()
    {
        using var pool = new LargeBufferPool(2, Idle, new FakeTimeProvider());
        byte[] small = new byte[2 << 20], middle = new byte[4 << 20], large = new byte[8 << 20];
        pool.Return(small);
        pool.Return(large);
        pool.Return(middle);

        Assert.Equal(2, pool.FreeCount);
        Assert.Same(middle, pool.Rent(1 << 20));
        Assert.Same(large, pool.Rent(1 << 20));
        Assert.NotSame(small, pool.Rent(1 << 20));
    }

    [Fact]
    public void LetsEveryArrayGoOnceNoneHasComeBackForTheIdleTime()
    {
        var time = new FakeTimeProvider();
        using var pool = new LargeBufferPool(2, Idle, time);
        var first = new byte[2 << 20];
        pool.Return(first);
        time.Advance(Idle - TimeSpan.FromSeconds(1));
        Assert.Equal(1, pool.FreeCount);

        pool.Return(new byte[2 << 20]); // starts the wait over
        time.Advance(Idle - TimeSpan.FromSeconds(1));
        Assert.Equal(2, pool.FreeCount);

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(0, pool.FreeCount);
        Assert.NotSame(first, pool.Rent(2 << 20));
    }
}
