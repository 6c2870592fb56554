using System.Text.Json;
using Tattle.Capture.Proc;
using Tattle.Records;
using Tattle.Tracking;

namespace Tattle.Report;

/// <summary>
/// Aggregates JSON Lines records into an <see cref="Inventory"/> as they are read: memory grows with the distinct
/// endpoints, path patterns and names, and with the processes and connections open at a time, never with the
/// number of records, so a trace of any size is read in bounded memory.
/// </summary>
public sealed class InventoryBuilder(UserNames? users = null)
{
    // Past these, a group's further distinct entries are counted together: a crawler's every URL is not an inventory.
    internal const int MaxRoutes = 200;
    internal const int MaxQueries = 500;
    internal const int MaxTrees = 20;
    internal const int MaxNamesPerAddress = 50;
    internal const int MaxExited = 4096;
    private const string OtherRoutes = "(other)";

    private readonly UserNames _users = users ?? UserNames.Default;
    private readonly Inventory _inventory = new();
    private readonly Dictionary<(int Source, int Pid), ProcessState> _processes = [];
    private readonly Dictionary<(int Source, string Conn), EndpointUse> _connections = [];
    private readonly Dictionary<(int Source, int Pid), ProcessState> _exited = [];
    private readonly Queue<(int Source, int Pid)> _exitOrder = new();
    private readonly Dictionary<string, EndpointUse> _endpoints = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ProgramGroup> _programs = new(StringComparer.Ordinal);
    // Processes never announced (their start was not in the file): few, counted here instead.
    private readonly HashSet<(string Group, int Source, int Pid)> _groupProcesses = [];
    // Every (proto, address, port) an endpoint has: the summary's rows add the peers no record named.
    private readonly HashSet<string> _addresses = new(StringComparer.Ordinal);
    private long _summaryLost;
    private int _source = -1;

    /// <summary>Records read so far.</summary>
    public long Records => _inventory.Records;

    /// <summary>Lines that were not records so far.</summary>
    public long Malformed => _inventory.Malformed;

    /// <summary>Starts the records of another file: its pids and connection ids are its own.</summary>
    public void BeginSource(string name)
    {
        _inventory.Sources.Add(name);
        _source++;
        _processes.Clear();
        _exited.Clear();
        _exitOrder.Clear();
        _connections.Clear();
        _groupProcesses.Clear();
    }

