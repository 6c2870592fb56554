namespace Tattle.Capture.Packets;

/// <summary>Link-layer header types of pcap and pcapng files: what the first byte of every packet is, for <see cref="PacketDecoder"/> and the pcapng writer.</summary>
/// <remarks>Values from the tcpdump.org LINKTYPE_ registry (https://www.tcpdump.org/linktypes.html).</remarks>
public static class LinkTypes
{
    /// <summary>BSD loopback: a 4-byte protocol family in the capturing host's byte order, then the IP packet.</summary>
    public const int Null = 0;

    /// <summary>Ethernet II (IEEE 802.3), possibly with 802.1Q / 802.1ad VLAN tags.</summary>
    public const int Ethernet = 1;

    /// <summary>Raw IP: the packet starts at byte 0; its first nibble says IPv4 or IPv6.</summary>
    public const int Raw = 101;

    /// <summary>OpenBSD loopback: like <see cref="Null"/> but the family is in network byte order.</summary>
    public const int Loop = 108;

    /// <summary>Linux "cooked" capture v1 (the "any" device): a 16-byte pseudo-header.</summary>
    public const int LinuxSll = 113;

    /// <summary>Raw IPv4 only.</summary>
    public const int Ipv4 = 228;

    /// <summary>Raw IPv6 only.</summary>
    public const int Ipv6 = 229;

    /// <summary>Linux "cooked" capture v2: a 20-byte pseudo-header that adds the interface index.</summary>
    public const int LinuxSll2 = 276;

    /// <summary>Whether <see cref="PacketDecoder"/> understands the link type.</summary>
    public static bool IsSupported(int linkType) =>
        linkType is Null or Ethernet or Raw or Loop or LinuxSll or Ipv4 or Ipv6 or LinuxSll2;
}
