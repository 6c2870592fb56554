using System.Diagnostics.CodeAnalysis;
namespace Tattle.Records;

/// <summary>
/// An address as records show it: IP and port, or a Unix socket path; Host when a name is known, and where the
/// name came from (<see cref="HostSource"/>).
/// </summary>
public sealed record Endpoint(string? Addr, int? Port, string? Path = null, string? Host = null, string? HostFrom = null)
{
    /// <summary>A Unix socket without a name (a socketpair's end, an unbound client), written "*" as ss writes it.</summary>
    public bool IsUnnamedUnix => Path is { Length: 0 };

    public override string ToString() => Format(Addr, Port, Path);

    /// <summary>"10.0.0.1:443", "[::1]:53", "/run/app.sock", "*" for an unnamed Unix socket, "-" when nothing is known.</summary>
    public static string Format(string? addr, int? port, string? path) => path is not null ? (path.Length == 0 ? "*" : path)
        : addr is null ? "-"
        : addr.Contains(':') ? $"[{addr}]:{port}" : $"{addr}:{port}";
}

/// <summary>
/// Where an endpoint's name came from. Only a DNS answer says the address is the name's: SNI and Host are what the
/// client chose to say, and a client can say any name to any address.
/// </summary>
public static class HostSource
{
    /// <summary>A DNS answer the traced programs got in the run: the name resolved to this address.</summary>
    public const string Dns = "dns";

    /// <summary>The TLS ClientHello's server name.</summary>
    public const string Sni = "sni";

    /// <summary>The HTTP Host header or HTTP/2 :authority.</summary>
    public const string Http = "http";
}

/// <summary>One line of Tattle's output: every record has a type, a time, and the process it belongs to.</summary>
public abstract record Record
{
    /// <summary>The record's type as written in JSON ("conn.open").</summary>
    public abstract string Type { get; }

    // Fields of their own: a record made again for each message (MessageRecord.Refill) sets them after its making.
    private long _timestampNs;
    private int _pid;
    private string _comm = "";

    /// <summary>Wall-clock time, nanoseconds since the Unix epoch.</summary>
    public required long TimestampNs { get => _timestampNs; init => _timestampNs = value; }

    public required int Pid { get => _pid; init => _pid = value; }

    public required string Comm { get => _comm; init => _comm = value; }

    private protected void Restamp(long timestampNs, int pid, string comm)
    {
        _timestampNs = timestampNs;
        _pid = pid;
        Refilled.Set(ref _comm, comm);
    }
}

/// <summary>A traced process appeared: forked, launched, or already running at attach (Existing).</summary>
public sealed record ProcessStartRecord : Record
{
    public override string Type => "process.start";

    public required int ParentPid { get; init; }

    public required IReadOnlyList<string> Argv { get; init; }

    public string? Exe { get; init; }

    /// <summary>Its real user id, when /proc could be read while it ran.</summary>
    public int? Uid { get; init; }

    /// <summary>Its cgroup v2 path (a container runtime's scope names the container), when it could be read.</summary>
    public string? Cgroup { get; init; }

    public bool Existing { get; init; }
}

/// <summary>A traced process replaced its program (exec) after it had started.</summary>
public sealed record ProcessExecRecord : Record
{
    public override string Type => "process.exec";

    public required IReadOnlyList<string> Argv { get; init; }

    public string? Exe { get; init; }

    /// <summary>Its real user id after the exec (a setuid program, su), when /proc could be read.</summary>
    public int? Uid { get; init; }

    /// <summary>Its cgroup v2 path, when it could be read.</summary>
    public string? Cgroup { get; init; }
}

/// <summary>A traced process exited with a code, or was killed by a signal.</summary>
public sealed record ProcessExitRecord : Record
{
    public override string Type => "process.exit";

    public int? ExitCode { get; init; }

    public int? Signal { get; init; }
}

/// <summary>Fields shared by the connection records.</summary>
/// <summary>What every connection record starts with: when, which process, which connection, its ends.</summary>
public readonly record struct ConnHeader(
    long TimestampNs, int Pid, string Comm, string Conn, string Proto, string Role, int Fd, Endpoint? Local, Endpoint? Remote);

public abstract record ConnRecord : Record
{
    protected ConnRecord()
    {
    }

    [SetsRequiredMembers]
    protected ConnRecord(in ConnHeader header)
    {
        TimestampNs = header.TimestampNs;
        Pid = header.Pid;
        Comm = header.Comm;
        Conn = header.Conn;
        Proto = header.Proto;
        Role = header.Role;
        Fd = header.Fd;
        Local = header.Local;
        Remote = header.Remote;
    }

    public required string Conn { get; init; }

