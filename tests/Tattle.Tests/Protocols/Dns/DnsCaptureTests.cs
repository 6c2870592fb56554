using System.Buffers.Binary;
using Tattle.Protocols.Common;
using Tattle.Protocols.Dns;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.Dns;

/// <summary>
/// dig's queries and dnsmasq's responses, captured by testdata/dns/capture.py; the expected values are what dig
/// printed for them (testdata/dns/capture.log).
/// </summary>
public sealed class DnsCaptureTests(ITestOutputHelper output)
{
    private const string Peer = "127.0.0.1:53";

    public static TheoryData<string, string, string, string, string[]> UdpCases => new()
    {
        { "a", "addr.example.test", "A", "NOERROR", ["addr.example.test A 300 10.1.2.3"] },
        { "aaaa", "www.example.test", "AAAA", "NOERROR", ["www.example.test AAAA 300 2001:db8::4"] },
        {
            "cname", "alias.example.test", "A", "NOERROR",
            [
                "alias.example.test CNAME 300 alias2.example.test",
                "alias2.example.test CNAME 300 www.example.test",
                "www.example.test A 300 10.1.2.4",
            ]
        },
        // The A and AAAA records of the target travel in the additional section: not answers.
        { "srv", "_http._tcp.example.test", "SRV", "NOERROR", ["_http._tcp.example.test SRV 300 10 5 8080 www.example.test"] },
        { "txt", "txt.example.test", "TXT", "NOERROR", ["txt.example.test TXT 300 \"v=spf1 -all\" \"second string\""] },
        { "ptr", "4.2.1.10.in-addr.arpa", "PTR", "NOERROR", ["4.2.1.10.in-addr.arpa PTR 300 www.example.test"] },
        {
            "https", "svc.example.test", "HTTPS", "NOERROR",
            ["svc.example.test HTTPS 300 1 . alpn=h2,h3 port=443 ipv4hint=10.1.2.3 ipv6hint=2001:db8::3"]
        },
        { "mx", "example.test", "MX", "NOERROR", ["example.test MX 300 10 mail.example.test"] },
        { "nxdomain", "nope.example.test", "A", "NXDOMAIN", [] },
        { "noedns", "www.example.test", "A", "NOERROR", ["www.example.test A 300 10.1.2.4"] },
        { "refused", "outside.invalid", "A", "REFUSED", [] },
    };

    private static byte[] Bytes(string file) => CapturedBytes.Read("dns", file);

    private static string Show(DnsAnswer a) => $"{a.Name} {a.Type} {a.Ttl} {a.Data}";

    [Theory]
    [MemberData(nameof(UdpCases))]
    public void UdpQueryAndResponse_PairIntoOneExchange(string name, string query, string qtype, string rcode, string[] answers)
    {
        byte[] q = Bytes($"udp-{name}.query.bin");
        byte[] r = Bytes($"udp-{name}.response.bin");
        var feeder = new ProtocolFeeder(DnsProtocol.Info);

        Assert.Equal(ParseStatus.Success, feeder.FeedDatagram(MessageKind.Request, q, Peer).Status);
        long sentAt = feeder.NowNs;
        Assert.Empty(feeder.Messages);
        Assert.Equal(ParseStatus.Success, feeder.FeedDatagram(MessageKind.Response, r, Peer).Status);

        var x = Assert.IsType<DnsExchange>(Assert.Single(feeder.Messages));
        output.WriteLine($"{x.Query} {x.QType} {x.Rcode}: {string.Join(" | ", x.Answers.Select(Show))}");
        Assert.Equal(query, x.Query);
        Assert.Equal(qtype, x.QType);
        Assert.Equal(rcode, x.Rcode);
        Assert.Equal(answers, x.Answers.Select(Show));
        Assert.Equal(BinaryPrimitives.ReadUInt16BigEndian(q), x.Id);
        Assert.Equal("udp", x.Transport);
        Assert.Equal(Peer, x.Peer);
        Assert.True(x.HasQuery);
        Assert.False(x.Truncated);
        Assert.Equal(sentAt, x.StartNs);
        Assert.Equal(feeder.NowNs, x.EndNs);

        feeder.Close();
        Assert.Single(feeder.Messages);
    }

