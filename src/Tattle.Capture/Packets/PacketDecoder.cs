using System.Buffers.Binary;
using Tattle.Capture.Events;

namespace Tattle.Capture.Packets;

/// <summary>Decodes the link, IP and TCP/UDP headers of captured frames; never throws on any input.</summary>
/// <remarks>
/// Two lengths are kept apart throughout: what the capture holds (the frame, possibly cut by the snap length)
/// and what the packet carried on the wire (the IP and UDP length fields). Link-layer padding (Ethernet pads
/// frames to 60 bytes) is trimmed by the IP length; a cut frame keeps its wire length, so a reader knows how
/// many payload bytes it did not see.
/// </remarks>
public static class PacketDecoder
{
    private const ushort EtherTypeIpv4 = 0x0800;
    private const ushort EtherTypeIpv6 = 0x86DD;

    // 802.1Q customer tag, 802.1ad service tag (QinQ), and the pre-standard QinQ value some switches still send.
    private const ushort EtherTypeVlan = 0x8100;
    private const ushort EtherTypeQinQ = 0x88A8;
    private const ushort EtherTypeQinQOld = 0x9100;

    private const int EthernetHeader = 14;
    private const int SllHeader = 16;
    private const int Sll2Header = 20;
    private const int Ipv4MinHeader = 20;
    private const int Ipv6Header = 40;
    private const int TcpMinHeader = 20;
    private const int UdpHeader = 8;

    /// <summary>
    /// Decodes <paramref name="frame"/> as a frame of <paramref name="linkType"/> (one of <see cref="LinkTypes"/>).
    /// <paramref name="packet"/> holds whatever was decoded, also when the status is not <see cref="DecodeStatus.Ok"/>.
    /// </summary>
    public static DecodeStatus TryDecode(int linkType, ReadOnlySpan<byte> frame, out DecodedPacket packet)
    {
        var link = new LinkInfo { LinkType = linkType, VlanId = -1 };
        var status = DecodeLink(linkType, frame, ref link, out int ipOffset, out int version);
        if (status != DecodeStatus.Ok)
        {
            packet = link.ToPacket();
            return status;
        }
        return version == 4
            ? DecodeIpv4(frame, ipOffset, in link, out packet)
            : DecodeIpv6(frame, ipOffset, in link, out packet);
    }

