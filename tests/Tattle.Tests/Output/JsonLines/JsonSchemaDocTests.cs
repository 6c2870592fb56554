using System.Buffers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Tattle.Output.JsonLines;
using Tattle.Protocols.Dns;
using Tattle.Protocols.Http;
using Tattle.Protocols.Redis;
using Tattle.Protocols.Tls;
using Tattle.Records;
using Tattle.Tests.Support;
using Record = Tattle.Records.Record;

namespace Tattle.Tests.Output.JsonLines;

/// <summary>
/// docs/json-schema.md is the schema: every record type the code can write, from synthetic records and from a real
/// trace of curl, has exactly the documented fields with the documented JSON types.
/// </summary>
public sealed partial class JsonSchemaDocTests(ITestOutputHelper output)
{
    private sealed record Field(string Name, string Type, bool Optional);

    [GeneratedRegex(@"^### (Record|Object) `([^`]+)`\s*$")]
    private static partial Regex TableHeading();

    [GeneratedRegex(@"^\| `([a-z0-9_]+)` \| ([^|]+) \|")]
    private static partial Regex FieldRow();

    /// <summary>The tables: "record" for the fields of every record, "record TYPE" and "object NAME" for the rest.</summary>
    private static readonly Lazy<Dictionary<string, List<Field>>> Tables = new(() => Parse(File.ReadAllLines(Path.Combine(Repo.Root, "docs", "json-schema.md"))));