    [Theory]
    [MemberData(nameof(UdpCases))]
    public void Probe_TellsQueriesFromResponses_WithAndWithoutThePortHint(string name, string query, string qtype, string rcode, string[] answers)
    {
        _ = (query, qtype, rcode, answers);
        byte[] q = Bytes($"udp-{name}.query.bin");
        byte[] r = Bytes($"udp-{name}.response.bin");
        foreach (var (local, remote) in new[] { (40000, 53), (53, 40000), (40000, 40001) })
        {
            Assert.Equal(Detection.Request, DnsProtocol.Info.Probe(q, true, local, remote));
            Assert.Equal(Detection.Response, DnsProtocol.Info.Probe(r, true, local, remote));
        }
        // The same bytes on a stream are not DNS over TCP: no length prefix, and no port 53.
        Assert.Equal(Detection.No, DnsProtocol.Info.Probe(q, false, 40000, 40001));
    }

    [Fact]
    public void Tcp_OneQueryPerConnection()
    {
        var feeder = new ProtocolFeeder(DnsProtocol.Info);
        byte[] client = Bytes("tcp-a.client.bin");
        byte[] server = Bytes("tcp-a.server.bin");
        Assert.Equal(Detection.Request, DnsProtocol.Info.Probe(client, false, 40000, 53));
        Assert.Equal(Detection.Response, DnsProtocol.Info.Probe(server, false, 53, 40000));

        feeder.Feed(MessageKind.Request, client);
        feeder.Feed(MessageKind.Response, server);

        var x = Assert.IsType<DnsExchange>(Assert.Single(feeder.Messages));
        Assert.Equal("addr.example.test", x.Query);
        Assert.Equal(["addr.example.test A 300 10.1.2.3"], x.Answers.Select(Show));
        Assert.Equal("tcp", x.Transport);
        Assert.Null(x.Peer);
        Assert.Equal([ParseStatus.Success, ParseStatus.Success], feeder.Statuses);
        Assert.Equal(0, feeder.Buffered(MessageKind.Request) + feeder.Buffered(MessageKind.Response));
    }

    [Fact]
    public void Tcp_OnAnyPort_IsDnsOnceItsFirstMessageIsWholeAndStrictlyWellFormed()
    {
        byte[] client = Bytes("tcp-a.client.bin");
        byte[] server = Bytes("tcp-a.server.bin");
        // DNS over TLS's port reads like 53's; any other port waits for the whole first message.
        Assert.Equal(Detection.Request, DnsProtocol.Info.Probe(client, false, 40000, 853));
        Assert.Equal(Detection.Request, DnsProtocol.Info.Probe(client, false, 40000, 5300));
        Assert.Equal(Detection.Response, DnsProtocol.Info.Probe(server, false, 5300, 40000));
        foreach (byte[] message in new[] { client, server })
        {
            for (int n = 0; n < message.Length; n++)
            {
                Assert.Equal(Detection.NeedMoreData, DnsProtocol.Info.Probe(message.AsSpan(0, n), false, 40000, 5300));
            }
        }
        // A message that does not end where its prefix says, or asks two questions, is not DNS there.
        byte[] longer = [.. client, 0];
        BinaryPrimitives.WriteUInt16BigEndian(longer, (ushort)(longer.Length - 2));
        Assert.Equal(Detection.Request, DnsProtocol.Info.Probe(longer, false, 40000, 53));
        Assert.Equal(Detection.No, DnsProtocol.Info.Probe(longer, false, 40000, 5300));
        byte[] two = [.. client];
        two[2 + 5] = 2;
        Assert.Equal(Detection.No, DnsProtocol.Info.Probe(two, false, 40000, 5300));
    }

    [Fact]
    public void Tcp_ThreeQueriesOnOneConnection_InOrder()
    {
        var feeder = new ProtocolFeeder(DnsProtocol.Info);
        feeder.Feed(MessageKind.Request, Bytes("tcp-multi.client.bin"));
        feeder.Feed(MessageKind.Response, Bytes("tcp-multi.server.bin"));
        AssertMulti(feeder);
    }

