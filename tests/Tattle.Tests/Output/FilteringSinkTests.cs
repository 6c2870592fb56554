using System.Net;
using Tattle.Output;
using Tattle.Protocols.Dns;
using Tattle.Protocols.Http;
using Tattle.Protocols.Tls;
using Tattle.Records;
using Tattle.Tests.Support;
using Record = Tattle.Records.Record;

namespace Tattle.Tests.Output;

/// <summary>--port, --host and --app: which records reach the live view, JSON Lines and summary.</summary>
public sealed class FilteringSinkTests
{
    private const long Ts = 1_764_460_800_000_000_000;

    private static ConnOpenRecord Open(string conn, int remotePort, string remoteAddr = "10.0.0.1", string? host = null) => new()
    {
        TimestampNs = Ts,
        Pid = 10,
        Comm = "app",
        Conn = conn,
        Proto = "tcp",
        Role = "client",
        Fd = 3,
        Local = new Endpoint("10.0.0.2", 40000),
        Remote = new Endpoint(remoteAddr, remotePort, Host: host),
    };

    private static ConnCloseRecord Close(ConnOpenRecord o) => new()
    {
        TimestampNs = Ts,
        Pid = o.Pid,
        Comm = o.Comm,
        Conn = o.Conn,
        Proto = o.Proto,
        Role = o.Role,
        Fd = o.Fd,
        Local = o.Local,
        Remote = o.Remote,
        BytesSent = 1,
        BytesRecv = 2,
        DurationMs = 1,
    };

    private static HttpRecord Http(string conn) => new() { TimestampNs = Ts, Pid = 10, Comm = "app", Conn = conn, Role = "client", Method = "GET" };

    private static TlsHandshakeRecord Handshake(string conn) => new() { TimestampNs = Ts, Pid = 10, Comm = "app", Conn = conn, Role = "client" };

    private static DataRecord Data(string conn) => new() { TimestampNs = Ts, Pid = 10, Comm = "app", Conn = conn, Dir = "send", Len = 1, Captured = 1, Payload = new byte[1] };

    private static ProcessExitRecord Exit() => new() { TimestampNs = Ts, Pid = 10, Comm = "app", ExitCode = 0 };

    private static List<Record> Run(RecordFilter filter, params Record[] records)
    {
        var list = new ListSink();
        var sink = new FilteringSink(list, filter);
        foreach (var r in records)
        {
            sink.Write(r);
        }
        Assert.Equal(0, sink.Tracked - records.OfType<ConnOpenRecord>().Count(o => !records.OfType<ConnCloseRecord>().Any(c => c.Conn == o.Conn)));
        return list.All;
    }

    [Fact]
    public void Port_KeepsTheConnectionAndItsRecords_ProcessRecordsAlwaysPass()
    {
        var web = Open("c1", 80);
        var other = Open("c2", 5432);
        var kept = Run(new RecordFilter { Ports = new HashSet<int> { 80 } },
            web, other, Data("c1"), Data("c2"), Http("c1"), Close(web), Close(other), Exit());
        Assert.Same(web, kept[0]);
        Assert.Equal(["conn.open", "data", "http", "conn.close", "process.exit"], kept.Select(r => r.Type));
        Assert.All(kept.OfType<ConnRecord>(), c => Assert.Equal("c1", c.Conn));
    }

    [Fact]
    public void Port_MatchesTheLocalPortToo()
    {
        var o = Open("c1", 80);
        Assert.Equal(2, Run(new RecordFilter { Ports = new HashSet<int> { 40000 } }, o, Close(o)).Count);
    }

    [Theory]
    [InlineData("10.0.0.0/8", true)]
    [InlineData("192.168.0.0/16", false)]
    [InlineData("93.184.216.34", true)]
    [InlineData("example.com", true)]
    [InlineData("EXAMPLE.com.", true)]
    [InlineData("ample.com", false)]
    [InlineData("com", true)]
    [InlineData("www.example.com", false)]
    public void Host_MatchesAddressesNetworksNamesAndSubdomains(string spec, bool kept)
    {
        Assert.Null(RecordFilter.ParseHost(spec, out var network, out var name));
        var filter = new RecordFilter { Networks = network is { } n ? [n] : [], HostNames = name is null ? [] : [name] };
        var o = Open("c1", 443, spec.Contains('/', StringComparison.Ordinal) ? "10.1.2.3" : "93.184.216.34", host: "example.com");
        Assert.Equal(kept, Run(filter, o).Count == 1);
    }

    [Fact]
    public void Host_AV4NetworkMatchesAV4MappedPeer()
    {
        RecordFilter.ParseHost("127.0.0.0/8", out var network, out _);
        var o = Open("c1", 80, "::ffff:127.0.0.1");
        Assert.Single(Run(new RecordFilter { Networks = [network!.Value] }, o));
    }

    [Theory]
    [InlineData("10.0.0.0/33")]
    [InlineData("exa mple")]
    [InlineData("")]
    [InlineData("a;b")]
    public void Host_RejectsWhatIsNeitherNameNorAddress(string spec) =>
        Assert.StartsWith("--host", RecordFilter.ParseHost(spec, out _, out _));