    private static Dictionary<string, List<Field>> Parse(string[] lines)
    {
        var tables = new Dictionary<string, List<Field>>(StringComparer.Ordinal);
        string? current = null;
        foreach (var line in lines)
        {
            if (line == "## Every record")
            {
                current = "record";
            }
            else if (TableHeading().Match(line) is { Success: true } h)
            {
                current = $"{h.Groups[1].Value.ToLowerInvariant()} {h.Groups[2].Value}";
            }
            else if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                current = null;
            }
            else if (current is not null && FieldRow().Match(line) is { Success: true } row)
            {
                string type = row.Groups[2].Value.Trim();
                bool optional = type.EndsWith(", optional", StringComparison.Ordinal);
                (tables.TryGetValue(current, out var fields) ? fields : tables[current] = []).Add(
                    new Field(row.Groups[1].Value, optional ? type[..^", optional".Length] : type, optional));
            }
        }
        return tables;
    }

    private static IEnumerable<string> Problems(JsonElement record)
    {
        string type = record.GetProperty("type").GetString()!;
        if (!Tables.Value.TryGetValue($"record {type}", out var own))
        {
            return [$"record type '{type}' is not documented"];
        }
        return ObjectProblems(record, [.. Tables.Value["record"], .. own], type);
    }

    private static IEnumerable<string> ObjectProblems(JsonElement obj, IReadOnlyList<Field> fields, string where)
    {
        foreach (var p in obj.EnumerateObject())
        {
            if (!fields.Any(f => f.Name == p.Name))
            {
                yield return $"{where}: field '{p.Name}' is not documented";
            }
        }
        foreach (var f in fields)
        {
            if (!obj.TryGetProperty(f.Name, out var value))
            {
                if (!f.Optional)
                {
                    yield return $"{where}: documented field '{f.Name}' is missing";
                }
                continue;
            }
            foreach (var problem in ValueProblems(value, f.Type, $"{where}.{f.Name}"))
            {
                yield return problem;
            }
        }
    }

    private static IEnumerable<string> ValueProblems(JsonElement value, string type, string where)
    {
        if (type.EndsWith(" or null", StringComparison.Ordinal))
        {
            return value.ValueKind == JsonValueKind.Null ? [] : ValueProblems(value, type[..^" or null".Length], where);
        }
        if (type.EndsWith("[]", StringComparison.Ordinal))
        {
            return value.ValueKind != JsonValueKind.Array ? [$"{where}: {value.ValueKind}, documented {type}"]
                : value.EnumerateArray().SelectMany((e, i) => ValueProblems(e, type[..^2], $"{where}[{i}]"));
        }
        bool ok = type switch
        {
            "string" => value.ValueKind == JsonValueKind.String,
            "int" => value.ValueKind == JsonValueKind.Number && (value.TryGetInt64(out _) || value.TryGetUInt64(out _)),
            "number" => value.ValueKind == JsonValueKind.Number,
            "int or string" => value.ValueKind is JsonValueKind.Number or JsonValueKind.String,
            "bool" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
            "value" => value.ValueKind is JsonValueKind.Number or JsonValueKind.String or JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null,
            "object" => value.ValueKind == JsonValueKind.Object && value.EnumerateObject().All(p => p.Value.ValueKind == JsonValueKind.String),
            "object of int" => value.ValueKind == JsonValueKind.Object && value.EnumerateObject().All(p => p.Value.TryGetInt64(out _)),
            _ => Tables.Value.ContainsKey($"object {type}") && value.ValueKind == JsonValueKind.Object,
        };
        if (!ok)
        {
            return [$"{where}: {value.ValueKind} {value}, documented {type}"];
        }
        return Tables.Value.TryGetValue($"object {type}", out var fields) ? ObjectProblems(value, fields, where) : [];
    }

    private static JsonElement Json(Record r)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            RecordJson.Write(w, r);
        }
        return JsonDocument.Parse(buffer.WrittenMemory).RootElement.Clone();
    }

    private static readonly Endpoint Local = new("127.0.0.1", 39260);
    private static readonly Endpoint Remote = new("93.184.216.34", 443, Host: "example.com");

    /// <summary>Every record type, each with its optional fields set and left out.</summary>
    private static IEnumerable<Record> Samples()
    {
        const long ts = 1_764_460_800_123_456_789;
        yield return new ProcessStartRecord { TimestampNs = ts, Pid = 10, Comm = "curl", ParentPid = 1, Argv = ["curl", "x"], Exe = "/usr/bin/curl" };
        yield return new ProcessStartRecord { TimestampNs = ts, Pid = 10, Comm = "curl", ParentPid = 1, Argv = [], Existing = true };
        yield return new ProcessExecRecord { TimestampNs = ts, Pid = 10, Comm = "sh", Argv = ["sh"], Exe = "/bin/sh" };
        yield return new ProcessExecRecord { TimestampNs = ts, Pid = 10, Comm = "sh", Argv = ["sh"] };
        yield return new ProcessExitRecord { TimestampNs = ts, Pid = 10, Comm = "curl", ExitCode = 0 };
        yield return new ProcessExitRecord { TimestampNs = ts, Pid = 10, Comm = "curl", Signal = 9 };
        yield return new ConnOpenRecord { TimestampNs = ts, Pid = 10, Comm = "curl", Conn = "c1", Proto = "tcp", Role = "client", Fd = 5, Local = Local, Remote = Remote };
        yield return new ConnOpenRecord { TimestampNs = ts, Pid = 10, Comm = "ip", Conn = "c2", Proto = "netlink", Role = "client", Fd = 3, Local = new Endpoint(null, null), Remote = null };
        yield return new ConnOpenRecord { TimestampNs = ts, Pid = 10, Comm = "app", Conn = "c3", Proto = "unix", Role = "client", Fd = 4, Local = new Endpoint(null, null, ""), Remote = new Endpoint(null, null, "/run/app.sock") };
        yield return new ConnFailRecord { TimestampNs = ts, Pid = 10, Comm = "curl", Conn = "c4", Proto = "tcp", Role = "client", Fd = 5, Local = Local, Remote = Remote, Error = "ECONNREFUSED" };
        yield return new ConnCloseRecord { TimestampNs = ts, Pid = 10, Comm = "curl", Conn = "c1", Proto = "tcp", Role = "client", Fd = 5, Local = Local, Remote = Remote, BytesSent = 78, BytesRecv = 6297, DurationMs = 2.3434 };
        yield return new ConnCloseRecord { TimestampNs = ts, Pid = 10, Comm = "nginx", Conn = "c5", Proto = "tcp", Role = "server", Fd = 7, Local = Local, Remote = Remote, BytesSent = 1, BytesRecv = 2, DurationMs = 1, Unseen = ["sendfile"] };
        yield return new ConnCloseRecord
        {
            TimestampNs = ts,
            Pid = 10,
            Comm = "python3",
            Conn = "c6",
            Proto = "udp",
            Role = "client",
            Fd = 3,
            Remote = Remote,
            BytesSent = 30,
            BytesRecv = 4,
            DurationMs = 1,
            Peers = [new(Remote, 10, 4), new(new Endpoint("127.0.0.2", 9998), 20, 0)],
        };
        yield return new ListenRecord { TimestampNs = ts, Pid = 11, Comm = "nginx", Proto = "tcp", Fd = 6, Local = new Endpoint("0.0.0.0", 80) };
        yield return new DataRecord { TimestampNs = ts, Pid = 10, Comm = "curl", Conn = "c1", Dir = "send", Len = 78, Captured = 78, Payload = new byte[78] };
        yield return new DataRecord { TimestampNs = ts, Pid = 10, Comm = "dig", Conn = "c6", Dir = "recv", Len = 9000, Offset = 6000, Captured = 3000, Payload = new byte[3], Truncated = true, Tls = true, Peer = new Endpoint("10.0.0.1", 53) };
        yield return new LossRecord { TimestampNs = ts, Pid = 0, Comm = "tattle", Count = 3, Where = "kernel ring buffer full: data records" };
        yield return new NoticeRecord { TimestampNs = ts, Pid = 10, Comm = "app", Message = "uses io_uring" };
        yield return new HttpRecord { TimestampNs = ts, Pid = 10, Comm = "curl", Conn = "c1", Role = "client", Remote = Remote, Method = "GET", Path = "/", Host = "example.com", Version = "HTTP/1.1", Status = 200, ReqBytes = 78, RespBytes = 600, ReqHeaders = [new("Host", "example.com")], RespHeaders = [new("Content-Type", "text/html")], LatencyMs = 1.5 };
        yield return new HttpRecord
        {
            TimestampNs = ts,
            Pid = 10,
            Comm = "python3",
            Conn = "c2",
            Role = "client",
            Remote = Remote,
            Method = "POST",
            Path = "/helloworld.Greeter/SayHello",
            Host = "127.0.0.1:50051",
            Version = "2",
            Stream = 3,
            Status = 200,
            ReqBytes = 120,
            RespBytes = 60,
            ReqHeaders = [new("content-type", "application/grpc")],
            RespHeaders = [new("content-type", "application/grpc")],
            Trailers = [new("grpc-status", "5")],
            Error = new Tattle.Protocols.Http2.Http2StreamError("RST_STREAM", 8, "CANCEL", "client"),
            HeadersIncomplete = true,
            PromisedBy = 1,
            Grpc = new Tattle.Protocols.Http2.GrpcCall { Service = "helloworld.Greeter", Method = "SayHello", StatusCode = 5, StatusName = "NOT_FOUND", Message = "no such user", RequestMessages = 1, ResponseMessages = 0, RequestMessageBytes = 7, Compressed = false },
            LatencyMs = 2.5,
        };
        yield return new Tattle.Protocols.Http2.Http2ConnectionRecord { TimestampNs = ts, Pid = 10, Comm = "curl", Conn = "c2", Role = "client", Remote = Remote, Streams = 3, Settings = 4, Pings = 1, WindowUpdates = 2, DurationMs = 12.5 };
        yield return new HttpRecord { TimestampNs = ts, Pid = 10, Comm = "curl", Conn = "c2", Role = "client", Version = "2", Stream = 5, Grpc = new Tattle.Protocols.Http2.GrpcCall { Service = "s", Method = "m" } };
        yield return new HttpRecord
        {
            TimestampNs = ts,
            Pid = 10,
            Comm = "node",
            Conn = "t1",
            Role = "client",
            Tls = true,
            Sni = "example.com",
            TlsSession = "0x7f00",
            ReqBody = new byte[] { 1 },
            RespBody = new byte[] { 2 },
            ReqContentEncoding = "gzip",
            RespContentEncoding = "br",
            Upgrade = "websocket",
            Interim = [100],
            UnseenBytes = 5,
            Trailers = [new("Checksum", "x")],
            Truncated = true,
        };
        yield return new DnsRecord { TimestampNs = ts, Pid = 10, Comm = "dig", Conn = "c6", Role = "client", Remote = new Endpoint("10.0.0.1", 53), Query = "example.com", QType = "A", Rcode = "NOERROR", Answers = [new("example.com", "A", 60, "93.184.216.34")], Transport = "udp", Id = 7, LatencyMs = 3 };
        yield return new DnsRecord { TimestampNs = ts, Pid = 10, Comm = "dig", Conn = "c6", Role = "client", Query = "example.com", QType = "TYPE65534", Transport = "tcp", Id = 8, Truncated = true };
        yield return new DnsRecord { TimestampNs = ts, Pid = 10, Comm = "dig", Conn = "c6", Role = "client", Query = "nope.example.com", QType = "A", Rcode = "NXDOMAIN", Transport = "udp", Id = 9, LatencyMs = 1 };
        yield return new TlsHandshakeRecord { TimestampNs = ts, Pid = 10, Comm = "curl", Conn = "c1", Role = "client", Remote = Remote, Sni = "example.com", AlpnOffered = ["h2", "http/1.1"], Version = "TLS 1.3", LatencyMs = 4 };
        yield return new TlsHandshakeRecord { TimestampNs = ts, Pid = 10, Comm = "curl", Conn = "c1", Role = "client", HelloRetry = true, Alpn = "h2" };
        yield return new RedisRecord { TimestampNs = ts, Pid = 10, Comm = "redis-cli", Conn = "c7", Role = "client", Remote = new Endpoint("127.0.0.1", 6379), Command = "INCR", Key = "n", Args = 1, Reply = new RedisReply(RespType.Integer, null, 42, null), LatencyMs = 0.2 };
        yield return new RedisRecord { TimestampNs = ts, Pid = 10, Comm = "redis-cli", Conn = "c7", Role = "client", Command = "NOPE", Reply = new RedisReply(RespType.Error, null, null, null), Error = "ERR unknown command 'NOPE'", LatencyMs = 0.1 };
        yield return new RedisRecord { TimestampNs = ts, Pid = 10, Comm = "redis-cli", Conn = "c7", Role = "client", Command = "message", Key = "news", Args = 3, Reply = new RedisReply(RespType.Push, 3, null, null), Push = true };
        yield return new RedisRecord { TimestampNs = ts, Pid = 10, Comm = "redis-cli", Conn = "c7", Role = "client", Command = "SET", Key = "k", Args = 2, Reply = new RedisReply(RespType.Status, null, null, "OK") };
        yield return new RedisRecord { TimestampNs = ts, Pid = 10, Comm = "redis-cli", Conn = "c7", Role = "client", Command = "GET", Key = "k", Args = 1 };
        yield return new Tattle.Protocols.Sql.SqlRecord { System = "postgresql", TimestampNs = ts, Pid = 10, Comm = "psql", Conn = "c7", Role = "client", Remote = new Endpoint("127.0.0.1", 5432), Query = "select $1", Params = 1, ParamValues = ["7"], Rows = 1, Tag = "SELECT 1", Copy = "out", CopyBytes = 12, Database = "app", User = "app", Application = "psql", LatencyMs = 0.4 };
        yield return new Tattle.Protocols.Sql.SqlRecord { System = "postgresql", TimestampNs = ts, Pid = 10, Comm = "psql", Conn = "c7", Role = "client", Error = new("42P01", "relation \"t\" does not exist"), Notification = "ch: hi" };
        yield return new Tattle.Protocols.Sql.SqlRecord { System = "mysql", TimestampNs = ts, Pid = 11, Comm = "mariadb", Conn = "c8", Role = "client", Remote = new Endpoint("127.0.0.1", 3306), Query = "selec 1", Error = new("42000", "You have an error in your SQL syntax") { Number = 1064 }, Command = "COM_STMT_PREPARE", Server = "10.11.14-MariaDB-0+deb12u2", User = "app", LatencyMs = 0.3 };
        yield return new Tattle.Protocols.Sql.SqlRecord { System = "mysql", TimestampNs = ts, Pid = 11, Comm = "mariadb", Conn = "c9", Role = "client", Compressed = true };
        yield return new Tattle.Protocols.Memcached.MemcachedRecord { TimestampNs = ts, Pid = 10, Comm = "python3", Conn = "c7", Role = "client", Remote = new Endpoint("127.0.0.1", 11211), Command = "get", Key = "user:1", Keys = 2, Hits = 1, Misses = 1, Flags = 0, Bytes = 12, Result = "END", LatencyMs = 0.2 };
        yield return new Tattle.Protocols.Memcached.MemcachedRecord { TimestampNs = ts, Pid = 10, Comm = "python3", Conn = "c7", Role = "client", Command = "ms", Key = "k", Keys = 1, Bytes = 5, Result = "HD", Quiet = true, LatencyMs = 0.1 };
        yield return new Tattle.Protocols.Memcached.MemcachedRecord { TimestampNs = ts, Pid = 10, Comm = "python3", Conn = "c7", Role = "client", Command = "set", Key = "k", Keys = 1, Flags = 3, Bytes = 5, NoReply = true };
        yield return new Tattle.Protocols.Memcached.MemcachedRecord { TimestampNs = ts, Pid = 10, Comm = "python3", Conn = "c7", Role = "client", Command = "incr", Key = "n", Keys = 1, Result = "CLIENT_ERROR", Error = "invalid numeric delta argument", LatencyMs = 0.1 };
        yield return new Tattle.Protocols.WebSocket.WebSocketRecord { TimestampNs = ts, Pid = 10, Comm = "python3", Conn = "c7", Role = "client", Remote = new Endpoint("127.0.0.1", 8765), Opcode = "text", Sender = "client", Frames = 3, Bytes = 10, Masked = true, Preview = "fragmented" };
        yield return new Tattle.Protocols.WebSocket.WebSocketRecord { TimestampNs = ts, Pid = 10, Comm = "python3", Conn = "c7", Role = "client", Opcode = "close", Sender = "server", Frames = 1, Bytes = 5, CloseCode = 1000, CloseReason = "bye" };
        yield return new Tattle.Protocols.WebSocket.WebSocketRecord { TimestampNs = ts, Pid = 10, Comm = "python3", Conn = "c7", Role = "client", Opcode = "pong", Sender = "server", Frames = 1, Compressed = false, LatencyMs = 0.3 };
        yield return new Tattle.Protocols.Zmtp.ZmtpRecord { TimestampNs = ts, Pid = 10, Comm = "python3", Conn = "c7", Role = "client", Remote = new Endpoint("127.0.0.1", 5555), SocketType = "REQ", PeerSocketType = "REP", Mechanism = "NULL", Version = "3.1", Frames = 2, Bytes = 11, Reply = new(2, 5), Request = true, Preview = "hello world", LatencyMs = 0.4 };
        yield return new Tattle.Protocols.Zmtp.ZmtpRecord { TimestampNs = ts, Pid = 10, Comm = "python3", Conn = "c7", Role = "server", Kind = "subscribe", Topic = "news", Identity = "w1", User = "admin", Error = "400" };
        yield return new GapRecord { TimestampNs = ts, Pid = 10, Comm = "curl", Conn = "c1", Dir = "recv", Bytes = 10, Reason = "lost" };
        var client = new SummaryRow { Pid = 10, Comm = "curl", Proto = "tcp", Role = "client", Endpoint = Remote, Connections = 2, BytesSent = 5, BytesRecv = 6 };
        client.Errors["ECONNREFUSED"] = 1;
        client.Protocols.Add("http");
        var netlink = new SummaryRow { Pid = 12, Comm = "ip", Proto = "netlink", Role = "client", Endpoint = new Endpoint(null, null), Connections = 1 };
        yield return new SummaryRecord { TimestampNs = ts, Pid = 10, Comm = "curl", Rows = [client, netlink], DurationMs = 12.5, Events = 40, Lost = 0, Processes = 2, Tls = new TlsProbeSummary(5, 3, 0, 0, ["/x: no symbols"]) };
        yield return new SummaryRecord { TimestampNs = ts, Pid = 0, Comm = "", Rows = [], DurationMs = 1, Events = 0, Lost = 0, Processes = 0 };
        var route = new RouteRow
        {
            Pid = 10,
            Comm = "nginx",
            Role = "server",
            Endpoint = new Endpoint("127.0.0.1", 8080),
            Protocol = "http",
            Operation = "GET",
            Route = "/users/{id}",
            Requests = 3,
            Unanswered = 1,
            RequestBytes = 300,
            ResponseBytes = 1400,
            P50Ms = 1.5,
            P90Ms = 2,
            P99Ms = 2,
            MaxMs = 2,
        };
        route.Statuses["2xx"] = 2;
        var dnsRoute = new RouteRow { Pid = 10, Comm = "nginx", Role = "client", Endpoint = new Endpoint("127.0.0.53", 53), Protocol = "dns", Requests = 1, Unanswered = 1 };
        yield return new SummaryRecord { TimestampNs = ts, Pid = 10, Comm = "nginx", Rows = [], DurationMs = 1, Events = 9, Lost = 0, Processes = 1, Routes = [route, dnsRoute], RoutesFolded = 0 };
        yield return new SummaryRecord
        {
            TimestampNs = ts,
            Pid = 10,
            Comm = "curl",
            Rows = [],
            DurationMs = 1,
            Events = 4,
            Lost = 0,
            Processes = 1,
            Probes = new CallProbeSummary(2, 4, 0, ["'libx:*': no function matched"]),
            Calls =
            [
                new CallStats { Library = "libc.so.6", Function = "getaddrinfo", Calls = 1, Errors = 0, TotalUs = 300_100, P50Us = 300_100, P99Us = 300_100, MaxUs = 300_100 },
                new CallStats { Library = "app", Function = "main.handle", Calls = 3 },
            ],
        };
        yield return new CallRecord
        {
            TimestampNs = ts,
            Pid = 10,
            Comm = "curl",
            Tid = 11,
            Function = "getaddrinfo",
            Library = "libc.so.6",
            DurationUs = 300_100.5,
            Ret = new CallValue { Signed = 0 },
            Args = [new CallValue { Text = "svc.test" }, new CallValue { Text = "80" }, new CallValue { Text = "0x7ffd0000" }, new CallValue { Text = "NULL" }],
            ArgNames = ["node", "service", "hints", "res"],
            Conns = ["c2"],
        };
        yield return new CallRecord
        {
            TimestampNs = ts,
            Pid = 10,
            Comm = "app",
            Tid = 12,
            Function = "curl_easy_perform",
            Library = "libcurl.so.4",
            Args = [new CallValue { Unsigned = 1 }, new CallValue { Boolean = true }, new CallValue { Text = "aaaa", Truncated = true }],
            ArgNames = [null, "x", null],
            Url = "http://svc.test/",
        };
    }

    [Fact]
    public void EveryRecordTypeTheCodeCanWrite_HasASampleAndADocumentedTable()
    {
        // Protocol records live in their protocols' folders, the rest beside Record.
        var concrete = new[] { typeof(Record).Assembly, typeof(Tattle.Protocols.ProtocolCatalog).Assembly }
            .SelectMany(a => a.GetTypes()).Where(t => t.IsSubclassOf(typeof(Record)) && !t.IsAbstract).ToHashSet();
        var sampled = Samples().Select(s => s.GetType()).ToHashSet();
        Assert.Empty(concrete.Except(sampled).Select(t => t.Name));
        var documented = Tables.Value.Keys.Where(k => k.StartsWith("record ", StringComparison.Ordinal)).Select(k => k["record ".Length..]).Order().ToList();
        Assert.Equal(documented, Samples().Select(s => s.Type).Distinct().Order().ToList());
    }

    [Fact]
    public void SyntheticRecords_HaveExactlyTheDocumentedFieldsAndTypes()
    {
        var problems = Samples().Select(Json).SelectMany(Problems).ToList();
        Assert.Empty(problems);
    }

    [Fact]
    public void BooleansAreWrittenWhenFalse_AnEmptyEndpointIsNull()
    {
        var samples = Samples().Select(Json).ToList();
        var data = samples.First(r => r.GetProperty("type").GetString() == "data");
        Assert.False(data.GetProperty("truncated").GetBoolean());
        Assert.False(data.GetProperty("tls").GetBoolean());
        var tls = samples.First(r => r.GetProperty("type").GetString() == "tls.handshake");
        Assert.False(tls.GetProperty("hello_retry").GetBoolean());
        Assert.False(samples.First(r => r.GetProperty("type").GetString() == "dns").GetProperty("truncated").GetBoolean());
        Assert.False(samples.First(r => r.GetProperty("type").GetString() == "http").GetProperty("truncated").GetBoolean());
        var netlink = samples.First(r => r.GetProperty("type").GetString() == "conn.open" && r.GetProperty("proto").GetString() == "netlink");
        Assert.Equal(JsonValueKind.Null, netlink.GetProperty("local").ValueKind);
        var row = samples.First(r => r.GetProperty("type").GetString() == "summary").GetProperty("rows")[1];
        Assert.Equal(JsonValueKind.Null, row.GetProperty("endpoint").ValueKind);
    }

    [Fact]
    public void TheCheckRejectsWhatTheDocDoesNotSay()
    {
        var open = JsonDocument.Parse("""{"type":"conn.open","ts":"x","pid":1,"comm":"c","conn":"c1","proto":"tcp","role":"client","fd":"5","local":{},"remote":null,"extra":1}""").RootElement;
        var problems = Problems(open).ToList();
        Assert.Contains(problems, p => p.Contains("'extra' is not documented", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("conn.open.fd: String", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("'existing' is missing", StringComparison.Ordinal));
        Assert.Equal(3, problems.Count);
    }

    [SkippableFact]
    public async Task RealTraceOfCurl_HasExactlyTheDocumentedFieldsAndTypes()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        using var server = ServerProcess.HttpServer();
        var r = await TattleCli.RunAsync(["run", "--data", "--", "curl", "-s", "-o", "/dev/null", $"http://127.0.0.1:{server.Port}/index.html",
            $"http://127.0.0.1:{ServerProcess.FreeTcpPort()}/refused"]);
        output.WriteLine(r.ToString());
        var types = r.Records.Select(x => x.GetProperty("type").GetString()).ToHashSet();
        Assert.Superset(new HashSet<string?> { "process.start", "process.exit", "conn.open", "conn.close", "data", "http", "summary" }, types);
        Assert.Empty(r.Records.SelectMany(Problems));
    }
}
