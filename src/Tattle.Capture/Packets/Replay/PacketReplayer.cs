using Tattle.Capture.Events;
using Tattle.Capture.Packets;
using Tattle.Interop;

namespace Tattle.Capture.Packets.Replay;

/// <summary>How a <see cref="PacketReplayer"/> treats what a capture repeats or leaves open.</summary>
public sealed record ReplayOptions
{
    /// <summary>
    /// A packet identical to one of its flow's last few (same sender, numbers, flags, length, checksum) within this
    /// time is a copy of it: the same packet seen on a second interface ("any" on a bridge and its port, or loopback
    /// on kernels that show it as sent and as received). Copies are microseconds apart; a resent segment is at
    /// least a retransmission timeout (200 ms on Linux) later.
    /// </summary>
    public long DuplicateWindowNs { get; init; } = 1_000_000;

    /// <summary>The session's unparsed bytes per direction (its stream settings' CapBytes, --stream-buffer; 1 MiB by default).</summary>
    public int StreamCapBytes { get; init; } = 1 << 20;

    /// <summary>A UDP socket with no datagram for this long is closed (a capture never shows the close).</summary>
    public long UdpIdleNs { get; init; } = 60_000_000_000;

    /// <summary>A TCP flow whose both FINs came but whose stream has holes is closed after this long idle.</summary>
    public long FinIdleNs { get; init; } = 1_000_000_000;

    /// <summary>How long a closed TCP flow is remembered, so its stray last packets do not start a new one.</summary>
    public long ClosedLingerNs { get; init; } = 60_000_000_000;

    /// <summary>Name of the synthetic process that owns packets without an owner comment.</summary>
    public string CaptureComm { get; init; } = "capture";
}

/// <summary>
/// Turns captured packets into the events of a live trace, so a capture file goes through the same
/// <see cref="TraceSession"/> as the kernel's events: processes (from owner comments, or one synthetic process),
/// a socket per TCP flow and per UDP endpoint, and each payload byte once, at its stream position.
/// </summary>
/// <remarks>
/// <para>Time: events carry the packets' Unix nanoseconds. A session normally converts CLOCK_MONOTONIC with
/// <see cref="TraceSettings.ToUnixNs"/>; for a replay build it with <c>ToUnixNs = PacketReplayer.UnixClock</c>
/// (the identity), and call <see cref="TraceSession.Finish"/> with <see cref="LastNs"/> and <see cref="FirstNs"/>.</para>
/// <para>TCP: a flow becomes a connect (or an accept, when the owner is the server) when it first carries payload,
/// a FIN or a RST, so an owner comment on any of its packets up to then counts. Bytes are handed on once per
/// direction whatever the capture repeats; segments past a hole go ahead, and the session's stream reorders
/// them. A SYN answered by a RST is a refused connect; a SYN never answered, a connect that timed out.</para>
/// </remarks>
public sealed class PacketReplayer(ITraceEventSink sink, ReplayOptions? options = null)
{
    /// <summary>
    /// Chunks the session's stream holds ahead of a hole before it gives the hole up (Tracking's DataStream.MaxHeld):
    /// position 0 arriving after that would be mistaken for new bytes, so it is dropped as too late.
    /// </summary>
    private const int SessionMaxHeld = 32;

    private const long SweepEveryNs = 1_000_000_000;

    private readonly ReplayOptions _options = options ?? new ReplayOptions();
    private readonly Dictionary<FlowKey, TcpFlow> _tcp = [];
    private readonly Dictionary<(int Pid, NetAddress Local), UdpSocket> _udp = [];
    private readonly Dictionary<(int Pid, NetAddress Local), int> _listeners = [];
    private readonly Dictionary<int, int> _nextFd = [];
    private readonly HashSet<int> _processes = [];
    private readonly List<(long Start, long End)> _fresh = [];
    private readonly Dictionary<(int Pid, string Conn), TcpFlow> _byConn = [];
    private readonly Dictionary<(int Pid, string Conn), TcpFlow> _awaitingCarrier = [];
    private readonly HashSet<(int Pid, string Conn)> _plaintextExpected = [];
    private bool _finishing;
    private long _nextFlowId;
    private ulong _nextSockId;
    private long _nextSweepNs;
    private bool _started;

    /// <summary>The clock a replay's <see cref="TraceSettings.ToUnixNs"/> uses: event times are Unix time already.</summary>
    public static Func<long, long> UnixClock { get; } = ns => ns;

