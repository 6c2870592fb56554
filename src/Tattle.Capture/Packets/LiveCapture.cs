using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using Tattle.Interop;

namespace Tattle.Capture.Packets;

/// <summary>What to capture and how; the defaults suit tracing a host's own traffic on "any".</summary>
public sealed record CaptureOptions
{
    /// <summary>An interface name, or "any" for every interface of this network namespace.</summary>
    public string Device { get; init; } = "any";

    /// <summary>Bytes kept of each packet; the rest is cut (the wire length is still reported).</summary>
    public int Snaplen { get; init; } = 262144;

    /// <summary>Size of the kernel ring the packets wait in; when it is full the kernel drops and counts.</summary>
    public int BufferBytes { get; init; } = 32 << 20;

    /// <summary>
    /// Longest time a packet waits in a partly filled ring block before it is handed over (TPACKET_V3's block
    /// retire timeout): the delivery latency under light traffic.
    /// </summary>
    public int TimeoutMs { get; init; } = 50;

    /// <summary>A tcpdump filter expression (pcap-filter(7)), compiled by libpcap and run in the kernel.</summary>
    public string? Filter { get; init; }

    /// <summary>
    /// Hand every packet over as it arrives. Off by default: libpcap then uses TPACKET_V2, whose ring slots are
    /// snaplen-sized for "any", so 32 MiB at a 256 KiB snaplen holds only ~128 packets.
    /// </summary>
    public bool Immediate { get; init; }
}

/// <summary>Receives packets on the capture thread; <c>data</c> is valid only during the call.</summary>
public interface IPacketHandler
{
    /// <summary>One packet: its capture time (Unix epoch, ns), its length on the wire, its captured bytes.</summary>
    void OnPacket(long unixNs, int wireLength, ReadOnlySpan<byte> data);

    /// <summary>The end of a batch of at least one packet: a good moment to flush.</summary>
    void OnBatchEnd();
}

/// <summary>libpcap's counters since the capture was opened.</summary>
/// <param name="Received">
/// Packets that passed the kernel filter, the dropped ones and the discarded loopback copies included.
/// </param>
/// <param name="Dropped">Packets the kernel dropped because the ring was full.</param>
/// <param name="InterfaceDropped">
/// Packets the interface or its driver dropped. libpcap reads them from sysfs only in promiscuous mode, which
/// LiveCapture does not use, so this stays 0; kept so a caller need not change when that does.
/// </param>
public readonly record struct CaptureStats(ulong Received, ulong Dropped, ulong InterfaceDropped);

/// <summary>A capture could not be opened or failed; the message is one line meant for the user.</summary>
public sealed class CaptureException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Live packet capture through libpcap on an AF_PACKET socket. <see cref="Run"/> blocks the calling thread and
/// hands each packet to an <see cref="IPacketHandler"/> until <see cref="Stop"/>. An exception thrown by the
/// handler never crosses into libpcap: it ends the loop and is rethrown by <see cref="Run"/>.
/// </summary>
public sealed unsafe class LiveCapture : IDisposable
{
    /// <summary>PACKET_OUTGOING in sll_pkttype: a packet this host sent.</summary>
    private const int PacketOutgoing = 4;

    /// <summary>ARPHRD_LOOPBACK: the hardware type of lo.</summary>
    private const int ArphrdLoopback = 772;

    // The ifindex of lo in our network namespace, which is the one libpcap captures in. 0 (no lo) matches nothing.
    private static readonly int LoopbackIndex = (int)Libc.IfNameToIndex("lo");

    private readonly PcapHandle _pcap;
    private readonly Lock _statsLock = new();
    private volatile bool _stopRequested;
    private int _running;
    private Libpcap.Stat _lastStat;
    private CaptureStats _stats;

    private LiveCapture(PcapHandle pcap, string device, IReadOnlyList<string> warnings)
    {
        _pcap = pcap;
        Device = device;
        Warnings = warnings;
        LinkType = Libpcap.Datalink(pcap);
        Snaplen = Libpcap.Snapshot(pcap);
        NanosecondTimestamps = Libpcap.GetTimestampPrecision(pcap) == Libpcap.PCAP_TSTAMP_PRECISION_NANO;
    }

    /// <summary>The device captured on.</summary>
    public string Device { get; }

    /// <summary>The link type (DLT_*) of every frame: 276 (LINUX_SLL2) on "any" unless libpcap refused it.</summary>
    public int LinkType { get; }

    /// <summary>Bytes kept per packet, as libpcap settled it.</summary>
    public int Snaplen { get; }

    /// <summary>Whether timestamps have nanosecond precision (else microseconds; the API is in ns either way).</summary>
    public bool NanosecondTimestamps { get; }

    /// <summary>What libpcap warned about while opening, and options it refused (one line each).</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>The libpcap version string, e.g. "libpcap version 1.10.3 (with TPACKET_V3)".</summary>
    public static string LibraryVersion => Libpcap.Version;