    /// <summary>tcp, udp, unix (or raw).</summary>
    public required string Proto { get; init; }

    /// <summary>client or server, as seen by the traced process.</summary>
    public required string Role { get; init; }

    public required int Fd { get; init; }

    public Endpoint? Local { get; init; }

    public Endpoint? Remote { get; init; }
}

/// <summary>A connection was established (or found already open at attach: Existing).</summary>
public sealed record ConnOpenRecord : ConnRecord
{
    public ConnOpenRecord()
    {
    }

    [SetsRequiredMembers]
    public ConnOpenRecord(in ConnHeader header)
        : base(header)
    {
    }

    public override string Type => "conn.open";

    public bool Existing { get; init; }

    /// <summary>
    /// A datagram socket no connect() tied to a peer, first seen by a datagram that named its own (sendto, or
    /// recvfrom on a server): Remote is that datagram's peer, and the socket may talk to others.
    /// </summary>
    public bool Unconnected { get; init; }

    /// <summary>
    /// Both ends of a Unix socket unnamed: a socketpair's (a name is kept by an accepted socket, its listener's, and
    /// by a connecting one, its server's), first seen when data crossed it, since socketpair() connects nothing.
    /// </summary>
    public bool IsSocketPair => Proto == "unix" && Local is { IsUnnamedUnix: true } && Remote is { IsUnnamedUnix: true };
}

/// <summary>A connection attempt failed; Error is the errno name ("ECONNREFUSED").</summary>
public sealed record ConnFailRecord : ConnRecord
{
    public ConnFailRecord()
    {
    }

    [SetsRequiredMembers]
    public ConnFailRecord(in ConnHeader header, string error)
        : base(header)
    {
        Error = error;
    }

    public override string Type => "conn.fail";

    /// <summary>
    /// The error of a non-blocking connect whose socket closed before the handshake ended: what connect() returned,
    /// since no other answer ever came (a SYN dropped by a firewall gets none until the kernel's own ETIMEDOUT,
    /// minutes later).
    /// </summary>
    public const string ClosedWhileConnecting = "EINPROGRESS";

    public required string Error { get; init; }

    public bool Existing { get; init; }
}

/// <summary>A connection ended (close, or its process exited).</summary>
public sealed record ConnCloseRecord : ConnRecord
{
    public ConnCloseRecord()
    {
    }

    [SetsRequiredMembers]
    public ConnCloseRecord(in ConnHeader header, ulong bytesSent, ulong bytesRecv, double durationMs)
        : base(header)
    {
        BytesSent = bytesSent;
        BytesRecv = bytesRecv;
        DurationMs = durationMs;
    }

    public override string Type => "conn.close";

    public required ulong BytesSent { get; init; }

    public required ulong BytesRecv { get; init; }

    public required double DurationMs { get; init; }

    /// <summary>Ways bytes moved that Tattle counted but whose payload it could not see (sendfile, splice).</summary>
    public IReadOnlyList<string> Unseen { get; init; } = [];

    /// <summary>
    /// An unconnected datagram socket that talked to more than one peer: each with its bytes (Remote is the first
    /// of them, and the totals are the socket's). Empty otherwise.
    /// </summary>
    public IReadOnlyList<PeerBytes> Peers { get; init; } = [];
}

/// <summary>What an unconnected datagram socket sent to and received from one peer.</summary>
public sealed record PeerBytes(Endpoint Remote, ulong BytesSent, ulong BytesRecv);

/// <summary>A socket began listening.</summary>
public sealed record ListenRecord : Record
{
    public override string Type => "listen";

    public required string Proto { get; init; }

    public required int Fd { get; init; }

    public required Endpoint Local { get; init; }

    public bool Existing { get; init; }
}

/// <summary>Payload of one message (or one chunk of a long one), only with --data.</summary>
public sealed record DataRecord : Record
{
    public override string Type => "data";

    public required string Conn { get; init; }

    /// <summary>send or recv.</summary>
    public required string Dir { get; init; }

    /// <summary>Bytes the call moved for this message.</summary>
    public required long Len { get; init; }

    /// <summary>Offset of this chunk in the message (0 unless a message was split).</summary>
    public long Offset { get; init; }

    /// <summary>Payload bytes captured in this record.</summary>
    public required int Captured { get; init; }

    public required ReadOnlyMemory<byte> Payload { get; init; }

    /// <summary>The message was longer than the snap length: bytes past it were counted, not captured.</summary>
    public bool Truncated { get; init; }

    /// <summary>Plaintext of a TLS library call (offsets are the TLS session's, not the socket's).</summary>
    public bool Tls { get; init; }

    /// <summary>For datagrams: where it went to or came from.</summary>
    public Endpoint? Peer { get; init; }
}