    public ReplayCounters Counters { get; } = new();

    /// <summary>Unix time of the earliest packet read.</summary>
    public long FirstNs { get; private set; }

    /// <summary>Unix time of the latest packet read.</summary>
    public long LastNs { get; private set; }

    /// <summary>Decodes and replays one frame; returns what the decoder made of it.</summary>
    public DecodeStatus Add(int linkType, ReadOnlySpan<byte> frame, long unixNs, PacketComment? owner = null)
    {
        var status = PacketDecoder.TryDecode(linkType, frame, out var packet);
        Count(frame.Length, unixNs);
        switch (status)
        {
            case DecodeStatus.Ok:
                Replay(in packet, frame, unixNs, owner);
                break;
            case DecodeStatus.NotIp:
            case DecodeStatus.UnsupportedLinkType:
                Counters.NotIp++;
                break;
            case DecodeStatus.NotTcpUdp:
                Counters.OtherProtocols++;
                break;
            case DecodeStatus.Fragment:
                Counters.Fragments++;
                break;
            default:
                Counters.Undecodable++;
                break;
        }
        return status;
    }

    /// <summary>Replays a packet the caller decoded (status <see cref="DecodeStatus.Ok"/>) from <paramref name="frame"/>.</summary>
    public void AddDecoded(in DecodedPacket packet, ReadOnlySpan<byte> frame, long unixNs, PacketComment? owner = null)
    {
        Count(frame.Length, unixNs);
        Replay(in packet, frame, unixNs, owner);
    }

    /// <summary>
    /// Before the replay (a first pass over the file's comments): the file holds TLS plaintext for this packet's
    /// connection. That connection's close then waits for its plaintext however late in the file it comes: the
    /// tracer writes plaintext at its next flush, often after the connection's last packet.
    /// </summary>
    public void ExpectPlaintext(PacketComment owner)
    {
        if (owner.IsTlsPlaintext && owner.Conn is { } conn && owner.Addr != "synthetic")
        {
            _plaintextExpected.Add((owner.Pid, conn));
        }
    }

    /// <summary>End of input: every flow still open is closed (a connect never answered fails). Then call
    /// <see cref="TraceSession.Finish"/>.</summary>
    public void Finish()
    {
        _finishing = true; // a connection whose expected plaintext never came closes now
        long now = LastNs;
        foreach (var waiting in _awaitingCarrier.Values.OrderBy(f => f.Id).ToList())
        {
            ReleasePending(waiting); // its connection is not in the file: the session shows it on a stand-in
        }
        foreach (var flow in _tcp.Values.Where(f => !f.Closed).OrderBy(f => f.Id).ToList())
        {
            if (!flow.Plaintext && !flow.Announced && flow.SawSyn && !flow.SawSynAck && !flow.SawPayload)
            {
                Fail(flow, now, Errno.ETIMEDOUT);
                continue;
            }
            Announce(flow, now);
            EndFlow(flow, now);
        }
        foreach (var socket in _udp.Values.OrderBy(u => u.Id).ToList())
        {
            CloseUdp(socket, now);
        }
    }

    private void Count(int bytes, long unixNs)
    {
        Counters.Packets++;
        Counters.Bytes += bytes;
        if (!_started)
        {
            _started = true;
            FirstNs = unixNs;
            _nextSweepNs = unixNs + SweepEveryNs;
        }
        FirstNs = Math.Min(FirstNs, unixNs);
        LastNs = Math.Max(LastNs, unixNs);
    }

    private void Replay(in DecodedPacket packet, ReadOnlySpan<byte> frame, long ns, PacketComment? owner)
    {
        if (packet.IsTcp)
        {
            OnTcp(in packet, frame, ns, owner);
        }
        else if (packet.IsUdp)
        {
            OnUdp(in packet, frame, ns, owner);
        }
        else
        {
            Counters.OtherProtocols++;
        }
        if (ns >= _nextSweepNs)
        {
            _nextSweepNs = ns + SweepEveryNs;
            Sweep(ns);
        }
    }

