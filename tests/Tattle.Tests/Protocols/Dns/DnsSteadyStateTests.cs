using Tattle.Protocols.Common;
using Tattle.Protocols.Dns;
using Tattle.Tests.Protocols.Support;
using Tattle.Tests.Support;

namespace Tattle.Tests.Protocols.Dns;

/// <summary>A program that repeats its lookups, as every one does: what each one costs, and that it is right.</summary>
public sealed class DnsSteadyStateTests
{
    private const string Peer = "127.0.0.1:53";

    private static byte[] Bytes(string file) => CapturedBytes.Read("dns", file);

    private static string Show(DnsExchange x) =>
        $"{x.Id} {x.Query} {x.QType} {x.Rcode} {x.Transport} {x.Peer} {x.HasQuery} {x.Truncated} {x.StartNs} {x.EndNs}: "
        + string.Join(" | ", x.Answers.Select(a => $"{a.Name} {a.Type} {a.Ttl} {a.Data}"));

    [Fact]
    public void AProgramRepeatingItsLookups_AllocatesNothingPerExchange()
    {
        // dig's lookups against dnsmasq, in turn on one socket: an A, an AAAA (getaddrinfo asks both) and a CNAME
        // chain (two CNAMEs and an A).
        var dns = new SteadyState(DnsProtocol.Info, context: new StreamContext(1, 2, Datagram: true, Peer: Peer));
        string[] names = ["a", "aaaa", "cname"];
        byte[][] queries = [.. names.Select(n => Bytes($"udp-{n}.query.bin"))];
        byte[][] responses = [.. names.Select(n => Bytes($"udp-{n}.response.bin"))];
        long allocated = Allocations.InSteadyState(Exchange, out int next);

        Assert.Equal(next, dns.Count);
        var last = Assert.IsType<DnsExchange>(dns.Last);
        (string, string, int, string)[] expected =
        [
            ("addr.example.test", "A", 1, "10.1.2.3"), ("www.example.test", "AAAA", 1, "2001:db8::4"), ("alias.example.test", "A", 3, "10.1.2.4"),
        ];
        Assert.Equal(expected[(next - 1) % 3], (last.Query, last.QType, last.Answers.Count, last.Answers[^1].Data));
        Assert.Equal(("NOERROR", true), (last.Rcode, last.HasQuery));
        Assert.Equal(0, allocated);

        void Exchange(int i)
        {
            dns.Feed(MessageKind.Request, queries[i % 3]);
            dns.Feed(MessageKind.Response, responses[i % 3]);
        }
    }

    [Fact]
    public void EveryCaptureGivesTheSameExchanges_RefilledOrKept()
    {
        string[] names = ["a", "aaaa", "cname", "srv", "txt", "ptr", "https", "mx", "nxdomain", "noedns", "refused"];
        var refilled = new ProtocolFeeder(DnsProtocol.Info);
        var kept = new ProtocolFeeder(DnsProtocol.Info, consumesAtOnce: false);
        foreach (var feeder in new[] { refilled, kept })
        {
            // Each lookup twice, and one query left unanswered for the close to report.
            foreach (string name in names.Concat(names))
            {
                feeder.FeedDatagram(MessageKind.Request, Bytes($"udp-{name}.query.bin"), Peer);
                feeder.FeedDatagram(MessageKind.Response, Bytes($"udp-{name}.response.bin"), Peer);
            }
            feeder.FeedDatagram(MessageKind.Request, Bytes("udp-a.query.bin"), Peer);
            feeder.Parser.OnClose(feeder.NowNs);
        }
        Assert.Equal(2 * names.Length + 1, refilled.Messages.Count);
        Assert.Equal(kept.Of<DnsExchange>().Select(Show), refilled.Of<DnsExchange>().Select(Show));
        Assert.Null(refilled.Of<DnsExchange>().Last().Rcode);
    }

