using System.Net;
using Tattle.Capture.Events;
using Tattle.Capture.Packets.Replay;
using Tattle.Capture.Proc;
using Tattle.Records;

namespace Tattle.Tracking.Packets;

/// <summary>Who sent or received a packet: the traced process, its connection, and the packet's direction for it.</summary>
public sealed record PacketOwner(int Pid, string Comm, string Conn, bool Outgoing, string Comment)
{
    /// <summary>What the capture has written of the connection; one object for both directions.</summary>
    public PacketMarks Marks { get; init; } = new();
}

/// <summary>
/// What a capture has written of a TCP connection: packets past the handshake, and its own side's FIN (or either
/// side's RST). Set on the capture thread, read by the thread that stops it.
/// </summary>
public sealed class PacketMarks
{
    private volatile bool _established;
    private volatile bool _closeWritten;

    /// <summary>A packet without SYN was written: the connection got past its handshake on the captured path.</summary>
    public bool Established
    {
        get => _established;
        set => _established = value;
    }

    /// <summary>The connection's own FIN, or a RST either way, was written.</summary>
    public bool CloseWritten
    {
        get => _closeWritten;
        set => _closeWritten = value;
    }
}

/// <summary>
/// Matches packets to the traced processes' sockets by their addresses. It learns the sockets from the records the
/// trace session writes (conn.open, conn.fail, conn.close, listen, process.start/exec), so the packet side needs
/// no second view of the kernel: whatever the BPF side sees being connected, accepted or found open at attach
/// (from the socket table) owns its packets. Thread-safe: records arrive on the trace loop, lookups on the capture
/// thread.
/// </summary>
/// <remarks>
/// A connection's packets can precede its record (the SYN leaves during connect(), the record is written when
/// connect returns) and follow it (FIN and TIME_WAIT after close): the caller holds unmatched packets a little
/// while, and closed connections stay matchable for <see cref="LingerNs"/>.
/// </remarks>
public sealed class PacketOwners : IRecordSink
{
    /// <summary>How long a closed or failed connection still owns packets with its addresses (FIN, RST, retransmits).</summary>
    public const long LingerNs = 3_000_000_000;

    private readonly Lock _gate = new();
    private readonly Dictionary<FlowKey, Entry> _flows = [];
    private readonly Dictionary<string, Entry> _byConn = new(StringComparer.Ordinal);
    private readonly Dictionary<(byte Proto, ushort Port), List<Entry>> _bound = [];
    private readonly Dictionary<int, (string Comm, string Cmdline, string? Container)> _processes = [];
    private readonly Queue<(long Expires, Entry Entry)> _closed = new();

