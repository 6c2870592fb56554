using System.Net;
using System.Text;
using System.Text.Json;
using Tattle.Capture.Events;
using Tattle.Output.JsonLines;
using Tattle.Protocols.Dns;
using Tattle.Protocols.Http;
using Tattle.Records;
using Tattle.Tests.Support;
using Tattle.Tracking;
using Tattle.Tracking.Connections;
using Record = Tattle.Records.Record;

namespace Tattle.Tests.Tracking.Streams;

/// <summary>Real wire bytes through the whole tracker: events in, protocol records out.</summary>
public sealed class SessionProtocolTests
{
    private const int Pid = 5151;
    private readonly ListSink _records = new();
    private readonly TraceSession _session;
    private long _now = 1_000_000_000;

    public SessionProtocolTests()
    {
        _session = new TraceSession(_records, new NoSocketLookup(), new TraceSettings { ToUnixNs = ns => ns });
        _session.OnFork(new ProcessFork(Tick(), Pid, 1, 100, "client"));
    }

    private long Tick() => _now += 1_000_000;

    private static byte[] TestData(string dir, string file) =>
        File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "testdata", dir, file));

    private static NetAddress V4(string ip, int port) => NetAddress.FromEndPoint(new IPEndPoint(IPAddress.Parse(ip), port));

    private void Connect(int fd, ulong sk, ushort sockType, NetAddress remote) =>
        _session.OnSocket(new SocketEvent
        {
            TimestampNs = Tick(),
            Pid = Pid,
            Tid = Pid,
            Kind = SocketEventKind.Connect,
            Fd = fd,
            SockId = sk,
            Family = NetAddress.AfInet,
            SockType = sockType,
            Protocol = sockType == SocketTypes.Stream ? (ushort)6 : (ushort)17,
            Local = V4("127.0.0.1", 40000 + fd),
            Remote = remote,
        });

    /// <summary>Sends bytes as the kernel would report them: one message per call, 100-byte reads or writes.</summary>
    private void Stream(int fd, ulong sk, Direction dir, byte[] bytes, ref ulong position, int piece = 100)
    {
        for (int off = 0; off < bytes.Length; off += piece)
        {
            int n = Math.Min(piece, bytes.Length - off);
            Datagram(fd, sk, dir, bytes.AsSpan(off, n), position, SocketTypes.Stream);
            position += (ulong)n;
        }
    }

    private void Datagram(int fd, ulong sk, Direction dir, ReadOnlySpan<byte> bytes, ulong position, ushort sockType, NetAddress peer = default) =>
        _session.OnData(new DataEvent
        {
            TimestampNs = Tick(),
            Pid = Pid,
            Tid = Pid,
            Fd = fd,
            SockId = sk,
            Direction = dir,
            Position = position,
            MessageLength = (uint)bytes.Length,
            ChunkLength = (uint)bytes.Length,
            Flags = DataFlags.Last,
            Family = NetAddress.AfInet,
            SockType = sockType,
            Peer = peer,
        }, bytes);

    [Fact]
    public void ChunkedResponseWithTrailer_BecomesOneHttpRecordWithTrailers()
    {
        Connect(3, 0xA, SocketTypes.Stream, V4("127.0.0.1", 8080));
        ulong sent = 0, received = 0;
        Stream(3, 0xA, Direction.Send, TestData("http1", "chunked_trailer.c2s"), ref sent);
        Stream(3, 0xA, Direction.Recv, TestData("http1", "chunked_trailer.s2c"), ref received);
        _session.Finish(Tick(), 0, 0, Pid);

        var http = Assert.Single(_records.Of<HttpRecord>());
        Assert.Equal(200, http.Status);
        Assert.NotNull(http.Trailers);
        Assert.True(http.LatencyMs > 0);
        var json = Json(http);
        Assert.Equal("http", json.GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Object, json.GetProperty("trailers").ValueKind);
        Assert.Equal("chunked", json.GetProperty("resp_headers").GetProperty("transfer-encoding").GetString());
        Assert.Empty(_records.Of<GapRecord>());
        Assert.Equal(["http"], _records.Of<SummaryRecord>().Single().Rows.Single().Protocols);
    }

    /// <summary>A Redis inline command starts like an HTTP request; its reply must not become a resync gap.</summary>
    [Theory]
    [InlineData("GET foo\r\n", "$3\r\nbar\r\n")]
    [InlineData("PING\r\n", "+PONG\r\n")]
    [InlineData("GET foo\r\n|PING\r\n", "$3\r\nbar\r\n|+PONG\r\n")]
    public void RedisInlineCommand_IsNotHttp(string commands, string replies)
    {
        Connect(6, 0xD, SocketTypes.Stream, V4("127.0.0.1", 6379));
        ulong sent = 0, received = 0;
        foreach (var (command, reply) in commands.Split('|').Zip(replies.Split('|')))
        {
            Stream(6, 0xD, Direction.Send, Encoding.ASCII.GetBytes(command), ref sent);
            Stream(6, 0xD, Direction.Recv, Encoding.ASCII.GetBytes(reply), ref received);
        }
        _session.Finish(Tick(), 0, 0, Pid);

        Assert.Empty(_records.Of<HttpRecord>());
        Assert.Empty(_records.Of<GapRecord>());
        Assert.DoesNotContain("http", _records.Of<SummaryRecord>().Single().Rows.Single().Protocols);
    }

    /// <summary>A request line written in two pieces (3 bytes, then the rest) is still HTTP.</summary>
    [Fact]
    public void RequestLineSplitAcrossTwoWrites_IsStillHttp()
    {
        Connect(7, 0xE, SocketTypes.Stream, V4("127.0.0.1", 8080));
        ulong sent = 0, received = 0;
        var request = Encoding.ASCII.GetBytes("GET /split HTTP/1.1\r\nHost: h\r\n\r\n");
        Stream(7, 0xE, Direction.Send, request[..3], ref sent);
        Stream(7, 0xE, Direction.Send, request[3..], ref sent);
        Stream(7, 0xE, Direction.Recv, Encoding.ASCII.GetBytes("HTTP/1.1 204 No Content\r\n\r\n"), ref received);
        _session.Finish(Tick(), 0, 0, Pid);

        var http = Assert.Single(_records.Of<HttpRecord>());
        Assert.Equal("/split", http.Path);
        Assert.Equal(204, http.Status);
        Assert.Empty(_records.Of<GapRecord>());
    }

    [Fact]
    public void ADnsAnswer_NamesTheConnectionMadeToItsAddress()
    {
        Connect(4, 0xB, SocketTypes.Datagram, V4("127.0.0.1", 53));
        Datagram(4, 0xB, Direction.Send, TestData("dns", "udp-a.query.bin"), 0, SocketTypes.Datagram);
        Datagram(4, 0xB, Direction.Recv, TestData("dns", "udp-a.response.bin"), 0, SocketTypes.Datagram);
        Connect(5, 0xC, SocketTypes.Stream, V4("10.1.2.3", 443));

        var dns = Assert.Single(_records.Of<DnsRecord>());
        Assert.Equal("addr.example.test", dns.Query);
        Assert.Equal("NOERROR", dns.Rcode);
        Assert.Equal("10.1.2.3", Assert.Single(dns.Answers).Data);
        var open = _records.Of<ConnOpenRecord>().Single(o => o.Remote!.Port == 443);
        Assert.Equal("addr.example.test", open.Remote!.Host);
        Assert.Equal("addr.example.test", Json(open).GetProperty("remote").GetProperty("host").GetString());
    }

    [Fact]
    public void DatagramsToPeersInTurn_EachRecordNamesItsPeer_WithANameLearntSince()
    {
        Connect(8, 0xF, SocketTypes.Datagram, V4("127.0.0.1", 53));
        var resolver = V4("127.0.0.1", 53);
        var named = V4("10.1.2.3", 53);
        // The AAAA lookup learns nothing of 10.1.2.3; the A lookup's answer names it, in the record of that very answer.
        foreach (var (peer, lookup) in new[] { (named, "aaaa"), (named, "a"), (named, "a"), (resolver, "a"), (resolver, "a"), (named, "aaaa") })
        {
            Datagram(8, 0xF, Direction.Send, TestData("dns", $"udp-{lookup}.query.bin"), 0, SocketTypes.Datagram, peer);
            Datagram(8, 0xF, Direction.Recv, TestData("dns", $"udp-{lookup}.response.bin"), 0, SocketTypes.Datagram, peer);
        }

        var local = new Endpoint("127.0.0.1", 53);
        var bare = new Endpoint("10.1.2.3", 53);
        var withName = bare with { Host = "addr.example.test", HostFrom = HostSource.Dns };
        Assert.Equal([bare, withName, withName, local, local, withName], _records.Of<DnsRecord>().Select(r => r.Remote));
        Assert.All(_records.Of<DnsRecord>(), r => Assert.NotNull(r.LatencyMs));
    }

    [Fact]
    public void NoRedact_ShowsTheSecretsThatAreRedactedByDefault()
    {
        var request = Encoding.ASCII.GetBytes("GET /x?api_key=abc HTTP/1.1\r\nHost: h\r\nCookie: s=1\r\n\r\n");
        var response = Encoding.ASCII.GetBytes("HTTP/1.1 204 No Content\r\n\r\n");
        foreach (bool redact in (bool[])[true, false])
        {
            var sink = new ListSink();
            var session = new TraceSession(sink, new NoSocketLookup(), new TraceSettings
            {
                ToUnixNs = ns => ns,
                Streams = new() { Parser = new() { Redact = redact } },
            });
            session.OnFork(new ProcessFork(Tick(), Pid, 1, 100, "client"));
            var e = new DataEvent
            {
                TimestampNs = Tick(),
                Pid = Pid,
                Fd = 3,
                SockId = 1,
                Direction = Direction.Send,
                MessageLength = (uint)request.Length,
                ChunkLength = (uint)request.Length,
                Flags = DataFlags.Last,
                Family = NetAddress.AfInet,
                SockType = SocketTypes.Stream,
            };
            session.OnData(e, request);
            session.OnData(e with { Direction = Direction.Recv, MessageLength = (uint)response.Length, ChunkLength = (uint)response.Length }, response);
            var http = sink.Of<HttpRecord>().Single();
            Assert.Equal(redact ? "/x?api_key=REDACTED" : "/x?api_key=abc", http.Path);
            Assert.Equal(redact ? "REDACTED" : "s=1", http.ReqHeaders!.Single(h => h.Name.Equals("cookie", StringComparison.OrdinalIgnoreCase)).Value);
        }
    }

    private static JsonElement Json(Record r)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            RecordJson.Write(w, r);
        }
        return JsonDocument.Parse(ms.ToArray()).RootElement.Clone();
    }
}
