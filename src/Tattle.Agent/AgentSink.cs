using System.Diagnostics;
using System.Runtime.CompilerServices;
using Tattle.Output;
using Tattle.Output.Otlp;
using Tattle.Records;

namespace Tattle.Agent;

/// <summary>
/// The agent's view of the record stream: it keeps the process selection exact, turns connections and
/// exchanges into metrics and each exchange into a span. Records of processes the agent does not trace are
/// ignored; none is kept once its process or connection has ended. Notices (a traced process's TLS calls made
/// before its probes went live, its io_uring) go to the log, when there is one.
/// </summary>
public sealed class AgentSink(ProcessSelection selection, AgentMetrics metrics, OtlpSpanExporter? spans, ProcessResources resources, AgentLog? log = null)
    : IRecordSink
{
    // Attributes that would make a series per URL, host header or certificate: spans keep them, metrics do not.
    private static readonly HashSet<string> SpanOnly = new(StringComparer.Ordinal)
    {
        "url.path", "http.request.header.host", "tls.server.name", "db.namespace", "db.response.status_code", "dns.response_code",
    };

    // The local port of each open connection: a server's exchanges are keyed by it (its records name only the peer).
    private readonly Dictionary<(int Pid, string Conn), int?> _localPorts = [];
    // The same, by the instance of the connection's id: a connection's records all carry the one string its tracker
    // made, so a slot that holds it answers without hashing the id (the lookup was 4 % of the agent's CPU under load).
    private readonly RecentPort[] _recentPorts = new RecentPort[RecentPortSlots];
    private const int RecentPortSlots = 256;
    private readonly ExchangeCollector _exchange = new();
    // A span's ids and attributes, refilled span after span: the exporter encodes a span as it queues it.
    private readonly byte[] _traceId = new byte[16];
    private readonly byte[] _spanId = new byte[8];
    private readonly List<KeyValuePair<string, object>> _spanAttributes = [];
    private long _shed;

    /// <summary>Over the memory cap: no spans are made (counted as dropped) and metrics fold into <c>other</c>.</summary>
    public bool Shedding
    {
        get => metrics.Shedding;
        set => metrics.Shedding = value;
    }

    /// <summary>Spans not made while shedding.</summary>
    public long Shed => Interlocked.Read(ref _shed);

    public void Write(Record record)
    {
        switch (record)
        {
            case ProcessStartRecord s:
                if (selection.OnStart(s))
                {
                    resources.OnStart(s);
                }
                return;
            case ProcessExecRecord x:
                if (selection.OnExec(x))
                {
                    resources.OnExec(x);
                }
                return;
            case ProcessExitRecord e:
                selection.OnExit(e.Pid);
                resources.OnExit(e.Pid);
                return;
            case LossRecord l:
                metrics.Lost(l.Count, l.Where);
                return;
            case NoticeRecord n:
                // Not filtered by the selection: a notice may come after its process's exit (it ended before its
                // probes went live), and the kernel already traces only what the agent selected.
                log?.Info("notice", ("pid", n.Pid), ("comm", n.Comm), ("text", n.Message));
                return;
        }
        if (selection.DepthOf(record.Pid) is null)
        {
            return;
        }
        switch (record)
        {
            case ConnOpenRecord o:
                _localPorts[(o.Pid, o.Conn)] = o.Local?.Port;
                ForgetRecentPort(o.Conn);
                metrics.ConnectionOpened(ConnTags(o));
                break;
            case ConnFailRecord f:
                var failed = ConnTags(f);
                failed.Add("error.type", f.Error);
                metrics.ConnectionFailed(failed);
                break;
            case ConnCloseRecord c:
                _localPorts.Remove((c.Pid, c.Conn));
                ForgetRecentPort(c.Conn);
                if (c.Peers.Count > 0 && c.Role == "client")
                {
                    // Each peer's bytes under its own address, the close once under the first's.
                    metrics.ConnectionClosed(ConnTags(c), 0, 0);
                    foreach (var peer in c.Peers)
                    {
                        metrics.Transferred(ConnTags(c, peer.Remote), peer.BytesSent, peer.BytesRecv);
                    }
                    break;
                }
                metrics.ConnectionClosed(ConnTags(c), c.BytesSent, c.BytesRecv);
                break;
            case MessageRecord m when m.IsRequest:
                Exchange(m);
                break;
        }
    }

    private void Exchange(MessageRecord m)
    {
        _exchange.Reset();
        if (!m.WriteExchange(_exchange))
        {
            return;
        }
        bool server = m.Role == "server";
        var peer = Peer(m);
        double seconds = (m.LatencyMs ?? 0) / 1000;
        if (m.LatencyMs is not null)
        {
            var generic = new TagList
            {
                { "process.executable.name", m.Comm },
                { "network.protocol.name", _exchange.Protocol },
                { "tattle.role", m.Role },
                { "tattle.status_class", _exchange.StatusClass },
            };
            AddPeer(ref generic, peer, server);
            var family = new TagList { { "process.executable.name", m.Comm } };
            AddPeer(ref family, peer, server);
            foreach (var (key, value) in _exchange.Attributes)
            {
                if (!SpanOnly.Contains(key))
                {
                    family.Add(key, value);
                }
            }
            if (_exchange.ErrorType is { } error)
            {
                family.Add("error.type", error);
            }
            metrics.Exchange(_exchange.Kind, server, seconds, generic, family);
        }
        if (spans is null)
        {
            return;
        }
        if (Shedding)
        {
            Interlocked.Increment(ref _shed);
            return;
        }
        var attributes = _spanAttributes;
        attributes.Clear();
        attributes.AddRange(_exchange.Attributes);
        if (peer.Address is { } address)
        {
            attributes.Add(new(server ? "client.address" : "server.address", address));
        }
        if (peer.Port is int port)
        {
            attributes.Add(new(server ? "client.port" : "server.port", Boxes.Long(port)));
        }
        if (server && peer.LocalPort is int local)
        {
            attributes.Add(new("server.port", Boxes.Long(local)));
        }
        if (_exchange.ErrorType is { } errorType)
        {
            attributes.Add(new("error.type", errorType));
        }
        attributes.Add(new("network.protocol.name", _exchange.Protocol));
        attributes.Add(new("tattle.conn", m.Conn));
        OtlpTraceIds.Fill(_traceId);
        OtlpTraceIds.Fill(_spanId);
        spans.TryEnqueue(new OtlpSpan
        {
            TraceId = _traceId,
            SpanId = _spanId,
            Name = _exchange.SpanName,
            Kind = server ? OtlpSpanKind.Server : OtlpSpanKind.Client,
            StartUnixNs = m.TimestampNs,
            EndUnixNs = m.TimestampNs + (long)(seconds * 1e9),
            Attributes = attributes,
            Status = _exchange.ErrorType is null ? OtlpStatusCode.Unset : OtlpStatusCode.Error,
            StatusMessage = _exchange.ErrorType,
            Resource = resources.Of(m),
        });
        attributes.Clear();
    }

    private readonly record struct PeerInfo(string? Address, int? Port, int? LocalPort);

    // A server's peer is a client on an ephemeral port: its series are keyed by the local (listening) port instead.
    private PeerInfo Peer(MessageRecord m)
    {
        var remote = m.Remote;
        ref var recent = ref _recentPorts[RecentPortSlot(m.Conn)];
        if (!ReferenceEquals(recent.Conn, m.Conn) || recent.Pid != m.Pid)
        {
            recent = new RecentPort(m.Conn, m.Pid, _localPorts.GetValueOrDefault((m.Pid, m.Conn)));
        }
        return new PeerInfo(remote?.Host ?? remote?.Addr ?? remote?.Path, remote?.Port, recent.Port);
    }

    private static int RecentPortSlot(string conn) => RuntimeHelpers.GetHashCode(conn) & (RecentPortSlots - 1);

    private void ForgetRecentPort(string conn)
    {
        ref var recent = ref _recentPorts[RecentPortSlot(conn)];
        if (ReferenceEquals(recent.Conn, conn))
        {
            recent = default;
        }
    }

    private readonly record struct RecentPort(string? Conn, int Pid, int? Port);

    private static void AddPeer(ref TagList tags, PeerInfo peer, bool server)
    {
        if (server)
        {
            if (peer.LocalPort is int local)
            {
                tags.Add("server.port", Boxes.Int(local));
            }
            return;
        }
        if (peer.Address is { } address)
        {
            tags.Add("server.address", address);
        }
        if (peer.Port is int port)
        {
            tags.Add("server.port", Boxes.Int(port));
        }
    }

    private static TagList ConnTags(ConnRecord c) => ConnTags(c, c.Role == "server" ? c.Local : c.Remote);

    private static TagList ConnTags(ConnRecord c, Endpoint? service)
    {
        var tags = new TagList
        {
            { "process.executable.name", c.Comm },
            { "network.transport", c.Proto },
            { "tattle.role", c.Role },
        };
        if ((service?.Host ?? service?.Addr ?? service?.Path) is { } address)
        {
            tags.Add("server.address", address);
        }
        if (service?.Port is int port)
        {
            tags.Add("server.port", Boxes.Int(port));
        }
        return tags;
    }

    // Metrics and spans take a record's values (strings, numbers, the process's resource); no record is kept.
    public bool ConsumesAtOnce => true;

    public void Flush()
    {
    }

    public void Dispose()
    {
    }

    /// <summary>Collects one record's exchange description; reused record after record.</summary>
    private sealed class ExchangeCollector : IExchangeWriter
    {
        public ExchangeKind Kind { get; private set; }

        public string Protocol { get; private set; } = "";

        public string SpanName { get; private set; } = "";

        public string StatusClass { get; private set; } = "none";

        public string? ErrorType { get; private set; }

        public List<KeyValuePair<string, object>> Attributes { get; } = [];

        public void Reset()
        {
            Kind = ExchangeKind.Other;
            Protocol = SpanName = "";
            StatusClass = "none";
            ErrorType = null;
            Attributes.Clear();
        }

        public void Describe(ExchangeKind kind, string protocol, string spanName)
        {
            Kind = kind;
            Protocol = protocol;
            SpanName = spanName;
        }

        public void Outcome(string statusClass, string? errorType)
        {
            StatusClass = statusClass;
            ErrorType = errorType;
        }

        public void Attribute(string key, string value) => Attributes.Add(new(key, value));

        public void Attribute(string key, long value) => Attributes.Add(new(key, Boxes.Long(value)));
    }
}