    /// <summary>Connections currently known (open or lingering).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _flows.Count;
            }
        }
    }

    /// <summary>
    /// TCP connections the records closed less than <see cref="LingerNs"/> ago whose packets the capture wrote but
    /// not yet the close their own side sent: the capture is behind the records (its ring still holds the FIN).
    /// </summary>
    public int ClosedAheadOfTheCapture(long nowUnixNs)
    {
        lock (_gate)
        {
            Expire(nowUnixNs);
            int n = 0;
            foreach (var (_, e) in _closed)
            {
                if (e.Key is { Proto: 6 } && e.Marks.Established && !e.Marks.CloseWritten)
                {
                    n++;
                }
            }
            return n;
        }
    }

    /// <summary>The owner of a TCP (6) or UDP (17) packet from <paramref name="src"/> to <paramref name="dst"/>, or null.</summary>
    public PacketOwner? Find(byte protocol, NetAddress src, NetAddress dst, long nowUnixNs)
    {
        src = Normalize(src);
        dst = Normalize(dst);
        lock (_gate)
        {
            Expire(nowUnixNs);
            // The sender first: on loopback both ends may be traced, and a packet is the sender's before the receiver's.
            if (_flows.TryGetValue(new FlowKey(protocol, src, dst), out var e))
            {
                return e.Owner(outgoing: true);
            }
            if (_flows.TryGetValue(new FlowKey(protocol, dst, src), out e))
            {
                return e.Owner(outgoing: false);
            }
            // A listener's SYN and SYN-ACK come before accept() names the connection; an unconnected UDP socket
            // has no peer: match the local endpoint alone.
            if (FindBound(protocol, src) is { } sender)
            {
                return sender.Owner(outgoing: true);
            }
            return FindBound(protocol, dst)?.Owner(outgoing: false);
        }
    }

    public void Write(Record record)
    {
        switch (record)
        {
            case ProcessStartRecord p:
                Remember(p.Pid, p.Comm, p.Argv);
                break;
            case ProcessExecRecord p:
                Remember(p.Pid, p.Comm, p.Argv);
                break;
            case ConnOpenRecord o:
                Open(o, o.Local, o.Remote);
                break;
            case ConnFailRecord f:
                Open(f, f.Local, f.Remote);
                Close(f.Conn, f.TimestampNs);
                break;
            case ConnCloseRecord c:
                Close(c.Conn, c.TimestampNs);
                break;
            case ListenRecord l when ToAddress(l.Local) is { } local && ProtocolOf(l.Proto) is byte proto:
                lock (_gate)
                {
                    AddBound(proto, local, NewEntry(l.Pid, l.Comm, $"listen:{l.Fd}"));
                }
                break;
        }
    }

    // It learns processes and connections from records' values, and keeps no record.
    public bool ConsumesAtOnce => true;

    public void Flush()
    {
    }

    public void Dispose()
    {
    }

    private void Open(ConnRecord c, Endpoint? localEp, Endpoint? remoteEp)
    {
        if (ProtocolOf(c.Proto) is not byte proto || ToAddress(localEp) is not { } local)
        {
            return;
        }
        lock (_gate)
        {
            var entry = NewEntry(c.Pid, c.Comm, c.Conn);
            if (ToAddress(remoteEp) is { Port: not 0 } remote)
            {
                entry.Key = new FlowKey(proto, local, remote);
                _flows[entry.Key.Value] = entry;
                _byConn[c.Conn] = entry;
            }
            if (proto == 17)
            {
                // A UDP socket also receives from peers other than the one it first talked to (sendto, recvfrom).
                AddBound(proto, local, entry);
                _byConn[c.Conn] = entry;
            }
        }
    }

    private void Close(string conn, long nowUnixNs)
    {
        lock (_gate)
        {
            if (_byConn.Remove(conn, out var entry))
            {
                _closed.Enqueue((nowUnixNs + LingerNs, entry));
            }
        }
    }

    private void Expire(long nowUnixNs)
    {
        while (_closed.Count > 0 && _closed.Peek().Expires <= nowUnixNs)
        {
            var (_, entry) = _closed.Dequeue();
            if (entry.Key is { } key && _flows.TryGetValue(key, out var current) && current == entry)
            {
                _flows.Remove(key);
            }
            if (entry.Bound is { } bound && _bound.TryGetValue(bound, out var list))
            {
                list.Remove(entry);
                if (list.Count == 0)
                {
                    _bound.Remove(bound);
                }
            }
        }
    }

    private void AddBound(byte proto, NetAddress local, Entry entry)
    {
        var key = (proto, local.Port);
        if (local.Port == 0)
        {
            return;
        }
        if (!_bound.TryGetValue(key, out var list))
        {
            _bound[key] = list = [];
        }
        entry.Bound = key;
        entry.BoundAddress = local;
        list.Add(entry);
    }

    private Entry? FindBound(byte proto, NetAddress local)
    {
        if (!_bound.TryGetValue((proto, local.Port), out var list))
        {
            return null;
        }
        // The newest socket wins; an exact address beats a wildcard (0.0.0.0 or ::) on the same port.
        Entry? wildcard = null;
        for (int i = list.Count - 1; i >= 0; i--)
        {
            var e = list[i];
            if (e.BoundAddress.Address == local.Address && e.BoundAddress.Family == local.Family)
            {
                return e;
            }
            if (e.BoundAddress.Address == UInt128.Zero)
            {
                wildcard ??= e;
            }
        }
        return wildcard;
    }

    private void Remember(int pid, string comm, IReadOnlyList<string> argv)
    {
        lock (_gate)
        {
            _processes[pid] = (comm, PacketComment.JoinArgv(argv), ProcessInfo.ReadContainerId(pid));
        }
    }

    /// <summary>
    /// The comment for a packet of <paramref name="conn"/> that was not captured but made (TLS plaintext), with
    /// the process's command line as records named it; <paramref name="extra"/> is added before the command line.
    /// </summary>
    public string CommentFor(int pid, string comm, string conn, bool outgoing, string extra)
    {
        lock (_gate)
        {
            var (name, cmdline, container) = ProcessOf(pid, comm);
            return PacketComment.Format(pid, name, conn, outgoing, container, cmdline, extra);
        }
    }

    private Entry NewEntry(int pid, string comm, string conn)
    {
        var (name, cmdline, container) = ProcessOf(pid, comm);
        return new Entry(pid, name, conn, cmdline, container);
    }

    /// <summary>The name, command line and container the records gave the process; the record's comm otherwise.</summary>
    private (string Comm, string Cmdline, string? Container) ProcessOf(int pid, string comm)
    {
        var (knownComm, cmdline, container) = _processes.TryGetValue(pid, out var p) ? p : (comm, "", null);
        return (knownComm.Length > 0 ? knownComm : comm, cmdline, container);
    }

    private static byte? ProtocolOf(string proto) => proto switch
    {
        "tcp" => 6,
        "udp" => 17,
        _ => null,
    };

    private static NetAddress? ToAddress(Endpoint? ep)
    {
        if (ep?.Addr is null || ep.Port is not int port || !IPAddress.TryParse(ep.Addr, out var ip))
        {
            return null;
        }
        return Normalize(NetAddress.FromEndPoint(new IPEndPoint(ip, port)));
    }

    /// <summary>A dual-stack socket's v4 peer is ::ffff:a.b.c.d to the kernel and plain IPv4 on the wire.</summary>
    private static NetAddress Normalize(NetAddress a)
    {
        const ulong MappedPrefix = 0xffff;
        if (a.Family == NetAddress.AfInet6 && (a.Address >> 32) == MappedPrefix)
        {
            return new NetAddress(NetAddress.AfInet, a.Port, (a.Address & 0xffff_ffff) << 96);
        }
        return a;
    }

    private readonly record struct FlowKey(byte Proto, NetAddress Local, NetAddress Remote);

    private sealed class Entry(int pid, string comm, string conn, string cmdline, string? container)
    {
        private PacketOwner? _out;
        private PacketOwner? _in;

        public FlowKey? Key { get; set; }

        public (byte, ushort)? Bound { get; set; }

        public NetAddress BoundAddress { get; set; }

        public PacketMarks Marks { get; } = new();

        /// <summary>Built once per connection and direction: the comment is the same on every packet.</summary>
        public PacketOwner Owner(bool outgoing) => outgoing
            ? _out ??= new PacketOwner(pid, comm, conn, true, Comment(outgoing: true)) { Marks = Marks }
            : _in ??= new PacketOwner(pid, comm, conn, false, Comment(outgoing: false)) { Marks = Marks };

        private string Comment(bool outgoing) => PacketComment.Format(pid, comm, conn, outgoing, container, cmdline);
    }
}
