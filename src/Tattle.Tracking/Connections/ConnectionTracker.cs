using Tattle.Capture.Events;
using Tattle.Interop;
using Tattle.Records;
using Tattle.Tracking.Processes;

namespace Tattle.Tracking.Connections;

/// <summary>
/// The connection table and its state machine: which socket each (pid, fd) names now, with a generation per
/// reuse; connect/accept/listen/close and the TCP state changes that settle a non-blocking connect. It tells
/// the record writer when a connection opens, fails or closes, and <see cref="Closing"/> when one ends.
/// </summary>
public sealed class ConnectionTracker(RecordWriter writer, ISocketLookup sockets, ProcessTable processes)
{
    private readonly Dictionary<FdKey, Connection> _byFd = [];
    private readonly Dictionary<ulong, Connection> _bySock = [];
    private readonly ClosedSockets _closed = new();
    private readonly Dictionary<FdKey, int> _generations = [];

    // Listening sockets by process, port and protocol, counted: a socket first seen by its payload on one of these
    // ports is a server's (a walk of every connection per new socket before: quadratic on a busy server).
    private readonly Dictionary<(int Pid, int Port, string Proto), int> _listening = [];
    private int _nextId;
    private int _stateOnly;

    /// <summary>A connection is ending (its decoder has reported what was pending): what hangs on it goes too.</summary>
    public Action<Connection, long>? Closing { get; set; }

    /// <summary>A TCP connection ends with its CLOSE state even when it has an fd: no close() will be seen (--no-syscalls).</summary>
    public bool ClosesFromState { get; init; }

    /// <summary>Connections currently open (or being set up).</summary>
    public int OpenConnections => _byFd.Count;

    /// <summary>The connections still held, at the end of a trace.</summary>
    public IEnumerable<Connection> Open => _byFd.Values;

    /// <summary>Seeds the sockets a running process holds (attach).</summary>
    public void SeedSockets(int pid, long nowMonoNs)
    {
        var held = sockets.ForProcess(pid);
        var listeningPorts = held.Where(s => s.IsListening).Select(s => s.Local.Port).ToHashSet();
        foreach (var s in held)
        {
            var conn = NewConnection(pid, s.Fd, s.Proto, 0, nowMonoNs);
            conn.Existing = true;
            conn.Local = s.Local;
            conn.Remote = s.Remote;
            conn.LocalPath = s.LocalPath;
            conn.RemotePath = s.RemotePath;
            if (s.IsListening)
            {
                MarkListening(conn);
                writer.Listening(conn, nowMonoNs, existing: true);
                continue;
            }
            if (conn.Proto == "udp" && s.Remote.IsEmpty)
            {
                conn.State = ConnectionState.Created; // an unconnected UDP socket: announced at its first datagram
                continue;
            }
            conn.Role = listeningPorts.Contains(s.Local.Port) && s.Local.Port != 0 ? "server" : "client";
            MarkOpen(conn, nowMonoNs);
        }
    }

    /// <summary>The kernel closes every fd of an exiting process without close() calls: its connections end here.</summary>
    public void EndProcess(int pid, long nowNs)
    {
        foreach (var conn in _byFd.Values.Where(c => c.Pid == pid).ToList())
        {
            Close(conn, nowNs);
        }
    }

    public void OnSocket(in SocketEvent e)
    {
        switch (e.Kind)
        {
            case SocketEventKind.Socket:
                if (e.Aux == SocketEvent.FirstPayload)
                {
                    FirstSeen(in e);
                }
                else
                {
                    NewFromEvent(in e);
                }
                break;
            case SocketEventKind.Connect:
                OnConnect(in e);
                break;
            case SocketEventKind.Accept:
                OnAccept(in e);
                break;
            case SocketEventKind.Bind:
                if (e.Result == 0 && Lookup(e.Pid, e.Fd, e.SockId) is { } bound)
                {
                    bound.Local = e.Local;
                    bound.LocalPath = e.LocalPath ?? bound.LocalPath;
                }
                break;
            case SocketEventKind.Listen:
                if (e.Result == 0)
                {
                    Listening(Lookup(e.Pid, e.Fd, e.SockId) ?? NewFromEvent(in e), in e);
                }
                break;
            case SocketEventKind.Close:
                if (!_closed.Contains(e.Pid, e.Fd, e.SockId) && Lookup(e.Pid, e.Fd, e.SockId) is { } closing)
                {
                    closing.KernelSent = Math.Max(closing.KernelSent, e.BytesSent);
                    closing.KernelRecv = Math.Max(closing.KernelRecv, e.BytesRecv);
                    Close(closing, e.TimestampNs);
                }
                break;
            case SocketEventKind.TcpState:
                OnTcpState(in e);
                break;
        }
    }

