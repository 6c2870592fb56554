using Tattle.Protocols.Common;
using Tattle.Protocols.Dns;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.Dns;

/// <summary>The stitcher: queries meet their responses by id, peer and question, whatever order they come in.</summary>
public sealed class DnsPairingTests
{
    private const string Resolver = "127.0.0.53:53";
    private const string Other = "10.0.0.1:53";

    private static ProtocolFeeder Feeder() => new(DnsProtocol.Info);

    /// <summary>One query then one response to <paramref name="peer"/>, each in the direction given: the one exchange.</summary>
    private static DnsExchange Pair(byte[] query, byte[] response, string peer = Resolver,
        MessageKind queryKind = MessageKind.Request, MessageKind responseKind = MessageKind.Response)
    {
        var f = Feeder();
        f.FeedDatagram(queryKind, query, peer);
        f.FeedDatagram(responseKind, response, peer);
        return Assert.Single(f.Of<DnsExchange>());
    }

    [Fact]
    public void TwoInterleavedQueries_EachGetsItsOwnResponse()
    {
        var f = Feeder();
        f.FeedDatagram(MessageKind.Request, DnsWire.Query(0x1111, "a.test"), Resolver);
        long aSent = f.NowNs;
        f.FeedDatagram(MessageKind.Request, DnsWire.Query(0x2222, "b.test", DnsWire.Aaaa), Resolver);
        long bSent = f.NowNs;
        // Answers in the other order.
        f.FeedDatagram(MessageKind.Response, DnsWire.Response(0x2222, "b.test", DnsWire.Aaaa), Resolver);
        f.FeedDatagram(MessageKind.Response, DnsWire.Response(0x1111, "a.test", addresses: "10.0.0.7"), Resolver);

        var x = f.Of<DnsExchange>().ToList();
        Assert.Equal(2, x.Count);
        Assert.Equal(("b.test", "AAAA", (ushort)0x2222, bSent), (x[0].Query, x[0].QType, x[0].Id, x[0].StartNs));
        Assert.Equal(("a.test", "A", (ushort)0x1111, aSent), (x[1].Query, x[1].QType, x[1].Id, x[1].StartNs));
        Assert.Equal("10.0.0.7", x[1].Answers.Single().Data);
        Assert.True(x[1].EndNs > x[0].EndNs);
        f.Close();
        Assert.Equal(2, f.Messages.Count);
    }

    [Fact]
    public void SameIdToTwoPeers_PairsByPeer()
    {
        var f = Feeder();
        f.FeedDatagram(MessageKind.Request, DnsWire.Query(7, "a.test"), Resolver);
        f.FeedDatagram(MessageKind.Request, DnsWire.Query(7, "a.test"), Other);
        f.FeedDatagram(MessageKind.Response, DnsWire.Response(7, "a.test", addresses: "10.0.0.2"), Other);
        var x = Assert.Single(f.Of<DnsExchange>());
        Assert.Equal(Other, x.Peer);
        Assert.True(x.HasQuery);
        f.Close();
        var unanswered = f.Of<DnsExchange>().Last();
        Assert.Equal(Resolver, unanswered.Peer);
        Assert.Null(unanswered.Rcode);
    }

