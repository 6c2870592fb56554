using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Tattle.Records.Live;

namespace Tattle.Records;

/// <summary>What every parsed message's record starts with: when, which process, which connection, which side.</summary>
public readonly record struct MessageHeader(long TimestampNs, int Pid, string Comm, string Conn, string Role, Endpoint? Remote);

/// <summary>
/// The record of a parsed protocol message. Each protocol's record type (in its folder under Tattle.Protocols)
/// writes its own fields and its own live-view line: sinks hold no per-protocol code, and a record type that
/// does not say how it is written does not compile.
/// </summary>
public abstract record MessageRecord : Record
{
    protected MessageRecord()
    {
    }

    [SetsRequiredMembers]
    protected MessageRecord(in MessageHeader header)
    {
        TimestampNs = header.TimestampNs;
        Pid = header.Pid;
        Comm = header.Comm;
        Conn = header.Conn;
        Role = header.Role;
        Remote = header.Remote;
    }

    private string _conn = "";
    private string _role = "";
    private Endpoint? _remote;
    private double? _latencyMs;

    public required string Conn { get => _conn; init => _conn = value; }

    /// <summary>client or server, as seen by the traced process.</summary>
    public required string Role { get => _role; init => _role = value; }

    /// <summary>The other end of the connection (or of the datagram exchange), with its host name when known.</summary>
    public Endpoint? Remote { get => _remote; init => _remote = value; }

    /// <summary>Milliseconds from the request's first byte to the response's last; null without a response.</summary>
    public double? LatencyMs { get => _latencyMs; init => _latencyMs = value; }

    /// <summary>
    /// Sets the common fields of a record its parser makes again for the next message, for sinks that are done
    /// with each record when they return (<see cref="IRecordSink.ConsumesAtOnce"/>): records stay immutable to
    /// everyone else.
    /// </summary>
    protected void Refill(in MessageHeader header, double? latencyMs)
    {
        Restamp(header.TimestampNs, header.Pid, header.Comm);
        Refilled.Set(ref _conn, header.Conn);
        Refilled.Set(ref _role, header.Role);
        Refilled.Set(ref _remote, header.Remote);
        _latencyMs = latencyMs;
    }

    /// <summary>
    /// Whether the summary counts this record as a request of its endpoint: answered (its latency goes into the
    /// endpoint's percentiles) or not (counted as unanswered). One-way messages (pushes, published messages,
    /// frames) and per-connection records say false.
    /// </summary>
    public virtual bool IsRequest => true;

    /// <summary>
    /// Only the answer was seen: its request came before tracing began, or went unread (a query sent with sendmmsg
    /// under --no-syscalls). Counted as a request with no latency, not as unanswered.
    /// </summary>
    public virtual bool RequestUnseen => false;

    /// <summary>
    /// Writes the fields after the common ones (type, ts, pid, comm, conn, role, remote) and before latency_ms,
    /// as docs/json-schema.md lists them.
    /// </summary>
    public abstract void WriteFields(Utf8JsonWriter w);

    /// <summary>Appends the live view's line (after the time and the process).</summary>
    public abstract void Describe(LiveLine line);

    /// <summary>--stats: what the request asked to do (an HTTP method), or null for a protocol without one.</summary>
    public virtual string? Operation => null;

    /// <summary>--stats: what it was done to, with identifiers folded (`/users/{id}`), or null.</summary>
    public virtual string? Route => null;

    /// <summary>--stats: the response's status code where the protocol has one (HTTP), else null.</summary>
    public virtual int? StatusCode => null;

    /// <summary>--stats: the request's and the response's bytes as on the wire, where the record counts them.</summary>
    public virtual (long Request, long Response) WireBytes => (0, 0);

    /// <summary>Describes the record as a request/response exchange for telemetry; false for a record that is none.</summary>
    public virtual bool WriteExchange(IExchangeWriter w) => false;

    /// <summary>
    /// A failed exchange's error as the semantic conventions' <c>error.type</c> names it (an HTTP status from 400 for a
    /// client and from 500 for a server, a DNS rcode, a gRPC status, a SQLSTATE, a Redis error's kind); null when it
    /// succeeded, had no answer, or is no exchange.
    /// </summary>
    public virtual string? ErrorType => null;
}

/// <summary>Bytes of one direction of a connection that were never parsed: how many and why.</summary>
public sealed record GapRecord : Record
{
    public override string Type => "gap";

    public required string Conn { get; init; }

    /// <summary>send or recv.</summary>
    public required string Dir { get; init; }

    public required long Bytes { get; init; }

    /// <summary>lost, snaplen, unread, unseen, cap or resync.</summary>
    public required string Reason { get; init; }
}
