using Tattle.Capture.Events;
using Tattle.Capture.Packets;

namespace Tattle.Capture.Packets.Replay;

/// <summary>A TCP flow's two endpoints in a fixed order, so both directions find the same flow.</summary>
internal readonly record struct FlowKey(NetAddress A, NetAddress B)
{
    public static FlowKey Of(NetAddress x, NetAddress y) => Compare(x, y) <= 0 ? new(x, y) : new(y, x);

    private static int Compare(NetAddress x, NetAddress y)
    {
        int c = x.Address.CompareTo(y.Address);
        if (c == 0)
        {
            c = x.Port.CompareTo(y.Port);
        }
        return c != 0 ? c : x.Family.CompareTo(y.Family);
    }
}

/// <summary>What makes two captured packets copies of one: same sender, numbers, flags, length and checksum.</summary>
internal readonly record struct PacketSignature(int Side, uint Seq, uint Ack, TcpFlags Flags, int Length, ushort Checksum, NetAddress Peer)
{
    public static PacketSignature Of(int side, in DecodedPacket p, NetAddress peer) =>
        new(side, p.Seq, p.Ack, p.TcpFlags, p.WirePayloadLength, p.Checksum, peer);
}

/// <summary>The last few packets of a flow, to recognise a copy of one of them that follows within a moment.</summary>
internal sealed class RecentPackets
{
    /// <summary>
    /// Packets remembered. One packet's copies are usually adjacent, but with the other direction's packets and a
    /// second CPU in between they need not be.
    /// </summary>
    private const int Size = 8;

    private readonly PacketSignature[] _signatures = new PacketSignature[Size];
    private readonly long[] _times = new long[Size];
    private int _count;
    private int _next;

    /// <summary>True when the packet repeats one seen at most <paramref name="windowNs"/> earlier; else remembers it.</summary>
    public bool IsCopy(in PacketSignature signature, long nowNs, long windowNs)
    {
        for (int i = 0; i < _count; i++)
        {
            if (_signatures[i] == signature && Math.Abs(nowNs - _times[i]) <= windowNs)
            {
                return true;
            }
        }
        _signatures[_next] = signature;
        _times[_next] = nowNs;
        _next = (_next + 1) % Size;
        _count = Math.Min(_count + 1, Size);
        return false;
    }
}

/// <summary>One direction of a TCP flow: where its stream starts, what was handed on, where it ends.</summary>
internal sealed class TcpDirection
{
    private uint _refSeq;
    private long _refPosition;

    /// <summary>Whether the stream's start is known (from the SYN, or the first segment seen).</summary>
    public bool HasBase { get; private set; }

    /// <summary>The sequence number of the stream's first byte (position 0).</summary>
    public uint BaseSeq { get; private set; }

    public SeenRanges Seen { get; } = new();

    /// <summary>Position the FIN takes (the stream's length), once a FIN was seen.</summary>
    public long? FinPosition { get; set; }

    /// <summary>The direction ended: its FIN came and every byte before it was handed on.</summary>
    public bool Ended { get; set; }

    /// <summary>Whether position 0 was handed on.</summary>
    public bool StartDelivered { get; set; }

    /// <summary>Chunks, and their bytes, handed on past a missing position 0 (the session holds them).</summary>
    public int HeldAhead { get; set; }

    public long HeldAheadBytes { get; set; }

    public void SetBase(uint seq)
    {
        HasBase = true;
        BaseSeq = seq;
        _refSeq = seq;
        _refPosition = 0;
    }

    /// <summary>
    /// The 64-bit stream position of <paramref name="seq"/>: sequence numbers wrap at 2^32 (RFC 9293 §3.4), so a
    /// number is read as the nearest position to the latest one seen (within 2^31 either way), and positions
    /// keep growing past the wrap. Negative for bytes before the stream's start.
    /// </summary>
    public long Position(uint seq)
    {
        int delta = (int)(seq - _refSeq);
        long position = _refPosition + delta;
        if (delta > 0)
        {
            _refSeq = seq;
            _refPosition = position;
        }
        return position;
    }
}

/// <summary>A TCP connection seen in a capture, and the socket it became for the session.</summary>
internal sealed class TcpFlow(FlowKey key, long id, long firstNs, int firstSide)
{
    public FlowKey Key { get; } = key;

    /// <summary>Creation order, so flows end in a stable order.</summary>
    public long Id { get; } = id;

    public long FirstNs { get; } = firstNs;

    public long LastNs { get; set; } = firstNs;

    /// <summary>The side of the flow's first packet's sender (0 = <see cref="FlowKey.A"/>).</summary>
    public int FirstSide { get; } = firstSide;

    public TcpDirection[] Dirs { get; } = [new(), new()];

    public RecentPackets Recent { get; } = new();

    /// <summary>The side that sent the SYN (or received the SYN-ACK), once known.</summary>
    public int? ClientSide { get; set; }

    public bool SawSyn { get; set; }

    public bool SawSynAck { get; set; }

    /// <summary>When the handshake completed (the SYN-ACK), if it was seen.</summary>
    public long? EstablishedNs { get; set; }

    public bool SawPayload { get; set; }

    public PacketComment? Owner { get; set; }

    /// <summary>The owner's side, when its comment said which way its packet went.</summary>
    public int? OwnerSide { get; set; }

    /// <summary>The session was told about the socket.</summary>
    public bool Announced { get; set; }

    public bool Closed { get; set; }

    public long ClosedNs { get; set; }

    /// <summary>The side the owner's socket is on.</summary>
    public int LocalSide { get; set; }

    public int Pid { get; set; }

    public int Fd { get; set; }

    public ulong SockId { get; set; }

    /// <summary>A synthetic flow of decrypted TLS (<see cref="PacketComment.IsTlsPlaintext"/>), not a connection.</summary>
    public bool Plaintext { get; init; }

    /// <summary>A plaintext flow's captured connection, once found; its bytes go to the session as that socket's TLS.</summary>
    public TcpFlow? Carrier { get; set; }

    /// <summary>A captured connection's plaintext flow that has not ended: the connection's close waits for it.</summary>
    public TcpFlow? OpenPlaintext { get; set; }

    /// <summary>A plaintext flow was bound to this connection (an expected one then no longer holds its close).</summary>
    public bool PlaintextSeen { get; set; }

    /// <summary>A plaintext flow's data events while its connection is not yet known (the file's order is the writers').</summary>
    public List<(DataEvent Event, byte[] Payload)>? Pending { get; set; }

    public long PendingBytes { get; set; }

    /// <summary>When the connection ended while its plaintext flow was still open (its close is sent after it).</summary>
    public long? DeferredCloseNs { get; set; }

    public int SideOf(NetAddress sender) => sender == Key.A ? 0 : 1;

    public NetAddress Address(int side) => side == 0 ? Key.A : Key.B;
}

/// <summary>A UDP socket seen in a capture: one per owner and local endpoint.</summary>
internal sealed class UdpSocket(long id, int pid, int fd, ulong sockId, NetAddress local, long nowNs)
{
    public long Id { get; } = id;

    public int Pid { get; } = pid;

    public int Fd { get; } = fd;

    public ulong SockId { get; } = sockId;

    public NetAddress Local { get; } = local;

    public long LastNs { get; set; } = nowNs;

    /// <summary>Bytes moved so far per direction: the next datagram's position, like the kernel's.</summary>
    public ulong[] Positions { get; } = new ulong[2];

    public RecentPackets Recent { get; } = new();
}
