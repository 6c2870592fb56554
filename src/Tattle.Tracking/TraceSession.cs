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

    /// <summary>Probed library calls (tattle probe); null without function probes.</summary>
    public Calls.CallSettings? Calls { get; init; }

    /// <summary>
    /// No close() is seen (--no-syscalls: payloads come from the socket layer): a TCP connection ends with its CLOSE
    /// state, other sockets with their process.
    /// </summary>
    public bool ClosesFromState { get; init; }

    /// <summary>
    /// --stats: parsed messages are counted (per endpoint, and per operation and route in the summary's route table),
    /// not written as records.
    /// </summary>
    public bool Stats { get; init; }
}

/// <summary>
/// Turns the events of any capture source into records. Thin by design: the process table, the connection
/// tracker (table, identities, state machine), the TLS sessions and the record writer do the work; the session
/// routes each event to them and gives each connection's payload to its decoder. Source-agnostic, so it is
/// tested by feeding it synthetic events.
/// </summary>
public sealed class TraceSession : ITraceEventSink
{
    private readonly TraceSettings _settings;
    private readonly RecordWriter _writer;
    // The launched process while it runs the helpers on its way to the command. Null, not 0, for none: a capture
    // replays its packets as pid 0.
    private int? _helperPid;
    private readonly ConnectionTracker _connections;
    private readonly TlsSessions _tls;
    private readonly Calls.CallRecorder? _calls;
    private LateProbes? _late; // null until TLS probes run

    public TraceSession(IRecordSink sink, ISocketLookup sockets, TraceSettings settings)
    {
        _settings = settings;
        _writer = new RecordWriter(sink, settings, Processes, Names);
        _calls = settings.Calls is { } calls ? new Calls.CallRecorder(calls, _writer, settings.Streams.Parser.Redact) : null;
        _connections = new ConnectionTracker(_writer, sockets, Processes) { ClosesFromState = settings.ClosesFromState };
        _tls = new TlsSessions(_connections, settings);
        _connections.Closing = (conn, nowNs) =>
        {
            _tls.OnClosing(conn, nowNs);
            _late?.OnClosing(conn);
        };
    }

    /// <summary>
    /// TLS plaintext probes run: from now on a TLS handshake made before its process's probes went live (see
    /// <see cref="TlsProbesLive"/>) gets a notice and counts in the summary.
    /// </summary>
    public void WatchTlsProbeTimes() =>
        _late ??= new LateProbes(_writer, Processes, _connections, pid => TlsProbesWanted?.Invoke(pid) ?? true);

    /// <summary>
    /// Which processes get TLS probes (the agent's tls targets, not the rest); null: every traced one. Only theirs
    /// are judged: where plaintext is not wanted, none is missing.
    /// </summary>
    public Func<int, bool>? TlsProbesWanted { get; set; }

    /// <summary>The process's TLS probes went live at <paramref name="monoNs"/>, or it was found gone then (<paramref name="gone"/>).</summary>
    public void TlsProbesLive(int pid, long monoNs, bool gone) => _late?.ProbesLive(pid, monoNs, gone);

    public ProcessTable Processes { get; } = new();

    /// <summary>Where parsers ask the kernel not to copy the rest of a long body; null: every byte is copied.</summary>
    public Capture.Bpf.IBodySkips? BodySkips { get; set; }

    /// <summary>Addresses the traced processes resolved, with the names they asked for.</summary>
    public AddressNames Names { get; } = new();

    /// <summary>Events lost, all causes together.</summary>
    public long Lost => _writer.Lost;

    /// <summary>Connections currently open (or being set up).</summary>
    public int OpenConnections => _connections.OpenConnections;

    /// <summary>Entries of the per-thread tables that bind memory-BIO TLS sessions: only open ones are kept.</summary>
    public int ThreadBindings => _tls.ThreadBindings;

    /// <summary>Seeds a running process (attach): its process.start and the sockets it already holds.</summary>
    public TrackedProcess? SeedExisting(int pid, long nowMonoNs)
    {
        var p = Processes.Seed(pid);
        if (p is null)
        {
            return null;
        }
        Announce(p, nowMonoNs, existing: true);
        _connections.SeedSockets(pid, nowMonoNs);
        return p;
    }

    /// <summary>
    /// Seeds the launched command's process: known, but announced only when it execs <paramref name="executable"/>.
    /// The execs before it (the gate's shell, `ip netns exec`, setpriv) are Tattle's own helpers, never shown.
    /// </summary>
    public void SeedLaunched(int pid, string executable, bool throughHelpers = false)
    {
        var p = Processes.Seed(pid) ?? Processes.Add(pid, 0);
        p.Announced = false;
        p.AwaitedExec = executable;
        if (throughHelpers)
        {
            _helperPid = pid;
        }
    }

    /// <summary>
    /// Whether the event comes from a launched process still running the helpers on its way to the command
    /// (setpriv's user and group lookups, `ip netns exec`): theirs, not the command's, so not reported.
    /// </summary>
    private bool FromLaunchHelper(int pid) => pid == _helperPid;

    private void EndHelpers(int pid)
    {
        if (pid == _helperPid)
        {
            _helperPid = null;
        }
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
            EndHelpers(e.Pid);
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
        _writer.ProcessExeced(p, e.TimestampNs);
    }

    public void OnExit(in ProcessExit e)
    {
        _writer.LastNs = e.TimestampNs;
        var p = Processes.MarkExited(e.Pid);
        EndHelpers(e.Pid); // a helper that failed: the command never ran
        _connections.EndProcess(e.Pid, e.TimestampNs);
        _tls.EndProcess(e.Pid, e.TimestampNs);
        _writer.ProcessExited(in e, p);
    }

