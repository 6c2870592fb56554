using Tattle.Capture.Events;

namespace Tattle.Capture.Packets;

/// <summary>What <see cref="PacketDecoder.TryDecode"/> made of a frame.</summary>
public enum DecodeStatus : byte
{
    /// <summary>A TCP or UDP packet over IPv4 or IPv6: addresses, ports and payload are set.</summary>
    Ok,

    /// <summary>The frame carries no IP (ARP, LLDP, 802.2 LLC …).</summary>
    NotIp,

    /// <summary>An IP packet of another protocol (ICMP, SCTP …): addresses and <see cref="DecodedPacket.Protocol"/> are set.</summary>
    NotTcpUdp,

    /// <summary>A fragment other than the first: addresses and protocol are set, but it carries no ports.</summary>
    Fragment,

    /// <summary>The capture ended inside a header (snap length): what was decoded before it is set.</summary>
    Truncated,

    /// <summary>A header contradicts itself or the lengths around it.</summary>
    Malformed,

    /// <summary>The link type is not one of <see cref="LinkTypes"/>.</summary>
    UnsupportedLinkType,
}

/// <summary>TCP control bits (RFC 9293 §3.1).</summary>
[Flags]
public enum TcpFlags : byte
{
    None = 0,
    Fin = 0x01,
    Syn = 0x02,
    Rst = 0x04,
    Psh = 0x08,
    Ack = 0x10,
    Urg = 0x20,
    Ece = 0x40,
    Cwr = 0x80,
}

/// <summary>Who a packet was for, as the Linux cooked headers say (PACKET_* in linux/if_packet.h).</summary>
public enum SllPacketType : ushort
{
    /// <summary>Addressed to this host (received).</summary>
    Host = 0,
    Broadcast = 1,
    Multicast = 2,

    /// <summary>Addressed to another host, seen in promiscuous mode.</summary>
    OtherHost = 3,

    /// <summary>Sent by this host.</summary>
    Outgoing = 4,
}

/// <summary>
/// The headers of one captured frame, decoded in place: offsets point into the frame, nothing is copied or
/// allocated. Addresses use <see cref="NetAddress"/>'s layout, so they compare equal to the kernel side's.
/// </summary>
public readonly struct DecodedPacket
{
    /// <summary>IP protocol number of TCP (RFC 9293).</summary>
    public const byte Tcp = 6;

    /// <summary>IP protocol number of UDP (RFC 768).</summary>
    public const byte Udp = 17;

    /// <summary>The link type the frame was decoded as.</summary>
    public int LinkType { get; init; }

    /// <summary>Source address and port (port 0 when the packet has none: not TCP/UDP, or a later fragment).</summary>
    public NetAddress Src { get; init; }

    /// <summary>Destination address and port.</summary>
    public NetAddress Dst { get; init; }

    /// <summary>The IP protocol number (IPv4 protocol, or the IPv6 next header after the extension headers).</summary>
    public byte Protocol { get; init; }

    /// <summary>Offset of the IP header in the frame.</summary>
    public int IpOffset { get; init; }

    /// <summary>TCP only: the control bits.</summary>
    public TcpFlags TcpFlags { get; init; }

    /// <summary>TCP only: the sequence number of the first payload byte (of the SYN when the SYN bit is set).</summary>
    public uint Seq { get; init; }

    /// <summary>TCP only: the acknowledgment number (meaningful when <see cref="TcpFlags.Ack"/> is set).</summary>
    public uint Ack { get; init; }

    /// <summary>
    /// TCP/UDP only: the checksum field as captured. Two copies of one packet (seen on two interfaces) share it;
    /// a packet sent again rarely does, since its options or IPv4 id change.
    /// </summary>
    public ushort Checksum { get; init; }

    /// <summary>Offset of the transport payload in the frame.</summary>
    public int PayloadOffset { get; init; }

    /// <summary>Payload bytes present in the frame: clipped to the capture, without link-layer padding.</summary>
    public int PayloadLength { get; init; }

    /// <summary>
    /// Payload bytes the packet carried on the wire, per the IP (and UDP) lengths; more than
    /// <see cref="PayloadLength"/> when the snap length cut the frame. For the first fragment of a UDP datagram,
    /// the whole datagram's payload (its UDP length).
    /// </summary>
    public int WirePayloadLength { get; init; }

    /// <summary>The first fragment of a fragmented datagram: the rest of its payload is in later fragments.</summary>
    public bool MoreFragments { get; init; }

    /// <summary>The outermost 802.1Q VLAN id, or -1 for an untagged frame.</summary>
    public int VlanId { get; init; }

    /// <summary>Linux cooked captures (SLL, SLL2): who the packet was for; null for other link types.</summary>
    public SllPacketType? PacketType { get; init; }

    /// <summary>SLL2 only: the index of the interface the packet was seen on.</summary>
    public int? InterfaceIndex { get; init; }

    public bool IsTcp => Protocol == Tcp;

    public bool IsUdp => Protocol == Udp;

    /// <summary>Part of the payload was not captured (snap length, or a first fragment).</summary>
    public bool PayloadTruncated => PayloadLength < WirePayloadLength;

    public bool HasFlag(TcpFlags flag) => (TcpFlags & flag) != 0;

    /// <summary>The captured payload within <paramref name="frame"/> (the frame this packet was decoded from).</summary>
    public ReadOnlySpan<byte> PayloadOf(ReadOnlySpan<byte> frame) =>
        (uint)PayloadOffset <= (uint)frame.Length && PayloadLength <= frame.Length - PayloadOffset
            ? frame.Slice(PayloadOffset, PayloadLength)
            : [];

    public override string ToString() =>
        $"{(IsTcp ? "tcp" : IsUdp ? "udp" : $"ip{Protocol}")} {Src} > {Dst} [{TcpFlags}] seq {Seq} ack {Ack} len {PayloadLength}/{WirePayloadLength}";
}
