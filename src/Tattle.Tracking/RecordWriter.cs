using Tattle.Capture.Events;
using Tattle.Protocols.Http;
using Tattle.Protocols.Http1;
using Tattle.Records;
using Tattle.Tracking.Connections;
using Tattle.Tracking.Names;
using Tattle.Tracking.Processes;
using Tattle.Tracking.Streams;

namespace Tattle.Tracking;

/// <summary>
/// Writes the records: the header every record shares (time, process, connection, endpoints), the fan-out to the
/// sink and to the summary's aggregation, and the loss count. The tracker and the decoders tell it what
/// happened; it never decides what a connection is.
/// </summary>
public sealed class RecordWriter(IRecordSink sink, TraceSettings settings, ProcessTable processes, AddressNames names)
{
    private readonly SummaryBuilder _summary = new() { Routes = settings.Stats ? new RouteTable() : null };

    /// <summary>Events lost, all causes together.</summary>
    public long Lost { get; private set; }

    /// <summary>Monotonic time of the latest event: for records that describe a moment, not a message.</summary>
    public long LastNs { get; set; }

    public long ToUnixNs(long monoNs) => settings.ToUnixNs(monoNs);

    public string CommOf(int pid) => processes.CommOf(pid);

    public void Write(Record record) => sink.Write(record);

    /// <summary>
    /// Whether every record is done with when <see cref="Message"/> returns: the sinks consume at once, or --stats
    /// writes none (the summary and the routes keep counts, not records).
    /// </summary>
    public bool RecordsConsumedAtOnce { get; } = settings.Stats || sink.ConsumesAtOnce;

    /// <summary>
    /// Writes a parsed message's record and counts it in its endpoint's summary row; with --stats it is only counted
    /// (there, and in its route).
    /// </summary>
    public void Message(Connection conn, MessageRecord record)
    {
        _summary.AddMessage(conn, record.Comm, record);
        if (!settings.Stats)
        {
            Write(record);
        }
    }

    /// <summary>
    /// Requests the kernel read (--http-in-kernel, --stats-in-kernel): into the summary (and with --stats its routes),
    /// and without --stats one record each.
    /// </summary>
    public void Counted(Connection? conn, in HttpCountsEvent e)
    {
        string comm = CommOf(e.Pid);
        _summary.AddCounted(conn, comm, in e);
        if (settings.Stats || e.Statuses.IsEmpty
            || RequestHeadPrefix.Parse(e.Head, settings.Streams.Parser.Redact) is not { } head)
        {
            return;
        }
        // A batch's requests began with the same bytes: their fields are read once and shared.
        string role = e.RequestsReceived ? "server" : "client";
        var remote = conn is not null ? RemoteEndpoint(conn) : ToEndpoint(e.Remote);
        string connId = conn?.Id ?? "";
        for (int i = 0; i < e.Statuses.Length; i++)
        {
            ushort status = e.Statuses[i];
            uint us = e.LatenciesUs[i];
            Write(new HttpRecord(new MessageHeader(ToUnixNs((long)e.StartsNs[i]), e.Pid, comm, connId, role, remote))
            {
                Method = head.Method,
                Path = head.Target,
                Host = head.Host,
                Version = head.Version,
                Status = status == 0 ? null : status,
                ReqBytes = e.RequestLengths[i],
                RespBytes = status == 0 ? null : e.ResponseLengths[i],
                LatencyMs = us == 0 ? null : us / 1000.0,
                InKernel = true,
            });
        }
    }

    /// <summary>The header of a message record on <paramref name="conn"/>.</summary>
    public MessageHeader Header(Connection conn, long startMonoNs) =>
        new(ToUnixNs(startMonoNs), conn.Pid, CommOf(conn.Pid), conn.Id, conn.Role ?? "client", RemoteEndpoint(conn));

    public void ProcessStarted(TrackedProcess p, long nowNs, bool existing) => Write(new ProcessStartRecord
    {
        TimestampNs = ToUnixNs(nowNs),
        Pid = p.Pid,
        Comm = p.Comm,
        ParentPid = p.ParentPid,
        Argv = ShownArgv(p.Argv),
        Exe = p.Exe,
        Existing = existing,
    });

