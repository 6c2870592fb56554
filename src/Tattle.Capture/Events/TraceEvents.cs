namespace Tattle.Capture.Events;

/// <summary>A process was created by fork/clone (not a thread).</summary>
public readonly record struct ProcessFork(long TimestampNs, int Pid, int ParentPid, ulong StartTime, string Comm);

/// <summary>A process replaced its program image.</summary>
public readonly record struct ProcessExec(
    long TimestampNs, int Pid, int ParentPid, ulong StartTime, string Comm, string Filename, IReadOnlyList<string> Argv);

/// <summary>The last thread of a process exited; <see cref="WaitStatus"/> is the raw wait(2) status.</summary>
public readonly record struct ProcessExit(long TimestampNs, int Pid, ulong StartTime, string Comm, int WaitStatus)
{
    /// <summary>The signal that killed the process, or 0.</summary>
    public int Signal => WaitStatus & 0x7f;

    /// <summary>The exit code when the process exited normally.</summary>
    public int ExitCode => (WaitStatus >> 8) & 0xff;
}

/// <summary>What happened to a socket.</summary>
public enum SocketEventKind
{
    Socket,
    Connect,
    Accept,
    Bind,
    Listen,
    Close,
    Shutdown,
    TcpState,
    Notice,
}

/// <summary>Direction of payload, as seen by the traced process.</summary>
public enum Direction : ushort
{
    Send = 0,
    Recv = 1,
}

/// <summary>Flags of a data event (mirror TATTLE_DATA_* in bpf/tattle.h).</summary>
[Flags]
public enum DataFlags : ushort
{
    None = 0,
    Truncated = 0x01,
    Last = 0x02,
    Eof = 0x04,
    Sendfile = 0x08,
    Splice = 0x10,
    Unread = 0x20,

    /// <summary>Plaintext handed to or returned by a TLS library (uprobes), not bytes of the socket.</summary>
    Tls = 0x40,

    /// <summary>
    /// The message's first <see cref="DataEvent.SkipLength"/> bytes lie in a body the parser only counts: the kernel
    /// walked past them without copying (TATTLE_DATA_SKIPPED).
    /// </summary>
    Skipped = 0x80,
}

/// <summary>Socket types (SOCK_*).</summary>
public static class SocketTypes
{
    public const ushort Stream = 1;
    public const ushort Datagram = 2;
    public const ushort Raw = 3;
    public const ushort SeqPacket = 5;
}

/// <summary>TCP states as the kernel numbers them (include/net/tcp_states.h).</summary>
public enum TcpState : byte
{
    Unknown = 0,
    Established = 1,
    SynSent = 2,
    SynRecv = 3,
    FinWait1 = 4,
    FinWait2 = 5,
    TimeWait = 6,
    Close = 7,
    CloseWait = 8,
    LastAck = 9,
    Listen = 10,
    Closing = 11,
    NewSynRecv = 12,
}

/// <summary>A socket lifecycle event: creation, connect, accept, bind, listen, close, shutdown or TCP state change.</summary>
public readonly record struct SocketEvent
{
    public long TimestampNs { get; init; }
    public int Pid { get; init; }
    public int Tid { get; init; }
    public SocketEventKind Kind { get; init; }
    public int Fd { get; init; }

    /// <summary>The syscall's result: 0 or a new fd on success, -errno on failure. TCP state: -sk_err.</summary>
    public int Result { get; init; }

    /// <summary>Identifies the kernel socket while it lives (its address).</summary>
    public ulong SockId { get; init; }
    public ushort Family { get; init; }
    public ushort SockType { get; init; }
    public ushort Protocol { get; init; }
    public TcpState State { get; init; }

    /// <summary>
    /// Accept: the listening fd; TCP state: the old state; shutdown: how; listen: backlog; notice: code; socket:
    /// <see cref="FirstPayload"/> for a socket first seen by its payload (--no-syscalls).
    /// </summary>
    public int Aux { get; init; }

    /// <summary>A socket record's <see cref="Aux"/>: the socket was first seen by its payload, with its fd and addresses (TATTLE_SOCKET_FIRST_PAYLOAD).</summary>
    public const int FirstPayload = 1;
    public ulong BytesSent { get; init; }
    public ulong BytesRecv { get; init; }
    public NetAddress Local { get; init; }
    public NetAddress Remote { get; init; }
    public string? LocalPath { get; init; }
    public string? RemotePath { get; init; }
}

