using System.Buffers.Binary;
using System.Net;
using FsCheck;
using FsCheck.Fluent;
using Tattle.Capture.Events;
using Tattle.Capture.Packets;
using Tattle.Tests.Support;

namespace Tattle.Tests.Capture.Packets;

/// <summary>
/// The packet decoder on frames tcpdump captured from curl, python3's http.server and dig/dnsmasq (see
/// testdata/packets/capture.sh), with tcpdump's own reading of the same files as the oracle; and on those frames
/// re-framed for other link types, tagged, fragmented, cut and mangled.
/// </summary>
public sealed class PacketDecoderTests(ITestOutputHelper output)
{
    public static readonly TheoryData<string> Captures = new()
    {
        "http-lo.pcap", "http-any-sll.pcap", "http-any-sll2.pcap", "http-bridge.pcap", "http-v6.pcap", "http-snap.pcap", "dns-lo.pcap",
    };

    private static readonly string[] CaptureFiles =
        ["http-lo.pcap", "http-any-sll.pcap", "http-any-sll2.pcap", "http-bridge.pcap", "http-v6.pcap", "http-snap.pcap", "dns-lo.pcap"];

    [Theory]
    [MemberData(nameof(Captures))]
    public void EveryFrame_MatchesTcpdump(string file)
    {
        var pcap = TestPcapFile.Read(file);
        var oracle = TcpdumpOracle.Read(file, output);
        Assert.Equal(oracle.Count, pcap.Frames.Count);
        for (int i = 0; i < oracle.Count; i++)
        {
            var want = oracle[i];
            var frame = pcap.Frames[i];
            var status = PacketDecoder.TryDecode(pcap.LinkType, frame.Bytes, out var p);
            Assert.True(status == DecodeStatus.Ok, $"{status}: {want.Line}");
            Assert.Equal(want.UnixUs, frame.UnixNs / 1000);
            Assert.Equal(want.Src, Tcpdump(p.Src));
            Assert.Equal(want.Dst, Tcpdump(p.Dst));
            Assert.Equal(want.Length, p.WirePayloadLength);
            if (want.Flags is { } flags)
            {
                Assert.True(p.IsTcp);
                Assert.Equal(flags, Tcpdump(p.TcpFlags));
                if (want.Seq is { } seq)
                {
                    Assert.Equal(seq, p.Seq);
                }
                if (want.Ack is { } ack)
                {
                    Assert.Equal(ack, p.Ack);
                }
            }
            else
            {
                Assert.True(p.IsUdp, want.Line);
            }
            if (want.Direction is { } direction)
            {
                Assert.Equal(direction == "Out" ? SllPacketType.Outgoing : SllPacketType.Host, p.PacketType);
            }
            // The captured payload is the frame's tail, less what the snap length cut.
            int cut = frame.WireLength - frame.Bytes.Length;
            Assert.Equal(p.WirePayloadLength - cut, p.PayloadLength);
            Assert.Equal(frame.Bytes.Length, p.PayloadOffset + p.PayloadLength);
        }
    }

