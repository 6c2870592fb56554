using System.Text;
using System.Text.Json;
using Tattle.Capture.Proc;
using Tattle.Report;
using Tattle.Sandbox;

namespace Tattle.Tests.Report;

/// <summary>
/// The inventory made from real traces: testdata/report/three-services.jsonl and four-services.jsonl are
/// `tattle run --json` of testdata/report/client.sh.txt (dig against a dnsmasq answering svc1-4.test with
/// 127.0.0.2-5, then curl and python3 to python http.servers there, then a refused connect to 127.0.0.9:8999).
/// </summary>
public sealed class InventoryTests
{
    private static readonly UserNames Users = UserNames.Parse("root:x:0:0:root:/root:/bin/bash\n");

    internal static Inventory Load(params string[] names)
    {
        var builder = new InventoryBuilder(Users);
        foreach (var name in names)
        {
            builder.BeginSource(name);
            using var stream = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "testdata", "report", name));
            TraceInput.ReadJsonLines(stream, builder);
        }
        return builder.Build();
    }

    [Fact]
    public void ThreeServices_EachEndpointWithItsNameCountsAndProtocol()
    {
        var inv = Load("three-services.jsonl");
        Assert.Equal(0, inv.Lost);
        Assert.Equal(0, inv.Malformed);
        var tcp = inv.Endpoints.Where(e => e.IsEgress && e.Proto == "tcp").ToDictionary(e => e.Target);
        Assert.Equal(["127.0.0.9", "svc1.test", "svc2.test", "svc3.test"], tcp.Keys.Order());
        var svc1 = tcp["svc1.test"];
        Assert.Equal(("/usr/bin/curl", "root", null, "127.0.0.2:8002", 2L, 2L), (svc1.Program, svc1.User, svc1.Container, svc1.Address, svc1.Connections, svc1.Requests));
        Assert.Equal(["http"], svc1.Apps);
        Assert.Equal(172, svc1.BytesSent);
        Assert.Equal("GET /users/{id}", Assert.Single(svc1.Http.Keys));
        Assert.Equal(2, svc1.Http["GET /users/{id}"].Count);
        Assert.NotNull(svc1.P50Ms);
        Assert.True(svc1.P99Ms >= svc1.P50Ms);
        Assert.Equal("/usr/bin/python3", tcp["svc2.test"].Program);
        Assert.Equal("GET /items/{id}", Assert.Single(tcp["svc2.test"].Http.Keys)); // a UUID, query dropped
        Assert.Equal(new Dictionary<string, long> { ["ECONNREFUSED"] = 1 }, tcp["127.0.0.9"].Errors);
        Assert.Equal(0, tcp["127.0.0.9"].Connections);
        Assert.Equal(1, tcp["127.0.0.9"].Attempts);
        var dns = Assert.Single(inv.Endpoints, e => e.Apps.Contains("dns"));
        Assert.Equal(("/usr/bin/dig", "udp", "127.0.0.1:5399", 3L), (dns.Program, dns.Proto, dns.Address, dns.Requests));
        Assert.Equal(["127.0.0.2"], dns.Dns["svc1.test A"].Answers);
        Assert.Equal(["svc1.test"], inv.AddressNames["127.0.0.2"]);
        var curl = Assert.Single(inv.Programs, p => p.Program == "/usr/bin/curl");
        Assert.Equal(4, curl.Processes);
        Assert.Contains("client.sh > curl", curl.Trees);
    }

    [Fact]
    public void MalformedLines_AreCounted_NeverThrown()
    {
        var lines = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "testdata", "report", "three-services.jsonl"));
        string text = string.Join('\n', lines.Take(20)) + "\nnot json\n{\"type\": 5}\n[1,2]\n{\"type\":\"conn.open\",\"remote\":\"x\"}\n{\"type\":\"http\",\"conn\":3,\"remote\":[]}\n{broken\n"
            + string.Join('\n', lines.Skip(20));
        var builder = new InventoryBuilder(Users);
        TraceInput.ReadJsonLines(new MemoryStream(Encoding.UTF8.GetBytes(text)), builder);
        var inv = builder.Build();
        Assert.True(inv.Malformed >= 4, $"{inv.Malformed}");
        Assert.Equal(Load("three-services.jsonl").Endpoints.Count(e => e.IsEgress), inv.Endpoints.Count(e => e.IsEgress));
    }

    [Fact]
    public void LongLines_GrowTheBuffer_AndALastLineWithoutNewlineCounts()
    {
        string big = "{\"type\":\"notice\",\"ts\":\"2026-01-01T00:00:00.000000Z\",\"pid\":1,\"comm\":\"x\",\"message\":\"" + new string('a', 3 << 20) + "\"}";
        var builder = new InventoryBuilder(Users);
        TraceInput.ReadJsonLines(new MemoryStream(Encoding.UTF8.GetBytes(big + "\n" + big)), builder);
        Assert.Equal(2, builder.Records);
        Assert.Equal(0, builder.Malformed);
    }

    [Fact]
    public void PayloadRecords_AreCountedWithoutADocument_AndStillValidated()
    {
        string data = "{\"type\":\"data\",\"ts\":\"2026-01-01T00:00:09.000000Z\",\"pid\":1,\"comm\":\"x\",\"conn\":\"c1\",\"dir\":\"send\",\"len\":3,"
            + "\"captured\":3,\"truncated\":false,\"tls\":false,\"b64\":\"YWJj\",\"peer\":{\"addr\":\"1.2.3.4\",\"port\":5}}";
        var builder = new InventoryBuilder(Users);
        TraceInput.ReadJsonLines(new MemoryStream(Encoding.UTF8.GetBytes($"{data}\n{data[..^1]}\n{data}{{}}\n{{\"type\":\"gap\"}}\n")), builder);
        var inv = builder.Build();
        Assert.Equal((2L, 2L), (inv.Records, inv.Malformed));
        Assert.Equal("2026-01-01T00:00:09.000000Z", inv.LastSeen);
    }

    [Fact]
    public void UnconnectedUdp_EveryPeerIsAnEndpoint_FromItsMessagesAndTheSummaryRows()
    {
        // One unconnected socket of python3 sends to three peers: its conn.open names the first, a DNS record the
        // second, only the summary's rows the third (nothing parsed its datagrams).
        string text = """
            {"type":"process.start","ts":"2026-01-01T00:00:00.000000Z","pid":7,"comm":"python3","ppid":1,"argv":["python3"],"exe":"/usr/bin/python3.11","uid":0,"existing":false}
            {"type":"conn.open","ts":"2026-01-01T00:00:01.000000Z","pid":7,"comm":"python3","conn":"c1","proto":"udp","role":"client","fd":3,"local":{"addr":"0.0.0.0","port":4000},"remote":{"addr":"10.0.0.1","port":53},"existing":false}
            {"type":"dns","ts":"2026-01-01T00:00:02.000000Z","pid":7,"comm":"python3","conn":"c1","role":"client","remote":{"addr":"10.0.0.2","port":53},"query":"a.test","qtype":"A","rcode":"NOERROR","id":1,"transport":"udp","truncated":false,"answers":[],"latency_ms":1.5}
            {"type":"conn.close","ts":"2026-01-01T00:00:03.000000Z","pid":7,"comm":"python3","conn":"c1","proto":"udp","role":"client","fd":3,"local":{"addr":"0.0.0.0","port":4000},"remote":{"addr":"10.0.0.1","port":53},"bytes_sent":90,"bytes_recv":60,"duration_ms":2}
            {"type":"summary","ts":"2026-01-01T00:00:04.000000Z","pid":7,"comm":"python3","duration_ms":4000,"processes":1,"still_running":0,"events":9,"lost":0,"rows":[
            {"pid":7,"comm":"python3","proto":"udp","role":"client","endpoint":{"addr":"10.0.0.1","port":53},"connections":1,"bytes_sent":30,"bytes_recv":0,"protocols":[],"requests":0,"unanswered":0,"p50_ms":null,"p99_ms":null,"errors":{}},
            {"pid":7,"comm":"python3","proto":"udp","role":"client","endpoint":{"addr":"10.0.0.2","port":53},"connections":1,"bytes_sent":30,"bytes_recv":30,"protocols":["dns"],"requests":1,"unanswered":0,"p50_ms":1.5,"p99_ms":1.5,"errors":{}},
            {"pid":7,"comm":"python3","proto":"udp","role":"client","endpoint":{"addr":"10.0.0.3","port":9999,"host":"sink.test"},"connections":1,"bytes_sent":30,"bytes_recv":0,"protocols":[],"requests":0,"unanswered":0,"p50_ms":null,"p99_ms":null,"errors":{}}]}
            """.Replace("[\n", "[", StringComparison.Ordinal).Replace("},\n", "},", StringComparison.Ordinal);
        var builder = new InventoryBuilder(Users);
        TraceInput.ReadJsonLines(new MemoryStream(Encoding.UTF8.GetBytes(text)), builder);
        var inv = builder.Build();
        Assert.Equal(0, inv.Malformed);
        var peers = inv.Endpoints.Where(e => e.IsEgress).OrderBy(e => e.Addr, StringComparer.Ordinal).ToList();
        Assert.Equal(["10.0.0.1:53", "10.0.0.2:53", "10.0.0.3:9999"], peers.Select(e => e.Address));
        Assert.All(peers, e => Assert.Equal("/usr/bin/python3.11", e.Program));
        Assert.Equal((1L, 1L, 0L), (peers[0].Attempts, peers[1].Attempts, peers[0].Requests));
        Assert.Equal(1, peers[1].Requests);
        Assert.Equal(("sink.test", 1L), (peers[2].Target, peers[2].Attempts));
        var violations = PolicyCheck.Judge(inv, PolicyFile.ParsePolicy("allow: [10.0.0.0/30:53]", "p.yaml"), []);
        Assert.Equal("10.0.0.3:9999", Assert.Single(violations).Endpoint.Address);
    }

    [Fact]
    public void FailedRequests_CountAmongTheEndpointsErrors_ByTheirErrorType()
    {
        string text = """
            {"type":"conn.open","ts":"2026-01-01T00:00:01.000000Z","pid":7,"comm":"curl","conn":"c1","proto":"tcp","role":"client","fd":3,"local":null,"remote":{"addr":"10.0.0.1","port":80},"existing":false}
            {"type":"http","ts":"2026-01-01T00:00:01.000000Z","pid":7,"comm":"curl","conn":"c1","role":"client","remote":{"addr":"10.0.0.1","port":80},"tls":false,"method":"GET","path":"/a","host":"h","version":"HTTP/1.1","status":404,"req_bytes":1,"resp_bytes":1,"req_headers":{},"resp_headers":{},"truncated":false,"error_type":"404","latency_ms":1}
            {"type":"http","ts":"2026-01-01T00:00:02.000000Z","pid":7,"comm":"curl","conn":"c1","role":"client","remote":{"addr":"10.0.0.1","port":80},"tls":false,"method":"GET","path":"/b","host":"h","version":"HTTP/1.1","status":200,"req_bytes":1,"resp_bytes":1,"req_headers":{},"resp_headers":{},"truncated":false,"latency_ms":1}
            {"type":"conn.fail","ts":"2026-01-01T00:00:03.000000Z","pid":7,"comm":"curl","conn":"c2","proto":"tcp","role":"client","fd":4,"local":null,"remote":{"addr":"10.0.0.1","port":80},"error":"ECONNREFUSED","existing":false}
            """;
        var builder = new InventoryBuilder(Users);
        TraceInput.ReadJsonLines(new MemoryStream(Encoding.UTF8.GetBytes(text)), builder);
        var e = Assert.Single(builder.Build().Endpoints);
        Assert.Equal(2, e.Requests);
        Assert.Equal(new SortedDictionary<string, long> { ["404"] = 1, ["ECONNREFUSED"] = 1 }, e.Errors);
    }

    [Fact]
    public void AnswersWhoseRequestWasNotSeen_AreRequests_NotUnanswered()
    {
        // An http response whose request came before tracing (no method), a dns answer whose query went unread (an
        // rcode, no latency), and a dns query that got no answer (no rcode).
        string text = """
            {"type":"http","ts":"2026-01-01T00:00:01.000000Z","pid":7,"comm":"curl","conn":"c1","role":"client","remote":{"addr":"10.0.0.1","port":80},"tls":false,"method":null,"path":null,"host":null,"version":"HTTP/1.1","status":200,"req_bytes":null,"resp_bytes":1,"req_headers":null,"resp_headers":{},"truncated":false,"latency_ms":null}
            {"type":"dns","ts":"2026-01-01T00:00:02.000000Z","pid":7,"comm":"dig","conn":"c2","role":"client","remote":{"addr":"10.0.0.2","port":53},"query":"a.test","qtype":"A","rcode":"NOERROR","answers":[],"transport":"udp","id":1,"truncated":false,"latency_ms":null}
            {"type":"dns","ts":"2026-01-01T00:00:03.000000Z","pid":7,"comm":"dig","conn":"c2","role":"client","remote":{"addr":"10.0.0.2","port":53},"query":"b.test","qtype":"A","rcode":null,"answers":[],"transport":"udp","id":2,"truncated":false,"latency_ms":null}
            """;
        var builder = new InventoryBuilder(Users);
        TraceInput.ReadJsonLines(new MemoryStream(Encoding.UTF8.GetBytes(text)), builder);
        var endpoints = builder.Build().Endpoints;
        var http = Assert.Single(endpoints, e => e.Port == 80);
        Assert.Equal((1L, 0L), (http.Requests, http.Unanswered));
        var dns = Assert.Single(endpoints, e => e.Port == 53);
        Assert.Equal((2L, 1L), (dns.Requests, dns.Unanswered));
    }

    [Fact]
    public void UnconnectedUdp_ACloseWithPeers_GivesEachPeerItsOwnBytes()
    {
        string text = """
            {"type":"conn.open","ts":"2026-01-01T00:00:01.000000Z","pid":7,"comm":"python3","conn":"c1","proto":"udp","role":"client","fd":3,"local":null,"remote":{"addr":"127.0.0.1","port":9999},"existing":false}
            {"type":"conn.close","ts":"2026-01-01T00:00:03.000000Z","pid":7,"comm":"python3","conn":"c1","proto":"udp","role":"client","fd":3,"local":null,"remote":{"addr":"127.0.0.1","port":9999},"bytes_sent":30,"bytes_recv":4,"duration_ms":2,"peers":[{"remote":{"addr":"127.0.0.1","port":9999},"bytes_sent":10,"bytes_recv":4},{"remote":{"addr":"127.0.0.2","port":9998},"bytes_sent":20,"bytes_recv":0}]}
            {"type":"summary","ts":"2026-01-01T00:00:04.000000Z","pid":7,"comm":"python3","duration_ms":4000,"processes":1,"still_running":0,"events":9,"lost":0,"rows":[{"pid":7,"comm":"python3","proto":"udp","role":"client","endpoint":{"addr":"127.0.0.1","port":9999},"connections":1,"bytes_sent":10,"bytes_recv":4,"protocols":[],"requests":0,"unanswered":0,"p50_ms":null,"p99_ms":null,"errors":{}},{"pid":7,"comm":"python3","proto":"udp","role":"client","endpoint":{"addr":"127.0.0.2","port":9998},"connections":1,"bytes_sent":20,"bytes_recv":0,"protocols":[],"requests":0,"unanswered":0,"p50_ms":null,"p99_ms":null,"errors":{}}]}
            """;
        var builder = new InventoryBuilder(Users);
        TraceInput.ReadJsonLines(new MemoryStream(Encoding.UTF8.GetBytes(text)), builder);
        var peers = builder.Build().Endpoints.OrderBy(e => e.Addr, StringComparer.Ordinal).ToList();
        // As the summary counts them: one connection each, and no byte counted twice.
        Assert.Equal(["127.0.0.1:9999 1 10/4", "127.0.0.2:9998 1 20/0"],
            peers.Select(e => $"{e.Address} {e.Connections} {e.BytesSent}/{e.BytesRecv}"));
    }

    [Fact]
    public void UnconnectedUdpServer_ACloseWithPeers_CountsEachClientInItsOwnEndpoint()
    {
        string text = """
            {"type":"conn.open","ts":"2026-01-01T00:00:01.000000Z","pid":8,"comm":"dnsmasq","conn":"c3","proto":"udp","role":"server","fd":4,"local":{"addr":"127.0.0.1","port":5353},"remote":{"addr":"127.0.0.1","port":40001},"existing":false}
            {"type":"conn.close","ts":"2026-01-01T00:00:03.000000Z","pid":8,"comm":"dnsmasq","conn":"c3","proto":"udp","role":"server","fd":4,"local":{"addr":"127.0.0.1","port":5353},"remote":{"addr":"127.0.0.1","port":40001},"bytes_sent":90,"bytes_recv":60,"duration_ms":2,"peers":[{"remote":{"addr":"127.0.0.1","port":40001},"bytes_sent":30,"bytes_recv":20},{"remote":{"addr":"127.0.0.1","port":40002},"bytes_sent":30,"bytes_recv":20},{"remote":{"addr":"127.0.0.1","port":40003},"bytes_sent":30,"bytes_recv":20}]}
            """;
        var builder = new InventoryBuilder(Users);
        TraceInput.ReadJsonLines(new MemoryStream(Encoding.UTF8.GetBytes(text)), builder);
        var server = Assert.Single(builder.Build().Endpoints);
        // As the summary counts a server's clients: in the row of its own address, one connection each.
        Assert.Equal("server 127.0.0.1:5353 3 90/60", $"{server.Role} {server.Address} {server.Connections} {server.BytesSent}/{server.BytesRecv}");
    }

    [Fact]
    public void Loss_IsStatedAtTheTop()
    {
        string loss = "{\"type\":\"loss\",\"ts\":\"2026-01-01T00:00:00.000000Z\",\"pid\":0,\"comm\":\"tattle\",\"count\":12,\"where\":\"kernel ring buffer full: data records\"}\n";
        var builder = new InventoryBuilder(Users);
        TraceInput.ReadJsonLines(new MemoryStream(Encoding.UTF8.GetBytes(loss)), builder);
        var text = new StringWriter();
        InventoryText.WriteTable(text, builder.Build());
        Assert.StartsWith("LOSS: 12 events lost while tracing (kernel ring buffer full: data records: 12)", text.ToString());
        // One record: counted in the singular.
        Assert.Contains(": 1 record, 0 programs, 0 endpoints", text.ToString());
    }

    [Fact]
    public void Json_RoundTrips_ForDiff()
    {
        var inv = Load("three-services.jsonl");
        var stream = new MemoryStream();
        InventoryJson.Write(stream, inv);
        using var doc = JsonDocument.Parse(stream.ToArray());
        Assert.Equal("tattle.report", doc.RootElement.GetProperty("type").GetString());
        var back = InventoryJson.Read(doc.RootElement);
        Assert.Equal(inv.Endpoints.Select(e => (e.Target, e.Address, e.Program, e.Attempts)), back.Endpoints.Select(e => (e.Target, e.Address, e.Program, e.Attempts)));
        Assert.Empty(InventoryDiff.Compare(inv, back).Added);
    }

    [Fact]
    public void Diff_ShowsTheAddedEndpoint()
    {
        var d = InventoryDiff.Compare(Load("three-services.jsonl"), Load("four-services.jsonl"));
        Assert.Equal("svc4.test", Assert.Single(d.Added).Name);
        Assert.Empty(d.Removed);
        Assert.True(d.AnythingNew);
        Assert.False(InventoryDiff.Compare(Load("four-services.jsonl"), Load("three-services.jsonl")).AnythingNew);
    }

    [Fact]
    public void Diff_NamesWhatAnEndpointGainedAndWhatItNoLongerUsed()
    {
        static Inventory Trace(params int[] ports)
        {
            var lines = new StringBuilder();
            foreach (int port in ports)
            {
                lines.Append("{\"type\":\"conn.open\",\"ts\":\"2026-01-01T00:00:00.000000Z\",\"pid\":5,\"comm\":\"curl\",\"conn\":\"c")
                    .Append(port).Append("\",\"proto\":\"tcp\",\"role\":\"client\",\"fd\":3,\"local\":{\"addr\":\"127.0.0.1\",\"port\":4000},")
                    .Append("\"remote\":{\"addr\":\"127.0.0.9\",\"port\":").Append(port).Append("},\"existing\":false}\n");
            }
            var builder = new InventoryBuilder(Users);
            TraceInput.ReadJsonLines(new MemoryStream(Encoding.UTF8.GetBytes(lines.ToString())), builder);
            return builder.Build();
        }
        var moved = InventoryDiff.Compare(Trace(80, 8080), Trace(8080, 8443));
        var (_, _, changes) = Assert.Single(moved.Changed);
        Assert.Equal(["new port 8443", "port 80 dropped"], changes);
        Assert.True(moved.AnythingNew);
        var shrunk = InventoryDiff.Compare(Trace(80, 8080, 8443), Trace(8443));
        Assert.Equal(["ports 80, 8080 dropped"], Assert.Single(shrunk.Changed).Changes);
        Assert.False(shrunk.AnythingNew);
        var text = new StringWriter();
        InventoryDiff.Compare(Trace(), Trace(80)).WriteText(text);
        Assert.Contains("+ 127.0.0.9 tcp port 80 (", text.ToString());
        Assert.Contains("; 1 attempt)", text.ToString());
    }

    [Fact]
    public void Diff_AUnixSocket_HasNoPort()
    {
        const string Line = "{\"type\":\"conn.open\",\"ts\":\"2026-01-01T00:00:00.000000Z\",\"pid\":5,\"comm\":\"psql\",\"conn\":\"c1\",\"proto\":\"unix\",\"role\":\"client\",\"fd\":3,"
            + "\"local\":{\"path\":\"\"},\"remote\":{\"path\":\"/run/postgresql/.s.PGSQL.5432\"},\"existing\":false}\n";
        var builder = new InventoryBuilder(Users);
        TraceInput.ReadJsonLines(new MemoryStream(Encoding.UTF8.GetBytes(Line)), builder);
        var text = new StringWriter();
        InventoryDiff.Compare(new InventoryBuilder(Users).Build(), builder.Build()).WriteText(text);
        Assert.Contains("+ /run/postgresql/.s.PGSQL.5432 unix (", text.ToString());
        Assert.DoesNotContain("port", text.ToString());
    }

    [Fact]
    public void PolicyOut_AllowsItsOwnRun_AndNotTheFourthService()
    {
        var three = Load("three-services.jsonl");
        string text = PolicyCheck.WritePolicy(three, []);
        var policy = PolicyFile.ParsePolicy(text, "out.yaml");
        Assert.Contains(policy.Allow, r => r.Host == "svc1.test" && r.Ports.SequenceEqual([8002]) && r.Proto == "tcp" && r.App == "http");
        Assert.Empty(PolicyCheck.Judge(three, policy, []));
        var v = Assert.Single(PolicyCheck.Judge(Load("four-services.jsonl"), policy, []));
        Assert.Equal(("svc4.test", "127.0.0.5:8005"), (v.Endpoint.Target, v.Endpoint.Address));
        Assert.Contains("/usr/bin/curl (user root) -> tcp 127.0.0.5:8005 (svc4.test), 1 attempt", v.ToString());
        // The trace's DNS went to 127.0.0.1:5399; had that been this host's resolver on port 53, resolvers: true would cover it.
        Assert.Contains("cidr: 127.0.0.1\n    port: 5399\n    proto: udp\n    app: dns", text);
        Assert.Contains("resolvers: true", text);
    }

    [Fact]
    public void PolicyOut_LeavesTheHostsResolverToResolversTrue()
    {
        string dnsLine = "{\"type\":\"conn.open\",\"ts\":\"2026-01-01T00:00:00.000000Z\",\"pid\":5,\"comm\":\"curl\",\"conn\":\"c1\",\"proto\":\"udp\",\"role\":\"client\",\"fd\":3,"
            + "\"local\":{\"addr\":\"10.0.0.9\",\"port\":4000},\"remote\":{\"addr\":\"10.255.255.53\",\"port\":53},\"existing\":false}\n";
        var builder = new InventoryBuilder(Users);
        TraceInput.ReadJsonLines(new MemoryStream(Encoding.UTF8.GetBytes(dnsLine)), builder);
        var inv = builder.Build();
        Assert.DoesNotContain("10.255.255.53", PolicyCheck.WritePolicy(inv, ["10.255.255.53"]));
        Assert.Contains("cidr: 10.255.255.53", PolicyCheck.WritePolicy(inv, ["10.0.0.1"]));
        Assert.Empty(PolicyCheck.Judge(inv, PolicyFile.ParsePolicy("allow: []", "p.yaml"), ["10.255.255.53"]));
        Assert.Single(PolicyCheck.Judge(inv, PolicyFile.ParsePolicy("resolvers: false\nallow: []", "p.yaml"), ["10.255.255.53"]));
    }

    /// <summary>A connect named by the client alone (its Host header), then, in a second file, by a DNS answer.</summary>
    private static Inventory NamedBy(string hostFrom)
    {
        string line = "{\"type\":\"conn.open\",\"ts\":\"2026-01-01T00:00:00.000000Z\",\"pid\":5,\"comm\":\"curl\",\"conn\":\"c1\",\"proto\":\"tcp\",\"role\":\"client\",\"fd\":3,"
            + "\"local\":{\"addr\":\"10.0.0.9\",\"port\":4000},\"remote\":{\"addr\":\"10.9.9.9\",\"port\":80,\"host\":\"allowed.test\",\"host_from\":\"" + hostFrom + "\"},\"existing\":false}\n";
        var builder = new InventoryBuilder(Users);
        TraceInput.ReadJsonLines(new MemoryStream(Encoding.UTF8.GetBytes(line)), builder);
        return builder.Build();
    }

    [Theory]
    [InlineData("http", "", false)]
    [InlineData("sni", "", false)]
    [InlineData("dns", "", true)]
    [InlineData("http", "10.9.9.9 allowed.test other.test\n", true)] // the host's own table gives the name that address
    [InlineData("http", "10.9.9.8 allowed.test # 10.9.9.9\n", false)]
    public void HostRule_IsMetOnlyByANameTheAddressWasResolvedFrom(string hostFrom, string hostsFile, bool allowed)
    {
        var inv = NamedBy(hostFrom);
        var e = Assert.Single(inv.Endpoints);
        Assert.Equal(["allowed.test"], e.Names);
        var hosts = HostsFile.Parse(hostsFile);
        var policy = PolicyFile.ParsePolicy("allow: [allowed.test]", "p.yaml");
        Assert.Equal(allowed, PolicyCheck.Allowed(e, policy, [], hosts));
        var violations = PolicyCheck.Judge(inv, policy, [], hosts);
        Assert.Equal(allowed ? 0 : 1, violations.Count);
        Assert.All(violations, v => Assert.Contains("(allowed.test: named by the client only, no DNS answer gave this address)", v.ToString()));
        // What --policy-out writes for the run must allow the run: by name when the name holds, else by address.
        string written = PolicyCheck.WritePolicy(inv, [], hosts);
        Assert.Contains(allowed ? "host: allowed.test" : "cidr: 10.9.9.9", written);
        Assert.Empty(PolicyCheck.Judge(inv, PolicyFile.ParsePolicy(written, "out.yaml"), [], hosts));
    }

    [Theory]
    [InlineData("allow: [svc1.test]", false)] // the name allows the address it resolved to, any port
    [InlineData("allow: [svc1.test:9999]", true)]
    [InlineData("allow: ['*.test']", false)]
    [InlineData("allow: [127.0.0.0/29]", false)]
    [InlineData("allow: [{host: svc1.test, proto: udp}]", true)]
    [InlineData("allow: [{host: svc1.test, app: redis}]", true)]
    [InlineData("allow: [{host: svc1.test, program: /usr/bin/wget}]", true)]
    [InlineData("allow: [{host: svc1.test, user: nobody}]", true)]
    [InlineData("allow: [{host: svc1.test, user: '0'}]", false)]
    [InlineData("loopback: true\nallow: []", false)]
    [InlineData("allow: []", true)]
    public void Judge_Svc1(string policy, bool violation)
    {
        var inv = Load("three-services.jsonl");
        var svc1 = inv.Endpoints.Single(e => e.Target == "svc1.test");
        Assert.Equal(!violation, PolicyCheck.Allowed(svc1, PolicyFile.ParsePolicy(policy, "p.yaml"), []));
    }

    [Fact]
    public void Judge_ResolverDns_IsAllowedWhenResolversIsOn()
    {
        var inv = Load("three-services.jsonl");
        var dig = inv.Endpoints.Single(e => e.Apps.Contains("dns"));
        // The trace's resolver ran on port 5399: only port 53 to a resolv.conf nameserver is the system's DNS.
        Assert.False(PolicyCheck.Allowed(dig, PolicyFile.ParsePolicy("allow: []", "p.yaml"), ["127.0.0.1"]));
        Assert.Equal(["10.0.0.2", "fd00::1"], Resolvers.FromResolvConf(Write("search x\nnameserver 10.0.0.2\nnameserver fd00::1\n# nameserver 1.1.1.1\n")).Order());
    }

    [Theory]
    [InlineData("/", null)]
    [InlineData("/user.slice/user-1000.slice/session-3.scope", null)]
    [InlineData("/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope", "docker:0123456789ab")]
    [InlineData("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210.scope", "cri-containerd:fedcba987654")]
    [InlineData("/docker/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "docker:0123456789ab")]
    [InlineData("/machine.slice/libpod-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.scope/container", "libpod:aaaaaaaaaaaa")]
    [InlineData("/lxc.payload.web1/init.scope", "lxc:web1")]
    public void Containers_FromCgroups(string cgroup, string? container) => Assert.Equal(container, Containers.FromCgroup(cgroup));

    [Theory]
    [InlineData("/users/42", "/users/{id}")]
    [InlineData("/users/42/orders/7?x=1", "/users/{id}/orders/{id}")]
    [InlineData("/items/6f1c2b4e-8a3d-4c1e-9b2a-1234567890ab", "/items/{id}")]
    [InlineData("/blobs/sha256/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "/blobs/sha256/{id}")]
    [InlineData("/v2/library/debian", "/v2/library/debian")]
    [InlineData("/deadbeefdeadbeef", "/deadbeefdeadbeef")] // hex words without a digit stay
    [InlineData("/", "/")]
    [InlineData("*", "*")]
    [InlineData(null, "-")]
    [InlineData("/a//b/", "/a//b/")]
    public void Paths_Collapse(string? path, string pattern) => Assert.Equal(pattern, PathPattern.Collapse(path));

    private static string Write(string text)
    {
        string path = Path.GetTempFileName();
        File.WriteAllText(path, text);
        return path;
    }
}
