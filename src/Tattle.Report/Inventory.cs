using Tattle.Records;
using Tattle.Tracking;

namespace Tattle.Report;

/// <summary>The dependency inventory of one or more traces: who reached what, how, how often.</summary>
public sealed class Inventory
{
    /// <summary>The files (or `-`) it was made from.</summary>
    public List<string> Sources { get; } = [];

    /// <summary>Records read.</summary>
    public long Records { get; set; }

    /// <summary>Lines that were not JSON objects (counted, skipped).</summary>
    public long Malformed { get; set; }

    /// <summary>Events the tracer lost, all causes together (the larger of the loss records' sum and the summary's total).</summary>
    public long Lost { get; set; }

    /// <summary>Where events were lost: the loss records' <c>where</c> with their counts.</summary>
    public SortedDictionary<string, long> LossWhere { get; } = new(StringComparer.Ordinal);

    public string? FirstSeen { get; set; }

    public string? LastSeen { get; set; }

    /// <summary>Programs that used the network, by (program, user, container).</summary>
    public List<ProgramGroup> Programs { get; } = [];

    public List<EndpointUse> Endpoints { get; } = [];

    /// <summary>Every address the traced programs resolved, with the names they asked for (DNS answers in the trace).</summary>
    public SortedDictionary<string, SortedSet<string>> AddressNames { get; } = new(StringComparer.Ordinal);

    /// <summary>The addresses a name resolved to in the trace.</summary>
    public IEnumerable<string> AddressesOf(string name) =>
        AddressNames.Where(a => a.Value.Contains(name)).Select(a => a.Key);
}

/// <summary>A program as the report groups it: its executable, the user it ran as, its container.</summary>
public sealed class ProgramGroup
{
    public required string Program { get; init; }

    public required string Comm { get; set; }

    public string? User { get; init; }

    public int? Uid { get; init; }

    /// <summary><c>runtime:id12</c> from a container runtime's cgroup; null for host processes.</summary>
    public string? Container { get; init; }

    /// <summary>Processes of this program that used the network.</summary>
    public long Processes { get; set; }

    /// <summary>Their ancestries, <c>sh > curl</c> (a few).</summary>
    public SortedSet<string> Trees { get; } = new(StringComparer.Ordinal);

    public string Key => EndpointUse.GroupKey(Program, User, Container);
}

/// <summary>One endpoint as one program group used it.</summary>
public sealed class EndpointUse
{
    public required string Program { get; init; }

    public required string Comm { get; set; }

    public string? User { get; init; }

    public int? Uid { get; init; }

    public string? Container { get; init; }

    /// <summary>The cgroup of the first process seen using it.</summary>
    public string? Cgroup { get; set; }

    /// <summary>tcp, udp, unix…</summary>
    public required string Proto { get; init; }

    /// <summary>client or server.</summary>
    public required string Role { get; init; }

    public string? Addr { get; init; }

    public int? Port { get; init; }

    public string? Path { get; init; }

    /// <summary>Names it was reached by: DNS answers, TLS SNI, HTTP Host.</summary>
    public SortedSet<string> Names { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The names a DNS answer in the trace gave its address (filled by the build from every answer): the client did not choose them.</summary>
    public SortedSet<string> ResolvedNames { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Application protocols parsed on it.</summary>
    public SortedSet<string> Apps { get; } = new(StringComparer.Ordinal);

    public bool Tls { get; set; }

    /// <summary>Connections established (or found open).</summary>
    public long Connections { get; set; }

    /// <summary>Connection attempts: established plus failed.</summary>
    public long Attempts { get; set; }

    public long Requests { get; set; }

    public long Unanswered { get; set; }

    public long BytesSent { get; set; }

    public long BytesRecv { get; set; }

    /// <summary>Failed connects by errno name, and failed requests by their error type (404, NXDOMAIN, 42P01).</summary>
    public SortedDictionary<string, long> Errors { get; } = new(StringComparer.Ordinal);

    public string? FirstSeen { get; set; }

    public string? LastSeen { get; set; }

    /// <summary>HTTP requests by method and path pattern.</summary>
    public SortedDictionary<string, HttpRoute> Http { get; } = new(StringComparer.Ordinal);

    /// <summary>DNS queries by name and type.</summary>
    public SortedDictionary<string, DnsQuery> Dns { get; } = new(StringComparer.Ordinal);

    public LatencyHistogram? Latencies { get; set; }

    public double? P50Ms { get; set; }

    public double? P99Ms { get; set; }

    /// <summary>Whether it is an IP endpoint the process reached out to: what policies and firewalls govern.</summary>
    public bool IsEgress => Role == "client" && Proto is "tcp" or "udp" && Addr is not null;

    /// <summary>The name it was reached by (the first), else its address or path.</summary>
    public string Target => Names.FirstOrDefault() ?? Addr ?? Path ?? "-";

    /// <summary>addr:port, [v6]:port or the path.</summary>
    public string Address => Endpoint.Format(Addr, Port, Path);

    public string GroupKeyOf => GroupKey(Program, User, Container);

    public static string GroupKey(string program, string? user, string? container) => $"{program}\0{user}\0{container}";

    public static string Key(string program, string? user, string? container, string proto, string role, string? addr, int? port, string? path) =>
        $"{GroupKey(program, user, container)}\0{proto}\0{role}\0{addr ?? path}\0{port}";
}

/// <summary>HTTP requests of one method to one path pattern.</summary>
public sealed class HttpRoute
{
    public required string Method { get; init; }

    public required string Path { get; init; }

    public long Count { get; set; }

    /// <summary>Responses by status; "none" when unanswered.</summary>
    public SortedDictionary<string, long> Statuses { get; } = new(StringComparer.Ordinal);
}

/// <summary>DNS queries of one name and type, and what they got.</summary>
public sealed class DnsQuery
{
    public required string Name { get; init; }

    public required string Type { get; init; }

    public long Count { get; set; }

    public SortedSet<string> Answers { get; } = new(StringComparer.Ordinal);

    public SortedSet<string> Rcodes { get; } = new(StringComparer.Ordinal);
}
