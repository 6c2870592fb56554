using FsCheck;
using FsCheck.Fluent;
using Tattle.Protocols.Common;
using Tattle.Protocols.Tls;
using Tattle.Tests.Protocols.Dns;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.Tls;

/// <summary>Synthetic hellos (GREASE, old versions), records that are not hellos, malformed and random input.</summary>
public sealed class TlsRobustnessTests
{
    private static readonly string[] CapturedFiles =
        Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "testdata", "tls"), "*.bin").Order().ToArray();

    private static TlsHandshake Handshake(byte[] clientHello, byte[]? serverHello = null)
    {
        var f = new ProtocolFeeder(TlsProtocol.Info);
        f.Feed(MessageKind.Request, TlsWire.Record(22, clientHello, 0x0301));
        if (serverHello is not null)
        {
            f.Feed(MessageKind.Response, TlsWire.Record(22, serverHello));
        }
        f.Close();
        return Assert.IsType<TlsHandshake>(Assert.Single(f.Messages));
    }

    [Fact]
    public void Grease_IsSkipped_TheHighestRealVersionWins()
    {
        var h = Handshake(TlsWire.ClientHello(versions: [0x3A3A, 0x0303, 0x0304, 0xFAFA]));
        Assert.Equal("TLS 1.3", h.ClientVersion);
        Assert.True(TlsHello.IsGrease(0x0A0A));
        Assert.True(TlsHello.IsGrease(0xFAFA));
        Assert.False(TlsHello.IsGrease(0x0A1A));
        Assert.False(TlsHello.IsGrease(0x0304));
    }

    [Fact]
    public void WithoutSupportedVersions_TheLegacyVersionCounts()
    {
        var h = Handshake(TlsWire.ClientHello(legacy: 0x0301), TlsWire.ServerHello(0x002F, legacy: 0x0301));
        Assert.Equal(("TLS 1.0", "TLS 1.0", (ushort?)0x002F), (h.ClientVersion, h.Version, h.CipherSuite));
        Assert.Equal("SSL 3.0", TlsHello.VersionName(0x0300));
        Assert.Equal("TLS 1.1", TlsHello.VersionName(0x0302));
        Assert.Equal("0x7F1C", TlsHello.VersionName(0x7F1C));
    }

    [Fact]
    public void OldClientHelloWithoutExtensions_IsRead()
    {
        // Before TLS 1.2 the extensions block could be absent (RFC 5246 §7.4.1.2).
        byte[] body = [3, 1, .. new byte[32], 0, 0, 2, 0, 0x2F, 1, 0];
        var h = Handshake(TlsWire.Message(1, body));
        Assert.Equal("TLS 1.0", h.ClientVersion);
        Assert.Null(h.Sni);
        Assert.Empty(h.OfferedAlpn);
    }

    [Fact]
    public void SniWithOddBytes_IsEscaped()
    {
        var h = Handshake(TlsWire.ClientHello(sni: "a\u0001b\\c"));
        Assert.Equal("a\\x01b\\\\c", h.Sni);
    }

    [Fact]
    public void MalformedExtensionBody_CostsThatFieldOnly()
    {
        // ALPN whose inner list length overruns: no ALPN, the SNI still read.
        byte[] sni = TlsWire.Extension(0, TlsWire.Vector16([0, .. TlsWire.Vector16("x.test"u8.ToArray())]));
        byte[] alpn = TlsWire.Extension(16, [0, 9, 2, (byte)'h', (byte)'2']);
        byte[] body = [3, 3, .. new byte[32], 0, 0, 2, 0x13, 1, 1, 0, .. TlsWire.Vector16([.. sni, .. alpn])];
        var h = Handshake(TlsWire.Message(1, body));
        Assert.Equal("x.test", h.Sni);
        Assert.Empty(h.OfferedAlpn);
    }

    [Fact]
    public void BrokenHelloFraming_IsGivenUp_WithoutReport()
    {
        // The extensions block claims more bytes than the message has.
        byte[] body = [3, 3, .. new byte[32], 0, 0, 2, 0x13, 1, 1, 0, 0x10, 0];
        var f = new ProtocolFeeder(TlsProtocol.Info);
        f.Feed(MessageKind.Request, TlsWire.Record(22, TlsWire.Message(1, body)));
        Assert.Equal([ParseStatus.Ignored], f.Statuses);
        f.Close();
        Assert.Empty(f.Messages);
    }

    [Fact]
    public void RecordsBeforeTheServerHello_AreIgnoredWhole()
    {
        // 0-RTT application data after the ClientHello; an alert from the server.
        var f = new ProtocolFeeder(TlsProtocol.Info);
        f.Feed(MessageKind.Request, [.. TlsWire.Record(22, TlsWire.ClientHello(sni: "e.test")), .. TlsWire.Record(23, new byte[300])]);
        Assert.Equal([ParseStatus.Success, ParseStatus.Ignored], f.Statuses);
        f.Feed(MessageKind.Response, TlsWire.Record(21, [2, 40]));
        Assert.Equal(ParseStatus.Ignored, f.Statuses[^1]);
        Assert.Equal(0, f.Buffered(MessageKind.Request) + f.Buffered(MessageKind.Response));
        f.Close();
        Assert.Equal("e.test", Assert.IsType<TlsHandshake>(Assert.Single(f.Messages)).Sni);
    }

    [Fact]
    public void Tls12ServerFlight_InOneRecord_StopsAtTheServerHello()
    {
        // ServerHello, Certificate and ServerHelloDone in one record.
        byte[] flight = [.. TlsWire.ServerHello(0xC02F, alpn: "http/1.1"), .. TlsWire.Message(11, new byte[50]), .. TlsWire.Message(14, [])];
        var h = Handshake(TlsWire.ClientHello(alpn: ["http/1.1"]), flight);
        Assert.Equal(("TLS 1.2", "http/1.1", (ushort?)0xC02F), (h.Version, h.Alpn, h.CipherSuite));
    }

    [Fact]
    public void Sslv2CompatibleClientHello_IsNotRecognised()
    {
        // RFC 5246 Appendix E.2: a 2-byte header with the top bit set, then msg_type 1.
        byte[] v2 = [0x80, 0x2E, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10, .. new byte[37]];
        Assert.Equal(Detection.No, TlsProtocol.Info.Probe(v2, false, 40000, 443));
        var f = new ProtocolFeeder(TlsProtocol.Info);
        f.Feed(MessageKind.Request, v2);
        Assert.Equal(ParseStatus.Invalid, f.Statuses[0]);
        Assert.Equal(v2.Length, f.DroppedBytes);
    }

    [Fact]
    public void Probe_RejectsWhatIsNotAHello()
    {
        byte[] http = "GET / HTTP/1.1\r\n\r\n"u8.ToArray();
        Assert.Equal(Detection.No, TlsProtocol.Info.Probe(http, false, 40000, 443));
        // Application data, a Certificate first, a wrong record version, a 3-byte "hello".
        Assert.Equal(Detection.No, TlsProtocol.Info.Probe([23, 3, 3, 0, 10, 1], false, 0, 0));
        Assert.Equal(Detection.No, TlsProtocol.Info.Probe([22, 3, 3, 0, 10, 11], false, 0, 0));
        Assert.Equal(Detection.No, TlsProtocol.Info.Probe([22, 3, 9, 0, 10, 1], false, 0, 0));
        Assert.Equal(Detection.No, TlsProtocol.Info.Probe([22, 3, 1, 0, 7, 1, 0, 0, 3, 3, 3], false, 0, 0));
        Assert.Equal(Detection.No, TlsProtocol.Info.Probe([22, 3, 1, 0, 0, 1], false, 0, 0));
    }

    [Fact]
    public void OversizedHandshakeMessage_IsGivenUp()
    {
        // A handshake header announcing 16 MiB - 1: never buffered.
        var f = new ProtocolFeeder(TlsProtocol.Info);
        f.Feed(MessageKind.Request, TlsWire.Record(22, [1, 0xFF, 0xFF, 0xFF, 3, 3]));
        Assert.Equal([ParseStatus.Ignored], f.Statuses);
        f.Close();
        Assert.Empty(f.Messages);
    }

    [Fact]
    public void GapInsideTheClientHello_ResyncsOnTheNextRecord()
    {
        byte[] client = CapturedBytes.Read("tls", "sclient-split.client.bin");
        var records = TlsWire.Records(client, 3);
        var f = new ProtocolFeeder(TlsProtocol.Info);
        f.Feed(MessageKind.Request, records[0]);
        f.Feed(MessageKind.Request, records[1].AsSpan(0, 100));
        f.Gap(MessageKind.Request, records[1].Length - 100);
        // The ChangeCipherSpec record after the gap is found and skipped; the ClientHello is lost.
        f.Feed(MessageKind.Request, records[2]);
        Assert.Equal(ParseStatus.Ignored, f.Statuses[^1]);
        f.Close();
        Assert.Empty(f.Messages);
    }

    [Fact]
    public void FindFrameBoundary_FindsTheNextRecordHeader()
    {
        var parser = TlsProtocol.Info.Create(ParserOptions.Default, new NullSink());
        byte[] data = [0x00, 0xFF, 0x16, 0x03, 0x03, 0x00, 0x10, 0x01];
        Assert.Equal(2, parser.FindFrameBoundary(MessageKind.Request, data));
        Assert.Equal(-1, parser.FindFrameBoundary(MessageKind.Request, [0x00, 0x03, 0x18, 0x16, 0x04]));
        // A header cut at the end is kept for the next bytes.
        Assert.Equal(2, parser.FindFrameBoundary(MessageKind.Request, [0x00, 0x00, 0x17, 0x03]));
        // A record longer than 2^14 + 2048 is not one.
        Assert.Equal(-1, parser.FindFrameBoundary(MessageKind.Request, [0x17, 0x03, 0x03, 0x48, 0x01]));
    }

    [Fact]
    public void AnyBytes_InAnySplit_NeverThrow()
    {
        Prop.ForAll<byte[], int[]>((bytes, cuts) =>
        {
            bytes ??= [];
            var f = new ProtocolFeeder(TlsProtocol.Info);
            f.FeedSplit(MessageKind.Request, bytes, (cuts ?? []).Select(c => (int)((uint)c % (uint)(bytes.Length + 1))));
            f.Feed(MessageKind.Response, bytes);
            f.Close();
            _ = TlsProtocol.Info.Probe(bytes, false, 0, 0);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void MutatedCapturedHandshakes_NeverThrow()
    {
        Prop.ForAll<int, int[], byte[]>((which, positions, values) =>
        {
            string file = Path.GetFileName(CapturedFiles[(int)((uint)which % (uint)CapturedFiles.Length)]);
            // The hellos are in the first kilobyte: mutate there, where the parser still reads.
            byte[] head = CapturedBytes.Read("tls", file);
            byte[] m = DnsRobustnessTests.Mutate(head[..Math.Min(head.Length, 1024)], positions, values);
            var f = new ProtocolFeeder(TlsProtocol.Info);
            f.Feed(MessageKind.Request, m);
            f.Feed(MessageKind.Response, m);
            f.Close();
            _ = TlsProtocol.Info.Probe(m, false, 0, 0);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(3000));
    }

    private sealed class NullSink : Tattle.Protocols.Common.IMessageSink
    {
        public void OnMessage(ProtocolMessage message)
        {
        }
    }
}
