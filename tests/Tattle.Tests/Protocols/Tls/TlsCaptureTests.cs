using Tattle.Protocols.Common;
using Tattle.Protocols.Tls;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.Tls;

/// <summary>
/// Handshakes of curl and openssl s_client with openssl s_server, captured by testdata/tls/capture.py; what the
/// clients printed is in testdata/tls/capture.log.
/// </summary>
public sealed class TlsCaptureTests(ITestOutputHelper output)
{
    // IANA TLS Cipher Suites: TLS_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384.
    private const int Aes256Gcm13 = 0x1302;
    private const int EcdheEcdsaAes256Gcm = 0xC02C;

    public static TheoryData<string, string?, string[], string, string?, int, bool> Cases => new()
    {
        // curl connects to an IP address: no SNI (RFC 6066 §3 names hosts only).
        { "curl-ip", null, ["h2", "http/1.1"], "TLS 1.3", null, Aes256Gcm13, false },
        { "curl-sni", "example.test", ["h2", "http/1.1"], "TLS 1.3", null, Aes256Gcm13, false },
        { "sclient-tls13", "example.test", ["h2", "http/1.1"], "TLS 1.3", null, Aes256Gcm13, false },
        // TLS 1.2: the chosen ALPN is in the ServerHello.
        { "sclient-tls12", "example.test", ["h2", "http/1.1"], "TLS 1.2", "h2", EcdheEcdsaAes256Gcm, false },
        { "sclient-hrr", "example.test", ["h2", "http/1.1"], "TLS 1.3", null, Aes256Gcm13, true },
        { "sclient-split", "example.test", SplitAlpn, "TLS 1.3", null, Aes256Gcm13, false },
    };

    private static string[] SplitAlpn =>
        ["h2", "http/1.1", .. Enumerable.Range(0, 12).Select(i => $"proto-{i:00}-padding-to-make-the-hello-long")];

    private static byte[] Client(string name) => CapturedBytes.Read("tls", $"{name}.client.bin");

    private static byte[] Server(string name) => CapturedBytes.Read("tls", $"{name}.server.bin");