    private void OnTcp(in DecodedPacket p, ReadOnlySpan<byte> frame, long ns, PacketComment? owner)
    {
        var key = FlowKey.Of(p.Src, p.Dst);
        bool syn = p.HasFlag(TcpFlags.Syn);
        bool ack = p.HasFlag(TcpFlags.Ack);
        if (_tcp.TryGetValue(key, out var flow))
        {
            int s = flow.SideOf(p.Src);
            if (flow.Recent.IsCopy(PacketSignature.Of(s, in p, default), ns, _options.DuplicateWindowNs))
            {
                Counters.Duplicates++;
                return;
            }
            // A SYN that does not start this flow's stream is a new connection on the same four numbers.
            bool newConnection = syn && !ack && (flow.Closed || flow.Dirs[s].HasBase && flow.Dirs[s].BaseSeq != p.Seq + 1);
            if (newConnection)
            {
                if (!flow.Closed)
                {
                    EndFlow(flow, ns);
                }
                flow = null;
            }
            else if (flow.Closed)
            {
                Counters.AfterClose++;
                return;
            }
        }
        if (flow is null)
        {
            flow = new TcpFlow(key, ++_nextFlowId, ns, key.A == p.Src ? 0 : 1) { Plaintext = owner?.IsTlsPlaintext == true };
            flow.Recent.IsCopy(PacketSignature.Of(flow.FirstSide, in p, default), ns, _options.DuplicateWindowNs);
            _tcp[key] = flow;
        }
        int side = flow.SideOf(p.Src);
        var dir = flow.Dirs[side];
        var other = flow.Dirs[1 - side];
        flow.LastNs = Math.Max(flow.LastNs, ns);
        if (owner is not null && flow.Owner is null && !flow.Announced)
        {
            flow.Owner = owner;
            flow.OwnerSide = owner.HasDirection ? (owner.IsOutgoing ? side : 1 - side) : null;
        }

        // The handshake (RFC 9293 §3.5): the SYN's sender is the client; a SYN takes one sequence number, so the
        // stream's first byte is at ISN + 1. A flow joined later starts at the first sequence number seen.
        if (syn)
        {
            if (ack)
            {
                flow.SawSynAck = true;
                flow.ClientSide ??= 1 - side;
                flow.EstablishedNs ??= ns;
            }
            else
            {
                flow.SawSyn = true;
                flow.ClientSide ??= side;
            }
            if (!dir.HasBase)
            {
                dir.SetBase(p.Seq + 1);
            }
        }
        else if (!dir.HasBase)
        {
            dir.SetBase(p.Seq);
        }
        // The SYN-ACK was not captured but the client's acknowledgment of it was: it names the server's start.
        if (!syn && ack && !other.HasBase && flow.SawSyn && flow.ClientSide == side)
        {
            other.SetBase(p.Ack);
        }

        if (p.HasFlag(TcpFlags.Rst))
        {
            // A RST ends the connection; what it carries is a diagnostic, not stream data (RFC 9293 §3.5.3).
            if (!flow.Announced && !flow.SawSynAck && !flow.SawPayload && flow.SawSyn)
            {
                if (side != flow.ClientSide)
                {
                    Fail(flow, ns, Errno.ECONNREFUSED);
                }
                else
                {
                    flow.Closed = true; // the client gave up before an answer: nothing was connected
                    flow.ClosedNs = ns;
                }
                return;
            }
            Announce(flow, ns);
            EndFlow(flow, ns);
            return;
        }

        long start = dir.Position(p.Seq) + (syn ? 1 : 0);
        if (p.WirePayloadLength > 0)
        {
            flow.SawPayload = true;
            Announce(flow, ns);
            Deliver(flow, side, start, in p, frame, ns);
        }
        if (p.HasFlag(TcpFlags.Fin))
        {
            // The FIN takes the sequence number after the segment's data.
            dir.FinPosition ??= start + p.WirePayloadLength;
            Announce(flow, ns);
        }
        if (flow.Announced)
        {
            CheckEnds(flow, ns);
        }
    }