    /// <summary>
    /// The connection a data event belongs to: the one at its (pid, fd), or one adopted from /proc; null when the
    /// event names a socket that fd held before its close (another thread's late call: that connection is over).
    /// </summary>
    public Connection? ForData(in DataEvent e)
    {
        // The usual case first: the fd's connection is this very socket. It cannot be a closed one as well, since
        // every way a connection takes a socket id forgets that id's closed entry at its fd.
        if (e.SockId != 0 && _byFd.TryGetValue((e.Pid, e.Fd), out var live) && live.SockId == e.SockId)
        {
            return live;
        }
        return _closed.Contains(e.Pid, e.Fd, e.SockId) ? null : LookupOrAdopt(in e);
    }

    /// <summary>The connection at the event's (pid, fd), or one adopted from /proc.</summary>
    public Connection LookupOrAdopt(in DataEvent e) => Lookup(e.Pid, e.Fd, e.SockId) ?? Adopt(in e);

    /// <summary>A datagram socket's first message, or a socket whose creation was not seen: announced by its data.</summary>
    public void AnnounceOnData(Connection conn, in DataEvent e)
    {
        if (conn.Announced)
        {
            return;
        }
        conn.Role ??= e.Direction == Direction.Send ? "client" : "server";
        if (conn.Remote.IsEmpty && conn.Proto == "udp" && e.Peer.IsInet)
        {
            conn.Remote = e.Peer;
            conn.Unconnected = true;
        }
        MarkOpen(conn, e.TimestampNs);
    }

    /// <summary>A connection record for TLS plaintext whose socket is not known: it has an id, never an fd entry.</summary>
    public Connection NewDetached(int pid, long nowNs) => new()
    {
        Id = $"c{++_nextId}",
        Pid = pid,
        ProcessStart = processes.Find(pid)?.StartTicks ?? 0,
        Fd = -1,
        Generation = 0,
        Proto = "tcp",
        OpenedNs = nowNs,
    };

    private void OnConnect(in SocketEvent e)
    {
        var conn = Lookup(e.Pid, e.Fd, e.SockId) ?? NewFromEvent(in e);
        conn.Role = "client";
        conn.Local = e.Local;
        conn.Remote = e.Remote.Family != 0 ? e.Remote : conn.Remote;
        conn.LocalPath = e.LocalPath ?? conn.LocalPath;
        conn.RemotePath = e.RemotePath ?? conn.RemotePath;
        conn.OpenedNs = e.TimestampNs;
        if (e.Result == 0)
        {
            MarkOpen(conn, e.TimestampNs);
        }
        else if (e.Result == -Errno.EINPROGRESS || e.Result == -Errno.EAGAIN && conn.Proto == "unix")
        {
            // Non-blocking: the outcome comes with the TCP state change (SYN_SENT -> ESTABLISHED or CLOSE). On
            // loopback that change can happen inside connect() itself, so it may already be here.
            conn.State = ConnectionState.Connecting;
            if (conn.TcpState == TcpState.Established)
            {
                MarkOpen(conn, e.TimestampNs);
            }
            else if (conn.TcpState == TcpState.Close)
            {
                Fail(conn, e.TimestampNs, conn.LastError ?? ConnFailRecord.ClosedWhileConnecting);
            }
        }
        else
        {
            Fail(conn, e.TimestampNs, Errno.Name(e.Result));
        }
    }

    private void OnAccept(in SocketEvent e)
    {
        var conn = NewFromEvent(in e);
        conn.Role = "server";
        conn.Local = e.Local;
        conn.Remote = e.Remote;
        conn.LocalPath = e.LocalPath;
        conn.RemotePath = e.RemotePath;
        if (conn.Proto == "unix" && conn.LocalPath is null && Lookup(e.Pid, e.Aux, 0) is { } listener)
        {
            conn.LocalPath = listener.LocalPath;
        }
        MarkOpen(conn, e.TimestampNs);
    }