    private static void AssertHandshake(TlsHandshake h, string? sni, string[] alpn, string version, string? chosenAlpn, int cipher, bool retry)
    {
        Assert.Equal(sni, h.Sni);
        Assert.Equal(alpn, h.OfferedAlpn);
        Assert.Equal("TLS 1.3", h.ClientVersion);
        Assert.Equal(version, h.Version);
        Assert.Equal(chosenAlpn, h.Alpn);
        Assert.Equal((ushort)cipher, h.CipherSuite);
        Assert.Equal(retry, h.HelloRetry);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void WholeConversation_ReportsOneHandshake_ThenEndsTheStream(string name, string? sni, string[] alpn, string version, string? chosenAlpn, int cipher, bool retry)
    {
        var f = new ProtocolFeeder(TlsProtocol.Info);
        f.Feed(MessageKind.Request, Client(name));
        long clientAt = f.NowNs;
        Assert.Empty(f.Messages);
        Assert.Equal(ParseStatus.Success, f.Statuses[0]);
        f.Feed(MessageKind.Response, Server(name));

        var h = Assert.IsType<TlsHandshake>(Assert.Single(f.Messages));
        output.WriteLine($"{h.Sni} [{string.Join(",", h.OfferedAlpn)}] {h.ClientVersion} -> {h.Version} {h.Alpn} 0x{h.CipherSuite:X4} retry={h.HelloRetry}");
        AssertHandshake(h, sni, alpn, version, chosenAlpn, cipher, retry);
        Assert.Equal(clientAt, h.StartNs);
        Assert.Equal(f.NowNs, h.EndNs);
        Assert.True(f.Stopped);
        Assert.Equal(ParseStatus.EndOfStream, f.Statuses[^1]);
        Assert.Equal(ParseResult.EndOfStream(0), f.Parser.Parse(MessageKind.Request, new byte[] { 23, 3, 3, 0, 1, 0 }, new StreamContext(1, 2)));
        f.Close();
        Assert.Single(f.Messages);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Probe_ClientHelloIsRequest_ServerHelloIsResponse(string name, string? sni, string[] alpn, string version, string? chosenAlpn, int cipher, bool retry)
    {
        _ = (sni, alpn, version, chosenAlpn, cipher, retry);
        Assert.Equal(Detection.Request, TlsProtocol.Info.Probe(Client(name), false, 40000, 443));
        Assert.Equal(Detection.Response, TlsProtocol.Info.Probe(Server(name), false, 443, 40000));
        Assert.Equal(Detection.Request, TlsProtocol.Info.Probe(Client(name).AsSpan(0, 6), false, 0, 0));
        for (int n = 0; n < 6; n++)
        {
            Assert.Equal(Detection.NeedMoreData, TlsProtocol.Info.Probe(Client(name).AsSpan(0, n), false, 0, 0));
        }
        Assert.Equal(Detection.No, TlsProtocol.Info.Probe(Client(name), true, 40000, 443));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void RandomSegmentSplits_GiveTheSameHandshake(string name, string? sni, string[] alpn, string version, string? chosenAlpn, int cipher, bool retry)
    {
        var random = new Random(443);
        byte[] client = Client(name);
        byte[] server = Server(name);
        for (int trial = 0; trial < 100; trial++)
        {
            var f = new ProtocolFeeder(TlsProtocol.Info);
            f.FeedSplit(MessageKind.Request, client, Enumerable.Range(0, random.Next(1, 20)).Select(_ => random.Next(1, client.Length)));
            f.FeedSplit(MessageKind.Response, server, Enumerable.Range(0, random.Next(1, 20)).Select(_ => random.Next(1, server.Length)));
            AssertHandshake(Assert.IsType<TlsHandshake>(Assert.Single(f.Messages)), sni, alpn, version, chosenAlpn, cipher, retry);
            Assert.DoesNotContain(ParseStatus.Invalid, f.Statuses);
        }
    }

    [Fact]
    public void EveryPrefixOfTheHellos_NeedsMoreDataAndReportsNothing()
    {
        foreach (string name in new[] { "curl-sni", "sclient-split", "sclient-tls12" })
        {
            // The ClientHello records (two for sclient-split).
            int helloRecords = name == "sclient-split" ? 2 : 1;
            byte[] clientHello = [.. TlsWire.Records(Client(name), helloRecords).SelectMany(r => r)];
            for (int n = 0; n < clientHello.Length; n++)
            {
                var f = new ProtocolFeeder(TlsProtocol.Info);
                f.Feed(MessageKind.Request, clientHello.AsSpan(0, n));
                Assert.All(f.Statuses, s => Assert.Equal(ParseStatus.NeedMoreData, s));
                f.Close();
                Assert.Empty(f.Messages);
            }
            byte[] serverHello = TlsWire.Records(Server(name), 1)[0];
            for (int n = 1; n < serverHello.Length; n++)
            {
                var f = new ProtocolFeeder(TlsProtocol.Info);
                f.Feed(MessageKind.Request, clientHello);
                f.Feed(MessageKind.Response, serverHello.AsSpan(0, n));
                Assert.Equal(ParseStatus.NeedMoreData, f.Statuses[^1]);
                Assert.Empty(f.Messages);
            }
        }
    }

    [Fact]
    public void ClientHelloSpanningTwoRecords_Captured()
    {
        var records = TlsWire.Records(Client("sclient-split"), 2);
        Assert.Equal(512 + 5, records[0].Length);
        var f = new ProtocolFeeder(TlsProtocol.Info);
        f.Feed(MessageKind.Request, records[0]);
        Assert.Equal([ParseStatus.NeedMoreData], f.Statuses);
        Assert.Equal(0, f.Buffered(MessageKind.Request));
        f.Feed(MessageKind.Request, records[1]);
        Assert.Equal(ParseStatus.Success, f.Statuses[^1]);
        f.Close();
        var h = Assert.IsType<TlsHandshake>(Assert.Single(f.Messages));
        Assert.Equal(SplitAlpn, h.OfferedAlpn);
        Assert.Null(h.Version);
    }

    [Fact]
    public void ClientHelloRewrappedIntoTwoRecords_AtEveryCut_GivesTheSameOffer()
    {
        // curl's ClientHello in two records cut anywhere, the 4-byte handshake header included.
        byte[] hello = TlsWire.FirstMessage(Client("curl-sni"));
        for (int cut = 1; cut < hello.Length; cut++)
        {
            var f = new ProtocolFeeder(TlsProtocol.Info);
            f.Feed(MessageKind.Request, [.. TlsWire.Record(22, hello[..cut], 0x0301), .. TlsWire.Record(22, hello[cut..], 0x0301)]);
            f.Close();
            var h = Assert.IsType<TlsHandshake>(Assert.Single(f.Messages));
            Assert.Equal(("example.test", "TLS 1.3"), (h.Sni, h.ClientVersion));
            Assert.Equal(["h2", "http/1.1"], h.OfferedAlpn);
        }
    }

    [Fact]
    public void HelloRetryRequest_IsNotTheAnswer_TheServerHelloAfterItIs()
    {
        var serverRecords = TlsWire.Records(Server("sclient-hrr"), 3);
        var f = new ProtocolFeeder(TlsProtocol.Info);
        f.Feed(MessageKind.Request, TlsWire.Records(Client("sclient-hrr"), 1)[0]);
        f.Feed(MessageKind.Response, serverRecords[0]);
        Assert.Equal(ParseStatus.Success, f.Statuses[^1]);
        Assert.Empty(f.Messages);
        // The middlebox-compatibility ChangeCipherSpec (RFC 8446 §D.4), then the client's second hello.
        f.Feed(MessageKind.Response, serverRecords[1]);
        Assert.Equal(ParseStatus.Ignored, f.Statuses[^1]);
        f.Feed(MessageKind.Request, Client("sclient-hrr")[(5 + 315)..]);
        Assert.Empty(f.Messages);
        f.Feed(MessageKind.Response, serverRecords[2]);
        var h = Assert.IsType<TlsHandshake>(Assert.Single(f.Messages));
        Assert.True(h.HelloRetry);
        Assert.Equal("TLS 1.3", h.Version);
    }

    [Fact]
    public void NoServerHello_ReportsTheClientSideAtClose()
    {
        var f = new ProtocolFeeder(TlsProtocol.Info);
        f.Feed(MessageKind.Request, Client("sclient-tls13"));
        Assert.Empty(f.Messages);
        f.Close();
        var h = Assert.IsType<TlsHandshake>(Assert.Single(f.Messages));
        Assert.Equal(("example.test", "TLS 1.3"), (h.Sni, h.ClientVersion));
        Assert.Null(h.Version);
        Assert.Null(h.CipherSuite);
        Assert.Equal(f.NowNs, h.EndNs);
    }

    [Fact]
    public void TracedServer_SeesTheSameHandshake()
    {
        // A traced server receives the ClientHello and sends the ServerHello: the same directions.
        var f = new ProtocolFeeder(TlsProtocol.Info);
        f.Feed(MessageKind.Request, TlsWire.Records(Client("sclient-tls12"), 1)[0]);
        f.Feed(MessageKind.Response, Server("sclient-tls12"));
        var h = Assert.IsType<TlsHandshake>(Assert.Single(f.Messages));
        Assert.Equal(("TLS 1.2", "h2"), (h.Version, h.Alpn));
        Assert.True(f.Stopped);
    }

    [Fact]
    public void ServerHelloWithoutAClientHello_IsReportedWithTheServerSide()
    {
        // Tracing began after the ClientHello left.
        var f = new ProtocolFeeder(TlsProtocol.Info);
        f.Feed(MessageKind.Response, Server("curl-ip"));
        var h = Assert.IsType<TlsHandshake>(Assert.Single(f.Messages));
        Assert.Null(h.ClientVersion);
        Assert.Equal("TLS 1.3", h.Version);
    }
}
