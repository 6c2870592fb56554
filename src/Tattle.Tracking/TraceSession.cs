using Tattle.Capture.Events;
using Tattle.Capture.Proc;
using Tattle.Interop;
using Tattle.Records;
using Tattle.Tracking.Connections;
using Tattle.Tracking.Names;
using Tattle.Tracking.Processes;
using Tattle.Tracking.Streams;
using Tattle.Tracking.Tls;

namespace Tattle.Tracking;

/// <summary>What a session writes besides the always-on records.</summary>
public sealed record TraceSettings
{
    /// <summary>Write data records with payloads (--data).</summary>
    public bool EmitData { get; init; }

    /// <summary>Converts an event's CLOCK_MONOTONIC time to Unix nanoseconds.</summary>
    public required Func<long, long> ToUnixNs { get; init; }

    /// <summary>Reassembly and protocol parsing of payloads.</summary>
    public StreamSettings Streams { get; init; } = new();

    /// <summary>Also hands TLS plaintext, with its connection, to this sink (-w --tls-plaintext).</summary>
    public ITlsPlaintextSink? TlsPlaintext { get; init; }
}

/// <summary>
/// Turns the events of any capture source into records: keeps the process table and the connections,
/// pairs connects with their outcome, counts bytes, and aggregates the summary. Source-agnostic, so it is
/// tested by feeding it synthetic events.
/// </summary>
public sealed class TraceSession(IRecordSink sink, ISocketLookup sockets, TraceSettings settings) : ITraceEventSink
{
    private readonly Dictionary<(int Pid, int Fd), Connection> _byFd = [];
    private readonly Dictionary<ulong, Connection> _bySock = [];
    private readonly ClosedSockets _closed = new();
    // TLS sessions over a memory BIO (node, .NET) make no syscall inside the library call, so the kernel cannot
    // name their socket. The program moves the ciphertext itself on the same thread: right after SSL_write it
    // sends the records it got, and right before SSL_read it received them.
    private readonly Dictionary<int, TlsSessionStream> _tlsAwaitingSend = [];
    private readonly Dictionary<int, Connection> _lastStreamRecv = [];
    private readonly Dictionary<(int Pid, int Fd), int> _generations = [];
    private readonly SummaryBuilder _summary = new();
    private readonly Dictionary<(int Pid, ulong Session), TlsSessionStream> _tls = [];
    private int _nextId;
    private int _stateOnly;
    private long _lastNs;

    public ProcessTable Processes { get; } = new();

    /// <summary>Addresses the traced processes resolved, with the names they asked for.</summary>
    public AddressNames Names { get; } = new();

    /// <summary>Events lost, all causes together.</summary>
    public long Lost { get; private set; }

    /// <summary>Connections currently open (or being set up).</summary>
    public int OpenConnections => _byFd.Count;

    /// <summary>Entries of the per-thread tables that bind memory-BIO TLS sessions: only open ones are kept.</summary>
    public int ThreadBindings => _lastStreamRecv.Count + _tlsAwaitingSend.Count;