    /// <summary>Hands on the bytes of a segment not handed on before, each fresh piece as one message.</summary>
    private void Deliver(TcpFlow flow, int side, long start, in DecodedPacket p, ReadOnlySpan<byte> frame, long ns)
    {
        var dir = flow.Dirs[side];
        long wireEnd = start + p.WirePayloadLength;
        long capturedEnd = start + p.PayloadLength;
        var payload = p.PayloadOf(frame);
        dir.Seen.TakeFresh(Math.Max(start, 0), wireEnd, _fresh);
        long fresh = 0;
        foreach (var (from, to) in _fresh)
        {
            long captured = Math.Clamp(capturedEnd - from, 0, to - from);
            bool cut = captured < to - from;
            if (from == 0)
            {
                if (dir.HeldAhead > SessionMaxHeld || dir.HeldAheadBytes > _options.StreamCapBytes)
                {
                    continue; // the session already gave up on the stream's start: too late
                }
                dir.StartDelivered = true;
            }
            else if (!dir.StartDelivered)
            {
                // The session holds one chunk for the captured bytes and one for the cut rest.
                dir.HeldAhead += (captured > 0 ? 1 : 0) + (cut ? 1 : 0);
                dir.HeldAheadBytes += captured;
            }
            var e = StreamEvent(flow, ns) with
            {
                Direction = side == flow.LocalSide ? Direction.Send : Direction.Recv,
                Position = (ulong)from,
                MessageLength = (uint)(to - from),
                ChunkLength = (uint)captured,
                Flags = DataFlags.Last | (cut ? DataFlags.Truncated : DataFlags.None),
            };
            int offset = (int)Math.Min(from - start, payload.Length);
            Emit(flow, e, payload.Slice(offset, (int)Math.Min(captured, payload.Length - offset)));
            fresh += to - from;
        }
        Counters.PayloadBytes += fresh;
        Counters.RepeatedBytes += p.WirePayloadLength - fresh;
    }

    /// <summary>
    /// Hands a flow's bytes to the session. A plaintext flow's are its connection's TLS plaintext (the session
    /// object is the flow), held while that connection is not yet in the file, or on no socket when it never is.
    /// </summary>
    private void Emit(TcpFlow flow, DataEvent e, ReadOnlySpan<byte> payload)
    {
        if (!flow.Plaintext)
        {
            sink.OnData(in e, payload);
            return;
        }
        if (flow.Pending is { } pending)
        {
            pending.Add((e, payload.ToArray()));
            flow.PendingBytes += payload.Length;
            if (flow.PendingBytes > _options.StreamCapBytes)
            {
                ReleasePending(flow); // waited too long for its connection: shown without it
            }
            return;
        }
        var carrier = flow.Carrier;
        var tls = e with
        {
            Fd = carrier?.Fd ?? -1,
            SockId = carrier?.SockId ?? 0,
            Flags = e.Flags | DataFlags.Tls,
            TlsSession = (ulong)flow.Id,
        };
        sink.OnData(in tls, payload);
    }

    /// <summary>A plaintext flow stops waiting for its connection: what it held goes on, bound to it when found.</summary>
    private void ReleasePending(TcpFlow flow)
    {
        if (flow.Owner?.Conn is { } conn && _awaitingCarrier.TryGetValue((flow.Pid, conn), out var waiting) && waiting == flow)
        {
            _awaitingCarrier.Remove((flow.Pid, conn));
        }
        var pending = flow.Pending ?? [];
        flow.Pending = null;
        foreach (var (e, payload) in pending)
        {
            Emit(flow, e, payload);
        }
    }

    /// <summary>The fields every data event of a TCP flow shares: its owner, fd and socket.</summary>
    private static DataEvent StreamEvent(TcpFlow flow, long ns) => new()
    {
        TimestampNs = ns,
        Pid = flow.Pid,
        Tid = flow.Pid,
        Fd = flow.Fd,
        SockId = flow.SockId,
        Family = flow.Key.A.Family,
        SockType = SocketTypes.Stream,
    };

    /// <summary>A direction ends once its FIN came and every byte before it was handed on; both ended: close.</summary>
    private void CheckEnds(TcpFlow flow, long ns)
    {
        for (int side = 0; side < 2; side++)
        {
            var dir = flow.Dirs[side];
            if (dir.Ended || dir.FinPosition is not { } fin || dir.Seen.ContiguousEnd < fin)
            {
                continue;
            }
            dir.Ended = true;
            if (side != flow.LocalSide && !flow.Plaintext)
            {
                // The kernel side marks the peer's FIN as a read that returned 0. (A plaintext flow's end is its
                // connection's close, as for a live session.)
                var e = StreamEvent(flow, ns) with
                {
                    Direction = Direction.Recv,
                    Position = (ulong)Math.Max(0, fin),
                    Flags = DataFlags.Eof | DataFlags.Last,
                };
                sink.OnData(in e, []);
            }
        }
        if (flow.Dirs[0].Ended && flow.Dirs[1].Ended)
        {
            EndFlow(flow, ns);
        }
    }