    private void Listening(Connection conn, in SocketEvent e)
    {
        conn.Local = e.Local;
        conn.LocalPath = e.LocalPath ?? conn.LocalPath;
        MarkListening(conn);
        writer.Listening(conn, e.TimestampNs);
    }

    /// <summary>The socket listens (on its local port, set before): counted in <see cref="_listening"/> until it closes.</summary>
    private void MarkListening(Connection conn)
    {
        if (conn.State != ConnectionState.Listening)
        {
            var key = (conn.Pid, (int)conn.Local.Port, conn.Proto);
            _listening[key] = _listening.GetValueOrDefault(key) + 1;
        }
        conn.State = ConnectionState.Listening;
    }

    private void OnTcpState(in SocketEvent e)
    {
        // Found by the socket, never by the fd alone: the kernel keeps a closed socket's owner and fd until its
        // CLOSE state, which comes in softirq after close() returned (FIN_WAIT, LAST_ACK), by which time the
        // process may hold a new connection at the same fd. Only a connection whose socket is not known yet
        // (seeded from /proc at attach) is matched by its fd, and then only when its ports agree.
        var conn = _bySock.GetValueOrDefault(e.SockId) ?? (e.Fd >= 0 ? UnboundAt(e.Pid, e.Fd, in e) : null);
        if (conn is null && (e.Fd >= 0 || (conn = FromStateAlone(in e)) is null))
        {
            return;
        }
        conn.TcpState = e.State;
        if (e.Result != 0)
        {
            conn.LastError = Errno.Name(e.Result);
        }
        conn.KernelSent = Math.Max(conn.KernelSent, e.BytesSent);
        conn.KernelRecv = Math.Max(conn.KernelRecv, e.BytesRecv);
        if ((conn.Fd < 0 || ClosesFromState) && e.State == TcpState.Close
            && conn.State is ConnectionState.Open or ConnectionState.Listening or ConnectionState.Created)
        {
            Close(conn, e.TimestampNs); // no close() will be seen: the socket's end is this state
            return;
        }
        if (conn.State != ConnectionState.Connecting)
        {
            return;
        }
        if (e.State == TcpState.Established)
        {
            if (!e.Local.IsEmpty)
            {
                conn.Local = e.Local;
            }
            MarkOpen(conn, e.TimestampNs);
        }
        else if (e.State == TcpState.Close)
        {
            Fail(conn, e.TimestampNs, e.Result != 0 ? Errno.Name(e.Result) : ConnFailRecord.ClosedWhileConnecting);
        }
    }

    /// <summary>The connection at (pid, fd) when its socket is not known yet and its ports match the event's.</summary>
    private Connection? UnboundAt(int pid, int fd, in SocketEvent e)
    {
        if (!_byFd.TryGetValue((pid, fd), out var conn) || conn.SockId != 0 || e.SockId == 0)
        {
            return null;
        }
        if ((conn.Local.IsInet && conn.Local.Port != e.Local.Port) || (conn.Remote.IsInet && conn.Remote.Port != e.Remote.Port))
        {
            return null;
        }
        conn.SockId = e.SockId;
        _bySock[e.SockId] = conn;
        _closed.Forget(pid, fd, e.SockId);
        return conn;
    }

    /// <summary>
    /// --packets-only: no syscalls are traced, and the kernel learnt the socket from the owner's own connect
    /// (CLOSE → SYN_SENT) or listen (→ LISTEN), the two transitions that run in its context, or, for an accepted
    /// connection (SYN_RECV → ESTABLISHED, in softirq), from the process listening on its port. Such a connection
    /// has no fd (a key of its own, shown as -1) and ends with its CLOSE state. Returns the one to open.
    /// </summary>
    private Connection? FromStateAlone(in SocketEvent e)
    {
        bool accepted = e.State == TcpState.Established && e.Aux == (int)TcpState.SynRecv;
        if ((e.State is not (TcpState.SynSent or TcpState.Listen) && !accepted) || processes.Find(e.Pid) is null)
        {
            return null;
        }
        var conn = NewConnection(e.Pid, -2 - _stateOnly++, ProtoOf(e.Family, SocketTypes.Stream, 6), e.SockId, e.TimestampNs);
        if (e.State == TcpState.Listen)
        {
            Listening(conn, in e);
            return null;
        }
        conn.Role = accepted ? "server" : "client";
        conn.State = ConnectionState.Connecting;
        conn.Remote = e.Remote;
        return conn;
    }