    [Fact]
    public void ADatagramOfUnknownPeer_PairsByIdAndQuestion_OldestFirst()
    {
        // A DNS server under --no-syscalls: the queries it receives name no sender, the answers it sends do.
        var answered = Exchanges(
            (MessageKind.Request, DnsWire.Query(7, "a.test"), null),
            (MessageKind.Request, DnsWire.Query(7, "b.test"), null),
            (MessageKind.Response, DnsWire.Response(7, "b.test", addresses: "10.0.0.2"), Other),
            (MessageKind.Response, DnsWire.Response(7, "a.test", addresses: "10.0.0.1"), Resolver));
        Assert.Equal([("b.test", Other, true), ("a.test", Resolver, true)], answered.Select(x => (x.Query, x.Peer!, x.HasQuery)));
        // A client: its queries go to a known peer, the answers it receives name none; another question is no
        // answer to a query of unknown peer either, and the second query to a.test stays unanswered.
        var client = Exchanges(
            (MessageKind.Request, DnsWire.Query(9, "a.test"), Resolver),
            (MessageKind.Request, DnsWire.Query(9, "a.test"), Other),
            (MessageKind.Response, DnsWire.Response(9, "a.test", addresses: "10.0.0.1"), null),
            (MessageKind.Response, DnsWire.Response(9, "c.test", addresses: "10.0.0.3"), null));
        Assert.Equal([("a.test", true, Resolver, "NOERROR"), ("c.test", false, null, "NOERROR"), ("a.test", true, Other, null)],
            client.Select(x => (x.Query, x.HasQuery, x.Peer, x.Rcode)));
    }

    /// <summary>The exchanges of the datagrams given, in turn, and of the socket's close.</summary>
    private static List<DnsExchange> Exchanges(params (MessageKind Kind, byte[] Datagram, string? Peer)[] datagrams)
    {
        var f = Feeder();
        foreach (var (kind, datagram, peer) in datagrams)
        {
            f.FeedDatagram(kind, datagram, peer);
        }
        f.Close();
        return [.. f.Of<DnsExchange>()];
    }

    [Fact]
    public void SameIdAndPeer_DifferentQuestions_PairByQuestion()
    {
        var f = Feeder();
        f.FeedDatagram(MessageKind.Request, DnsWire.Query(9, "a.test"), Resolver);
        f.FeedDatagram(MessageKind.Request, DnsWire.Query(9, "b.test"), Resolver);
        f.FeedDatagram(MessageKind.Response, DnsWire.Response(9, "b.test", addresses: "10.0.0.2"), Resolver);
        var x = Assert.Single(f.Of<DnsExchange>());
        Assert.Equal("b.test", x.Query);
        Assert.True(x.HasQuery);
    }

    [Fact]
    public void ResponseWhoseQuestionDiffers_IsNotTakenForTheQuery()
    {
        var f = Feeder();
        f.FeedDatagram(MessageKind.Request, DnsWire.Query(5, "a.test"), Resolver);
        f.FeedDatagram(MessageKind.Response, DnsWire.Response(5, "evil.test", addresses: "6.6.6.6"), Resolver);
        var x = Assert.Single(f.Of<DnsExchange>());
        Assert.False(x.HasQuery);
        Assert.Equal("evil.test", x.Query);
        f.Close();
        Assert.Null(f.Of<DnsExchange>().Last().Rcode);
    }

    [Fact]
    public void NameCaseDiffers_StillPairs()
    {
        // DNS 0x20: the resolver randomises case and the server echoes it; a name compares without case.
        var x = Pair(DnsWire.Query(3, "ExAmPlE.test"), DnsWire.Response(3, "example.TEST", addresses: "10.0.0.1"));
        Assert.True(x.HasQuery);
        Assert.Equal("ExAmPlE.test", x.Query);
    }

    [Fact]
    public void ResponseWithoutQuery_IsReportedAlone()
    {
        var f = Feeder();
        f.FeedDatagram(MessageKind.Response, DnsWire.Response(4, "late.test", rcode: 2), Resolver);
        var x = Assert.Single(f.Of<DnsExchange>());
        Assert.False(x.HasQuery);
        Assert.Equal(("late.test", "A", "SERVFAIL"), (x.Query, x.QType, x.Rcode));
        Assert.Equal(x.EndNs, x.StartNs);
    }

    [Fact]
    public void UnansweredQuery_IsReportedAtClose_WithNoRcode()
    {
        var f = Feeder();
        f.FeedDatagram(MessageKind.Request, DnsWire.Query(1, "silent.test"), Resolver);
        long sent = f.NowNs;
        Assert.Empty(f.Messages);
        f.Close();
        var x = Assert.IsType<DnsExchange>(Assert.Single(f.Messages));
        Assert.Null(x.Rcode);
        Assert.Empty(x.Answers);
        Assert.Equal(sent, x.StartNs);
        Assert.Equal(f.NowNs, x.EndNs);
    }