    /// <summary>Adds one line of JSON Lines; a line that is not a JSON object is counted as malformed, never thrown.</summary>
    public void AddLine(ReadOnlySpan<byte> line)
    {
        if (line.Trim((byte)' ').Trim((byte)'\r').IsEmpty)
        {
            return;
        }
        try
        {
            if (CountedOnly(line))
            {
                return;
            }
            var reader = new Utf8JsonReader(line);
            using var doc = JsonDocument.ParseValue(ref reader);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !Add(doc.RootElement))
            {
                _inventory.Malformed++;
            }
        }
        catch (JsonException)
        {
            _inventory.Malformed++;
        }
    }

    /// <summary>
    /// A record the inventory only counts (payloads of --data, gaps, notices, listens) is read as a token stream,
    /// not copied into a document: with --data they are most of a trace's bytes. False for any other line.
    /// </summary>
    private bool CountedOnly(ReadOnlySpan<byte> line)
    {
        var r = new Utf8JsonReader(line);
        if (!r.Read() || r.TokenType != JsonTokenType.StartObject || !r.Read() || r.TokenType != JsonTokenType.PropertyName
            || !r.ValueTextEquals("type"u8) || !r.Read() || r.TokenType != JsonTokenType.String
            || !(r.ValueTextEquals("data"u8) || r.ValueTextEquals("gap"u8) || r.ValueTextEquals("notice"u8) || r.ValueTextEquals("listen"u8)))
        {
            return false;
        }
        string? ts = null;
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            bool isTs = r.ValueTextEquals("ts"u8);
            r.Read();
            if (isTs && r.TokenType == JsonTokenType.String)
            {
                ts = r.GetString();
            }
            r.Skip();
        }
        if (r.TokenType != JsonTokenType.EndObject || r.Read())
        {
            throw new JsonException("not one JSON object"); // counted as malformed by the caller
        }
        if (_source < 0)
        {
            BeginSource("-");
        }
        _inventory.Records++;
        if (ts is not null)
        {
            Seen(ts, _inventory);
        }
        return true;
    }

    /// <summary>Adds one record; false when it is not a record (no type, or fields of the wrong kinds).</summary>
    public bool Add(JsonElement r)
    {
        if (_source < 0)
        {
            BeginSource("-");
        }
        if (Str(r, "type") is not { } type)
        {
            return false;
        }
        try
        {
            Dispatch(r, type);
        }
        catch (InvalidOperationException)
        {
            return false; // a field of another JSON kind than the schema's: not a record of ours
        }
        catch (FormatException)
        {
            return false;
        }
        _inventory.Records++;
        if (Str(r, "ts") is { } ts && type != "summary")
        {
            Seen(ts, _inventory);
        }
        return true;
    }

    private void Dispatch(JsonElement r, string type)
    {
        switch (type)
        {
            case "process.start":
                Start(r);
                break;
            case "process.exec":
                Exec(r);
                break;
            case "process.exit":
                Exited(Int(r, "pid") ?? 0);
                break;
            case "conn.open":
            case "conn.fail":
            case "conn.close":
                Connection(r, type);
                break;
            case "loss":
                long count = Long(r, "count") ?? 0;
                _inventory.Lost += count;
                string where = Str(r, "where") ?? "?";
                _inventory.LossWhere[where] = _inventory.LossWhere.GetValueOrDefault(where) + count;
                break;
            case "summary":
                _summaryLost += Long(r, "lost") ?? 0;
                Unannounced(r);
                break;
            case "listen" or "data" or "gap" or "notice":
                break;
            default:
                if (Str(r, "conn") is not null || r.TryGetProperty("remote", out _))
                {
                    Message(r, type);
                }
                break;
        }
    }

    /// <summary>The inventory so far, with names and percentiles filled in.</summary>
    public Inventory Build()
    {
        _inventory.Lost = Math.Max(_inventory.Lost, _summaryLost);
        _inventory.Endpoints.Clear();
        _inventory.Programs.Clear();
        foreach (var e in _endpoints.Values)
        {
            // An address the tracer did not name (the answer came in another file, or after the connect).
            if (e.Addr is not null && _inventory.AddressNames.TryGetValue(e.Addr, out var names))
            {
                e.ResolvedNames.UnionWith(names);
                if (e.Names.Count == 0)
                {
                    e.Names.UnionWith(names);
                }
            }
            e.P50Ms = e.Latencies?.PercentileMs(50) ?? e.P50Ms;
            e.P99Ms = e.Latencies?.PercentileMs(99) ?? e.P99Ms;
        }
        _inventory.Endpoints.AddRange(_endpoints.Values.OrderBy(e => e.Program, StringComparer.Ordinal).ThenBy(e => e.User, StringComparer.Ordinal)
            .ThenBy(e => e.Container, StringComparer.Ordinal).ThenBy(e => e.Role, StringComparer.Ordinal).ThenBy(e => e.Proto, StringComparer.Ordinal)
            .ThenBy(e => e.Target, StringComparer.Ordinal).ThenBy(e => e.Port));
        _inventory.Programs.AddRange(_programs.Values.OrderBy(p => p.Program, StringComparer.Ordinal).ThenBy(p => p.User, StringComparer.Ordinal)
            .ThenBy(p => p.Container, StringComparer.Ordinal));
        return _inventory;
    }

    private void Start(JsonElement r)
    {
        int pid = Int(r, "pid") ?? 0;
        int ppid = Int(r, "ppid") ?? 0;
        string comm = Str(r, "comm") ?? "?";
        var parent = Process(ppid);
        _processes[(_source, pid)] = new ProcessState
        {
            Comm = comm,
            Exe = Str(r, "exe") ?? parent?.Exe,
            Uid = Int(r, "uid") ?? parent?.Uid,
            Cgroup = Str(r, "cgroup") ?? parent?.Cgroup,
            ParentTree = Shorten(parent?.Tree),
        };
    }

    /// <summary>
    /// An exited process is kept among the last few thousand: records about it can still come (the summary's
    /// rows, a message completed at the end), and memory stays bounded however many processes a trace holds.
    /// </summary>
    private void Exited(int pid)
    {
        if (!_processes.Remove((_source, pid), out var p))
        {
            return;
        }
        _exited[(_source, pid)] = p;
        _exitOrder.Enqueue((_source, pid));
        while (_exitOrder.Count > MaxExited && _exitOrder.TryDequeue(out var oldest))
        {
            _exited.Remove(oldest);
        }
    }

    private ProcessState? Process(int pid) =>
        _processes.TryGetValue((_source, pid), out var p) || _exited.TryGetValue((_source, pid), out p) ? p : null;

    private void Exec(JsonElement r)
    {
        int pid = Int(r, "pid") ?? 0;
        if (!_processes.TryGetValue((_source, pid), out var p))
        {
            p = new ProcessState { Comm = "?" };
            _processes[(_source, pid)] = p;
        }
        p.Comm = Str(r, "comm") ?? p.Comm;
        p.Exe = Str(r, "exe") ?? p.Exe;
        p.Uid = Int(r, "uid") ?? p.Uid;
        p.Cgroup = Str(r, "cgroup") ?? p.Cgroup;
    }

    private void Connection(JsonElement r, string type)
    {
        string conn = Str(r, "conn") ?? "";
        EndpointUse? e;
        if (type == "conn.close" && _connections.Remove((_source, conn), out var known))
        {
            e = known;
        }
        else
        {
            e = EndpointOf(r, Str(r, "proto") ?? "?", Str(r, "role") ?? "client");
            if (e is null)
            {
                return;
            }
            if (type == "conn.open")
            {
                _connections[(_source, conn)] = e;
            }
        }
        string ts = Str(r, "ts") ?? "";
        Seen(ts, e);
        if (r.TryGetProperty("remote", out var remote) && remote.ValueKind == JsonValueKind.Object)
        {
            AddName(e, remote);
        }
        switch (type)
        {
            case "conn.open":
                e.Connections++;
                e.Attempts++;
                break;
            case "conn.fail":
                e.Attempts++;
                string error = Str(r, "error") ?? "?";
                e.Errors[error] = e.Errors.GetValueOrDefault(error) + 1;
                break;
            default:
                if (r.TryGetProperty("peers", out var peers) && peers.ValueKind == JsonValueKind.Array && peers.GetArrayLength() > 0)
                {
                    if (e.Role == "client")
                    {
                        ClosedPeers(r, e, peers, ts);
                        break;
                    }
                    // A server's unconnected datagram socket keeps its own address: each client it answered is one
                    // of its connections, as the summary counts them (the first was counted at the conn.open).
                    e.Connections += peers.GetArrayLength() - 1;
                    e.Attempts += peers.GetArrayLength() - 1;
                }
                e.BytesSent += Long(r, "bytes_sent") ?? 0;
                e.BytesRecv += Long(r, "bytes_recv") ?? 0;
                break;
        }
    }

    /// <summary>
    /// An unconnected datagram socket that talked to several peers: each peer's bytes go to its own endpoint, which
    /// counts as one connection, as the summary counts it (the first peer's was counted at its conn.open).
    /// </summary>
    private void ClosedPeers(JsonElement close, EndpointUse first, JsonElement peers, string ts)
    {
        foreach (var p in peers.EnumerateArray())
        {
            if (p.ValueKind != JsonValueKind.Object || !p.TryGetProperty("remote", out var end) || end.ValueKind != JsonValueKind.Object)
            {
                continue;
            }
            var peer = CountedAsConnection(EndpointAt(end, Int(close, "pid") ?? 0, Str(close, "comm") ?? "?", first.Proto, first.Role));
            Seen(ts, peer);
            peer.BytesSent += Long(p, "bytes_sent") ?? 0;
            peer.BytesRecv += Long(p, "bytes_recv") ?? 0;
        }
    }

    /// <summary>A peer of an unconnected datagram socket is one connection, as the summary counts it, however often it is met.</summary>
    private static EndpointUse CountedAsConnection(EndpointUse peer)
    {
        if (peer.Attempts == 0)
        {
            peer.Attempts = peer.Connections = 1;
        }
        return peer;
    }

    private void Message(JsonElement r, string type)
    {
        string conn = Str(r, "conn") ?? "";
        if (_connections.TryGetValue((_source, conn), out var e) && e.Proto == "udp" && e.Role == "client" && OtherPeer(r, e))
        {
            // An unconnected datagram socket's message to another peer than its first: that peer's endpoint.
            e = CountedAsConnection(EndpointOf(r, "udp", "client")!);
        }
        if (e is null)
        {
            // Its connection's open was not in the file (lost, or the trace began mid-way): by its own fields.
            e = EndpointOf(r, type == "dns" ? Str(r, "transport") ?? "udp" : "tcp", Str(r, "role") ?? "client");
            if (e is null)
            {
                return;
            }
        }
        Seen(Str(r, "ts") ?? "", e);
        bool request = true;
        switch (type)
        {
            case "http":
                e.Apps.Add(Str(r, "version") == "2" ? "http2" : "http");
                if (Bool(r, "tls"))
                {
                    e.Tls = true;
                }
                AddName(e, Str(r, "sni"));
                AddName(e, HostOf(Str(r, "host")));
                Route(e, Str(r, "method") ?? "-", PathPattern.Collapse(Str(r, "path")), Int(r, "status"));
                break;
            case "http.connection":
                e.Apps.Add("http2");
                request = false;
                break;
            case "tls.handshake":
                e.Apps.Add("tls");
                e.Tls = true;
                AddName(e, Str(r, "sni"));
                request = false;
                break;
            case "dns":
                e.Apps.Add("dns");
                Dns(e, r);
                break;
            case "sql":
                e.Apps.Add(Str(r, "system") ?? "sql");
                break;
            case "redis":
                e.Apps.Add("redis");
                request = !Bool(r, "push");
                break;
            case "websocket":
                e.Apps.Add("websocket");
                request = false;
                break;
            case "zmtp":
                e.Apps.Add("zmtp");
                request = Str(r, "kind") == "message";
                break;
            default:
                e.Apps.Add(type);
                break;
        }
        if (!request)
        {
            return;
        }
        e.Requests++;
        if (Str(r, "error_type") is { } error)
        {
            // Beside the failed connects: the requests whose answer says they failed (404, NXDOMAIN, 42P01).
            e.Errors[error] = e.Errors.GetValueOrDefault(error) + 1;
        }
        if (r.TryGetProperty("latency_ms", out var latency) && latency.ValueKind == JsonValueKind.Number)
        {
            (e.Latencies ??= new LatencyHistogram()).RecordMs(latency.GetDouble());
        }
        else if (!RequestUnseen(type, r))
        {
            e.Unanswered++;
        }
    }

    /// <summary>
    /// Only the answer was seen (MessageRecord.RequestUnseen, in the records' JSON): an http record with a status and
    /// no method, a dns record with an rcode and no latency. Not an unanswered request.
    /// </summary>
    private static bool RequestUnseen(string type, JsonElement r) => type switch
    {
        "http" => Str(r, "method") is null && Int(r, "status") is not null,
        "dns" => Str(r, "rcode") is not null,
        _ => false,
    };

    private void Dns(EndpointUse e, JsonElement r)
    {
        string name = Str(r, "query") ?? "?";
        string qtype = Str(r, "qtype") ?? "?";
        string key = $"{name} {qtype}";
        if (!e.Dns.TryGetValue(key, out var q))
        {
            if (e.Dns.Count >= MaxQueries)
            {
                return;
            }
            q = new DnsQuery { Name = name, Type = qtype };
            e.Dns[key] = q;
        }
        q.Count++;
        if (Str(r, "rcode") is { } rcode)
        {
            q.Rcodes.Add(rcode);
        }
        if (!r.TryGetProperty("answers", out var answers) || answers.ValueKind != JsonValueKind.Array)
        {
            return;
        }
        foreach (var a in answers.EnumerateArray())
        {
            if (a.ValueKind != JsonValueKind.Object || Str(a, "data") is not { } data)
            {
                continue;
            }
            if (q.Answers.Count < MaxNamesPerAddress)
            {
                q.Answers.Add(data);
            }
            if (Str(a, "type") is "A" or "AAAA")
            {
                // The name the program asked for, not a CDN's canonical name: it is the one a policy speaks of.
                if (!_inventory.AddressNames.TryGetValue(data, out var names))
                {
                    names = new SortedSet<string>(StringComparer.OrdinalIgnoreCase);
                    _inventory.AddressNames[data] = names;
                }
                if (names.Count < MaxNamesPerAddress)
                {
                    names.Add(name.TrimEnd('.'));
                }
            }
        }
    }

    private static bool OtherPeer(JsonElement r, EndpointUse e) =>
        r.TryGetProperty("remote", out var remote) && remote.ValueKind == JsonValueKind.Object && Str(remote, "addr") is { } addr
        && (addr != e.Addr || Int(remote, "port") != e.Port);

    private static void Route(EndpointUse e, string method, string path, int? status)
    {
        string key = $"{method} {path}";
        if (!e.Http.TryGetValue(key, out var route))
        {
            if (e.Http.Count >= MaxRoutes)
            {
                key = $"{method} {OtherRoutes}";
                path = OtherRoutes;
            }
            if (!e.Http.TryGetValue(key, out route))
            {
                route = new HttpRoute { Method = method, Path = path };
                e.Http[key] = route;
            }
        }
        route.Count++;
        string s = status?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none";
        route.Statuses[s] = route.Statuses.GetValueOrDefault(s) + 1;
    }

    /// <summary>
    /// The summary's rows name every peer of an unconnected UDP socket, where the records name only the first
    /// (its conn.open) and those a parser read: a peer no record named still counts, as an attempt of the row's
    /// process, so that `check` judges every UDP send.
    /// </summary>
    private void Unannounced(JsonElement summary)
    {
        if (!summary.TryGetProperty("rows", out var rows) || rows.ValueKind != JsonValueKind.Array)
        {
            return;
        }
        foreach (var row in rows.EnumerateArray())
        {
            if (row.ValueKind != JsonValueKind.Object || Str(row, "role") != "client" || Str(row, "proto") is not ("tcp" or "udp") || !row.TryGetProperty("endpoint", out var end)
                || end.ValueKind != JsonValueKind.Object || Str(end, "addr") is not { } addr || _addresses.Contains(AddressKey(Str(row, "proto")!, addr, Int(end, "port"))))
            {
                continue;
            }
            var e = EndpointAt(end, Int(row, "pid") ?? 0, Str(row, "comm") ?? "?", Str(row, "proto")!, "client");
            long connections = Long(row, "connections") ?? 0;
            e.Connections += connections;
            e.Attempts += Math.Max(1, connections);
            e.BytesSent += Long(row, "bytes_sent") ?? 0;
            e.BytesRecv += Long(row, "bytes_recv") ?? 0;
            AddName(e, end);
            if (row.TryGetProperty("protocols", out var apps) && apps.ValueKind == JsonValueKind.Array)
            {
                e.Apps.UnionWith(apps.EnumerateArray().Where(a => a.ValueKind == JsonValueKind.String).Select(a => a.GetString()!));
            }
        }
    }

    private static string AddressKey(string proto, string addr, int? port) => $"{proto} {addr} {port}";

    /// <summary>The endpoint a connection or message record belongs to: the remote end for clients, the local one for servers.</summary>
    private EndpointUse? EndpointOf(JsonElement r, string proto, string role)
    {
        if (!r.TryGetProperty(role == "server" ? "local" : "remote", out var end) || end.ValueKind != JsonValueKind.Object)
        {
            return null; // netlink, packet: no address to speak of
        }
        return EndpointAt(end, Int(r, "pid") ?? 0, Str(r, "comm") ?? "?", proto, role);
    }

    private EndpointUse EndpointAt(JsonElement end, int pid, string comm, string proto, string role)
    {
        string? addr = Str(end, "addr");
        int? port = Int(end, "port");
        string? path = Str(end, "path");
        var p = Process(pid);
        string program = p?.Exe ?? comm;
        string? user = p?.Uid is { } uid ? _users.Display((uint)uid) : null;
        string? container = Containers.FromCgroup(p?.Cgroup);
        string key = EndpointUse.Key(program, user, container, proto, role, addr, port, path);
        if (!_endpoints.TryGetValue(key, out var e))
        {
            e = new EndpointUse
            {
                Program = program,
                Comm = comm,
                User = user,
                Uid = p?.Uid,
                Container = container,
                Cgroup = p?.Cgroup,
                Proto = proto,
                Role = role,
                Addr = addr,
                Port = port,
                Path = path,
            };
            _endpoints[key] = e;
            if (addr is not null)
            {
                _addresses.Add(AddressKey(proto, addr, port));
            }
        }
        var group = GroupOf(e);
        // Counted on the process's own entry, which goes at its exit: memory follows the processes alive, not all.
        if (p is not null ? p.Groups.Add(group.Key) : _groupProcesses.Add((group.Key, _source, pid)))
        {
            group.Processes++;
            if (group.Trees.Count < MaxTrees)
            {
                group.Trees.Add(p?.ParentTree is { } tree ? $"{tree} > {comm}" : comm);
            }
        }
        return e;
    }

    private ProgramGroup GroupOf(EndpointUse e)
    {
        string key = e.GroupKeyOf;
        if (!_programs.TryGetValue(key, out var g))
        {
            g = new ProgramGroup { Program = e.Program, Comm = e.Comm, User = e.User, Uid = e.Uid, Container = e.Container };
            _programs[key] = g;
        }
        return g;
    }

    /// <summary>The last few ancestors: a deep chain of shells says no more than its end.</summary>
    private static string? Shorten(string? tree)
    {
        const int MaxDepth = 6;
        if (tree is null)
        {
            return null;
        }
        var parts = tree.Split(" > ");
        return parts.Length <= MaxDepth ? tree : "… > " + string.Join(" > ", parts[^MaxDepth..].Where(p => p != "…"));
    }

    /// <summary>An endpoint object's name, and whether a DNS answer gave it (its host_from).</summary>
    private static void AddName(EndpointUse e, JsonElement endpoint)
    {
        if (Str(endpoint, "host") is { } host)
        {
            e.Names.Add(host);
            if (Str(endpoint, "host_from") == HostSource.Dns)
            {
                e.ResolvedNames.Add(host);
            }
        }
    }

    private static void AddName(EndpointUse e, string? name)
    {
        if (name is { Length: > 0 } && !System.Net.IPAddress.TryParse(name, out _))
        {
            e.Names.Add(name);
        }
    }

    /// <summary>A Host header without its port.</summary>
    private static string? HostOf(string? host) =>
        host is null || host.StartsWith('[') ? null : host.LastIndexOf(':') is int c and > 0 ? host[..c] : host;

    private static void Seen(string ts, EndpointUse e)
    {
        if (ts.Length == 0)
        {
            return;
        }
        if (e.FirstSeen is null || string.CompareOrdinal(ts, e.FirstSeen) < 0)
        {
            e.FirstSeen = ts;
        }
        if (e.LastSeen is null || string.CompareOrdinal(ts, e.LastSeen) > 0)
        {
            e.LastSeen = ts;
        }
    }

    private static void Seen(string ts, Inventory i)
    {
        // RFC 3339 UTC with a fixed number of digits: the strings order as the times do.
        if (i.FirstSeen is null || string.CompareOrdinal(ts, i.FirstSeen) < 0)
        {
            i.FirstSeen = ts;
        }
        if (i.LastSeen is null || string.CompareOrdinal(ts, i.LastSeen) > 0)
        {
            i.LastSeen = ts;
        }
    }

    internal static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    internal static int? Int(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : null;

    internal static long? Long(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long i) ? i : null;

    internal static bool Bool(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    private sealed class ProcessState
    {
        public required string Comm { get; set; }

        public string? Exe { get; set; }

        public int? Uid { get; set; }

        public string? Cgroup { get; set; }

        /// <summary>The parent's ancestry, <c>bash > sh</c>; its own name is added where it is used (exec changes it).</summary>
        public string? ParentTree { get; init; }

        public string Tree => ParentTree is null ? Comm : $"{ParentTree} > {Comm}";

        /// <summary>The program groups it was counted in.</summary>
        public HashSet<string> Groups { get; } = new(StringComparer.Ordinal);
    }
}