    /// <summary>Finds the IP header: its offset and version (4 or 6).</summary>
    private static DecodeStatus DecodeLink(int linkType, ReadOnlySpan<byte> frame, ref LinkInfo link, out int ipOffset, out int version)
    {
        ipOffset = 0;
        version = 0;
        ushort etherType;
        switch (linkType)
        {
            case LinkTypes.Null:
            case LinkTypes.Loop:
                {
                    if (frame.Length < 4)
                    {
                        return DecodeStatus.Truncated;
                    }
                    uint family = linkType == LinkTypes.Loop
                        ? BinaryPrimitives.ReadUInt32BigEndian(frame)
                        : BinaryPrimitives.ReadUInt32LittleEndian(frame);
                    // The family is in the byte order of the host that captured, which need not be ours: families
                    // are small numbers, so a value with high bits set was written the other way round.
                    if (family > 0xFFFF)
                    {
                        family = BinaryPrimitives.ReverseEndianness(family);
                    }
                    ipOffset = 4;
                    // AF_INET is 2 everywhere; AF_INET6 is 10 on Linux, 24 on NetBSD/OpenBSD, 28 on FreeBSD, 30 on macOS.
                    etherType = family switch
                    {
                        2 => EtherTypeIpv4,
                        10 or 24 or 28 or 30 => EtherTypeIpv6,
                        _ => 0,
                    };
                    if (etherType == 0)
                    {
                        return DecodeStatus.NotIp;
                    }
                    break;
                }
            case LinkTypes.Ethernet:
                if (frame.Length < EthernetHeader)
                {
                    return DecodeStatus.Truncated;
                }
                etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
                ipOffset = EthernetHeader;
                break;
            case LinkTypes.LinuxSll:
                // pcap-linktype(7) LINKTYPE_LINUX_SLL: packet type(2) ARPHRD(2) addr len(2) addr(8) protocol(2).
                if (frame.Length < SllHeader)
                {
                    return DecodeStatus.Truncated;
                }
                link.PacketType = (SllPacketType)BinaryPrimitives.ReadUInt16BigEndian(frame);
                etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[14..]);
                ipOffset = SllHeader;
                break;
            case LinkTypes.LinuxSll2:
                // LINKTYPE_LINUX_SLL2: protocol(2) reserved(2) if index(4) ARPHRD(2) packet type(1) addr len(1) addr(8).
                if (frame.Length < Sll2Header)
                {
                    return DecodeStatus.Truncated;
                }
                etherType = BinaryPrimitives.ReadUInt16BigEndian(frame);
                link.InterfaceIndex = BinaryPrimitives.ReadInt32BigEndian(frame[4..]);
                link.PacketType = (SllPacketType)frame[10];
                ipOffset = Sll2Header;
                break;
            case LinkTypes.Raw:
            case LinkTypes.Ipv4:
            case LinkTypes.Ipv6:
                {
                    if (frame.IsEmpty)
                    {
                        return DecodeStatus.Truncated;
                    }
                    version = frame[0] >> 4;
                    if (version is not (4 or 6)
                        || linkType == LinkTypes.Ipv4 && version != 4
                        || linkType == LinkTypes.Ipv6 && version != 6)
                    {
                        return DecodeStatus.Malformed;
                    }
                    return DecodeStatus.Ok;
                }
            default:
                return DecodeStatus.UnsupportedLinkType;
        }
        // VLAN tags (IEEE 802.1Q): TCI(2) then the next EtherType. Stacked tags (802.1ad QinQ) repeat it. Cooked
        // captures can carry them too when the kernel did not strip the tag.
        while (etherType is EtherTypeVlan or EtherTypeQinQ or EtherTypeQinQOld)
        {
            if (frame.Length < ipOffset + 4)
            {
                return DecodeStatus.Truncated;
            }
            if (link.VlanId < 0)
            {
                link.VlanId = BinaryPrimitives.ReadUInt16BigEndian(frame[ipOffset..]) & 0x0FFF;
            }
            etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[(ipOffset + 2)..]);
            ipOffset += 4;
        }
        version = etherType switch
        {
            EtherTypeIpv4 => 4,
            EtherTypeIpv6 => 6,
            _ => 0,
        };
        if (version == 0)
        {
            return DecodeStatus.NotIp; // also an 802.3 length (< 0x0600) with an LLC header
        }
        if (frame.Length <= ipOffset)
        {
            return DecodeStatus.Truncated;
        }
        if (frame[ipOffset] >> 4 != version)
        {
            return DecodeStatus.Malformed;
        }
        return DecodeStatus.Ok;
    }

    /// <summary>IPv4 (RFC 791 §3.1): IHL, total length, fragment offset, protocol, addresses.</summary>
    private static DecodeStatus DecodeIpv4(ReadOnlySpan<byte> frame, int at, in LinkInfo link, out DecodedPacket packet)
    {
        var ip = frame[at..];
        var l4 = new L4Info { IpOffset = at };
        if (ip.Length < Ipv4MinHeader)
        {
            packet = link.ToPacket(in l4);
            return DecodeStatus.Truncated;
        }
        int headerLength = (ip[0] & 0x0F) * 4;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        ushort fragment = BinaryPrimitives.ReadUInt16BigEndian(ip[6..]);
        l4.Protocol = ip[9];
        l4.Family = NetAddress.AfInet;
        // NetAddress keeps an IPv4 address in the first 4 of its 16 bytes, read big-endian: the top 32 bits.
        l4.SrcAddress = (UInt128)BinaryPrimitives.ReadUInt32BigEndian(ip[12..]) << 96;
        l4.DstAddress = (UInt128)BinaryPrimitives.ReadUInt32BigEndian(ip[16..]) << 96;
        if (headerLength < Ipv4MinHeader)
        {
            packet = link.ToPacket(in l4);
            return DecodeStatus.Malformed;
        }
        if (ip.Length < headerLength)
        {
            packet = link.ToPacket(in l4);
            return DecodeStatus.Truncated;
        }
        int wireLength;
        if (totalLength == 0)
        {
            // A packet captured on the sending host before TCP segmentation offload split it may say 0 (its
            // length does not fit 16 bits): trust the capture.
            wireLength = ip.Length;
        }
        else if (totalLength < headerLength)
        {
            packet = link.ToPacket(in l4);
            return DecodeStatus.Malformed;
        }
        else
        {
            wireLength = totalLength;
        }
        int fragmentOffset = (fragment & 0x1FFF) * 8;
        l4.MoreFragments = (fragment & 0x2000) != 0;
        l4.Start = at + headerLength;
        l4.WireLength = wireLength - headerLength;
        // Bytes past the total length are link-layer padding, not payload.
        l4.CapturedLength = Math.Min(ip.Length, wireLength) - headerLength;
        if (fragmentOffset != 0)
        {
            // Only the first fragment (offset 0) holds the transport header (RFC 791 §2.3).
            packet = link.ToPacket(in l4);
            return DecodeStatus.Fragment;
        }
        return DecodeTransport(frame, ref l4, in link, out packet);
    }

    /// <summary>IPv6 (RFC 8200 §3, §4): fixed header, then the extension headers up to the transport header.</summary>
    private static DecodeStatus DecodeIpv6(ReadOnlySpan<byte> frame, int at, in LinkInfo link, out DecodedPacket packet)
    {
        var ip = frame[at..];
        var l4 = new L4Info { IpOffset = at };
        if (ip.Length < Ipv6Header)
        {
            packet = link.ToPacket(in l4);
            return DecodeStatus.Truncated;
        }
        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(ip[4..]);
        byte next = ip[6];
        l4.Family = NetAddress.AfInet6;
        l4.SrcAddress = BinaryPrimitives.ReadUInt128BigEndian(ip[8..]);
        l4.DstAddress = BinaryPrimitives.ReadUInt128BigEndian(ip[24..]);
        // Payload length 0 is a jumbogram (RFC 2675) or a TSO super-packet: trust the capture.
        int wireEnd = payloadLength == 0 ? ip.Length : Ipv6Header + payloadLength;
        int capturedEnd = Math.Min(ip.Length, wireEnd);
        int p = Ipv6Header;
        bool fragment = false;
        while (true)
        {
            l4.Protocol = next;
            int extLength;
            switch (next)
            {
                case 0: // hop-by-hop options
                case 43: // routing
                case 60: // destination options
                    // Next header(1), length in 8-octet units not counting the first 8 (RFC 8200 §4.3-4.6).
                    if (capturedEnd < p + 2)
                    {
                        packet = link.ToPacket(in l4);
                        return wireEnd < p + 2 ? DecodeStatus.Malformed : DecodeStatus.Truncated;
                    }
                    extLength = (ip[p + 1] + 1) * 8;
                    break;
                case 51:
                    // Authentication header (RFC 4302 §2.2): its length is in 4-octet units, minus 2.
                    if (capturedEnd < p + 2)
                    {
                        packet = link.ToPacket(in l4);
                        return wireEnd < p + 2 ? DecodeStatus.Malformed : DecodeStatus.Truncated;
                    }
                    extLength = (ip[p + 1] + 2) * 4;
                    break;
                case 44:
                    // Fragment header (RFC 8200 §4.5): next(1) reserved(1) offset(13 bits) res(2) M(1) id(4).
                    extLength = 8;
                    if (capturedEnd < p + extLength)
                    {
                        packet = link.ToPacket(in l4);
                        return wireEnd < p + extLength ? DecodeStatus.Malformed : DecodeStatus.Truncated;
                    }
                    ushort field = BinaryPrimitives.ReadUInt16BigEndian(ip[(p + 2)..]);
                    fragment |= (field & 0xFFF8) != 0;
                    l4.MoreFragments = (field & 1) != 0;
                    break;
                default:
                    extLength = 0;
                    break;
            }
            if (extLength == 0)
            {
                break;
            }
            if (wireEnd < p + extLength)
            {
                packet = link.ToPacket(in l4);
                return DecodeStatus.Malformed;
            }
            if (capturedEnd < p + extLength)
            {
                packet = link.ToPacket(in l4);
                return DecodeStatus.Truncated;
            }
            next = ip[p];
            p += extLength;
        }
        l4.Start = at + p;
        l4.WireLength = wireEnd - p;
        l4.CapturedLength = capturedEnd - p;
        if (fragment)
        {
            packet = link.ToPacket(in l4);
            return DecodeStatus.Fragment;
        }
        return DecodeTransport(frame, ref l4, in link, out packet);
    }

    private static DecodeStatus DecodeTransport(ReadOnlySpan<byte> frame, ref L4Info l4, in LinkInfo link, out DecodedPacket packet)
    {
        var status = l4.Protocol switch
        {
            DecodedPacket.Tcp => DecodeTcp(frame, ref l4),
            DecodedPacket.Udp => DecodeUdp(frame, ref l4),
            _ => DecodeStatus.NotTcpUdp,
        };
        packet = link.ToPacket(in l4);
        return status;
    }

    /// <summary>TCP (RFC 9293 §3.1): ports, sequence and acknowledgment numbers, data offset, control bits.</summary>
    private static DecodeStatus DecodeTcp(ReadOnlySpan<byte> frame, ref L4Info l4)
    {
        if (l4.WireLength < TcpMinHeader)
        {
            return DecodeStatus.Malformed;
        }
        if (l4.CapturedLength < TcpMinHeader)
        {
            return DecodeStatus.Truncated;
        }
        var tcp = frame.Slice(l4.Start, l4.CapturedLength);
        l4.SrcPort = BinaryPrimitives.ReadUInt16BigEndian(tcp);
        l4.DstPort = BinaryPrimitives.ReadUInt16BigEndian(tcp[2..]);
        l4.Seq = BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]);
        l4.Ack = BinaryPrimitives.ReadUInt32BigEndian(tcp[8..]);
        l4.Flags = (TcpFlags)tcp[13];
        l4.Checksum = BinaryPrimitives.ReadUInt16BigEndian(tcp[16..]);
        int dataOffset = (tcp[12] >> 4) * 4;
        if (dataOffset < TcpMinHeader || dataOffset > l4.WireLength)
        {
            return DecodeStatus.Malformed;
        }
        if (dataOffset > l4.CapturedLength)
        {
            return DecodeStatus.Truncated;
        }
        l4.PayloadOffset = l4.Start + dataOffset;
        l4.PayloadWire = l4.WireLength - dataOffset;
        l4.PayloadCaptured = l4.CapturedLength - dataOffset;
        return DecodeStatus.Ok;
    }

    /// <summary>UDP (RFC 768): ports and the length, which counts the 8-byte header.</summary>
    private static DecodeStatus DecodeUdp(ReadOnlySpan<byte> frame, ref L4Info l4)
    {
        if (l4.WireLength < UdpHeader)
        {
            return DecodeStatus.Malformed;
        }
        if (l4.CapturedLength < UdpHeader)
        {
            return DecodeStatus.Truncated;
        }
        var udp = frame.Slice(l4.Start, l4.CapturedLength);
        l4.SrcPort = BinaryPrimitives.ReadUInt16BigEndian(udp);
        l4.DstPort = BinaryPrimitives.ReadUInt16BigEndian(udp[2..]);
        int length = BinaryPrimitives.ReadUInt16BigEndian(udp[4..]);
        l4.Checksum = BinaryPrimitives.ReadUInt16BigEndian(udp[6..]);
        int wire;
        if (length == 0)
        {
            wire = l4.WireLength; // an IPv6 jumbogram's UDP length is 0 (RFC 2675 §4)
        }
        else if (length < UdpHeader || length > l4.WireLength && !l4.MoreFragments)
        {
            return DecodeStatus.Malformed;
        }
        else
        {
            // A first fragment holds only the start of a datagram whose UDP length counts all of it.
            wire = length;
        }
        l4.PayloadOffset = l4.Start + UdpHeader;
        l4.PayloadWire = wire - UdpHeader;
        l4.PayloadCaptured = Math.Min(l4.CapturedLength, wire) - UdpHeader;
        return DecodeStatus.Ok;
    }

    /// <summary>What the link layer said; the rest of the packet is added by <see cref="ToPacket(in L4Info)"/>.</summary>
    private struct LinkInfo
    {
        public int LinkType;
        public int VlanId;
        public SllPacketType? PacketType;
        public int? InterfaceIndex;

        public readonly DecodedPacket ToPacket() => ToPacket(new L4Info());

        public readonly DecodedPacket ToPacket(in L4Info l4) => new()
        {
            LinkType = LinkType,
            VlanId = VlanId,
            PacketType = PacketType,
            InterfaceIndex = InterfaceIndex,
            IpOffset = l4.IpOffset,
            Protocol = l4.Protocol,
            Src = l4.Family == 0 ? default : new NetAddress(l4.Family, l4.SrcPort, l4.SrcAddress),
            Dst = l4.Family == 0 ? default : new NetAddress(l4.Family, l4.DstPort, l4.DstAddress),
            TcpFlags = l4.Flags,
            Checksum = l4.Checksum,
            Seq = l4.Seq,
            Ack = l4.Ack,
            PayloadOffset = l4.PayloadOffset,
            PayloadLength = Math.Max(0, l4.PayloadCaptured),
            WirePayloadLength = Math.Max(0, l4.PayloadWire),
            MoreFragments = l4.MoreFragments,
        };
    }

    /// <summary>The IP and transport fields found so far.</summary>
    private struct L4Info
    {
        public int IpOffset;
        public ushort Family;
        public UInt128 SrcAddress;
        public UInt128 DstAddress;
        public byte Protocol;
        public bool MoreFragments;

        /// <summary>Offset of the transport header in the frame, and its length on the wire and in the capture.</summary>
        public int Start;
        public int WireLength;
        public int CapturedLength;
        public ushort SrcPort;
        public ushort DstPort;
        public uint Seq;
        public uint Ack;
        public TcpFlags Flags;
        public ushort Checksum;
        public int PayloadOffset;
        public int PayloadWire;
        public int PayloadCaptured;
    }
}