    /// <summary>Opens and activates a capture; throws <see cref="CaptureException"/> with libpcap's reason.</summary>
    public static LiveCapture Open(CaptureOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.Device);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Snaplen);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.BufferBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.TimeoutMs);

        PcapHandle pcap;
        try
        {
            pcap = Libpcap.CreateHandle(options.Device);
        }
        catch (DllNotFoundException ex)
        {
            throw new CaptureException($"libpcap: {Libpcap.Library} is not installed (apt-get install libpcap0.8)", ex);
        }
        catch (PcapException ex)
        {
            throw new CaptureException($"libpcap: {options.Device}: {ex.Message}", ex);
        }

        try
        {
            var warnings = new List<string>();
            Configure(pcap, options, warnings);
            return new LiveCapture(pcap, options.Device, warnings);
        }
        catch (PcapException ex)
        {
            pcap.Dispose();
            bool inFilter = ex.Operation is "pcap_compile" or "pcap_setfilter";
            string message = inFilter
                ? $"tcpdump filter '{options.Filter}': {ex.Message}"
                : $"libpcap: {options.Device}: {ex.Message}";
            throw new CaptureException(message, ex);
        }
        catch
        {
            pcap.Dispose();
            throw;
        }
    }

    private static void Configure(PcapHandle pcap, CaptureOptions options, List<string> warnings)
    {
        Libpcap.ThrowIfError(pcap, Libpcap.SetSnaplen(pcap, options.Snaplen), "pcap_set_snaplen");
        // Promiscuous mode would show other hosts' traffic, which Tattle cannot attribute to a process anyway.
        Libpcap.ThrowIfError(pcap, Libpcap.SetPromisc(pcap, 0), "pcap_set_promisc");
        Libpcap.ThrowIfError(pcap, Libpcap.SetTimeout(pcap, options.TimeoutMs), "pcap_set_timeout");
        Libpcap.ThrowIfError(pcap, Libpcap.SetImmediateMode(pcap, options.Immediate ? 1 : 0), "pcap_set_immediate_mode");
        Libpcap.ThrowIfError(pcap, Libpcap.SetBufferSize(pcap, options.BufferBytes), "pcap_set_buffer_size");
        int precision = Libpcap.SetTimestampPrecision(pcap, Libpcap.PCAP_TSTAMP_PRECISION_NANO);
        if (precision == Libpcap.PCAP_ERROR_TSTAMP_PRECISION_NOTSUP)
        {
            // Microseconds are the default and always supported; no need to ask for them.
            warnings.Add("nanosecond timestamps not supported; using microseconds");
        }
        else
        {
            Libpcap.ThrowIfError(pcap, precision, "pcap_set_tstamp_precision");
        }

        int activated = Libpcap.ThrowIfError(pcap, Libpcap.Activate(pcap), "pcap_activate");
        if (activated > 0)
        {
            warnings.Add(Libpcap.Describe(pcap, activated));
        }

        // On "any", SLL2 (libpcap ≥ 1.10) carries the interface index the loopback duplicate test needs; plain
        // SLL does not. Must precede pcap_compile: the filter's offsets depend on the link-layer header.
        if (options.Device == "any" && Libpcap.Datalink(pcap) != Libpcap.DLT_LINUX_SLL2)
        {
            int status = Libpcap.SetDatalink(pcap, Libpcap.DLT_LINUX_SLL2);
            if (status < 0)
            {
                warnings.Add($"LINUX_SLL2 refused ({Libpcap.Describe(pcap, status)}); " +
                    $"using {Libpcap.LinkTypeName(Libpcap.Datalink(pcap))}");
            }
        }

        if (options.Filter is not null)
        {
            Libpcap.BpfProgram program;
            int compiled = Libpcap.Compile(pcap, &program, options.Filter, 1, Libpcap.PCAP_NETMASK_UNKNOWN);
            Libpcap.ThrowIfError(pcap, compiled, "pcap_compile");
            try
            {
                Libpcap.ThrowIfError(pcap, Libpcap.SetFilter(pcap, &program), "pcap_setfilter");
            }
            finally
            {
                // The kernel (or libpcap, when it filters in user space) keeps its own copy.
                Libpcap.FreeCode(&program);
            }
        }
    }

    /// <summary>
    /// Delivers packets to <paramref name="handler"/> on the calling thread until <see cref="Stop"/> (which may
    /// come before Run starts: Run then returns at once). Rethrows the handler's exception after the loop ends.
    /// </summary>
    public void Run(IPacketHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (Interlocked.Exchange(ref _running, 1) != 0)
        {
            throw new InvalidOperationException("LiveCapture.Run is already running");
        }
        bool added = false;
        var state = new DispatchState(handler, NanosecondTimestamps);
        var gc = GCHandle.Alloc(state);
        try
        {
            // Held for the whole loop: Dispose from another thread then defers pcap_close until Run is out of libpcap.
            _pcap.DangerousAddRef(ref added);
            state.Pcap = _pcap.DangerousGetHandle();
            IntPtr user = GCHandle.ToIntPtr(gc);
            while (!_stopRequested)
            {
                state.BatchPackets = 0;
                int result = Libpcap.Dispatch(state.Pcap, -1, &OnPacket, user);
                state.Failure?.Throw();
                // Counted in the callback, not taken from the result: a break mid-batch returns
                // PCAP_ERROR_BREAK even when packets were already delivered.
                if (state.BatchPackets > 0)
                {
                    handler.OnBatchEnd();
                }
                if (result < 0 && result != Libpcap.PCAP_ERROR_BREAK)
                {
                    try
                    {
                        Libpcap.ThrowIfError(_pcap, result, "pcap_dispatch");
                    }
                    catch (PcapException ex)
                    {
                        throw new CaptureException($"libpcap: {Device}: {ex.Message}", ex);
                    }
                }
            }
        }
        finally
        {
            gc.Free();
            if (added)
            {
                _pcap.DangerousRelease();
            }
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>Makes <see cref="Run"/> return; safe from any thread, at any time, more than once.</summary>
    public void Stop()
    {
        _stopRequested = true;
        bool added = false;
        try
        {
            _pcap.DangerousAddRef(ref added);
            // libpcap 1.10 also signals an eventfd its poll() waits on, so a Run blocked on an idle ring wakes now
            // rather than at the next block timeout (which never comes while the ring is empty).
            Libpcap.BreakLoop(_pcap.DangerousGetHandle());
        }
        catch (ObjectDisposedException)
        {
            // Disposed: no Run can be in progress.
        }
        finally
        {
            if (added)
            {
                _pcap.DangerousRelease();
            }
        }
    }

    /// <summary>The counters so far, widened from libpcap's 32 bits: call at least once every 2³² packets.</summary>
    public CaptureStats Stats()
    {
        lock (_statsLock)
        {
            Libpcap.Stat now;
            Libpcap.ThrowIfError(_pcap, Libpcap.Stats(_pcap, &now), "pcap_stats");
            // Unsigned subtraction gives the increase even across a wrap of libpcap's u_int counters.
            _stats = new CaptureStats(
                _stats.Received + (now.Received - _lastStat.Received),
                _stats.Dropped + (now.Dropped - _lastStat.Dropped),
                _stats.InterfaceDropped + (now.InterfaceDropped - _lastStat.InterfaceDropped));
            _lastStat = now;
            return _stats;
        }
    }

    /// <summary>
    /// Whether a frame is the second copy of a loopback packet. The kernel hands a packet socket every packet
    /// on lo twice: once as PACKET_OUTGOING when sent, then as PACKET_HOST when received, same bytes, same
    /// ifindex (seen with a raw AF_PACKET socket on Debian 12, kernel 6.1: 20 copies for 10 packets). libpcap
    /// 1.10 already discards the outgoing copy (linux_check_direction), so through <see cref="LiveCapture"/>
    /// this finds nothing (its <see cref="CaptureStats.Received"/> still counts both copies); it is for frames
    /// from elsewhere (another libpcap, a raw socket, a capture file) and is cheap enough to keep as a guard.
    /// Supports LINUX_SLL2 (ifindex of lo) and LINUX_SLL (no ifindex: ARPHRD_LOOPBACK); false for the rest.
    /// </summary>
    public static bool IsLoopbackOutgoingDuplicate(int linkType, ReadOnlySpan<byte> frame)
    {
        switch (linkType)
        {
            case Libpcap.DLT_LINUX_SLL2:
                // protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8), big-endian.
                return frame.Length >= 20 && frame[10] == PacketOutgoing
                    && BinaryPrimitives.ReadInt32BigEndian(frame[4..]) == LoopbackIndex && LoopbackIndex != 0;
            case Libpcap.DLT_LINUX_SLL:
                // pkttype(2) hatype(2) halen(2) addr(8) protocol(2), big-endian.
                return frame.Length >= 16 && BinaryPrimitives.ReadUInt16BigEndian(frame) == PacketOutgoing
                    && BinaryPrimitives.ReadUInt16BigEndian(frame[2..]) == ArphrdLoopback;
            default:
                return false;
        }
    }

    public void Dispose()
    {
        Stop();
        _pcap.Dispose();
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnPacket(IntPtr user, Libpcap.PacketHeader* header, byte* bytes)
    {
        var state = (DispatchState)GCHandle.FromIntPtr(user).Target!;
        if (state.Failure is not null)
        {
            // The rest of a batch after the handler failed: the loop is already being broken.
            return;
        }
        try
        {
            long fraction = state.Nanoseconds ? header->Fraction : header->Fraction * 1000;
            state.BatchPackets++;
            state.Handler.OnPacket(
                header->Seconds * 1_000_000_000 + fraction,
                (int)header->WireLength,
                new ReadOnlySpan<byte>(bytes, (int)header->CapturedLength));
        }
        catch (Exception ex)
        {
            state.Failure = ExceptionDispatchInfo.Capture(ex);
            Libpcap.BreakLoop(state.Pcap);
        }
    }

    /// <summary>What the native callback reaches through pcap_dispatch's user pointer.</summary>
    private sealed class DispatchState(IPacketHandler handler, bool nanoseconds)
    {
        public readonly IPacketHandler Handler = handler;
        public readonly bool Nanoseconds = nanoseconds;
        public IntPtr Pcap;
        public int BatchPackets;
        public ExceptionDispatchInfo? Failure;
    }
}