    [Fact]
    public void Tcp_RandomSegmentSplits_GiveTheSameExchanges()
    {
        byte[] client = Bytes("tcp-multi.client.bin");
        byte[] server = Bytes("tcp-multi.server.bin");
        var random = new Random(53);
        for (int trial = 0; trial < 200; trial++)
        {
            var feeder = new ProtocolFeeder(DnsProtocol.Info);
            feeder.FeedSplit(MessageKind.Request, client, Cuts(random, client.Length));
            feeder.FeedSplit(MessageKind.Response, server, Cuts(random, server.Length));
            AssertMulti(feeder);
            Assert.DoesNotContain(ParseStatus.Invalid, feeder.Statuses);
        }
    }

    [Fact]
    public void Tcp_EveryPrefixOfAMessage_NeedsMoreDataAndReportsNothing()
    {
        foreach (string file in new[] { "tcp-multi.client.bin", "tcp-multi.server.bin", "tcp-a.server.bin" })
        {
            foreach (byte[] message in TcpMessages(Bytes(file)))
            {
                for (int n = 0; n < message.Length; n++)
                {
                    var feeder = new ProtocolFeeder(DnsProtocol.Info);
                    var result = feeder.Parser.Parse(MessageKind.Response, message.AsSpan(0, n), new StreamContext(1, 2));
                    Assert.Equal(ParseResult.NeedMoreData(), result);
                    Assert.NotEqual(Detection.No, DnsProtocol.Info.Probe(message.AsSpan(0, n), false, 40000, 53));
                    feeder.Close();
                    Assert.Empty(feeder.Messages);
                }
            }
        }
    }

    [Fact]
    public void Tcp_ResponseCutByAGap_ResyncsOnTheNextMessage()
    {
        var messages = TcpMessages(Bytes("tcp-multi.server.bin"));
        var feeder = new ProtocolFeeder(DnsProtocol.Info);
        feeder.Feed(MessageKind.Request, Bytes("tcp-multi.client.bin"));
        // The first response's last 10 bytes are never seen.
        feeder.Feed(MessageKind.Response, messages[0].AsSpan(0, messages[0].Length - 10));
        feeder.Gap(MessageKind.Response, 10);
        feeder.Feed(MessageKind.Response, [.. messages[1], .. messages[2]]);
        feeder.Close();

        var exchanges = feeder.Of<DnsExchange>().ToList();
        Assert.Equal(3, exchanges.Count);
        Assert.Equal(["www.example.test/AAAA/NOERROR", "alias.example.test/A/NOERROR", "www.example.test/A/"],
            exchanges.Select(x => $"{x.Query}/{x.QType}/{x.Rcode}"));
    }

    private static void AssertMulti(ProtocolFeeder feeder)
    {
        var exchanges = feeder.Of<DnsExchange>().ToList();
        Assert.Equal(3, exchanges.Count);
        Assert.Equal(["www.example.test/A", "www.example.test/AAAA", "alias.example.test/A"], exchanges.Select(x => $"{x.Query}/{x.QType}"));
        Assert.Equal(["www.example.test A 300 10.1.2.4"], exchanges[0].Answers.Select(Show));
        Assert.Equal(["www.example.test AAAA 300 2001:db8::4"], exchanges[1].Answers.Select(Show));
        Assert.Equal(3, exchanges[2].Answers.Count);
        Assert.All(exchanges, x => Assert.True(x.HasQuery));
    }

    private static IEnumerable<int> Cuts(Random random, int length) =>
        Enumerable.Range(0, random.Next(1, 12)).Select(_ => random.Next(1, length));

    /// <summary>A TCP direction's stream cut into its length-prefixed messages (prefix included).</summary>
    internal static List<byte[]> TcpMessages(byte[] stream)
    {
        var messages = new List<byte[]>();
        for (int p = 0; p < stream.Length;)
        {
            int length = 2 + BinaryPrimitives.ReadUInt16BigEndian(stream.AsSpan(p));
            messages.Add(stream[p..(p + length)]);
            p += length;
        }
        return messages;
    }
}