    [Fact]
    public void App_HoldsConnOpenUntilTheFirstMessageOfTheProtocol_DropsConnectionsWithoutOne()
    {
        var web = Open("c1", 8080);
        var tls = Open("c2", 443);
        var quiet = Open("c3", 22);
        var kept = Run(new RecordFilter { Apps = new HashSet<string> { "http" } },
            web, tls, quiet, Data("c1"), Handshake("c2"), Http("c1"), Data("c1"), Close(web), Close(tls), Close(quiet));
        Assert.Equal(["conn.open", "http", "data", "conn.close"], kept.Select(r => r.Type));
        Assert.Same(web, kept[0]);
        Assert.All(kept, r => Assert.Equal("c1", r switch { ConnRecord c => c.Conn, MessageRecord m => m.Conn, DataRecord d => d.Conn, _ => "" }));
    }

    [Fact]
    public void App_MatchesTlsHandshakesByTheirFirstWord()
    {
        var o = Open("c1", 443);
        var kept = Run(new RecordFilter { Apps = new HashSet<string> { "tls" } }, o, Handshake("c1"), Close(o));
        Assert.Equal(["conn.open", "tls.handshake", "conn.close"], kept.Select(r => r.Type));
    }

    private static ConnOpenRecord UdpOpen(string conn, string firstPeer) => Open(conn, 53, firstPeer) with { Proto = "udp" };

    private static DataRecord Datagram(string conn, string peer) => Data(conn) with { Peer = new Endpoint(peer, 53) };

    private static DnsRecord Dns(string conn, string server) => new()
    {
        TimestampNs = Ts,
        Pid = 10,
        Comm = "app",
        Conn = conn,
        Role = "client",
        Remote = new Endpoint(server, 53),
        Query = "example.com",
        QType = "A",
        Transport = "udp",
        Id = 1,
    };

    [Fact]
    public void Host_JudgesAnUnconnectedUdpSocketByEachDatagramsPeer()
    {
        RecordFilter.ParseHost("1.1.1.1", out var network, out _);
        var filter = new RecordFilter { Networks = [network!.Value] };
        // One socket asks 8.8.8.8 first, then 1.1.1.1: only the second's records pass, and the open names it.
        var resolver = UdpOpen("c1", "8.8.8.8");
        var kept = Run(filter, resolver, Datagram("c1", "8.8.8.8"), Dns("c1", "8.8.8.8"),
            Datagram("c1", "1.1.1.1"), Dns("c1", "1.1.1.1"), Datagram("c1", "8.8.8.8"), Close(resolver));
        Assert.Equal(["conn.open", "data", "dns", "conn.close"], kept.Select(r => r.Type));
        Assert.Equal("1.1.1.1", ((ConnOpenRecord)kept[0]).Remote!.Addr);
        Assert.Equal("1.1.1.1", ((DataRecord)kept[1]).Peer!.Addr);
        Assert.Equal("1.1.1.1", ((DnsRecord)kept[2]).Remote!.Addr);
        Assert.Equal("1.1.1.1", ((ConnCloseRecord)kept[3]).Remote!.Addr); // the peer its open named

        // A socket that never reached a matching peer leaves nothing, its close included.
        var other = UdpOpen("c2", "8.8.8.8");
        Assert.Empty(Run(filter, other, Datagram("c2", "8.8.8.8"), Dns("c2", "8.8.8.8"), Close(other)));

        // The first peer matching, later peers are still judged one by one.
        var first = UdpOpen("c3", "1.1.1.1");
        kept = Run(filter, first, Datagram("c3", "1.1.1.1"), Datagram("c3", "8.8.8.8"), Close(first));
        Assert.Equal(["conn.open", "data", "conn.close"], kept.Select(r => r.Type));
    }

    [Fact]
    public void Port_AndApp_OnUdp_HoldTheOpenUntilAMessageOfAMatchingPeer()
    {
        var filter = new RecordFilter { Ports = new HashSet<int> { 53 }, Apps = new HashSet<string> { "dns" } };
        var o = UdpOpen("c1", "8.8.8.8") with { Local = new Endpoint("10.0.0.2", 40000) };
        var kept = Run(filter, o, Datagram("c1", "8.8.8.8"), Dns("c1", "8.8.8.8"), Close(o));
        Assert.Equal(["conn.open", "dns", "conn.close"], kept.Select(r => r.Type));
        // The open's peer passes --port, so it stays the socket's first.
        Assert.Same(o, kept[0]);
    }

    [Fact]
    public void Summary_KeepsTheMatchingRows()
    {
        var web = new SummaryRow { Pid = 1, Comm = "a", Proto = "tcp", Role = "client", Endpoint = new Endpoint("10.0.0.1", 80) };
        web.Protocols.Add("http");
        var db = new SummaryRow { Pid = 1, Comm = "a", Proto = "tcp", Role = "client", Endpoint = new Endpoint("10.0.0.1", 5432) };
        var summary = new SummaryRecord { TimestampNs = Ts, Pid = 1, Comm = "a", Rows = [web, db], DurationMs = 1, Events = 1, Lost = 0, Processes = 1 };
        Assert.Equal([web], ((SummaryRecord)Run(new RecordFilter { Ports = new HashSet<int> { 80 } }, summary).Single()).Rows);
        Assert.Equal([web], ((SummaryRecord)Run(new RecordFilter { Apps = new HashSet<string> { "http" } }, summary).Single()).Rows);
        Assert.Equal([db], FilteringSink.Apply(summary, new RecordFilter { Networks = [IPNetwork.Parse("10.0.0.0/24")], Ports = new HashSet<int> { 5432 } }).Rows);
    }
}
