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
    ulong TlsNoSocket = 0,
    ulong SocksCreated = 0,
    ulong TlsSessionsCreated = 0,
    ulong GoSocketMismatches = 0,
    ulong TlsWriteRetries = 0,
    ulong TlsHits = 0,
    ulong ProbeHits = 0,
    ulong ProbeUnmatched = 0,
    ulong HttpUntracked = 0,
    ulong BytesSkipped = 0)
{
    public const int Count = 20;

    /// <summary>Connections the kernel's HTTP table (TATTLE_HTTP_CONNS_MAX) had no room for: parsed in user space.</summary>
    public const ulong HttpConnectionsCapacity = 65536;

    /// <summary>Entries of the kernel's socket table (TATTLE_SOCKS_MAX): an LRU, so past it the oldest go.</summary>
    public const ulong SocksCapacity = 131072;

    /// <summary>Entries of the kernel's TLS session table (TATTLE_TLS_CONNS_MAX), an LRU too.</summary>
    public const ulong TlsSessionsCapacity = 65536;

    /// <summary>
    /// Socket entries the kernel evicted to make room, at least: nothing deletes from the table, so every entry made
    /// past its size pushed an older one out.
    /// </summary>
    public ulong SocksEvicted => SocksCreated > SocksCapacity ? SocksCreated - SocksCapacity : 0;

    /// <summary>TLS session entries evicted, likewise.</summary>
    public ulong TlsSessionsEvicted => TlsSessionsCreated > TlsSessionsCapacity ? TlsSessionsCreated - TlsSessionsCapacity : 0;

    /// <summary>Records written into the ring buffer.</summary>
    public ulong Emitted => DataEmitted + OtherEmitted;

    /// <summary>Records lost because the ring buffer was full.</summary>
    public ulong Dropped => DataDropped + OtherDropped;

    public static KernelStats FromCounters(ReadOnlySpan<ulong> c) =>
        new(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13], c[14], c[15], c[16], c[17], c[18], c[19]);
}