    /// <summary>
    /// --no-syscalls: a socket's first payload in a process, with the socket's fd, addresses and state (an accepted
    /// or connected socket, or one created unseen). A connection learnt from its connect's SYN_SENT without an fd
    /// takes the fd here and keeps its id; any other is new, a server's when it shares a port the process listens on.
    /// </summary>
    private void FirstSeen(in SocketEvent e)
    {
        if (e.SockId != 0 && _bySock.TryGetValue(e.SockId, out var known) && known.Pid == e.Pid && known.Fd < 0)
        {
            _byFd.Remove((known.Pid, known.Fd));
            if (_byFd.TryGetValue((e.Pid, e.Fd), out var previous))
            {
                Close(previous, e.TimestampNs);
            }
            known.Fd = e.Fd;
            known.Generation = _generations.GetValueOrDefault((e.Pid, e.Fd)) + 1;
            _generations[(e.Pid, e.Fd)] = known.Generation;
            _byFd[(e.Pid, e.Fd)] = known;
            _closed.Forget(e.Pid, e.Fd, e.SockId);
            return;
        }
        // A socket already known at this fd, from the walk of /proc at attach or an earlier record: the same one.
        if (UnboundAt(e.Pid, e.Fd, in e) is not null
            || (e.SockId != 0 && _byFd.TryGetValue((e.Pid, e.Fd), out var same) && same.SockId == e.SockId))
        {
            return;
        }
        var conn = NewFromEvent(in e);
        conn.Local = e.Local;
        // An unconnected datagram socket's peer in the kernel is 0.0.0.0:0: no peer, not one at that address.
        conn.Remote = e.Remote.IsEmpty ? default : e.Remote;
        conn.LocalPath = e.LocalPath;
        conn.RemotePath = e.RemotePath;
        if (e.Local.IsInet && e.Local.Port != 0 && _listening.ContainsKey((e.Pid, e.Local.Port, conn.Proto)))
        {
            conn.Role = "server";
        }
        else if (conn.Proto == "udp" && !conn.Remote.IsEmpty)
        {
            // A datagram socket with a peer of its own was connect()ed to it: a client's, even when its first payload
            // seen is an answer (a query sent by sendmmsg, which is counted, not read).
            conn.Role = "client";
        }
    }

    private Connection NewFromEvent(in SocketEvent e) =>
        NewConnection(e.Pid, e.Fd, ProtoOf(e.Family, e.SockType, e.Protocol), e.SockId, e.TimestampNs);

    /// <summary>A data event on a socket whose creation was not seen: before attach, inherited, or socketpair.</summary>
    private Connection Adopt(in DataEvent e)
    {
        var conn = NewConnection(e.Pid, e.Fd, ProtoOf(e.Family, e.SockType, 0), e.SockId, e.TimestampNs);
        conn.Existing = true;
        int fd = e.Fd;
        var held = sockets.ForProcess(e.Pid);
        if (held.FirstOrDefault(s => s.Fd == fd) is { } known)
        {
            conn.Proto = known.Proto;
            conn.Local = known.Local;
            conn.Remote = known.Remote;
            conn.LocalPath = known.LocalPath;
            conn.RemotePath = known.RemotePath;
            bool server = held.Any(s => s.IsListening && s.Local.Port == known.Local.Port && known.Local.Port != 0);
            conn.Role = server ? "server" : "client";
        }
        return conn;
    }

    /// <summary>
    /// <paramref name="sockId"/>'s connection, open or recently closed, changing nothing: a record written after its
    /// connection's close (requests read in the kernel) must neither end a newer connection on the same fd nor be
    /// taken for one. By the socket first, since a socket closed without syscalls seen ends at TCP's CLOSE state,
    /// after the process may have opened another at its fd.
    /// </summary>
    public Connection? Find(int pid, int fd, ulong sockId)
    {
        if (sockId != 0 && _bySock.TryGetValue(sockId, out var bySock) && bySock.Pid == pid)
        {
            return bySock;
        }
        if (_byFd.TryGetValue((pid, fd), out var conn) && (sockId == 0 || conn.SockId == 0 || conn.SockId == sockId))
        {
            return conn;
        }
        return _closed.Find(pid, fd, sockId);
    }