    [Fact]
    public void Retransmission_FoldsIntoTheFirstSend()
    {
        var f = Feeder();
        f.FeedDatagram(MessageKind.Request, DnsWire.Query(2, "slow.test"), Resolver);
        long first = f.NowNs;
        f.FeedDatagram(MessageKind.Request, DnsWire.Query(2, "slow.test"), Resolver);
        f.FeedDatagram(MessageKind.Response, DnsWire.Response(2, "slow.test", addresses: "10.0.0.3"), Resolver);
        f.Close();
        var x = Assert.Single(f.Of<DnsExchange>());
        Assert.Equal(first, x.StartNs);
    }

    [Fact]
    public void PendingTable_IsBounded_EvictedQueriesReportedUnanswered()
    {
        var f = Feeder();
        for (int i = 0; i < 1030; i++)
        {
            f.FeedDatagram(MessageKind.Request, DnsWire.Query((ushort)i, $"q{i}.test"), Resolver);
        }
        var evicted = f.Of<DnsExchange>().ToList();
        Assert.Equal(6, evicted.Count);
        Assert.Equal(["q0.test", "q1.test", "q2.test", "q3.test", "q4.test", "q5.test"], evicted.Select(x => x.Query));
        Assert.All(evicted, x => Assert.Null(x.Rcode));
        // The newest still pair.
        f.FeedDatagram(MessageKind.Response, DnsWire.Response(1029, "q1029.test"), Resolver);
        Assert.True(f.Of<DnsExchange>().Last().HasQuery);
        f.Close();
        Assert.Equal(1030, f.Messages.Count);
    }

    [Fact]
    public void QueryOlderThanTheTimeout_IsGivenUpWhenTheNextMessageComes()
    {
        var f = Feeder();
        f.FeedDatagram(MessageKind.Request, DnsWire.Query(1, "old.test"), Resolver);
        f.NowNs += 31_000_000_000;
        f.FeedDatagram(MessageKind.Request, DnsWire.Query(2, "new.test"), Resolver);
        var x = Assert.Single(f.Of<DnsExchange>());
        Assert.Equal("old.test", x.Query);
        Assert.Null(x.Rcode);
    }

    [Fact]
    public void TracedServer_ReceivesQueriesAndSendsResponses_PairsTheSame()
    {
        // dnsmasq traced: the query arrives from a client, the response goes back to that client.
        const string client = "127.0.0.1:41234";
        var x = Pair(CapturedBytes.Read("dns", "udp-a.query.bin"), CapturedBytes.Read("dns", "udp-a.response.bin"), client);
        Assert.True(x.HasQuery);
        Assert.Equal(client, x.Peer);
    }

    [Fact]
    public void QrBit_DecidesOverTheDirection()
    {
        // A direction mislabelled (an unconnected socket whose role was guessed): QR still tells what is what.
        var x = Pair(DnsWire.Query(8, "qr.test"), DnsWire.Response(8, "qr.test", addresses: "10.0.0.8"),
            queryKind: MessageKind.Response, responseKind: MessageKind.Request);
        Assert.True(x.HasQuery);
        Assert.Equal("NOERROR", x.Rcode);
    }

    [Fact]
    public void OtherOpcodes_AreIgnored()
    {
        // NOTIFY (opcode 4, RFC 1996): valid DNS, not a query/response pair Tattle reports.
        byte[] notify = [.. DnsWire.Header(6, 0x2000, 1, 0), .. DnsWire.Name("zone.test"), .. DnsWire.TypeClass(6)];
        var f = Feeder();
        Assert.Equal(ParseStatus.Ignored, f.FeedDatagram(MessageKind.Request, notify, Resolver).Status);
        f.Close();
        Assert.Empty(f.Messages);
    }
}