    /// <summary>Seeds a running process (attach): its process.start and the sockets it already holds.</summary>
    public TrackedProcess? SeedExisting(int pid, long nowMonoNs)
    {
        var p = Processes.Seed(pid);
        if (p is null)
        {
            return null;
        }
        Announce(p, nowMonoNs, existing: true);
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
                conn.State = ConnectionState.Listening;
                Write(new ListenRecord
                {
                    TimestampNs = settings.ToUnixNs(nowMonoNs),
                    Pid = pid,
                    Comm = p.Comm,
                    Proto = conn.Proto,
                    Fd = conn.ShownFd,
                    Local = LocalEndpoint(conn) ?? new Endpoint(null, null),
                    Existing = true,
                });
                continue;
            }
            if (conn.Proto == "udp" && s.Remote.IsEmpty)
            {
                conn.State = ConnectionState.Created; // an unconnected UDP socket: announced at its first datagram
                continue;
            }
            conn.Role = listeningPorts.Contains(s.Local.Port) && s.Local.Port != 0 ? "server" : "client";
            Open(conn, nowMonoNs);
        }
        return p;
    }

    /// <summary>
    /// Seeds the launched command's process: known, but announced only when it execs <paramref name="executable"/>.
    /// The execs before it (the gate's shell, `ip netns exec`, setpriv) are Tattle's own helpers, never shown.
    /// </summary>
    public void SeedLaunched(int pid, string executable)
    {
        var p = Processes.Seed(pid) ?? Processes.Add(pid, 0);
        p.Announced = false;
        p.AwaitedExec = executable;
    }

    public void OnFork(in ProcessFork e)
    {
        var parent = Processes.Find(e.ParentPid);
        var p = Processes.Add(e.Pid, ProcStat.TicksFromBootNs(e.StartTime));
        p.ParentPid = e.ParentPid;
        p.Comm = e.Comm;
        p.Argv = parent?.Argv ?? [];
        p.Exe = parent?.Exe;
        Announce(p, e.TimestampNs, existing: false);
    }

    public void OnExec(in ProcessExec e)
    {
        var p = Processes.Find(e.Pid) ?? Processes.Add(e.Pid, ProcStat.TicksFromBootNs(e.StartTime));
        if (p.AwaitedExec is { } awaited)
        {
            if (e.Filename != awaited)
            {
                return; // a launch helper execing on its way to the command
            }
            p.AwaitedExec = null;
        }
        p.Comm = e.Comm;
        p.Argv = e.Argv.Count > 0 ? e.Argv : [e.Filename];
        p.Exe = e.Filename;
        if (p.ParentPid == 0)
        {
            p.ParentPid = e.ParentPid;
        }
        if (!p.Announced)
        {
            Announce(p, e.TimestampNs, existing: false);
            return;
        }
        Write(new ProcessExecRecord
        {
            TimestampNs = settings.ToUnixNs(e.TimestampNs),
            Pid = e.Pid,
            Comm = p.Comm,
            Argv = ShownArgv(p.Argv),
            Exe = p.Exe,
        });
    }

    public void OnExit(in ProcessExit e)
    {
        _lastNs = e.TimestampNs;
        int pid = e.Pid;
        var p = Processes.MarkExited(pid);
        // The kernel closes every fd of an exiting process without close() calls: end its connections here.
        foreach (var conn in _byFd.Values.Where(c => c.Pid == pid).ToList())
        {
            Close(conn, e.TimestampNs);
        }
        foreach (var tls in _tls.Values.Where(t => t.Pid == pid).ToList())
        {
            EndTls(tls, e.TimestampNs);
        }
        Write(new ProcessExitRecord
        {
            TimestampNs = settings.ToUnixNs(e.TimestampNs),
            Pid = e.Pid,
            Comm = p?.Comm ?? e.Comm,
            ExitCode = e.Signal == 0 ? e.ExitCode : null,
            Signal = e.Signal != 0 ? e.Signal : null,
        });
    }

    public void OnSocket(in SocketEvent e)
    {
        _lastNs = e.TimestampNs;
        switch (e.Kind)
        {
            case SocketEventKind.Socket:
                OnSocketCreated(in e);
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
                OnListen(in e);
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
            case SocketEventKind.Notice:
                OnNotice(in e);
                break;
            case SocketEventKind.Shutdown:
                break;
        }
    }

    public void OnData(in DataEvent e, ReadOnlySpan<byte> payload)
    {
        _lastNs = e.TimestampNs;
        if (e.IsTls)
        {
            OnTlsData(in e, payload);
            return;
        }
        if (_closed.Contains(e.Pid, e.Fd, e.SockId))
        {
            return; // another thread's call on the socket this fd named before close(): that connection is over
        }
        var conn = Lookup(e.Pid, e.Fd, e.SockId) ?? Adopt(in e);
        if (e.ChunkOffset == 0 && (e.Flags & DataFlags.Eof) == 0)
        {
            if (e.Direction == Direction.Send)
            {
                conn.BytesSent += e.MessageLength;
            }
            else
            {
                conn.BytesRecv += e.MessageLength;
            }
            // A connected datagram socket sends without an address: its peer is the connected one.
            var peer = e.Peer.IsInet ? e.Peer : conn.Remote;
            if (peer.IsInet && conn.Proto == "udp")
            {
                CountPeer(conn, peer, e.Direction, e.MessageLength);
            }
        }
        conn.Unseen |= e.Flags & (DataFlags.Sendfile | DataFlags.Splice);
        if (conn.Proto == "tcp" && conn.Tls is null)
        {
            NoteStreamIo(conn, in e);
        }
        AnnounceOnData(conn, in e);
        if (settings.EmitData && (e.Flags & (DataFlags.Eof | DataFlags.Sendfile | DataFlags.Splice)) == 0)
        {
            WriteData(in e, payload, conn);
        }
        if (settings.Streams.Enabled && conn.Proto is "tcp" or "udp" or "unix")
        {
            conn.Decoder ??= new ConnectionDecoder(settings.Streams, new MessageRecorder(this, conn),
                datagram: e.SockType != SocketTypes.Stream, conn.Local.Port, conn.Remote.Port, conn.Role);
            if (conn.Decoder.Wants)
            {
                // The peer's text pairs datagram requests with responses; streams need none.
                string? peer = !conn.Decoder.Datagram ? null
                    : e.Peer.IsInet ? ToEndpoint(e.Peer)!.ToString()
                    : conn.Proto == "udp" ? RemoteEndpoint(conn)?.ToString() : null;
                conn.Decoder.OnData(in e, payload, peer);
            }
        }
    }

    /// <summary>A datagram socket's first message, or a socket whose creation was not seen: announced by its data.</summary>
    private void AnnounceOnData(Connection conn, in DataEvent e)
    {
        if (conn.Announced)
        {
            return;
        }
        conn.Role ??= e.Direction == Direction.Send ? "client" : "server";
        if (conn.Remote.IsEmpty && conn.Proto == "udp" && e.Peer.IsInet)
        {
            conn.Remote = e.Peer;
        }
        Open(conn, e.TimestampNs);
    }

    private void WriteData(in DataEvent e, ReadOnlySpan<byte> payload, Connection conn) => Write(new DataRecord
    {
        TimestampNs = settings.ToUnixNs(e.TimestampNs),
        Pid = e.Pid,
        Comm = Processes.CommOf(e.Pid),
        Conn = conn.Id,
        Dir = e.Direction == Direction.Send ? "send" : "recv",
        Len = e.MessageLength,
        Offset = e.ChunkOffset,
        Captured = payload.Length,
        Payload = payload.ToArray(),
        Truncated = (e.Flags & DataFlags.Truncated) != 0,
        Tls = e.IsTls,
        Peer = e.Peer.IsInet ? ToEndpoint(e.Peer) : null,
    });

    /// <summary>
    /// Plaintext from the TLS probes: parsed per session object, on the socket's connection when the kernel saw a
    /// syscall of the call name it, else on a stand-in until one does.
    /// </summary>
    private void OnTlsData(in DataEvent e, ReadOnlySpan<byte> payload)
    {
        Connection? conn = null;
        if (e.SockId != 0 && e.Fd >= 0)
        {
            conn = Lookup(e.Pid, e.Fd, e.SockId) ?? Adopt(in e);
            AnnounceOnData(conn, in e);
        }
        var key = (e.Pid, e.TlsSession);
        if (_tls.TryGetValue(key, out var tls) && conn is not null && tls.Conn is not null && tls.Conn != conn)
        {
            EndTls(tls, e.TimestampNs); // the library reused the object for another connection
            tls = null;
        }
        if (tls is null)
        {
            tls = new TlsSessionStream(e.Pid, e.TlsSession);
            _tls[key] = tls;
        }
        if (conn is null && tls.Conn is null && e.Direction == Direction.Recv
            && _lastStreamRecv.TryGetValue(e.Tid, out var received) && received.Pid == e.Pid
            && received.State == ConnectionState.Open && received.Tls is null)
        {
            conn = received; // the ciphertext this plaintext came from was the thread's last read from a socket
        }
        if (conn is not null && tls.Conn is null)
        {
            BindTls(tls, conn);
        }
        else if (tls.Conn is null && e.Direction == Direction.Send)
        {
            _tlsAwaitingSend[e.Tid] = tls;
            tls.AwaitingTid = e.Tid;
        }
        var shown = tls.Conn ?? (tls.Detached ??= NewDetachedConnection(e.Pid, e.TimestampNs));
        settings.TlsPlaintext?.OnPlaintext(in e, payload, shown, Processes.CommOf(e.Pid), settings.ToUnixNs(e.TimestampNs));
        if (settings.EmitData)
        {
            WriteData(in e, payload, shown);
        }
        if (settings.Streams.Enabled)
        {
            // No port hints: the plaintext is what the ports' usual protocol would be wrapped in TLS for.
            tls.Decoder ??= new ConnectionDecoder(settings.Streams, new MessageRecorder(this, shown, tls),
                datagram: false, localPort: 0, remotePort: 0, shown.Role);
            if (tls.Decoder.Wants)
            {
                tls.Decoder.OnData(in e, payload, null);
            }
        }
    }

    /// <summary>
    /// A TCP send or receive on a socket no TLS session is bound to: binds the session whose plaintext the same
    /// thread just wrote, and remembers the socket as the thread's last read for a plaintext read to come.
    /// </summary>
    private void NoteStreamIo(Connection conn, in DataEvent e)
    {
        if (e.Direction == Direction.Recv)
        {
            _lastStreamRecv[e.Tid] = conn;
            conn.LastRecvTid = e.Tid;
        }
        else if (_tlsAwaitingSend.Count > 0 && _tlsAwaitingSend.Remove(e.Tid, out var pending)
            && pending.Pid == e.Pid && pending.Conn is null && _tls.ContainsKey((pending.Pid, pending.Session)))
        {
            BindTls(pending, conn);
        }
    }

    private static void BindTls(TlsSessionStream tls, Connection conn)
    {
        tls.AwaitingTid = 0;
        tls.Conn = conn;
        conn.Tls = tls;
        if (tls.Detached?.AppProtocol is { } app)
        {
            conn.AppProtocol = app; // what the plaintext carries, learnt before the socket was known
        }
    }

    /// <summary>A connection record for TLS plaintext whose socket is not known: it has an id, never an fd entry.</summary>
    private Connection NewDetachedConnection(int pid, long nowNs) => new()
    {
        Id = $"c{++_nextId}",
        Pid = pid,
        ProcessStart = Processes.Find(pid)?.StartTicks ?? 0,
        Fd = -1,
        Generation = 0,
        Proto = "tcp",
        OpenedNs = nowNs,
    };

    private void EndTls(TlsSessionStream tls, long nowNs)
    {
        if (tls.AwaitingTid != 0 && _tlsAwaitingSend.GetValueOrDefault(tls.AwaitingTid) == tls)
        {
            _tlsAwaitingSend.Remove(tls.AwaitingTid);
        }
        tls.Close(nowNs);
        _tls.Remove((tls.Pid, tls.Session));
        settings.TlsPlaintext?.OnSessionEnd(tls.Pid, tls.Session, settings.ToUnixNs(nowNs));
        if (tls.Conn?.Tls == tls)
        {
            tls.Conn.Tls = null;
        }
    }

    public void OnLoss(in LossEvent e)
    {
        Lost += e.Count;
        Write(new LossRecord
        {
            TimestampNs = settings.ToUnixNs(e.TimestampNs),
            Pid = 0,
            Comm = "tattle",
            Count = e.Count,
            Where = e.Where,
        });
    }

    /// <summary>Ends the session: connections still open count in the summary, which is written and returned.</summary>
    public SummaryRecord Finish(long nowMonoNs, long startMonoNs, ulong events, int rootPid, TlsProbeSummary? tls = null, int stillRunning = 0)
    {
        foreach (var stream in _tls.Values.ToList())
        {
            EndTls(stream, nowMonoNs);
        }
        foreach (var conn in _byFd.Values)
        {
            conn.Decoder?.OnClose(nowMonoNs);
            if (conn.Announced && conn.State != ConnectionState.Failed)
            {
                _summary.AddConnection(conn, Processes.CommOf(conn.Pid));
            }
        }
        var summary = new SummaryRecord
        {
            TimestampNs = settings.ToUnixNs(nowMonoNs),
            Pid = rootPid,
            Comm = Processes.CommOf(rootPid),
            Rows = _summary.Rows(),
            DurationMs = (nowMonoNs - startMonoNs) / 1e6,
            Events = events,
            Lost = Lost,
            Processes = Processes.TotalSeen,
            StillRunning = stillRunning,
            Tls = tls,
        };
        Write(summary);
        sink.Flush();
        return summary;
    }

    private void OnSocketCreated(in SocketEvent e) => NewFromEvent(in e);

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
            Open(conn, e.TimestampNs);
        }
        else if (e.Result == -Errno.EINPROGRESS || e.Result == -Errno.EAGAIN && conn.Proto == "unix")
        {
            // Non-blocking: the outcome comes with the TCP state change (SYN_SENT -> ESTABLISHED or CLOSE). On
            // loopback that change can happen inside connect() itself, so it may already be here.
            conn.State = ConnectionState.Connecting;
            if (conn.TcpState == TcpState.Established)
            {
                Open(conn, e.TimestampNs);
            }
            else if (conn.TcpState == TcpState.Close)
            {
                Fail(conn, e.TimestampNs, conn.LastError ?? "ECONNABORTED");
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
        Open(conn, e.TimestampNs);
    }

    private void OnListen(in SocketEvent e)
    {
        if (e.Result != 0)
        {
            return;
        }
        Listening(Lookup(e.Pid, e.Fd, e.SockId) ?? NewFromEvent(in e), in e);
    }

    private void Listening(Connection conn, in SocketEvent e)
    {
        conn.State = ConnectionState.Listening;
        conn.Local = e.Local;
        conn.LocalPath = e.LocalPath ?? conn.LocalPath;
        Write(new ListenRecord
        {
            TimestampNs = settings.ToUnixNs(e.TimestampNs),
            Pid = e.Pid,
            Comm = Processes.CommOf(e.Pid),
            Proto = conn.Proto,
            Fd = conn.ShownFd,
            Local = LocalEndpoint(conn) ?? new Endpoint(null, null),
        });
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
        if (conn.Fd < 0 && e.State == TcpState.Close && conn.State is ConnectionState.Open or ConnectionState.Listening)
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
            Open(conn, e.TimestampNs);
        }
        else if (e.State == TcpState.Close)
        {
            Fail(conn, e.TimestampNs, e.Result != 0 ? Errno.Name(e.Result) : "ECONNABORTED");
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
        return conn;
    }

    /// <summary>
    /// --packets-only: no syscalls are traced, and the kernel learnt the socket from the owner's own connect
    /// (CLOSE → SYN_SENT) or listen (→ LISTEN), the two transitions that run in its context. Such a connection has
    /// no fd (a key of its own, shown as -1) and ends with its CLOSE state. Returns the connecting one.
    /// </summary>
    private Connection? FromStateAlone(in SocketEvent e)
    {
        if (e.State is not (TcpState.SynSent or TcpState.Listen) || Processes.Find(e.Pid) is null)
        {
            return null;
        }
        var conn = NewConnection(e.Pid, -2 - _stateOnly++, ProtoOf(e.Family, SocketTypes.Stream, 6), e.SockId, e.TimestampNs);
        if (e.State == TcpState.Listen)
        {
            Listening(conn, in e);
            return null;
        }
        conn.Role = "client";
        conn.State = ConnectionState.Connecting;
        conn.Remote = e.Remote;
        return conn;
    }

    /// <summary>Writes a notice about a process (e.g. which TLS libraries are probed in it).</summary>
    public void Notice(int pid, long monoNs, string message) => Write(new NoticeRecord
    {
        TimestampNs = settings.ToUnixNs(monoNs),
        Pid = pid,
        Comm = Processes.CommOf(pid),
        Message = message,
    });

    private void OnNotice(in SocketEvent e)
    {
        var p = Processes.Find(e.Pid);
        if (p is null || p.UsesIoUring)
        {
            return;
        }
        p.UsesIoUring = true;
        Write(new NoticeRecord
        {
            TimestampNs = settings.ToUnixNs(e.TimestampNs),
            Pid = e.Pid,
            Comm = p.Comm,
            Message = "uses io_uring: socket I/O submitted through it is not traced",
        });
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

    /// <summary>The connection at (pid, fd), unless the event shows a different socket there now.</summary>
    private Connection? Lookup(int pid, int fd, ulong sockId)
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
            ProcessStart = Processes.Find(pid)?.StartTicks ?? 0,
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

    private void Open(Connection conn, long nowNs)
    {
        conn.State = ConnectionState.Open;
        if (conn.Announced)
        {
            return;
        }
        conn.Announced = true;
        conn.OpenedNs = nowNs;
        NameRemote(conn);
        Write(new ConnOpenRecord
        {
            TimestampNs = settings.ToUnixNs(nowNs),
            Pid = conn.Pid,
            Comm = Processes.CommOf(conn.Pid),
            Conn = conn.Id,
            Proto = conn.Proto,
            Role = conn.Role ?? "client",
            Fd = conn.ShownFd,
            Local = LocalEndpoint(conn),
            Remote = RemoteEndpoint(conn),
            Existing = conn.Existing,
        });
    }

    /// <summary>The name the process resolved the remote address from, for every record that shows the address.</summary>
    private void NameRemote(Connection conn) =>
        conn.Host ??= Names.Find(conn.Remote.IsInet ? conn.Remote.AddressText() : null);

    private void Fail(Connection conn, long nowNs, string error)
    {
        conn.State = ConnectionState.Failed;
        NameRemote(conn);
        var comm = Processes.CommOf(conn.Pid);
        _summary.AddFailure(conn, comm, error);
        Write(new ConnFailRecord
        {
            TimestampNs = settings.ToUnixNs(nowNs),
            Pid = conn.Pid,
            Comm = comm,
            Conn = conn.Id,
            Proto = conn.Proto,
            Role = conn.Role ?? "client",
            Fd = conn.ShownFd,
            Local = LocalEndpoint(conn),
            Remote = RemoteEndpoint(conn),
            Error = error,
            Existing = conn.Existing,
        });
    }

    private void Close(Connection conn, long nowNs)
    {
        _byFd.Remove((conn.Pid, conn.Fd));
        if (conn.SockId != 0 && _bySock.GetValueOrDefault(conn.SockId) == conn)
        {
            _bySock.Remove(conn.SockId);
        }
        _closed.Add(conn.Pid, conn.Fd, conn.SockId);
        // The thread-keyed tables hold only what is still open: a server with a thread per connection would
        // otherwise keep one entry per thread it ever had.
        if (conn.LastRecvTid != 0 && _lastStreamRecv.GetValueOrDefault(conn.LastRecvTid) == conn)
        {
            _lastStreamRecv.Remove(conn.LastRecvTid);
        }
        var previous = conn.State;
        conn.State = ConnectionState.Closed;
        conn.Decoder?.OnClose(nowNs); // its last messages come before the close record
        conn.Decoder = null;
        if (conn.Tls is { } tls)
        {
            EndTls(tls, nowNs);
        }
        if (!conn.Announced || previous == ConnectionState.Failed)
        {
            return; // never established (or already reported as failed), or a listening socket
        }
        // The kernel counts every byte the socket moved, including those of records lost on the way.
        conn.BytesSent = Math.Max(conn.BytesSent, conn.KernelSent);
        conn.BytesRecv = Math.Max(conn.BytesRecv, conn.KernelRecv);
        var comm = Processes.CommOf(conn.Pid);
        _summary.AddConnection(conn, comm);
        var unseen = new List<string>(2);
        if ((conn.Unseen & DataFlags.Sendfile) != 0)
        {
            unseen.Add("sendfile");
        }
        if ((conn.Unseen & DataFlags.Splice) != 0)
        {
            unseen.Add("splice");
        }
        Write(new ConnCloseRecord
        {
            TimestampNs = settings.ToUnixNs(nowNs),
            Pid = conn.Pid,
            Comm = comm,
            Conn = conn.Id,
            Proto = conn.Proto,
            Role = conn.Role ?? "client",
            Fd = conn.ShownFd,
            Local = LocalEndpoint(conn),
            Remote = RemoteEndpoint(conn),
            BytesSent = conn.BytesSent,
            BytesRecv = conn.BytesRecv,
            DurationMs = Math.Max(0, nowNs - conn.OpenedNs) / 1e6,
            Unseen = unseen,
        });
    }

    private void Announce(TrackedProcess p, long nowNs, bool existing)
    {
        p.Announced = true;
        Write(new ProcessStartRecord
        {
            TimestampNs = settings.ToUnixNs(nowNs),
            Pid = p.Pid,
            Comm = p.Comm,
            ParentPid = p.ParentPid,
            Argv = ShownArgv(p.Argv),
            Exe = p.Exe,
            Existing = existing,
        });
    }

    private static void CountPeer(Connection conn, NetAddress peer, Direction dir, uint bytes)
    {
        conn.Peers ??= [];
        if (!conn.Peers.TryGetValue(peer, out var traffic))
        {
            traffic = new PeerTraffic();
            conn.Peers[peer] = traffic;
        }
        if (dir == Direction.Send)
        {
            traffic.BytesSent += bytes;
        }
        else
        {
            traffic.BytesRecv += bytes;
        }
    }

    private void Write(Record record) => sink.Write(record);

    private IReadOnlyList<string> ShownArgv(IReadOnlyList<string> argv) =>
        settings.Streams.Parser.Redact ? ArgvRedactor.Redact(argv) : argv;

    internal void WriteRecord(Record record) => sink.Write(record);

    internal long ToUnixNs(long monoNs) => settings.ToUnixNs(monoNs);

    /// <summary>Unix time of the latest event: for records that describe a moment, not a message.</summary>
    internal long Now() => settings.ToUnixNs(_lastNs);

    internal static string ProtoOf(ushort family, ushort sockType, ushort protocol) => family switch
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

    internal static Endpoint? ToEndpoint(NetAddress a) =>
        a.IsInet ? new Endpoint(a.AddressText(), a.Port) : null;

    internal static Endpoint? LocalEndpoint(Connection c) =>
        c.Proto == "unix" ? new Endpoint(null, null, c.LocalPath ?? "") : ToEndpoint(c.Local);

    internal static Endpoint? RemoteEndpoint(Connection c) =>
        c.Proto == "unix" ? new Endpoint(null, null, c.RemotePath ?? "")
        : c.Remote.IsInet ? new Endpoint(c.Remote.AddressText(), c.Remote.Port, Host: c.Host)
        : null;
}