/// <summary>One chunk of one message's payload (or only its size, when payload is not captured).</summary>
public readonly record struct DataEvent
{
    public long TimestampNs { get; init; }
    public int Pid { get; init; }
    public int Tid { get; init; }
    public int Fd { get; init; }
    public Direction Direction { get; init; }
    public DataFlags Flags { get; init; }
    public ulong SockId { get; init; }

    /// <summary>Stream position of the message's first byte, per socket and direction.</summary>
    public ulong Position { get; init; }

    /// <summary>Bytes the call moved for this message.</summary>
    public uint MessageLength { get; init; }
    public uint ChunkOffset { get; init; }
    public uint ChunkLength { get; init; }
    public ushort Syscall { get; init; }
    public ushort Family { get; init; }
    public ushort SockType { get; init; }

    /// <summary>For datagrams: the address the call sent to or received from.</summary>
    public NetAddress Peer { get; init; }

    /// <summary>TLS plaintext: the library's session object (SSL*) in the process; 0 for socket bytes.</summary>
    public ulong TlsSession { get; init; }

    /// <summary><see cref="DataFlags.Skipped"/>: bytes at the message's start counted, not copied.</summary>
    public uint SkipLength { get; init; }

    /// <summary>The socket's generation in the kernel: with <see cref="SockId"/>, which socket this is (0: not known).</summary>
    public uint SocketGeneration { get; init; }

    /// <summary>TLS plaintext whose socket is not known (Fd is -1): the session object alone identifies it.</summary>
    public bool IsTls => (Flags & DataFlags.Tls) != 0;

    public bool IsFirstChunk => ChunkOffset == 0;
}

/// <summary>
/// HTTP/1 requests the kernel programs counted on one connection (--stats-in-kernel): consecutive requests that
/// began with the same bytes, each with its status and latency, and the payload bytes since the previous record.
/// </summary>
public readonly ref struct HttpCountsEvent
{
    public long TimestampNs { get; init; }

    /// <summary>The socket's owner when the kernel first counted it.</summary>
    public int Pid { get; init; }
    public int Fd { get; init; }
    public ulong SockId { get; init; }

    /// <summary>The requests were received (a server's connection), not sent.</summary>
    public bool RequestsReceived { get; init; }
    public ulong RequestBytes { get; init; }
    public ulong ResponseBytes { get; init; }
    public NetAddress Local { get; init; }
    public NetAddress Remote { get; init; }

    /// <summary>The first bytes of the requests ("GET /users/1 HTTP/1.1\r\n..."), up to 96.</summary>
    public ReadOnlySpan<byte> Head { get; init; }

    /// <summary>Each request's response status, 0 for none.</summary>
    public ReadOnlySpan<ushort> Statuses { get; init; }

    /// <summary>Each request's latency in microseconds, 0 for no response.</summary>
    public ReadOnlySpan<uint> LatenciesUs { get; init; }

    /// <summary>Each request's first read or write, monotonic.</summary>
    public ReadOnlySpan<ulong> StartsNs { get; init; }

    /// <summary>Each request's payload bytes, from its head to the next request's (a body sent after the head included).</summary>
    public ReadOnlySpan<uint> RequestLengths { get; init; }

    /// <summary>The payload bytes the other way while each request was the latest: its response (saturating).</summary>
    public ReadOnlySpan<uint> ResponseLengths { get; init; }
}

/// <summary>The six argument registers of a probed call, as the kernel read them.</summary>
[System.Runtime.CompilerServices.InlineArray(CallEvent.MaxArguments)]
public struct CallRegisters
{
    private ulong _first;
}

/// <summary>Bytes captured of each argument (a string's or a buffer's), by position.</summary>
[System.Runtime.CompilerServices.InlineArray(CallEvent.MaxArguments)]
public struct CallCaptureLengths
{
    private ushort _first;
}

/// <summary>
/// One call of a probed function (tattle probe): its arguments' registers, its result, and the bytes of its
/// string and buffer arguments, slot <c>i</c> at <c>i * SlotBytes</c> of the span passed with it.
/// </summary>
public readonly record struct CallEvent
{
    public const int MaxArguments = 6;

    /// <summary>Bytes of one argument's slot: a longer string or buffer is cut there.</summary>
    public const int SlotBytes = 256;

    /// <summary>The return (the entry for a probe without a return).</summary>
    public long TimestampNs { get; init; }

    public long StartNs { get; init; }

    public int Pid { get; init; }

    public int Tid { get; init; }

    /// <summary>The attach cookie: the function's index in bits 0–15.</summary>
    public ulong Cookie { get; init; }

    public int Function => (int)(Cookie & 0xffff);

    public CallRegisters Args { get; init; }

    public ulong Ret { get; init; }

    public CallCaptureLengths Captured { get; init; }

    /// <summary>No return probe (Go code): no result and no duration.</summary>
    public bool EntryOnly { get; init; }
}

/// <summary>Events lost somewhere between the kernel and the records.</summary>
public readonly record struct LossEvent(long TimestampNs, long Count, string Where);

/// <summary>Receives the events of one capture source, in arrival order.</summary>
/// <remarks>Payload spans are valid only during the call: copy what you keep.</remarks>
public interface ITraceEventSink
{
    void OnFork(in ProcessFork e);

    void OnExec(in ProcessExec e);

    void OnExit(in ProcessExit e);

    void OnSocket(in SocketEvent e);

    void OnData(in DataEvent e, ReadOnlySpan<byte> payload);

    void OnLoss(in LossEvent e);

    /// <summary>A probed function returned (tattle probe); <paramref name="slots"/> holds its captured arguments.</summary>
    void OnCall(in CallEvent e, ReadOnlySpan<byte> slots)
    {
    }

    /// <summary>HTTP/1 requests counted in the kernel (--stats-in-kernel).</summary>
    void OnHttpCounts(in HttpCountsEvent e)
    {
    }
}