    public void ProcessExeced(TrackedProcess p, long nowNs) => Write(new ProcessExecRecord
    {
        TimestampNs = ToUnixNs(nowNs),
        Pid = p.Pid,
        Comm = p.Comm,
        Argv = ShownArgv(p.Argv),
        Exe = p.Exe,
    });

    public void ProcessExited(in ProcessExit e, TrackedProcess? p) => Write(new ProcessExitRecord
    {
        TimestampNs = ToUnixNs(e.TimestampNs),
        Pid = e.Pid,
        Comm = p?.Comm ?? e.Comm,
        ExitCode = e.Signal == 0 ? e.ExitCode : null,
        Signal = e.Signal != 0 ? e.Signal : null,
    });

    public void Listening(Connection conn, long nowNs, bool existing = false) => Write(new ListenRecord
    {
        TimestampNs = ToUnixNs(nowNs),
        Pid = conn.Pid,
        Comm = CommOf(conn.Pid),
        Proto = conn.Proto,
        Fd = conn.ShownFd,
        Local = LocalEndpoint(conn) ?? new Endpoint(null, null),
        Existing = existing,
    });

    public void Opened(Connection conn, long nowNs)
    {
        NameRemote(conn);
        Write(new ConnOpenRecord(ConnHeader(conn, nowNs, CommOf(conn.Pid))) { Existing = conn.Existing, Unconnected = conn.Unconnected });
    }

    public void Failed(Connection conn, long nowNs, string error)
    {
        NameRemote(conn);
        var comm = CommOf(conn.Pid);
        _summary.AddFailure(conn, comm, error);
        Write(new ConnFailRecord(ConnHeader(conn, nowNs, comm), error) { Existing = conn.Existing });
    }

    public void Closed(Connection conn, long nowNs)
    {
        // The kernel counts every byte the socket moved, including those of records lost on the way.
        conn.BytesSent = Math.Max(conn.BytesSent, conn.KernelSent);
        conn.BytesRecv = Math.Max(conn.BytesRecv, conn.KernelRecv);
        var comm = CommOf(conn.Pid);
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
        var close = new ConnCloseRecord(ConnHeader(conn, nowNs, comm), conn.BytesSent, conn.BytesRecv, Math.Max(0, nowNs - conn.OpenedNs) / 1e6)
        {
            Unseen = unseen,
            Peers = PeersOf(conn),
        };
        if (close.Remote is null && conn.Peers is { Count: > 0 } named)
        {
            // An unconnected socket whose first datagrams named no sender (received under --no-syscalls): the close
            // names the first peer that was named, as it does the first peer of any unconnected socket.
            close = close with { Remote = ToEndpoint(named.Keys.First()) };
        }
        Write(close);
    }

    /// <summary>An unconnected datagram socket's traffic per peer, when it had more than one (else nothing is allocated).</summary>
    private static IReadOnlyList<PeerBytes> PeersOf(Connection conn)
    {
        if (conn.Peers is not { Count: > 1 } many)
        {
            return [];
        }
        var peers = new List<PeerBytes>(many.Count);
        foreach (var (peer, traffic) in many)
        {
            if (ToEndpoint(peer) is { } remote)
            {
                peers.Add(new PeerBytes(remote, traffic.BytesSent, traffic.BytesRecv));
            }
        }
        return peers;
    }

    private ConnHeader ConnHeader(Connection conn, long nowNs, string comm) => new(
        ToUnixNs(nowNs), conn.Pid, comm, conn.Id, conn.Proto, conn.Role ?? "client", conn.ShownFd, LocalEndpoint(conn), RemoteEndpoint(conn));

    /// <summary>A connection still open at the end counts in the summary as it is.</summary>
    public void StillOpen(Connection conn) => _summary.AddConnection(conn, CommOf(conn.Pid));