/// <summary>Events were lost (ring buffer full, tables full): Count of them, Where.</summary>
public sealed record LossRecord : Record
{
    public override string Type => "loss";

    public required long Count { get; init; }

    public required string Where { get; init; }
}

/// <summary>Something the user should know about a process's visibility (e.g. it uses io_uring).</summary>
public sealed record NoticeRecord : Record
{
    public override string Type => "notice";

    public required string Message { get; init; }
}

/// <summary>An argument or result of a probed call as shown: a number, a boolean, text, or nothing (void).</summary>
public readonly record struct CallValue
{
    /// <summary>A signed integer.</summary>
    public long? Signed { get; init; }

    /// <summary>An unsigned integer.</summary>
    public ulong? Unsigned { get; init; }

    public bool? Boolean { get; init; }

    /// <summary>A string, a buffer (C escapes), an address, a pointer ("0x…") or "NULL".</summary>
    public string? Text { get; init; }

    /// <summary>A string or buffer longer than what the kernel copied.</summary>
    public bool Truncated { get; init; }

    public override string ToString() => Signed?.ToString(System.Globalization.CultureInfo.InvariantCulture)
        ?? Unsigned?.ToString(System.Globalization.CultureInfo.InvariantCulture)
        ?? (Boolean is { } b ? (b ? "true" : "false") : Text ?? "void");
}

/// <summary>One call of a probed function (tattle probe), written at its return.</summary>
public sealed record CallRecord : Record
{
    public override string Type => "call";

    /// <summary>The thread that made the call.</summary>
    public required int Tid { get; init; }

    public required string Function { get; init; }

    /// <summary>The object's file name (libc.so.6).</summary>
    public required string Library { get; init; }

    /// <summary>Null when the return is not probed (Go code, USDT).</summary>
    public double? DurationUs { get; init; }

    /// <summary>Null when the return is not probed or the function returns nothing.</summary>
    public CallValue? Ret { get; init; }

    public IReadOnlyList<CallValue> Args { get; init; } = [];

    /// <summary>The arguments' names from the signature (null where it gives none); empty without a signature.</summary>
    public IReadOnlyList<string?> ArgNames { get; init; } = [];

    /// <summary>curl_easy_perform: the URL the handle was given (curl_easy_setopt CURLOPT_URL), credentials redacted.</summary>
    public string? Url { get; init; }

    /// <summary>The connections the same thread used during the call (a resolver's DNS query, curl's request).</summary>
    public IReadOnlyList<string> Conns { get; init; } = [];
}

/// <summary>Calls of one probed function in a run (tattle probe --count, and every summary of a run with probes).</summary>
public sealed record CallStats
{
    public required string Library { get; init; }

    public required string Function { get; init; }

    public required long Calls { get; init; }

    /// <summary>Calls whose result says failure (negative, or NULL for a pointer), as far as the signature tells.</summary>
    public long Errors { get; init; }

    /// <summary>Null for functions whose return is not probed.</summary>
    public double? TotalUs { get; init; }

    public double? P50Us { get; init; }

    public double? P99Us { get; init; }

    public double? MaxUs { get; init; }
}

/// <summary>One row of the summary: a process's traffic with one endpoint over one protocol.</summary>
public sealed record SummaryRow
{
    public required int Pid { get; init; }

    public required string Comm { get; init; }

    public required string Proto { get; init; }

    public required string Role { get; init; }

    /// <summary>For clients the remote endpoint; for servers the local (listening) one.</summary>
    public required Endpoint Endpoint { get; set; }

    public int Connections { get; set; }

    public ulong BytesSent { get; set; }

    public ulong BytesRecv { get; set; }

    /// <summary>Failures by errno name.</summary>
    public SortedDictionary<string, int> Errors { get; } = new(StringComparer.Ordinal);

    /// <summary>Application protocols parsed on these connections (http, dns, tls).</summary>
    public SortedSet<string> Protocols { get; } = new(StringComparer.Ordinal);

    /// <summary>Requests parsed on these connections (HTTP exchanges, queries, commands), answered or not.</summary>
    public int Requests { get; set; }

    /// <summary>Requests that had no response when their connection or the trace ended.</summary>
    public int Unanswered { get; set; }

    /// <summary>Requests whose answer says they failed, by <see cref="MessageRecord.ErrorType"/> (404, NXDOMAIN, NOT_FOUND, 42P01).</summary>
    public SortedDictionary<string, int> RequestErrors { get; } = new(StringComparer.Ordinal);

    /// <summary>Median latency of the answered requests, in milliseconds; null when none was answered.</summary>
    public double? P50Ms { get; set; }