    /// <summary>Tells the session about the flow's socket: a connect from the client side, or an accept.</summary>
    private void Announce(TcpFlow flow, long ns)
    {
        if (flow.Announced || flow.Closed)
        {
            return;
        }
        flow.Announced = true;
        int client = flow.ClientSide ?? GuessClient(flow);
        flow.LocalSide = flow.OwnerSide ?? client;
        long at = flow.EstablishedNs ?? flow.FirstNs;
        if (flow.Plaintext)
        {
            AnnouncePlaintext(flow, at);
            return;
        }
        Counters.Flows++;
        Own(flow, at);
        var local = flow.Address(flow.LocalSide);
        var remote = flow.Address(1 - flow.LocalSide);
        if (flow.LocalSide == client)
        {
            sink.OnSocket(Socket(SocketEventKind.Socket, at, flow.Pid, flow.Fd, flow.SockId, local, default, SocketTypes.Stream));
            sink.OnSocket(Socket(SocketEventKind.Connect, at, flow.Pid, flow.Fd, flow.SockId, local, remote, SocketTypes.Stream));
        }
        else
        {
            int listener = Listener(flow.Pid, local, at);
            sink.OnSocket(Socket(SocketEventKind.Accept, at, flow.Pid, flow.Fd, flow.SockId, local, remote, SocketTypes.Stream)
                with
            { Result = flow.Fd, Aux = listener });
        }
        if (flow.Owner?.Conn is { } conn)
        {
            // The session knows the socket now: plaintext that waited for it goes on as its TLS.
            _byConn[(flow.Pid, conn)] = flow;
            if (_awaitingCarrier.Remove((flow.Pid, conn), out var plaintext))
            {
                Carry(plaintext, flow);
                ReleasePending(plaintext);
            }
        }
    }

    /// <summary>
    /// A flow of Tattle's synthetic plaintext interface is no connection of its own: it is the TLS plaintext of
    /// the captured connection its comments name (same pid and conn id), which counts the connection and its
    /// bytes. Made-up addresses (addr=synthetic) name no captured connection.
    /// </summary>
    private void AnnouncePlaintext(TcpFlow flow, long at)
    {
        Counters.PlaintextFlows++;
        flow.Pid = EnsureProcess(flow.Owner, at);
        if (flow.Owner?.Conn is not { } conn || flow.Owner.Addr == "synthetic")
        {
            return; // no captured connection to wait for: a stand-in, as in the live trace
        }
        if (_byConn.TryGetValue((flow.Pid, conn), out var carrier))
        {
            if (!carrier.Closed)
            {
                Carry(flow, carrier);
            }
        }
        else
        {
            flow.Pending = [];
            _awaitingCarrier[(flow.Pid, conn)] = flow;
        }
    }

    private bool AwaitsPlaintext(TcpFlow flow) => !flow.Plaintext && !flow.PlaintextSeen && _plaintextExpected.Count > 0
        && flow.Owner?.Conn is { } conn && _plaintextExpected.Contains((flow.Pid, conn));

    /// <summary>Binds a plaintext flow to its connection, whose close then waits for the plaintext's end.</summary>
    private static void Carry(TcpFlow plaintext, TcpFlow carrier)
    {
        carrier.PlaintextSeen = true;
        plaintext.Carrier = carrier;
        if (!plaintext.Closed)
        {
            carrier.OpenPlaintext = plaintext;
        }
    }

    /// <summary>A connect the capture shows failing: refused (a RST answered the SYN) or never answered.</summary>
    private void Fail(TcpFlow flow, long ns, int errno)
    {
        flow.Closed = true;
        flow.ClosedNs = ns;
        int client = flow.ClientSide ?? flow.FirstSide;
        if (flow.OwnerSide is { } ownerSide && ownerSide != client)
        {
            return; // the owner is the side that refused: it has no socket for this
        }
        flow.LocalSide = client;
        Counters.Flows++;
        Own(flow, flow.FirstNs);
        var local = flow.Address(client);
        var remote = flow.Address(1 - client);
        sink.OnSocket(Socket(SocketEventKind.Socket, flow.FirstNs, flow.Pid, flow.Fd, flow.SockId, local, default, SocketTypes.Stream));
        sink.OnSocket(Socket(SocketEventKind.Connect, ns, flow.Pid, flow.Fd, flow.SockId, local, remote, SocketTypes.Stream)
            with
        { Result = -errno });
        sink.OnSocket(Socket(SocketEventKind.Close, ns, flow.Pid, flow.Fd, flow.SockId, local, remote, SocketTypes.Stream));
    }

