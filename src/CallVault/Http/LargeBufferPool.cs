using System.Numerics;

namespace CallVault.Http;

/// <summary>
/// Arrays for request bodies too large for the shared pool to serve well (import requests: up to 64 MB), shared
/// by every thread, and all let go once none has come back for a while.
/// </summary>
/// <remarks>
/// <see cref="System.Buffers.ArrayPool{T}.Shared"/> keeps a returned array in a slot of the thread that returned it.
/// Requests run on whichever thread-pool thread is free, so an import request seldom found the array the
/// previous one had returned: it allocated a new 64 MB array and faulted in every page of it while copying its
/// body, and the arrays parked in a dozen threads' slots took the server to 750-850 MB during an import of
/// 300,000 calls (520 MB with this pool; issue 3: import rate). Here at most <c>capacity</c> arrays wait, the
/// largest ones, and <c>idleRelease</c> after the last return they all go to the collector, so that a server
/// that imported does not hold them while it serves.
/// </remarks>
sealed class LargeBufferPool : IDisposable
{
    readonly Lock _gate = new();
    readonly List<byte[]> _free = [];
    readonly int _capacity;
    readonly TimeSpan _idleRelease;
    readonly ITimer _release;

    public LargeBufferPool(int capacity, TimeSpan idleRelease, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _capacity = capacity;
        _idleRelease = idleRelease;
        _release = time.CreateTimer(_ => Release(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Arrays waiting to be rented again.</summary>
    public int FreeCount
    {
        get
        {
            lock (_gate)
                return _free.Count;
        }
    }

    /// <summary>
    /// The smallest waiting array of at least <paramref name="minimumLength"/> bytes, or a new one whose length is
    /// the next power of two, so that bodies of about the same size reuse each other's arrays. Its bytes are
    /// whatever the last renter left there.
    /// </summary>
    public byte[] Rent(int minimumLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimumLength);
        lock (_gate)
        {
            var best = -1;
            for (var i = 0; i < _free.Count; i++)
            {
                if (_free[i].Length >= minimumLength && (best < 0 || _free[i].Length < _free[best].Length))
                    best = i;
            }
            if (best >= 0)
            {
                var array = _free[best];
                _free.RemoveAt(best);
                return array;
            }
        }
        return GC.AllocateUninitializedArray<byte>(minimumLength <= 1 << 30 ? (int)BitOperations.RoundUpToPowerOf2((uint)minimumLength) : minimumLength);
    }

    /// <summary>Gives an array back. When <c>capacity</c> arrays already wait, the smallest of them all goes.</summary>
    public void Return(byte[] array)
    {
        lock (_gate)
        {
            if (_free.Count < _capacity)
            {
                _free.Add(array);
            }
            else
            {
                var smallest = 0;
                for (var i = 1; i < _free.Count; i++)
                {
                    if (_free[i].Length < _free[smallest].Length)
                        smallest = i;
                }
                if (_free[smallest].Length < array.Length)
                    _free[smallest] = array;
            }
            _release.Change(_idleRelease, Timeout.InfiniteTimeSpan);
        }
    }

    void Release()
    {
        lock (_gate)
            _free.Clear();
    }

    public void Dispose() => _release.Dispose();
}