    public void OnSocket(in SocketEvent e)
    {
        _writer.LastNs = e.TimestampNs;
        if (e.Kind == SocketEventKind.Notice)
        {
            OnNotice(in e);
            return;
        }
        if (FromLaunchHelper(e.Pid))
        {
            return;
        }
        _connections.OnSocket(in e);
    }

    public void OnData(in DataEvent e, ReadOnlySpan<byte> payload)
    {
        _writer.LastNs = e.TimestampNs;
        if (e.IsTls)
        {
            OnTlsData(in e, payload);
            return;
        }
        if (FromLaunchHelper(e.Pid))
        {
            return;
        }
        if (_connections.ForData(in e) is not { } conn)
        {
            return; // another thread's call on the socket this fd named before close(): that connection is over
        }
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
        _calls?.Used(e.Tid, e.TimestampNs, conn.Id);
        if (conn.Proto == "tcp" && conn.Tls is null)
        {
            _tls.OnStreamIo(conn, in e);
        }
        _connections.AnnounceOnData(conn, in e);
        if (_settings.EmitData && (e.Flags & (DataFlags.Eof | DataFlags.Sendfile | DataFlags.Splice)) == 0)
        {
            _writer.Data(in e, payload, conn);
        }
        if (_settings.Streams.Enabled && conn.Proto is "tcp" or "udp" or "unix")
        {
            conn.Decoder ??= new ConnectionDecoder(_settings.Streams, new MessageRecorder(_writer, Names, conn),
                datagram: e.SockType != SocketTypes.Stream, conn.Local.Port, conn.Remote.Port, conn.Role, BodySkips);
            if (conn.Decoder.Wants)
            {
                // The peer's text pairs datagram requests with responses; streams need none.
                string? peer = !conn.Decoder.Datagram ? null
                    : e.Peer.IsInet ? RecordWriter.PeerText(conn, e.Peer)
                    : conn.Proto == "udp" && conn.Remote.IsInet ? RecordWriter.PeerText(conn, conn.Remote) : null;
                conn.Decoder.OnData(in e, payload, peer);
            }
        }
    }

    /// <summary>
    /// Plaintext from the TLS probes: parsed per session object, on the socket's connection when the kernel saw a
    /// syscall of the call name it, else on a stand-in until one does.
    /// </summary>
    private void OnTlsData(in DataEvent e, ReadOnlySpan<byte> payload)
    {
        var (tls, shown) = _tls.OnPlaintext(in e);
        if (tls.Conn is { FirstPlaintext: null } socket)
        {
            socket.FirstPlaintext = e.Direction;
        }
        _calls?.Used(e.Tid, e.TimestampNs, shown.Id);
        _settings.TlsPlaintext?.OnPlaintext(in e, payload, shown, Processes.CommOf(e.Pid), _settings.ToUnixNs(e.TimestampNs));
        if (_settings.EmitData)
        {
            _writer.Data(in e, payload, shown);
        }
        if (_settings.Streams.Enabled)
        {
            // No port hints: the plaintext is what the ports' usual protocol would be wrapped in TLS for.
            tls.Decoder ??= new ConnectionDecoder(_settings.Streams, new MessageRecorder(_writer, Names, shown, tls),
                datagram: false, localPort: 0, remotePort: 0, shown.Role);
            if (tls.Decoder.Wants)
            {
                tls.Decoder.OnData(in e, payload, null);
            }
        }
    }

    public void OnLoss(in LossEvent e) => _writer.Loss(in e);

    public void OnHttpCounts(in HttpCountsEvent e)
    {
        _writer.LastNs = e.TimestampNs;
        var conn = _connections.Find(e.Pid, e.Fd, e.SockId);
        if (conn is not null)
        {
            conn.AppProtocol ??= "http";
        }
        _writer.Counted(conn, in e);
    }

    public void OnCall(in CallEvent e, ReadOnlySpan<byte> slots)
    {
        _writer.LastNs = e.TimestampNs;
        _calls?.OnCall(in e, slots);
    }

    /// <summary>Ends the session: connections still open count in the summary, which is written and returned.</summary>
    public SummaryRecord Finish(long nowMonoNs, long startMonoNs, ulong events, int rootPid, TlsProbeSummary? tls = null, int stillRunning = 0, CallProbeSummary? probes = null)
    {
        _tls.EndAll(nowMonoNs);
        foreach (var conn in _connections.Open)
        {
            conn.Decoder?.OnClose(nowMonoNs);
            if (conn.Announced && conn.State != ConnectionState.Failed)
            {
                _writer.StillOpen(conn);
            }
        }
        if (_late is not null)
        {
            _late.Finish(nowMonoNs);
            tls = tls is null ? null : tls with { LateConnections = _late.Count };
        }
        return _writer.Summary(nowMonoNs, startMonoNs, events, rootPid, tls, stillRunning, _calls?.Stats(), probes);
    }

    /// <summary>Writes a notice about a process (e.g. which TLS libraries are probed in it).</summary>
    public void Notice(int pid, long monoNs, string message) => _writer.Notice(pid, monoNs, message);

    private void OnNotice(in SocketEvent e)
    {
        var p = Processes.Find(e.Pid);
        if (p is null || p.UsesIoUring)
        {
            return;
        }
        p.UsesIoUring = true;
        _writer.Notice(e.Pid, e.TimestampNs, "uses io_uring: socket I/O submitted through it is not traced");
    }

    private void Announce(TrackedProcess p, long nowNs, bool existing)
    {
        p.Announced = true;
        _writer.ProcessStarted(p, nowNs, existing);
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
}
