using Tattle.Interop;

namespace Tattle.Tracking;

/// <summary>Maps the kernel's CLOCK_MONOTONIC timestamps to wall-clock time, from one paired reading at start.</summary>
public sealed class WallClock
{
    private readonly long _offset;

    public WallClock()
    {
        long mono = Libc.Now(Libc.CLOCK_MONOTONIC);
        long real = Libc.Now(Libc.CLOCK_REALTIME);
        _offset = real - mono;
    }

    public static long MonotonicNow() => Libc.Now(Libc.CLOCK_MONOTONIC);

    public long ToUnixNs(long monotonicNs) => monotonicNs + _offset;
}