    private void EndFlow(TcpFlow flow, long ns)
    {
        if (flow.Closed)
        {
            return;
        }
        if (flow.OpenPlaintext is { Closed: false } || (!_finishing && AwaitsPlaintext(flow)))
        {
            // Its plaintext may still follow in the file (two writers fill it): the TLS session ends with the close.
            flow.DeferredCloseNs ??= ns;
            return;
        }
        ns = flow.DeferredCloseNs ?? ns;
        flow.Closed = true;
        flow.ClosedNs = ns;
        if (flow.Plaintext)
        {
            if (flow.Carrier is { } carrier && carrier.OpenPlaintext == flow)
            {
                carrier.OpenPlaintext = null;
                if (carrier.DeferredCloseNs is { } closedAt)
                {
                    EndFlow(carrier, closedAt);
                }
            }
            return;
        }
        if (flow.Announced)
        {
            sink.OnSocket(Socket(SocketEventKind.Close, ns, flow.Pid, flow.Fd, flow.SockId,
                flow.Address(flow.LocalSide), flow.Address(1 - flow.LocalSide), SocketTypes.Stream));
        }
    }

    /// <summary>Gives the flow its process (announced on first use), a synthetic fd and a socket id.</summary>
    private void Own(TcpFlow flow, long ns)
    {
        flow.Pid = EnsureProcess(flow.Owner, ns);
        flow.Fd = NextFd(flow.Pid);
        flow.SockId = ++_nextSockId;
    }

    /// <summary>
    /// For a flow whose handshake was not captured: the side on the higher port is the client (ephemeral ports are
    /// above the services'); on equal ports, the first packet's sender.
    /// </summary>
    private static int GuessClient(TcpFlow flow)
    {
        ushort a = flow.Key.A.Port, b = flow.Key.B.Port;
        return a > b ? 0 : b > a ? 1 : flow.FirstSide;
    }

    /// <summary>The listening socket an accepting owner had: made (with a listen record) the first time.</summary>
    private int Listener(int pid, NetAddress local, long ns)
    {
        if (_listeners.TryGetValue((pid, local), out int fd))
        {
            return fd;
        }
        fd = NextFd(pid);
        _listeners[(pid, local)] = fd;
        ulong sockId = ++_nextSockId;
        sink.OnSocket(Socket(SocketEventKind.Socket, ns, pid, fd, sockId, local, default, SocketTypes.Stream));
        sink.OnSocket(Socket(SocketEventKind.Listen, ns, pid, fd, sockId, local, default, SocketTypes.Stream));
        return fd;
    }

    private void OnUdp(in DecodedPacket p, ReadOnlySpan<byte> frame, long ns, PacketComment? owner)
    {
        // The owner's comment says which end it is; otherwise the synthetic process is the client: the end on
        // the higher (ephemeral) port, so a DNS query's sender rather than port 53.
        bool fromLocal = owner is { HasDirection: true } ? owner.IsOutgoing : p.Src.Port >= p.Dst.Port;
        var local = fromLocal ? p.Src : p.Dst;
        var remote = fromLocal ? p.Dst : p.Src;
        int pid = owner?.Pid ?? 0;
        if (!_udp.TryGetValue((pid, local), out var socket))
        {
            socket = OpenUdp(owner, local, remote, ns);
        }
        var direction = fromLocal ? Direction.Send : Direction.Recv;
        if (socket.Recent.IsCopy(PacketSignature.Of((int)direction, in p, remote), ns, _options.DuplicateWindowNs))
        {
            Counters.Duplicates++;
            return;
        }
        socket.LastNs = Math.Max(socket.LastNs, ns);
        int wire = p.WirePayloadLength;
        var e = new DataEvent
        {
            TimestampNs = ns,
            Pid = socket.Pid,
            Tid = socket.Pid,
            Fd = socket.Fd,
            SockId = socket.SockId,
            Direction = direction,
            Position = socket.Positions[(int)direction],
            MessageLength = (uint)wire,
            ChunkLength = (uint)p.PayloadLength,
            Flags = DataFlags.Last | (p.PayloadTruncated ? DataFlags.Truncated : DataFlags.None),
            Family = local.Family,
            SockType = SocketTypes.Datagram,
            Peer = remote,
        };
        socket.Positions[(int)direction] += (ulong)wire;
        Counters.PayloadBytes += wire;
        sink.OnData(in e, p.PayloadOf(frame));
    }