    /// <summary>The connection at (pid, fd), unless the event shows a different socket there now.</summary>
    public Connection? Lookup(int pid, int fd, ulong sockId)
    {
        if (!_byFd.TryGetValue((pid, fd), out var conn))
        {
            return null;
        }
        if (sockId != 0 && conn.SockId != 0 && conn.SockId != sockId)
        {
            // The fd now names another socket (a close we did not see: dup2, close_range, lost event).
            Close(conn, conn.OpenedNs);
            return null;
        }
        if (sockId != 0 && conn.SockId == 0)
        {
            conn.SockId = sockId;
            _bySock[sockId] = conn;
            _closed.Forget(pid, fd, sockId);
        }
        return conn;
    }

    private Connection NewConnection(int pid, int fd, string proto, ulong sockId, long nowNs)
    {
        if (_byFd.TryGetValue((pid, fd), out var previous))
        {
            Close(previous, nowNs);
        }
        int generation = _generations.GetValueOrDefault((pid, fd)) + 1;
        _generations[(pid, fd)] = generation;
        var conn = new Connection
        {
            Id = $"c{++_nextId}",
            Pid = pid,
            ProcessStart = processes.Find(pid)?.StartTicks ?? 0,
            Fd = fd,
            Generation = generation,
            Proto = proto,
            OpenedNs = nowNs,
            SockId = sockId,
        };
        _byFd[(pid, fd)] = conn;
        if (sockId != 0)
        {
            _bySock[sockId] = conn;
            _closed.Forget(pid, fd, sockId);
        }
        return conn;
    }

    private void MarkOpen(Connection conn, long nowNs)
    {
        conn.State = ConnectionState.Open;
        if (conn.Announced)
        {
            return;
        }
        conn.Announced = true;
        conn.OpenedNs = nowNs;
        writer.Opened(conn, nowNs);
    }

    private void Fail(Connection conn, long nowNs, string error)
    {
        conn.State = ConnectionState.Failed;
        writer.Failed(conn, nowNs, error);
    }

    private void Close(Connection conn, long nowNs)
    {
        _byFd.Remove((conn.Pid, conn.Fd));
        if (conn.SockId != 0 && _bySock.GetValueOrDefault(conn.SockId) == conn)
        {
            _bySock.Remove(conn.SockId);
        }
        _closed.Add(conn);
        var previous = conn.State;
        conn.State = ConnectionState.Closed;
        if (previous == ConnectionState.Listening)
        {
            var key = (conn.Pid, (int)conn.Local.Port, conn.Proto);
            if (_listening.GetValueOrDefault(key) <= 1)
            {
                _listening.Remove(key);
            }
            else
            {
                _listening[key]--;
            }
        }
        conn.Decoder?.OnClose(nowNs); // its last messages come before the close record
        conn.Decoder = null;
        Closing?.Invoke(conn, nowNs);
        if (previous == ConnectionState.Connecting)
        {
            // Closed before any answer (a dropped SYN, the program's own timeout, a Happy Eyeballs loser): the
            // attempt is a failure, as strace's last word on it is EINPROGRESS, and must not vanish with the socket.
            writer.Failed(conn, nowNs, conn.Proto == "unix" ? "EAGAIN" : ConnFailRecord.ClosedWhileConnecting);
            return;
        }
        if (!conn.Announced || previous == ConnectionState.Failed)
        {
            return; // never established (or already reported as failed), or a listening socket
        }
        writer.Closed(conn, nowNs);
    }

    public static string ProtoOf(ushort family, ushort sockType, ushort protocol) => family switch
    {
        NetAddress.AfUnix => "unix",
        NetAddress.AfInet or NetAddress.AfInet6 => sockType switch
        {
            SocketTypes.Stream => "tcp",
            SocketTypes.Datagram => protocol == 1 || protocol == 58 ? "icmp" : "udp",
            SocketTypes.Raw => "raw",
            _ => protocol == 6 ? "tcp" : protocol == 17 ? "udp" : "ip",
        },
        16 => "netlink",
        17 => "packet",
        _ => $"af{family}",
    };
}