    [Fact]
    public void AResponseLikeTheLast_SharesItsAnswers_AndOneThatDiffers_LeavesThemAsTheyWere()
    {
        var f = new ProtocolFeeder(DnsProtocol.Info);
        foreach (byte[] response in new[]
        {
            DnsWire.Response(1, "a.test", addresses: ["10.0.0.1", "10.0.0.2"]),
            DnsWire.Response(2, "a.test", addresses: ["10.0.0.1", "10.0.0.2"]),
            DnsWire.Response(3, "a.test", addresses: ["10.0.0.1", "10.0.0.3"]),
        })
        {
            f.FeedDatagram(MessageKind.Request, DnsWire.Query(DnsWire.Id(response), "a.test"), Peer);
            f.FeedDatagram(MessageKind.Response, response, Peer);
        }
        var x = f.Of<DnsExchange>().ToList();
        Assert.Same(x[0].Answers, x[1].Answers); // the same answers again: one list no one changes
        Assert.NotSame(x[1].Answers, x[2].Answers);
        Assert.Same(x[1].Answers[0], x[2].Answers[0]); // the answer both have is one object
        Assert.Equal(["10.0.0.1", "10.0.0.2"], x[1].Answers.Select(a => a.Data));
        Assert.Equal(["10.0.0.1", "10.0.0.3"], x[2].Answers.Select(a => a.Data));
    }

    [Fact]
    public void AResponseCutBeforeItsFirstAnswer_HasNone_AndTheNextIsReadWhole()
    {
        var f = new ProtocolFeeder(DnsProtocol.Info);
        byte[] query = Bytes("udp-a.query.bin"), response = Bytes("udp-a.response.bin");
        // The header and question of addr.example.test are 35 bytes: the snap length cut 3 bytes into the answer.
        foreach (byte[] r in new[] { response[..38], response, response[..38] })
        {
            f.FeedDatagram(MessageKind.Request, query, Peer);
            Assert.Equal(ParseStatus.Success, f.FeedDatagram(MessageKind.Response, r, Peer).Status);
        }
        var x = f.Of<DnsExchange>().ToList();
        Assert.Equal([true, false, true], x.Select(e => e.Truncated));
        Assert.Equal([0, 1, 0], x.Select(e => e.Answers.Count));
        Assert.Equal("10.1.2.3", x[1].Answers[0].Data);
    }

    [Fact]
    public void ARefilledRecord_IsTheRecordANewOneWouldBe()
    {
        var f = new ProtocolFeeder(DnsProtocol.Info);
        f.FeedDatagram(MessageKind.Request, Bytes("udp-cname.query.bin"), Peer);
        f.FeedDatagram(MessageKind.Response, Bytes("udp-cname.response.bin"), Peer);
        f.FeedDatagram(MessageKind.Request, Bytes("udp-nxdomain.query.bin"), Peer);
        f.FeedDatagram(MessageKind.Response, Bytes("udp-nxdomain.response.bin"), Peer);
        f.FeedDatagram(MessageKind.Request, Bytes("udp-a.query.bin"), Peer);
        f.Parser.OnClose(f.NowNs);
        var x = f.Of<DnsExchange>().ToList();

        var nx = RecordRefill.AssertEqualsNew<DnsRecord>(x[1], x[0].ToRecord(new FixedMessageContext()));
        Assert.Equal(("nope.example.test", "NXDOMAIN", "NXDOMAIN", 0), (nx.Query, nx.Rcode, nx.ErrorType, nx.Answers.Count));
        var cname = RecordRefill.AssertEqualsNew<DnsRecord>(x[0], nx);
        Assert.Equal(("alias.example.test", "NOERROR", 3, "udp"), (cname.Query, cname.Rcode, cname.Answers.Count, cname.Transport));
        Assert.Equal(new Tattle.Records.Endpoint(Peer, null), cname.Remote);
        var unanswered = RecordRefill.AssertEqualsNew<DnsRecord>(x[2], cname);
        Assert.Equal(("addr.example.test", null, null), (unanswered.Query, unanswered.Rcode, unanswered.LatencyMs));
        Assert.Empty(unanswered.Answers);
    }
}