    /// <summary>99th percentile latency of the answered requests, in milliseconds; null when none was answered.</summary>
    public double? P99Ms { get; set; }
}

/// <summary>
/// One row of the route table (--stats): a process's requests of one operation on one route of one endpoint, with
/// their status classes, bytes and latency percentiles.
/// </summary>
public sealed record RouteRow
{
    public required int Pid { get; init; }

    public required string Comm { get; init; }

    public required string Role { get; init; }

    /// <summary>As in the summary row: the remote endpoint for clients, the local one for servers.</summary>
    public required Endpoint Endpoint { get; init; }

    /// <summary>The record type: http, dns, redis...</summary>
    public required string Protocol { get; init; }

    /// <summary>The HTTP method (null for protocols without one).</summary>
    public string? Operation { get; init; }

    /// <summary>The path with its query left out and identifiers folded (`/users/{id}`); "(other)" past the cap.</summary>
    public string? Route { get; init; }

    public long Requests { get; set; }

    /// <summary>Requests that had no response when their connection or the trace ended.</summary>
    public long Unanswered { get; set; }

    /// <summary>Responses by status class ("2xx", "4xx"...), where the protocol has status codes.</summary>
    public SortedDictionary<string, long> Statuses { get; } = new(StringComparer.Ordinal);

    public long RequestBytes { get; set; }

    public long ResponseBytes { get; set; }

    public double? P50Ms { get; set; }

    public double? P90Ms { get; set; }

    public double? P99Ms { get; set; }

    public double? MaxMs { get; set; }
}

/// <summary>The end-of-run table: the seed of the dependency report.</summary>
public sealed record SummaryRecord : Record
{
    public override string Type => "summary";

    public required IReadOnlyList<SummaryRow> Rows { get; init; }

    public required double DurationMs { get; init; }

    /// <summary>Records received from the kernel.</summary>
    public required ulong Events { get; init; }

    /// <summary>Everything lost, all causes together (the loss records say where).</summary>
    public required long Lost { get; init; }

    public required int Processes { get; init; }

    /// <summary>Traced processes still running when tracing stopped (run: Ctrl-C, or --no-follow-orphans).</summary>
    public int StillRunning { get; init; }

    /// <summary>What the TLS probes did; null when they were off (--no-tls).</summary>
    public TlsProbeSummary? Tls { get; init; }

    /// <summary>Per probed function (tattle probe), by library and name; null without function probes.</summary>
    public IReadOnlyList<CallStats>? Calls { get; init; }

    /// <summary>What the function probes did; null without them.</summary>
    public CallProbeSummary? Probes { get; init; }

    /// <summary>--stats: per operation and route of each endpoint, its requests; null without --stats.</summary>
    public IReadOnlyList<RouteRow>? Routes { get; init; }

    /// <summary>--stats: requests folded into an "(other)" route because an endpoint had too many routes.</summary>
    public long RoutesFolded { get; init; }
}

/// <summary>
/// The function probes of a run (tattle probe): functions probed, probe hits in traced processes (entries and
/// returns, each a trap), returns whose entry was not seen (calls in flight at attach, or evicted), and what could not
/// be probed.
/// </summary>
public sealed record CallProbeSummary(int Functions, ulong Hits, ulong UnmatchedReturns, IReadOnlyList<string> Failures);

/// <summary>
/// The TLS probes of a run: functions probed, library calls read, hits in processes not traced (per-process
/// attachment keeps this at 0), plaintext whose socket was never found, files that could not be probed (and TLS
/// stacks that cannot be read), Go reads whose socket from tls.Conn's fields disagreed with their syscall's, and the
/// probe hits in traced processes (entries and returns, each a trap; NSPR calls on descriptors that are not TLS
/// included).
/// </summary>
public sealed record TlsProbeSummary(int Functions, ulong Calls, ulong UntracedHits, ulong WithoutSocket, IReadOnlyList<string> Failures, ulong SocketMismatches = 0, ulong Hits = 0, ulong LateConnections = 0);

/// <summary>Where records go: the live view, JSON Lines, and later pcapng and reports.</summary>
public interface IRecordSink : IDisposable
{
    void Write(Record record);

    /// <summary>
    /// Whether the sink is done with a message's record (<see cref="MessageRecord"/>) when <see cref="Write"/>
    /// returns: it writes or counts what it needs and keeps no reference. Then a parser may hand its connection's
    /// next message over in the same record object, refilled. A sink that keeps message records says false, the
    /// default, and gets a new record for each message.
    /// </summary>
    bool ConsumesAtOnce => false;

    /// <summary>Pushes buffered output to its destination (called periodically and at the end).</summary>
    void Flush();
}
