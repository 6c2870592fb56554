namespace Tattle.Output.Pcapng;

/// <summary>
/// LINKTYPE_ values (draft-ietf-opsawg-pcaplinktype) for an Interface Description Block or a pcap header:
/// they say what the first byte of every packet is.
/// </summary>
public static class LinkTypes
{
    /// <summary>BSD loopback: a 4-byte protocol family in the writer's byte order, then the packet.</summary>
    public const ushort Null = 0;

    /// <summary>Ethernet II / 802.3 frames.</summary>
    public const ushort Ethernet = 1;

    /// <summary>Raw IP: the packet starts with an IPv4 or IPv6 header (the version nibble tells which).</summary>
    public const ushort Raw = 101;

    /// <summary>Linux "cooked" capture v1 (16-byte pseudo header), what tcpdump -i any wrote before SLL2.</summary>
    public const ushort LinuxSll = 113;

    /// <summary>Raw IPv4 only.</summary>
    public const ushort Ipv4 = 228;

    /// <summary>Raw IPv6 only.</summary>
    public const ushort Ipv6 = 229;

    /// <summary>Linux "cooked" capture v2 (20-byte pseudo header with the interface index), tcpdump -i any.</summary>
    public const ushort LinuxSll2 = 276;
}