    [Fact]
    public void CookedHeaders_GiveInterfaceAndPacketType()
    {
        // Loopback is interface 1 in every network namespace; kernel 6.x shows its packets once, as received.
        var sll2 = TestPcapFile.Read("http-any-sll2.pcap");
        Assert.Equal(LinkTypes.LinuxSll2, sll2.LinkType);
        foreach (var frame in sll2.Frames)
        {
            Assert.Equal(DecodeStatus.Ok, PacketDecoder.TryDecode(sll2.LinkType, frame.Bytes, out var p));
            Assert.Equal(1, p.InterfaceIndex);
            Assert.Equal(SllPacketType.Host, p.PacketType);
        }
        var sll = TestPcapFile.Read("http-any-sll.pcap");
        Assert.Equal(LinkTypes.LinuxSll, sll.LinkType);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.TryDecode(sll.LinkType, sll.Frames[0].Bytes, out var first));
        Assert.Equal(SllPacketType.Host, first.PacketType);
        Assert.Null(first.InterfaceIndex);
        var eth = TestPcapFile.Read("http-lo.pcap");
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.TryDecode(eth.LinkType, eth.Frames[0].Bytes, out var viaEthernet));
        Assert.Null(viaEthernet.PacketType);
        Assert.Equal(-1, viaEthernet.VlanId);
    }

    [Fact]
    public void Addresses_CompareEqualToTheKernelSides()
    {
        var eth = TestPcapFile.Read("http-lo.pcap");
        PacketDecoder.TryDecode(eth.LinkType, eth.Frames[0].Bytes, out var v4);
        Assert.Equal(NetAddress.FromEndPoint(new IPEndPoint(IPAddress.Loopback, 18080)), v4.Dst);
        Assert.Equal("127.0.0.1:18080", v4.Dst.ToString());
        var v6file = TestPcapFile.Read("http-v6.pcap");
        PacketDecoder.TryDecode(v6file.LinkType, v6file.Frames[0].Bytes, out var v6);
        Assert.Equal(NetAddress.FromEndPoint(new IPEndPoint(IPAddress.IPv6Loopback, 18080)), v6.Dst);
        Assert.Equal(NetAddress.AfInet6, v6.Src.Family);
    }

    [Fact]
    public void SameIpPacket_UnderEveryLinkType_DecodesTheSame()
    {
        foreach (var file in new[] { "http-lo.pcap", "http-v6.pcap", "dns-lo.pcap" })
        {
            var pcap = TestPcapFile.Read(file);
            foreach (var frame in pcap.Frames)
            {
                PacketDecoder.TryDecode(LinkTypes.Ethernet, frame.Bytes, out var want);
                byte[] ip = frame.Bytes[14..];
                bool v6 = ip[0] >> 4 == 6;
                var framings = new List<(int LinkType, byte[] Frame)>
                {
                    (LinkTypes.Raw, ip),
                    (v6 ? LinkTypes.Ipv6 : LinkTypes.Ipv4, ip),
                    (LinkTypes.Null, [.. Family(v6 ? 10 : 2, little: true), .. ip]),
                    (LinkTypes.Null, [.. Family(v6 ? 30 : 2, little: false), .. ip]), // a big-endian macOS capture
                    (LinkTypes.Loop, [.. Family(v6 ? 24 : 2, little: false), .. ip]),
                    (LinkTypes.LinuxSll, [0, 4, 3, 4, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, (byte)(v6 ? 0x86 : 0x08), (byte)(v6 ? 0xDD : 0x00), .. ip]),
                    (LinkTypes.LinuxSll2, [(byte)(v6 ? 0x86 : 0x08), (byte)(v6 ? 0xDD : 0x00), 0, 0, 0, 0, 0, 7, 3, 4, 4, 6, 0, 0, 0, 0, 0, 0, 0, 0, .. ip]),
                };
                foreach (var (linkType, bytes) in framings)
                {
                    Assert.Equal(DecodeStatus.Ok, PacketDecoder.TryDecode(linkType, bytes, out var got));
                    int shift = bytes.Length - frame.Bytes.Length;
                    Assert.Equal(want.Src, got.Src);
                    Assert.Equal(want.Dst, got.Dst);
                    Assert.Equal(want.TcpFlags, got.TcpFlags);
                    Assert.Equal(want.Seq, got.Seq);
                    Assert.Equal(want.PayloadOffset + shift, got.PayloadOffset);
                    Assert.Equal(want.PayloadLength, got.PayloadLength);
                    if (linkType == LinkTypes.LinuxSll2)
                    {
                        Assert.Equal(7, got.InterfaceIndex);
                        Assert.Equal(SllPacketType.Outgoing, got.PacketType);
                    }
                }
            }
        }
        // A raw-IPv4 link type holding IPv6 contradicts itself.
        var v6frame = TestPcapFile.Read("http-v6.pcap").Frames[0].Bytes[14..];
        Assert.Equal(DecodeStatus.Malformed, PacketDecoder.TryDecode(LinkTypes.Ipv4, v6frame, out _));
        Assert.Equal(DecodeStatus.NotIp, PacketDecoder.TryDecode(LinkTypes.Null, [7, 0, 0, 0, .. v6frame], out _));
        Assert.Equal(DecodeStatus.UnsupportedLinkType, PacketDecoder.TryDecode(147, v6frame, out _));
    }

    [Fact]
    public void VlanTags_AreSkipped_AndTheOuterIdKept()
    {
        byte[] frame = Frame("http-lo.pcap", 3); // curl's request
        PacketDecoder.TryDecode(LinkTypes.Ethernet, frame, out var want);
        byte[] dot1q = [.. frame[..12], 0x81, 0x00, 0x20, 0x2A, .. frame[12..]]; // priority 1, VLAN 42
        byte[] qinq = [.. frame[..12], 0x88, 0xA8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x2A, .. frame[12..]]; // S-VLAN 100, C-VLAN 42
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.TryDecode(LinkTypes.Ethernet, dot1q, out var tagged));
        Assert.Equal(42, tagged.VlanId);
        Assert.Equal(want.PayloadOffset + 4, tagged.PayloadOffset);
        Assert.Equal(want.PayloadLength, tagged.PayloadLength);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.TryDecode(LinkTypes.Ethernet, qinq, out var stacked));
        Assert.Equal(100, stacked.VlanId);
        Assert.Equal(want.Src, stacked.Src);
        Assert.Equal("GET /hello.txt?from=tattle HTTP/1.1"u8.ToArray(), stacked.PayloadOf(qinq)[..35].ToArray());
    }

    [Fact]
    public void EthernetPadding_IsNotPayload()
    {
        // A short frame is padded to 60 bytes on the wire (IEEE 802.3): the IP total length says what is payload.
        byte[] ack = Frame("http-lo.pcap", 2);
        byte[] padded = [.. ack, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE];
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.TryDecode(LinkTypes.Ethernet, padded, out var p));
        Assert.Equal(0, p.PayloadLength);
        Assert.Equal(0, p.WirePayloadLength);
        byte[] query = Frame("dns-lo.pcap", 0);
        PacketDecoder.TryDecode(LinkTypes.Ethernet, query, out var want);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.TryDecode(LinkTypes.Ethernet, [.. query, 0, 0, 0, 0], out var q));
        Assert.Equal(want.PayloadLength, q.PayloadLength);
        Assert.Equal(57, q.PayloadLength);
    }

    [Fact]
    public void Ipv4Fragments_OnlyTheFirstCarriesPorts()
    {
        // dig's query split in two fragments (RFC 791): UDP header + 16 bytes, then the other 41 bytes at offset 24.
        byte[] query = Frame("dns-lo.pcap", 0);
        byte[] ip = query[14..];
        byte[] first = [.. query[..14], .. ip[..20], .. ip[20..(20 + 24)]];
        SetIpv4(first, totalLength: 20 + 24, flagsAndOffset: 0x2000);
        byte[] second = [.. query[..14], .. ip[..20], .. ip[(20 + 24)..]];
        SetIpv4(second, totalLength: 20 + ip.Length - 44, flagsAndOffset: 24 / 8);

        Assert.Equal(DecodeStatus.Ok, PacketDecoder.TryDecode(LinkTypes.Ethernet, first, out var head));
        Assert.True(head.MoreFragments);
        Assert.Equal(53, head.Dst.Port);
        Assert.Equal(16, head.PayloadLength);
        Assert.Equal(57, head.WirePayloadLength); // the UDP length counts the whole datagram
        Assert.True(head.PayloadTruncated);

        Assert.Equal(DecodeStatus.Fragment, PacketDecoder.TryDecode(LinkTypes.Ethernet, second, out var tail));
        Assert.Equal(DecodedPacket.Udp, tail.Protocol);
        Assert.Equal("127.0.0.54", tail.Dst.AddressText());
        Assert.Equal(0, tail.Dst.Port);
    }

    [Fact]
    public void Ipv6ExtensionHeaders_AreSkipped()
    {
        byte[] frame = Frame("http-v6.pcap", 3); // curl's request over IPv6
        PacketDecoder.TryDecode(LinkTypes.Ethernet, frame, out var want);
        byte[] ip = frame[14..];
        // Hop-by-hop (8 bytes: PadN), then destination options (16 bytes), then a fragment header with offset 0
        // and M clear: an atomic fragment (RFC 6946), whose transport header follows.
        byte[] hopByHop = [60, 0, 1, 4, 0, 0, 0, 0];
        byte[] destOptions = [44, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        byte[] fragment = [6, 0, 0, 0, 0, 0, 0, 1];
        byte[] extended = [.. frame[..14], .. ip[..40], .. hopByHop, .. destOptions, .. fragment, .. ip[40..]];
        extended[14 + 6] = 0; // next header: hop-by-hop
        BinaryPrimitives.WriteUInt16BigEndian(extended.AsSpan(14 + 4), (ushort)(ip.Length - 40 + 32));
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.TryDecode(LinkTypes.Ethernet, extended, out var got));
        Assert.Equal(want.Src, got.Src);
        Assert.Equal(want.Dst, got.Dst);
        Assert.Equal(want.Seq, got.Seq);
        Assert.Equal(want.PayloadOffset + 32, got.PayloadOffset);
        Assert.Equal(want.PayloadLength, got.PayloadLength);
        Assert.Equal(want.PayloadOf(frame).ToArray(), got.PayloadOf(extended).ToArray());

        // The same fragment header at a non-zero offset: a later fragment, without ports.
        extended[14 + 40 + 24 + 3] = 8 << 3;
        Assert.Equal(DecodeStatus.Fragment, PacketDecoder.TryDecode(LinkTypes.Ethernet, extended, out var later));
        Assert.Equal(DecodedPacket.Tcp, later.Protocol);
        Assert.Equal(0, later.Src.Port);
        // An extension header longer than the payload length says is malformed.
        extended[14 + 40 + 1] = 200;
        Assert.Equal(DecodeStatus.Malformed, PacketDecoder.TryDecode(LinkTypes.Ethernet, extended, out _));
    }

    [Fact]
    public void OtherProtocols_AndBrokenHeaders_AreTold()
    {
        byte[] syn = Frame("http-lo.pcap", 0);
        byte[] arp = [.. syn[..12], 0x08, 0x06, .. new byte[28]];
        Assert.Equal(DecodeStatus.NotIp, PacketDecoder.TryDecode(LinkTypes.Ethernet, arp, out _));
        byte[] llc = [.. syn[..12], 0x00, 0x26, .. new byte[38]]; // an 802.3 length, not an EtherType
        Assert.Equal(DecodeStatus.NotIp, PacketDecoder.TryDecode(LinkTypes.Ethernet, llc, out _));

        byte[] icmp = (byte[])syn.Clone();
        icmp[14 + 9] = 1;
        Assert.Equal(DecodeStatus.NotTcpUdp, PacketDecoder.TryDecode(LinkTypes.Ethernet, icmp, out var p));
        Assert.Equal(1, p.Protocol);
        Assert.Equal("127.0.0.1", p.Src.AddressText());

        byte[] shortIhl = (byte[])syn.Clone();
        shortIhl[14] = 0x44;
        Assert.Equal(DecodeStatus.Malformed, PacketDecoder.TryDecode(LinkTypes.Ethernet, shortIhl, out _));
        byte[] totalBelowHeader = (byte[])syn.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(totalBelowHeader.AsSpan(14 + 2), 19);
        Assert.Equal(DecodeStatus.Malformed, PacketDecoder.TryDecode(LinkTypes.Ethernet, totalBelowHeader, out _));
        byte[] shortOffset = (byte[])syn.Clone();
        shortOffset[14 + 20 + 12] = 0x40;
        Assert.Equal(DecodeStatus.Malformed, PacketDecoder.TryDecode(LinkTypes.Ethernet, shortOffset, out _));
        byte[] wrongVersion = (byte[])syn.Clone();
        wrongVersion[14] = 0x65;
        Assert.Equal(DecodeStatus.Malformed, PacketDecoder.TryDecode(LinkTypes.Ethernet, wrongVersion, out _));
        byte[] udpTooShort = Frame("dns-lo.pcap", 0);
        BinaryPrimitives.WriteUInt16BigEndian(udpTooShort.AsSpan(14 + 20 + 4), 7);
        Assert.Equal(DecodeStatus.Malformed, PacketDecoder.TryDecode(LinkTypes.Ethernet, udpTooShort, out _));
        byte[] udpTooLong = Frame("dns-lo.pcap", 0);
        BinaryPrimitives.WriteUInt16BigEndian(udpTooLong.AsSpan(14 + 20 + 4), 900);
        Assert.Equal(DecodeStatus.Malformed, PacketDecoder.TryDecode(LinkTypes.Ethernet, udpTooLong, out _));

        // A total length of 0 is what a capture before TCP segmentation offload shows: the capture is trusted.
        byte[] request = Frame("http-lo.pcap", 3);
        PacketDecoder.TryDecode(LinkTypes.Ethernet, request, out var want);
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(14 + 2), 0);
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.TryDecode(LinkTypes.Ethernet, request, out var tso));
        Assert.Equal(want.PayloadLength, tso.PayloadLength);
    }

    [Fact]
    public void SnapLengthCut_KeepsTheWireLength()
    {
        // The 6000-byte body was captured with -s 300: what is left of 300 bytes after the headers is in the frame.
        var pcap = TestPcapFile.Read("http-snap.pcap");
        var body = pcap.Frames.Select(f => (Frame: f, Ok: PacketDecoder.TryDecode(pcap.LinkType, f.Bytes, out var p), Packet: p))
            .Single(x => x.Packet.WirePayloadLength == 6000);
        Assert.Equal(DecodeStatus.Ok, body.Ok);
        Assert.True(body.Frame.Bytes.Length <= 300);
        Assert.Equal(body.Packet.PayloadOffset + 6000, body.Frame.WireLength);
        Assert.Equal(body.Frame.Bytes.Length - body.Packet.PayloadOffset, body.Packet.PayloadLength);
        Assert.True(body.Packet.PayloadTruncated);
    }

    [Fact]
    public void EveryPrefixOfEveryFrame_NeverThrows_AndIsTruncatedOrAShorterPayload()
    {
        foreach (var file in CaptureFiles)
        {
            var pcap = TestPcapFile.Read(file);
            foreach (var frame in pcap.Frames)
            {
                PacketDecoder.TryDecode(pcap.LinkType, frame.Bytes, out var whole);
                for (int n = 0; n < frame.Bytes.Length; n++)
                {
                    var status = PacketDecoder.TryDecode(pcap.LinkType, frame.Bytes.AsSpan(0, n), out var p);
                    if (n < whole.PayloadOffset)
                    {
                        Assert.Equal(DecodeStatus.Truncated, status);
                        continue;
                    }
                    Assert.Equal(DecodeStatus.Ok, status);
                    Assert.Equal(n - whole.PayloadOffset, p.PayloadLength);
                    Assert.Equal(whole.WirePayloadLength, p.WirePayloadLength);
                    Assert.Equal(whole.Src, p.Src);
                }
            }
        }
    }

    [Fact]
    public void RandomBytes_UnderAnyLinkType_NeverThrow()
    {
        int[] linkTypes = [LinkTypes.Null, LinkTypes.Ethernet, LinkTypes.Raw, LinkTypes.Loop, LinkTypes.LinuxSll, LinkTypes.Ipv4, LinkTypes.Ipv6, LinkTypes.LinuxSll2, 12345];
        Prop.ForAll<int, byte[]>((which, bytes) =>
        {
            int linkType = linkTypes[(int)((uint)which % (uint)linkTypes.Length)];
            CheckInvariants(linkType, bytes ?? []);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void MutatedRealFrames_NeverThrow_AndStayInsideTheFrame()
    {
        // Random bytes rarely get past the link header; real frames with a few bytes changed reach every length check.
        var frames = CaptureFiles.Select(TestPcapFile.Read).SelectMany(p => p.Frames.Select(f => (p.LinkType, f.Bytes))).ToArray();
        Prop.ForAll<int, int[], byte[]>((which, positions, values) =>
        {
            var (linkType, original) = frames[(int)((uint)which % (uint)frames.Length)];
            byte[] bytes = (byte[])original.Clone();
            positions ??= [];
            values ??= [];
            for (int i = 0; i < Math.Min(positions.Length, values.Length); i++)
            {
                bytes[(int)((uint)positions[i] % (uint)bytes.Length)] = values[i];
            }
            CheckInvariants(linkType, bytes);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(5000));
    }

    private static void CheckInvariants(int linkType, byte[] bytes)
    {
        var status = PacketDecoder.TryDecode(linkType, bytes, out var p);
        if (status == DecodeStatus.Ok)
        {
            Assert.True(p.PayloadOffset >= 0 && p.PayloadLength >= 0 && p.PayloadOffset + p.PayloadLength <= bytes.Length);
            Assert.True(p.PayloadLength <= p.WirePayloadLength);
            Assert.Equal(p.PayloadLength, p.PayloadOf(bytes).Length);
        }
    }

    private static byte[] Frame(string file, int index) => (byte[])TestPcapFile.Read(file).Frames[index].Bytes.Clone();

    private static byte[] Family(int family, bool little)
    {
        byte[] b = new byte[4];
        if (little)
        {
            BinaryPrimitives.WriteInt32LittleEndian(b, family);
        }
        else
        {
            BinaryPrimitives.WriteInt32BigEndian(b, family);
        }
        return b;
    }

    private static void SetIpv4(byte[] frame, int totalLength, int flagsAndOffset)
    {
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(14 + 2), (ushort)totalLength);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(14 + 6), (ushort)flagsAndOffset);
    }

    /// <summary>An endpoint as tcpdump -nn prints it: address, a dot, the port.</summary>
    private static string Tcpdump(NetAddress a) => $"{a.AddressText()}.{a.Port}";

    /// <summary>TCP flags as tcpdump prints them, in its order (print-tcp.c): F S R P . U E W.</summary>
    private static string Tcpdump(TcpFlags f)
    {
        var s = new System.Text.StringBuilder();
        foreach (var (flag, c) in new[] { (TcpFlags.Fin, 'F'), (TcpFlags.Syn, 'S'), (TcpFlags.Rst, 'R'), (TcpFlags.Psh, 'P'),
                     (TcpFlags.Ack, '.'), (TcpFlags.Urg, 'U'), (TcpFlags.Ece, 'E'), (TcpFlags.Cwr, 'W') })
        {
            if ((f & flag) != 0)
            {
                s.Append(c);
            }
        }
        return s.Length == 0 ? "none" : s.ToString();
    }
}