    public void Data(in DataEvent e, ReadOnlySpan<byte> payload, Connection conn) => Write(new DataRecord
    {
        TimestampNs = ToUnixNs(e.TimestampNs),
        Pid = e.Pid,
        Comm = CommOf(e.Pid),
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

    public void Gap(Connection conn, Direction direction, long bytes, GapReason reason) => Write(new GapRecord
    {
        TimestampNs = ToUnixNs(LastNs),
        Pid = conn.Pid,
        Comm = CommOf(conn.Pid),
        Conn = conn.Id,
        Dir = direction == Direction.Send ? "send" : "recv",
        Bytes = bytes,
        Reason = GapReasons.Name(reason),
    });

    public void Loss(in LossEvent e)
    {
        Lost += e.Count;
        Write(new LossRecord
        {
            TimestampNs = ToUnixNs(e.TimestampNs),
            Pid = 0,
            Comm = "tattle",
            Count = e.Count,
            Where = e.Where,
        });
    }

    /// <summary>A notice about a process, or (pid 0) about tattle itself.</summary>
    public void Notice(int pid, long monoNs, string message) => Write(new NoticeRecord
    {
        TimestampNs = ToUnixNs(monoNs),
        Pid = pid,
        Comm = pid == 0 ? "tattle" : CommOf(pid),
        Message = message,
    });

    /// <summary>Writes the summary and flushes the sink.</summary>
    public SummaryRecord Summary(long nowMonoNs, long startMonoNs, ulong events, int rootPid, TlsProbeSummary? tls, int stillRunning, IReadOnlyList<CallStats>? calls = null, CallProbeSummary? probes = null)
    {
        var summary = new SummaryRecord
        {
            TimestampNs = ToUnixNs(nowMonoNs),
            Pid = rootPid,
            Comm = CommOf(rootPid),
            Rows = _summary.Rows(),
            DurationMs = (nowMonoNs - startMonoNs) / 1e6,
            Events = events,
            Lost = Lost,
            Processes = processes.TotalSeen,
            StillRunning = stillRunning,
            Tls = tls,
            Calls = calls,
            Probes = probes,
            Routes = _summary.Routes?.Rows(),
            RoutesFolded = _summary.Routes?.Folded ?? 0,
        };
        Write(summary);
        sink.Flush();
        return summary;
    }

    /// <summary>The name the process resolved the remote address from, for every record that shows the address.</summary>
    private void NameRemote(Connection conn) =>
        conn.NameRemote(names.Find(conn.Remote.IsInet ? conn.Remote.AddressText() : null), HostSource.Dns);

    private IReadOnlyList<string> ShownArgv(IReadOnlyList<string> argv) =>
        settings.Streams.Parser.Redact ? ArgvRedactor.Redact(argv) : argv;

    public static Endpoint? ToEndpoint(NetAddress a) =>
        a.IsInet ? new Endpoint(a.AddressText(), a.Port) : null;

    /// <summary>
    /// "127.0.0.53:53" for an IP peer: a datagram socket's exchanges pair by it. A socket talks to the same peer
    /// again and again (a resolver's upstream, a client's server), so the text is kept with the address it was made from.
    /// </summary>
    public static string PeerText(Connection c, NetAddress peer)
    {
        ref var cache = ref c.Endpoints;
        if (cache.PeerText is null || !cache.PeerFrom.Equals(peer))
        {
            cache.PeerText = Endpoint.Format(peer.AddressText(), peer.Port, null);
            cache.PeerFrom = peer;
        }
        return cache.PeerText;
    }

    public static Endpoint? LocalEndpoint(Connection c)
    {
        ref var cache = ref c.Endpoints;
        var from = (c.Proto, c.Local, c.LocalPath);
        if (cache.Local is null || !cache.LocalFrom.Equals(from))
        {
            cache.Local = c.Proto == "unix" ? new Endpoint(null, null, c.LocalPath ?? "") : ToEndpoint(c.Local);
            cache.LocalFrom = from;
        }
        return cache.Local;
    }

    public static Endpoint? RemoteEndpoint(Connection c)
    {
        ref var cache = ref c.Endpoints;
        var from = (c.Proto, c.Remote, c.Host, c.RemotePath); // the name's source is set with the name
        if (cache.Remote is null || !cache.RemoteFrom.Equals(from))
        {
            cache.Remote = c.Proto == "unix" ? new Endpoint(null, null, c.RemotePath ?? "")
                : c.Remote.IsInet ? new Endpoint(c.Remote.AddressText(), c.Remote.Port, Host: c.Host, HostFrom: c.HostFrom)
                : null;
            cache.RemoteFrom = from;
        }
        return cache.Remote;
    }
}
