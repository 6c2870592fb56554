using Tattle.Protocols.Common;
using Tattle.Protocols.Dns;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.Dns;

/// <summary>RDATA as text for the types dnsmasq was not asked for, and the RFC 3597 form for the rest.</summary>
public sealed class DnsRecordDataTests
{
    private static DnsAnswer Answer(ushort type, byte[] rdata, string name = "x.test")
    {
        var f = new ProtocolFeeder(DnsProtocol.Info);
        Assert.Equal(ParseStatus.Success, f.FeedDatagram(MessageKind.Response, DnsWire.ResponseWith(type, rdata, name), "127.0.0.1:53").Status);
        return f.Of<DnsExchange>().Single().Answers.Single();
    }

    private static byte[] U16(int v) => [(byte)(v >> 8), (byte)v];

    private static byte[] U32(uint v) => [(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v];

    [Fact]
    public void Soa()
    {
        byte[] rdata = [.. DnsWire.Name("ns.x.test"), .. DnsWire.Name("admin.x.test"), .. U32(2024010101), .. U32(3600), .. U32(600), .. U32(86400), .. U32(60)];
        var a = Answer(6, rdata);
        Assert.Equal("SOA", a.Type);
        Assert.Equal("ns.x.test admin.x.test 2024010101 3600 600 86400 60", a.Data);
    }

    [Fact]
    public void Ns_WithACompressedName()
    {
        // "ns1" + pointer to the question's name at offset 12.
        var a = Answer(2, [3, (byte)'n', (byte)'s', (byte)'1', 0xC0, 12]);
        Assert.Equal(("NS", "ns1.x.test"), (a.Type, a.Data));
    }

    [Fact]
    public void NameRunningPastItsRdata_FallsBackToTheGenericForm()
    {
        // RDLENGTH 3 but the name inside needs 8 bytes: the record is framed, its data is not a name.
        var a = Answer(5, [6, (byte)'a', (byte)'b']);
        Assert.Equal(("CNAME", "\\# 3 066162"), (a.Type, a.Data));
    }

    [Fact]
    public void UnknownType_Rfc3597()
    {
        Assert.Equal(("TYPE65534", "\\# 4 0a0b0c0d"), (Answer(65534, [10, 11, 12, 13]).Type, Answer(65534, [10, 11, 12, 13]).Data));
        Assert.Equal("\\# 0", Answer(65534, []).Data);
        var big = Answer(65534, new byte[100]);
        Assert.Equal("\\# 100 " + new string('0', 128) + "...", big.Data);
        // A with the wrong length: named, shown generically.
        Assert.Equal(("A", "\\# 3 010203"), (Answer(1, [1, 2, 3]).Type, Answer(1, [1, 2, 3]).Data));
    }

    [Fact]
    public void Txt_EscapesQuotesBackslashesAndBinary()
    {
        var a = Answer(16, [7, (byte)'a', (byte)'"', (byte)'b', (byte)'\\', (byte)'c', 0x00, 0xFF, 0]);
        Assert.Equal("\"a\\\"b\\\\c\\000\\255\" \"\"", a.Data);
        // A string whose length runs past the RDATA.
        Assert.Equal("\\# 2 0561", Answer(16, [5, (byte)'a']).Data);
    }

    [Fact]
    public void Svcb_AliasModeAndEveryKnownKey()
    {
        byte[] alias = [.. U16(0), .. DnsWire.Name("pool.x.test")];
        Assert.Equal(("HTTPS", "0 pool.x.test"), (Answer(65, alias).Type, Answer(65, alias).Data));

        byte[] ech = [1, 2, 3];
        byte[] rdata =
        [
            .. U16(1), 0,
            .. U16(0), .. U16(4), .. U16(1), .. U16(4),                 // mandatory=alpn,ipv4hint
            .. U16(1), .. U16(7), 2, (byte)'h', (byte)'3', 3, (byte)'a', (byte)',', (byte)'b',  // alpn=h3,a\,b
            .. U16(2), .. U16(0),                                       // no-default-alpn
            .. U16(4), .. U16(8), 1, 2, 3, 4, 5, 6, 7, 8,               // ipv4hint
            .. U16(5), .. U16(3), .. ech,                               // ech (base64)
            .. U16(7), .. U16(10), .. "/dns-query"u8.ToArray(),          // dohpath
            .. U16(9), .. U16(2), 0xAB, 0xCD,                           // unknown key
        ];
        Assert.Equal(
            "1 . mandatory=alpn,ipv4hint alpn=h3,a\\,b no-default-alpn ipv4hint=1.2.3.4,5.6.7.8 ech=AQID dohpath=/dns-query key9=abcd",
            Answer(64, rdata).Data);
    }

    [Fact]
    public void Svcb_ParamLengthPastTheEnd_FallsBackToTheGenericForm()
    {
        byte[] rdata = [.. U16(1), 0, .. U16(3), .. U16(9), 1, 187];
        Assert.StartsWith("\\# 9 ", Answer(65, rdata).Data);
    }

    [Fact]
    public void NamesWithOddBytes_AreEscaped()
    {
        // A label holding a dot, a space and a byte 200 (RFC 1035 §5.1 \DDD).
        byte[] name = [5, (byte)'a', (byte)'.', (byte)' ', 200, (byte)'z', 4, (byte)'t', (byte)'e', (byte)'s', (byte)'t', 0];
        byte[] m = [.. DnsWire.Header(1, 0x8180, 1, 0), .. name, .. DnsWire.TypeClass(1)];
        var f = new ProtocolFeeder(DnsProtocol.Info);
        f.FeedDatagram(MessageKind.Response, m, "127.0.0.1:53");
        Assert.Equal("a\\.\\032\\200z.test", f.Of<DnsExchange>().Single().Query);
    }

    [Fact]
    public void RootName_IsADot()
    {
        var f = new ProtocolFeeder(DnsProtocol.Info);
        f.FeedDatagram(MessageKind.Response, DnsWire.Response(1, ".", 2), "127.0.0.1:53");
        Assert.Equal((".", "NS"), (f.Of<DnsExchange>().Single().Query, f.Of<DnsExchange>().Single().QType));
    }
}
