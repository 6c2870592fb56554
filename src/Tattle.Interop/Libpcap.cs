using System.Runtime.InteropServices;

namespace Tattle.Interop;

/// <summary>
/// Declarations of the libpcap 1.10 API Tattle uses (Debian bookworm's libpcap0.8, which despite its name ships
/// libpcap 1.10 under the old soname). Calls returning int return 0 or a PCAP_ERROR_* / PCAP_WARNING_* status;
/// the text of the last error is in <see cref="GetErr"/>. Errors become exceptions in <see cref="ThrowIfError"/>.
/// </summary>
public static unsafe partial class Libpcap
{
    public const string Library = "libpcap.so.0.8";

    /// <summary>PCAP_ERRBUF_SIZE: the size of the buffer pcap_create writes its error into.</summary>
    public const int ErrorBufferSize = 256;

    public const int PCAP_ERROR = -1;
    public const int PCAP_ERROR_BREAK = -2;
    public const int PCAP_ERROR_NO_SUCH_DEVICE = -5;
    public const int PCAP_ERROR_PERM_DENIED = -8;
    public const int PCAP_ERROR_PROMISC_PERM_DENIED = -11;
    public const int PCAP_ERROR_TSTAMP_PRECISION_NOTSUP = -12;

    public const int PCAP_WARNING = 1;

    public const int PCAP_TSTAMP_PRECISION_MICRO = 0;
    public const int PCAP_TSTAMP_PRECISION_NANO = 1;

    /// <summary>PCAP_NETMASK_UNKNOWN: only matters for filters that test IPv4 broadcast.</summary>
    public const uint PCAP_NETMASK_UNKNOWN = 0xffffffff;

    public const int DLT_EN10MB = 1;
    public const int DLT_RAW = 12;
    public const int DLT_LINUX_SLL = 113;
    public const int DLT_LINUX_SLL2 = 276;

    /// <summary>struct pcap_pkthdr on x86_64: struct timeval (two longs), caplen, len.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PacketHeader
    {
        public long Seconds;

        /// <summary>Microseconds, or nanoseconds when the handle was activated with nanosecond precision.</summary>
        public long Fraction;

        public uint CapturedLength;
        public uint WireLength;
    }

    /// <summary>struct pcap_stat (Linux: no Windows-only fields).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Stat
    {
        /// <summary>
        /// Packets that passed the kernel filter, including those then dropped and the loopback copies libpcap
        /// discards. Cumulative: libpcap keeps the total, as the kernel resets its counts on each read.
        /// </summary>
        public uint Received;

        /// <summary>Packets the kernel dropped because the ring was full.</summary>
        public uint Dropped;

        /// <summary>Packets the interface or driver dropped: filled from sysfs in promiscuous mode only.</summary>
        public uint InterfaceDropped;
    }

    /// <summary>struct bpf_program: a compiled filter, freed with <see cref="FreeCode"/>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct BpfProgram
    {
        public uint Length;
        public IntPtr Instructions;
    }

    [LibraryImport(Library, EntryPoint = "pcap_lib_version")]
    public static partial byte* LibVersion();

