using System.Net;
using Tattle.Protocols.Common;
using Tattle.Protocols.Dns;
using Tattle.Sandbox;
using Tattle.Sandbox.FakeDns;
using Tattle.Tests.Protocols.Support;
using Tattle.Tests.Support;

namespace Tattle.Tests.Sandbox;

/// <summary>--offline's fake resolver, fed dig's real queries (testdata/dns) and asked by the real dig.</summary>
public class FakeDnsTests(ITestOutputHelper output)
{
    private static DnsExchange Exchange(byte[] query, byte[] response)
    {
        var feeder = new ProtocolFeeder(DnsProtocol.Info);
        Assert.Equal(ParseStatus.Success, feeder.FeedDatagram(MessageKind.Request, query, "10.200.0.1:53").Status);
        Assert.Equal(ParseStatus.Success, feeder.FeedDatagram(MessageKind.Response, response, "10.200.0.1:53").Status);
        return Assert.IsType<DnsExchange>(Assert.Single(feeder.Messages));
    }

    private static byte[] Answer(FakeDnsAnswers answers, byte[] query)
    {
        var buffer = new byte[512];
        int n = answers.Answer(query, buffer);
        Assert.True(n > 0);
        return buffer[..n];
    }

    [Fact]
    public void AQuery_WithEdns_GetsAnAddressOfTheBenchmarkRange_ParsedByTattlesOwnDnsParser()
    {
        var answers = new FakeDnsAnswers();
        byte[] query = CapturedBytes.Read("dns", "udp-a.query.bin"); // dig addr.example.test A, with EDNS and a cookie
        byte[] response = Answer(answers, query);
        var x = Exchange(query, response);
        Assert.Equal("addr.example.test", x.Query);
        Assert.Equal("NOERROR", x.Rcode);
        var a = Assert.Single(x.Answers);
        Assert.Equal(("addr.example.test", "A", 60u, "198.18.0.1"), (a.Name, a.Type, a.Ttl, a.Data));
        // The id is echoed, QR and RA set, RD copied; one question, one answer, no EDNS echoed.
        Assert.Equal(query[..2], response[..2]);
        Assert.Equal(0x81, response[2] & 0x81);
        Assert.Equal(0x80, response[3] & 0x80);
        Assert.Equal(new byte[] { 0, 1, 0, 1, 0, 0, 0, 0 }, response[4..12]);
    }

    [Fact]
    public void SameName_SameAddress_NewName_NextAddress_OtherTypes_NoData()
    {
        var answers = new FakeDnsAnswers();
        byte[] a = CapturedBytes.Read("dns", "udp-a.query.bin");
        byte[] noedns = CapturedBytes.Read("dns", "udp-noedns.query.bin"); // www.example.test A
        byte[] aaaa = CapturedBytes.Read("dns", "udp-aaaa.query.bin");    // www.example.test AAAA
        Assert.Equal("198.18.0.1", Exchange(a, Answer(answers, a)).Answers[0].Data);
        Assert.Equal("198.18.0.2", Exchange(noedns, Answer(answers, noedns)).Answers[0].Data);
        Assert.Equal("198.18.0.1", Exchange(a, Answer(answers, a)).Answers[0].Data);
        var x = Exchange(aaaa, Answer(answers, aaaa));
        Assert.Equal(("AAAA", "NOERROR"), (x.QType, x.Rcode));
        Assert.Empty(x.Answers);
        Assert.Equal(new Dictionary<IPAddress, string>
        {
            [IPAddress.Parse("198.18.0.1")] = "addr.example.test",
            [IPAddress.Parse("198.18.0.2")] = "www.example.test",
        }, answers.Names);
    }

    [Fact]
    public void Responses_AndGarbage_AreNotAnswered_ACutQuestionIsAFormatError()
    {
        var answers = new FakeDnsAnswers();
        var buffer = new byte[512];
        Assert.Equal(0, answers.Answer(CapturedBytes.Read("dns", "udp-a.response.bin"), buffer));
        Assert.Equal(0, answers.Answer([1, 2, 3], buffer));
        byte[] query = CapturedBytes.Read("dns", "udp-a.query.bin");
        int n = answers.Answer(query[..20], buffer);
        Assert.Equal(12, n);
        Assert.Equal(1, buffer[3] & 0xF); // FORMERR, no question echoed
        Assert.Empty(answers.Names);
    }

    [SkippableFact]
    public void Dig_AsksTheServer_AndGetsTheFakeAddress()
    {
        Requires.Program(output, "dig");
        using var server = FakeDnsServer.Start(new IPEndPoint(IPAddress.Loopback, 0));
        var (exit, stdout, stderr) = Programs.Run("dig", "@127.0.0.1", "-p", server.Endpoint.Port.ToString(), "+short", "+tries=1", "+time=2", "api.example.test", "A");
        Assert.True(exit == 0, stderr);
        Assert.Equal("198.18.0.1", stdout.Trim());
        (exit, stdout, _) = Programs.Run("dig", "@127.0.0.1", "-p", server.Endpoint.Port.ToString(), "+tries=1", "+time=2", "api.example.test", "MX");
        Assert.Equal(0, exit);
        Assert.Contains("status: NOERROR", stdout);
        Assert.Contains("ANSWER: 0", stdout);
    }

    [Fact]
    public void PastTheCapacity_TheLeastRecentlyAskedNameGivesItsAddressUp_AndIsCounted()
    {
        var answers = new FakeDnsAnswers(capacity: 3);
        Assert.Equal("198.18.0.1", answers.AddressOf("a.test").ToString());
        Assert.Equal("198.18.0.2", answers.AddressOf("b.test").ToString());
        Assert.Equal("198.18.0.3", answers.AddressOf("c.test").ToString());
        Assert.Equal("198.18.0.1", answers.AddressOf("A.test.").ToString()); // asked again: now the most recent
        Assert.Equal(0, answers.Recycled);
        Assert.Equal("198.18.0.2", answers.AddressOf("d.test").ToString()); // b was asked least recently
        Assert.Equal(1, answers.Recycled);
        Assert.Equal(new Dictionary<IPAddress, string>
        {
            [IPAddress.Parse("198.18.0.1")] = "a.test",
            [IPAddress.Parse("198.18.0.2")] = "d.test",
            [IPAddress.Parse("198.18.0.3")] = "c.test",
        }, answers.Names);
        Assert.Equal("198.18.0.3", answers.AddressOf("b.test").ToString()); // b comes back: c is the oldest now
        Assert.Equal(2, answers.Recycled);
    }

    [Fact]
    public void MoreNamesThanTheRangeHolds_EveryAnswerStaysInTheRange_TheTableStaysBounded()
    {
        var answers = new FakeDnsAnswers();
        Assert.Equal(131070, FakeDnsAnswers.Capacity);
        int names = FakeDnsAnswers.Capacity + 1000;
        for (int i = 0; i < names; i++)
        {
            var address = answers.AddressOf($"n{i}.test");
            Assert.True(FakeDnsAnswers.Range.Contains(address), $"{address} for name {i}");
            Assert.NotEqual(FakeDnsAnswers.Range.Host(0), address);
            Assert.NotEqual(Ipv4Cidr.ToAddress(FakeDnsAnswers.Range.Last), address);
        }
        Assert.Equal(1000, answers.Recycled);
        Assert.Equal(FakeDnsAnswers.Capacity, answers.Names.Count);
        // The first names were recycled, in order: name 0's address went to the first name past the capacity.
        Assert.Equal($"n{FakeDnsAnswers.Capacity}.test", answers.Names[IPAddress.Parse("198.18.0.1")]);
    }
}