    /// <summary>
    /// A UDP socket for the owner's end: the client end (the higher port) connects to its first peer, the server
    /// end binds, and the session names its role from its first datagram, as it does for a traced process.
    /// </summary>
    private UdpSocket OpenUdp(PacketComment? owner, NetAddress local, NetAddress remote, long ns)
    {
        int pid = EnsureProcess(owner, ns);
        var socket = new UdpSocket(++_nextFlowId, pid, NextFd(pid), ++_nextSockId, local, ns);
        _udp[(pid, local)] = socket;
        Counters.Flows++;
        sink.OnSocket(Socket(SocketEventKind.Socket, ns, pid, socket.Fd, socket.SockId, local, default, SocketTypes.Datagram));
        var kind = local.Port >= remote.Port ? SocketEventKind.Connect : SocketEventKind.Bind;
        sink.OnSocket(Socket(kind, ns, pid, socket.Fd, socket.SockId, local, kind == SocketEventKind.Connect ? remote : default, SocketTypes.Datagram));
        return socket;
    }

    private void CloseUdp(UdpSocket socket, long ns)
    {
        _udp.Remove((socket.Pid, socket.Local));
        sink.OnSocket(Socket(SocketEventKind.Close, ns, socket.Pid, socket.Fd, socket.SockId, socket.Local, default, SocketTypes.Datagram));
    }

    /// <summary>Forgets closed TCP flows, closes idle UDP sockets and finished flows whose holes never filled.</summary>
    private void Sweep(long ns)
    {
        List<FlowKey>? forget = null;
        foreach (var (key, flow) in _tcp)
        {
            if (flow.Closed)
            {
                if (ns - flow.ClosedNs > _options.ClosedLingerNs)
                {
                    (forget ??= []).Add(key);
                }
            }
            else if (flow.Dirs[0].FinPosition is not null && flow.Dirs[1].FinPosition is not null && ns - flow.LastNs > _options.FinIdleNs)
            {
                EndFlow(flow, ns);
            }
        }
        foreach (var key in forget ?? [])
        {
            if (_tcp.Remove(key, out var gone) && gone.Owner?.Conn is { } conn && _byConn.TryGetValue((gone.Pid, conn), out var named) && named == gone)
            {
                _byConn.Remove((gone.Pid, conn));
            }
        }
        foreach (var socket in _udp.Values.Where(u => ns - u.LastNs > _options.UdpIdleNs).OrderBy(u => u.Id).ToList())
        {
            CloseUdp(socket, socket.LastNs);
        }
    }

    /// <summary>The pid of the owner (or of the synthetic capture process), announced to the session once.</summary>
    private int EnsureProcess(PacketComment? owner, long ns)
    {
        int pid = owner?.Pid ?? 0;
        if (!_processes.Add(pid))
        {
            return pid;
        }
        IReadOnlyList<string> argv = owner?.Argv() ?? [];
        string comm = owner is null ? _options.CaptureComm : owner.Comm ?? (argv.Count > 0 ? Path.GetFileName(argv[0]) : "?");
        string exe = argv.Count > 0 ? argv[0] : comm;
        // An exec announces the process with its name and command line; its parent is unknown (0).
        sink.OnExec(new ProcessExec(ns, pid, 0, 0, comm, exe, argv));
        return pid;
    }

    private int NextFd(int pid)
    {
        // Fds start after stdin, stdout and stderr and are never reused, so two flows never share one.
        int fd = _nextFd.GetValueOrDefault(pid, 3);
        _nextFd[pid] = fd + 1;
        return fd;
    }

    private static SocketEvent Socket(SocketEventKind kind, long ns, int pid, int fd, ulong sockId, NetAddress local,
        NetAddress remote, ushort sockType) => new()
        {
            TimestampNs = ns,
            Pid = pid,
            Tid = pid,
            Kind = kind,
            Fd = fd,
            SockId = sockId,
            Family = local.Family,
            SockType = sockType,
            Protocol = sockType == SocketTypes.Stream ? DecodedPacket.Tcp : DecodedPacket.Udp,
            Local = local,
            Remote = remote,
        };
}