    [LibraryImport(Library, EntryPoint = "pcap_create", StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr Create(string device, byte* errorBuffer);

    [LibraryImport(Library, EntryPoint = "pcap_close")]
    public static partial void Close(IntPtr pcap);

    [LibraryImport(Library, EntryPoint = "pcap_set_snaplen")]
    public static partial int SetSnaplen(PcapHandle pcap, int snaplen);

    [LibraryImport(Library, EntryPoint = "pcap_set_promisc")]
    public static partial int SetPromisc(PcapHandle pcap, int promisc);

    [LibraryImport(Library, EntryPoint = "pcap_set_timeout")]
    public static partial int SetTimeout(PcapHandle pcap, int timeoutMs);

    [LibraryImport(Library, EntryPoint = "pcap_set_immediate_mode")]
    public static partial int SetImmediateMode(PcapHandle pcap, int immediate);

    [LibraryImport(Library, EntryPoint = "pcap_set_buffer_size")]
    public static partial int SetBufferSize(PcapHandle pcap, int bytes);

    [LibraryImport(Library, EntryPoint = "pcap_set_tstamp_precision")]
    public static partial int SetTimestampPrecision(PcapHandle pcap, int precision);

    [LibraryImport(Library, EntryPoint = "pcap_get_tstamp_precision")]
    public static partial int GetTimestampPrecision(PcapHandle pcap);

    [LibraryImport(Library, EntryPoint = "pcap_activate")]
    public static partial int Activate(PcapHandle pcap);

    [LibraryImport(Library, EntryPoint = "pcap_geterr")]
    public static partial byte* GetErr(PcapHandle pcap);

    [LibraryImport(Library, EntryPoint = "pcap_statustostr")]
    public static partial byte* StatusToString(int status);

    [LibraryImport(Library, EntryPoint = "pcap_datalink")]
    public static partial int Datalink(PcapHandle pcap);

    [LibraryImport(Library, EntryPoint = "pcap_set_datalink")]
    public static partial int SetDatalink(PcapHandle pcap, int linkType);

    [LibraryImport(Library, EntryPoint = "pcap_datalink_val_to_name")]
    public static partial byte* DatalinkName(int linkType);

    [LibraryImport(Library, EntryPoint = "pcap_snapshot")]
    public static partial int Snapshot(PcapHandle pcap);

    [LibraryImport(Library, EntryPoint = "pcap_compile", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Compile(PcapHandle pcap, BpfProgram* program, string filter, int optimize, uint netmask);

    [LibraryImport(Library, EntryPoint = "pcap_setfilter")]
    public static partial int SetFilter(PcapHandle pcap, BpfProgram* program);

    [LibraryImport(Library, EntryPoint = "pcap_freecode")]
    public static partial void FreeCode(BpfProgram* program);

    // pcap_dispatch and pcap_breakloop take the raw pcap_t: the first is called from a loop, the second from the
    // packet callback, and both callers hold a DangerousAddRef on the PcapHandle for as long as they use it.

    /// <summary>
    /// Processes up to <paramref name="count"/> packets (-1: every packet already buffered), calling
    /// <paramref name="callback"/>(user, header, bytes) for each; the bytes are valid only during the call.
    /// Returns the number processed, PCAP_ERROR_BREAK after pcap_breakloop, or PCAP_ERROR.
    /// </summary>
    [LibraryImport(Library, EntryPoint = "pcap_dispatch")]
    public static partial int Dispatch(
        IntPtr pcap, int count, delegate* unmanaged[Cdecl]<IntPtr, PacketHeader*, byte*, void> callback, IntPtr user);

    /// <summary>Makes a running or the next pcap_dispatch return PCAP_ERROR_BREAK; safe from any thread.</summary>
    [LibraryImport(Library, EntryPoint = "pcap_breakloop")]
    public static partial void BreakLoop(IntPtr pcap);

    [LibraryImport(Library, EntryPoint = "pcap_stats")]
    public static partial int Stats(PcapHandle pcap, Stat* stats);

    [LibraryImport(Library, EntryPoint = "pcap_get_selectable_fd")]
    public static partial int GetSelectableFd(PcapHandle pcap);

    /// <summary>The libpcap version string ("libpcap version 1.10.3 (with TPACKET_V3)").</summary>
    public static string Version => Marshal.PtrToStringUTF8((IntPtr)LibVersion()) ?? "";

    /// <summary>The DLT_ name of a link type ("LINUX_SLL2"), or its number when libpcap has no name for it.</summary>
    public static string LinkTypeName(int linkType) =>
        Marshal.PtrToStringUTF8((IntPtr)DatalinkName(linkType)) ?? linkType.ToString();

    /// <summary>
    /// libpcap's own description of a failure: pcap_geterr's text for PCAP_ERROR, otherwise the status's
    /// description followed by that text when it adds something (as tcpdump prints it).
    /// </summary>
    public static string Describe(PcapHandle pcap, int status)
    {
        string detail = Marshal.PtrToStringUTF8((IntPtr)GetErr(pcap)) ?? "";
        string statusText = Marshal.PtrToStringUTF8((IntPtr)StatusToString(status)) ?? $"status {status}";
        if (status == PCAP_ERROR || status == PCAP_WARNING)
        {
            return detail.Length > 0 ? detail : statusText;
        }
        return detail.Length == 0 || detail == statusText ? statusText : $"{statusText} ({detail})";
    }

    /// <summary>
    /// The one place where a failed libpcap call becomes an exception: throws <see cref="PcapException"/> with
    /// libpcap's text when <paramref name="status"/> is negative; returns it (0 or a warning) otherwise.
    /// </summary>
    public static int ThrowIfError(PcapHandle pcap, int status, string what)
    {
        if (status < 0)
        {
            throw new PcapException(what, status, Describe(pcap, status));
        }
        return status;
    }

    /// <summary>pcap_create, throwing with the error libpcap wrote into its buffer.</summary>
    public static PcapHandle CreateHandle(string device)
    {
        byte* errorBuffer = stackalloc byte[ErrorBufferSize];
        errorBuffer[0] = 0;
        IntPtr pcap = Create(device, errorBuffer);
        if (pcap == IntPtr.Zero)
        {
            throw new PcapException("pcap_create", PCAP_ERROR, Marshal.PtrToStringUTF8((IntPtr)errorBuffer) ?? "");
        }
        return new PcapHandle(pcap);
    }
}

/// <summary>A libpcap call failed; the message is libpcap's own text.</summary>
public sealed class PcapException(string what, int status, string message) : Exception(message)
{
    /// <summary>The PCAP_ERROR_* status the call returned.</summary>
    public int Status { get; } = status;

    /// <summary>What was being done.</summary>
    public string Operation { get; } = what;
}
