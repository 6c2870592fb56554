namespace Tattle.Capture.Bpf;

/// <summary>The kernel side's counters, summed over CPUs (see enum tattle_stat in bpf/tattle.h).</summary>
public readonly record struct KernelStats(
    ulong DataEmitted,
    ulong DataDropped,
    ulong OtherEmitted,
    ulong OtherDropped,
    ulong CallsDropped,
    ulong BytesCut,
    ulong BytesUnread,
    ulong TracedFull,
    ulong TlsCalls = 0,
    ulong TlsUntraced = 0,
    ulong TlsNoSocket = 0)
{
    public const int Count = 11;

    /// <summary>Records written into the ring buffer.</summary>
    public ulong Emitted => DataEmitted + OtherEmitted;

    /// <summary>Records lost because the ring buffer was full.</summary>
    public ulong Dropped => DataDropped + OtherDropped;

    public static KernelStats FromCounters(ReadOnlySpan<ulong> c) =>
        new(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10]);
}
