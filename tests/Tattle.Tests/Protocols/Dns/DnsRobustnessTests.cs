using System.Diagnostics;
using FsCheck;
using FsCheck.Fluent;
using Tattle.Protocols.Common;
using Tattle.Protocols.Dns;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.Dns;

/// <summary>Malformed and hostile input: bad pointers, overlong names, cut datagrams, random bytes.</summary>
public sealed class DnsRobustnessTests
{
    private const string Peer = "127.0.0.1:53";

    private static readonly string[] CapturedFiles =
        Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "testdata", "dns"), "*.bin").Order().ToArray();

    private static ParseStatus ParseDatagram(byte[] message, out ProtocolFeeder feeder)
    {
        feeder = new ProtocolFeeder(DnsProtocol.Info);
        return feeder.FeedDatagram(MessageKind.Response, message, Peer).Status;
    }

    /// <summary>A response whose one answer has the owner name <paramref name="owner"/> (raw wire bytes).</summary>
    private static byte[] WithOwner(params byte[] owner) =>
        [.. DnsWire.Header(1, 0x8180, 1, 1), .. DnsWire.Name("a.test"), .. DnsWire.TypeClass(1),
         .. owner, .. DnsWire.Record(1, 60, [10, 0, 0, 1])];

    [Fact]
    public void PointerToItself_IsInvalid()
    {
        // The answer's owner (at offset 24) points at offset 24.
        byte[] m = WithOwner(0xC0, 24);
        Assert.Equal(24, DnsWire.Header(1, 0, 1, 1).Length + DnsWire.Name("a.test").Length + 4);
        Assert.Equal(ParseStatus.Invalid, ParseDatagram(m, out var f));
        Assert.Empty(f.Messages);
    }

    [Fact]
    public void ForwardPointer_IsInvalid()
    {
        Assert.Equal(ParseStatus.Invalid, ParseDatagram(WithOwner(0xC0, 30), out _));
    }

    [Fact]
    public void PointerLoopThroughALabel_IsInvalid_AndEnds()
    {
        // Offset 24: label "x" then a pointer back to 24, a loop a naive reader follows forever.
        var watch = Stopwatch.StartNew();
        Assert.Equal(ParseStatus.Invalid, ParseDatagram(WithOwner(1, (byte)'x', 0xC0, 24), out _));
        Assert.Equal(DnsName.Malformed, DnsName.Skip(WithOwner(1, (byte)'x', 0xC0, 24), 24));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void TwoPointersIntoEachOther_AreInvalid()
    {
        // 24 -> 26 is forward: no pair of pointers can loop without one of them going forward.
        Assert.Equal(ParseStatus.Invalid, ParseDatagram(WithOwner(0xC0, 26, 0xC0, 24), out _));
    }

    [Fact]
    public void PointerIntoTheHeader_IsInvalid()
    {
        Assert.Equal(ParseStatus.Invalid, ParseDatagram(WithOwner(0xC0, 4), out _));
    }

    [Fact]
    public void BackwardPointerChain_Resolves()
    {
        // The question "a.test" at 12; the owner is label "b" + pointer to it: "b.a.test".
        Assert.Equal(ParseStatus.Success, ParseDatagram(WithOwner(1, (byte)'b', 0xC0, 12), out var f));
        Assert.Equal("b.a.test", f.Of<DnsExchange>().Single().Answers.Single().Name);
    }

    [Fact]
    public void NameLongerThan255Bytes_IsInvalid()
    {
        string label = new('a', 63);
        string name = string.Join('.', label, label, label, label);
        Assert.Equal(257, DnsWire.Name(name).Length);
        Assert.Equal(ParseStatus.Invalid, ParseDatagram(DnsWire.Response(1, name), out _));
        // 253 characters, 255 bytes: the longest legal name.
        string longest = string.Join('.', label, label, label, new string('b', 61));
        Assert.Equal(ParseStatus.Success, ParseDatagram(DnsWire.Response(1, longest), out var f));
        Assert.Equal(longest, f.Of<DnsExchange>().Single().Query);
    }

    [Fact]
    public void NameGrownPastTheLimitThroughPointers_IsInvalid()
    {
        // Each owner adds a 63-byte label in front of the previous name; the fourth passes 255 bytes.
        byte[] label = [63, .. Enumerable.Repeat((byte)'z', 63)];
        var m = new List<byte>([.. DnsWire.Header(1, 0x8180, 1, 4), .. DnsWire.Name("q.test"), .. DnsWire.TypeClass(1)]);
        int previous = 12;
        for (int i = 0; i < 4; i++)
        {
            int start = m.Count;
            m.AddRange([.. label, (byte)(0xC0 | (previous >> 8)), (byte)previous, .. DnsWire.Record(1, 1, [1, 2, 3, 4])]);
            previous = start;
        }
        Assert.Equal(ParseStatus.Invalid, ParseDatagram([.. m], out _));
    }

    [Theory]
    [InlineData(0x40)]
    [InlineData(0x80)]
    public void ExtendedLabelTypes_AreInvalid(byte type)
    {
        Assert.Equal(ParseStatus.Invalid, ParseDatagram(WithOwner(type, 0), out _));
    }

    [Fact]
    public void RecordLengthPastTheEnd_CutsADatagramAfterItsQuestion()
    {
        // The snap length cut the datagram inside the second answer: the exchange is reported, marked truncated.
        byte[] r = CapturedBytes.Read("dns", "udp-cname.response.bin");
        var f = new ProtocolFeeder(DnsProtocol.Info);
        f.FeedDatagram(MessageKind.Request, CapturedBytes.Read("dns", "udp-cname.query.bin"), Peer);
        Assert.Equal(ParseStatus.Success, f.FeedDatagram(MessageKind.Response, r.AsSpan(0, 70), Peer).Status);
        var x = f.Of<DnsExchange>().Single();
        Assert.True(x.Truncated);
        Assert.True(x.HasQuery);
        Assert.Equal("alias2.example.test", x.Answers.Single().Data);
    }

    [Fact]
    public void DatagramCutInsideTheQuestion_IsInvalid()
    {
        byte[] r = CapturedBytes.Read("dns", "udp-a.response.bin");
        for (int n = 0; n < 12 + DnsWire.Name("addr.example.test").Length + 4; n++)
        {
            Assert.Equal(ParseStatus.Invalid, ParseDatagram(r[..n], out var f));
            Assert.Empty(f.Messages);
        }
    }

    [Fact]
    public void TcTruncatedResponse_IsMarked()
    {
        byte[] r = DnsWire.Response(1, "big.test");
        r[2] |= 0x02;
        Assert.Equal(ParseStatus.Success, ParseDatagram(r, out var f));
        Assert.True(f.Of<DnsExchange>().Single().Truncated);
    }

    [Fact]
    public void ExtendedRcode_FromTheOptRecord()
    {
        // BADCOOKIE (23, RFC 7873 §8): header RCODE 7, OPT extended RCODE 1.
        byte[] opt = [0, 0, 41, 0x04, 0xD0, 1, 0, 0, 0, 0, 0];
        byte[] m = [.. DnsWire.Header(1, 0x8187, 1, 0, 0, 1), .. DnsWire.Name("c.test"), .. DnsWire.TypeClass(1), .. opt];
        Assert.Equal(ParseStatus.Success, ParseDatagram(m, out var f));
        Assert.Equal("BADCOOKIE", f.Of<DnsExchange>().Single().Rcode);
    }

    [Fact]
    public void Probe_RejectsNonDns()
    {
        byte[] http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray();
        byte[] tls = CapturedBytes.Read("tls", "curl-sni.client.bin");
        foreach (byte[] data in new[] { http, tls, new byte[11], new byte[64] })
        {
            Assert.Equal(Detection.No, DnsProtocol.Info.Probe(data, true, 40000, 40001));
            Assert.Equal(Detection.No, DnsProtocol.Info.Probe(data, false, 40000, 53));
        }
    }

    [Fact]
    public void Probe_WithoutPortHint_IsStricterThanWithIt()
    {
        // Trailing garbage after a well-formed query: fine on port 53, not elsewhere.
        byte[] q = [.. CapturedBytes.Read("dns", "udp-noedns.query.bin"), 0xFF];
        Assert.Equal(Detection.Request, DnsProtocol.Info.Probe(q, true, 40000, 53));
        Assert.Equal(Detection.No, DnsProtocol.Info.Probe(q, true, 40000, 40001));
        // An mDNS query asks several questions.
        byte[] mdns = [.. DnsWire.Header(0, 0, 2, 0), .. DnsWire.Name("a.local"), .. DnsWire.TypeClass(1), .. DnsWire.Name("b.local"), .. DnsWire.TypeClass(28)];
        Assert.Equal(Detection.Request, DnsProtocol.Info.Probe(mdns, true, 5353, 5353));
        Assert.Equal(Detection.No, DnsProtocol.Info.Probe(mdns, true, 40000, 40001));
    }

    [Fact]
    public void Tcp_GarbageBeforeAMessage_IsDroppedAndTheMessageRead()
    {
        var f = new ProtocolFeeder(DnsProtocol.Info);
        byte[] garbage = "\x00\x05hello, this is not DNS at all"u8.ToArray();
        f.Feed(MessageKind.Request, [.. garbage, .. CapturedBytes.Read("dns", "tcp-a.client.bin")]);
        f.Feed(MessageKind.Response, CapturedBytes.Read("dns", "tcp-a.server.bin"));
        Assert.Contains(ParseStatus.Invalid, f.Statuses);
        Assert.Equal(garbage.Length, f.DroppedBytes);
        Assert.True(f.Of<DnsExchange>().Single().HasQuery);
    }

    [Fact]
    public void FindFrameBoundary_DatagramsStartAtZero()
    {
        var f = new ProtocolFeeder(DnsProtocol.Info);
        f.FeedDatagram(MessageKind.Request, DnsWire.Query(1, "a.test"), Peer);
        Assert.Equal(0, f.Parser.FindFrameBoundary(MessageKind.Request, new byte[20]));
        Assert.True(f.Parser.OnGap(MessageKind.Request, 100, 0));
    }

    [Fact]
    public void AnyBytes_AsADatagram_NeverThrow()
    {
        Prop.ForAll<byte[]>(bytes =>
        {
            var f = new ProtocolFeeder(DnsProtocol.Info);
            f.FeedDatagram(MessageKind.Response, bytes ?? [], Peer);
            f.Close();
            _ = DnsProtocol.Info.Probe(bytes ?? [], true, 0, 0);
            _ = DnsProtocol.Info.Probe(bytes ?? [], true, 53, 0);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void MutatedCapturedMessages_NeverThrow_NorLoop()
    {
        // Real messages with a few bytes changed reach the name and record readers, where random bytes do not.
        Prop.ForAll<int, int[], byte[]>((which, positions, values) =>
        {
            byte[] m = Mutate(CapturedBytes.Read("dns", Pick(which)), positions, values);
            var f = new ProtocolFeeder(DnsProtocol.Info);
            f.FeedDatagram(MessageKind.Request, m, Peer);
            f.FeedDatagram(MessageKind.Response, m, Peer);
            f.Feed(MessageKind.Response, m);
            f.Close();
            _ = DnsProtocol.Info.Probe(m, true, 0, 0);
            _ = DnsProtocol.Info.Probe(m, false, 0, 53);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(3000));
    }

    [Fact]
    public void AnyBytes_AsATcpStream_InAnySplit_NeverThrow()
    {
        Prop.ForAll<byte[], int[]>((bytes, cuts) =>
        {
            var f = new ProtocolFeeder(DnsProtocol.Info);
            byte[] stream = [.. DnsWire.Tcp(DnsWire.Query(1, "a.test")), .. bytes ?? []];
            f.FeedSplit(MessageKind.Request, stream, (cuts ?? []).Select(c => (int)((uint)c % (uint)(stream.Length + 1))));
            f.Gap(MessageKind.Request, 3);
            f.Feed(MessageKind.Request, bytes ?? []);
            f.Close();
        }).QuickCheckThrowOnFailure();
    }

    private static string Pick(int which) => Path.GetFileName(CapturedFiles[(int)((uint)which % (uint)CapturedFiles.Length)]);

    internal static byte[] Mutate(byte[] message, int[]? positions, byte[]? values)
    {
        positions ??= [];
        values ??= [];
        byte[] m = (byte[])message.Clone();
        for (int i = 0; i < Math.Min(positions.Length, values.Length); i++)
        {
            m[(int)((uint)positions[i] % (uint)m.Length)] = values[i];
        }
        // Now and then a cut, too.
        return positions.Length > 0 && positions[0] % 5 == 0 ? m[..(int)((uint)positions[0] % (uint)(m.Length + 1))] : m;
    }
}
