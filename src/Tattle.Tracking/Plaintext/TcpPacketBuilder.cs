using System.Buffers.Binary;
using Tattle.Capture.Events;
using Tattle.Capture.Packets;

namespace Tattle.Tracking.Plaintext;

/// <summary>The numbers of one synthetic TCP segment: sequence, acknowledgment and flags (RFC 9293 section 3.1).</summary>
public readonly record struct TcpSegmentHeader(uint Seq, uint Ack, TcpFlags Flags);

/// <summary>Builds one IPv4 or IPv6 packet (LINKTYPE_RAW) carrying one TCP segment, both checksums filled in.</summary>
public static class TcpPacketBuilder
{
    /// <summary>
    /// Payload bytes one segment carries at most: IPv4's 16-bit total length (RFC 791) covers both 20-byte headers.
    /// IPv6 could carry 20 bytes more; one limit for both keeps the splitting the same.
    /// </summary>
    public const int MaxPayload = ushort.MaxValue - 40;

    /// <summary>The window scale SYN and SYN-ACK announce (RFC 7323 section 2.3; 14 is the largest allowed).</summary>
    public const byte WindowScale = 14;

    /// <summary>The biggest packet <see cref="Build"/> writes: an IPv6 header, TCP with options, a full payload.</summary>
    public const int MaxPacket = Ipv6Header + TcpHeader + SynOptions + MaxPayload;

    private const int Ipv4Header = 20;
    private const int Ipv6Header = 40;
    private const int TcpHeader = 20;

    // NOP, then window scale (kind 3, length 3): 4 bytes keep the header a whole number of 32-bit words.
    private const int SynOptions = 4;
    private const byte Ttl = 64;
    private const byte ProtocolTcp = 6;

    /// <summary>The IP header's length for an address family (AF_INET or AF_INET6).</summary>
    public static int IpHeaderLength(ushort family) => family == NetAddress.AfInet6 ? Ipv6Header : Ipv4Header;

    /// <summary>
    /// Writes the packet from <paramref name="src"/> to <paramref name="dst"/> (same family) into
    /// <paramref name="packet"/> and returns its length. <paramref name="ipId"/> is IPv4's identification field.
    /// </summary>
    public static int Build(Span<byte> packet, NetAddress src, NetAddress dst, TcpSegmentHeader h, ReadOnlySpan<byte> payload, ushort ipId)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(payload.Length, MaxPayload);
        if (src.Family != dst.Family || !src.IsInet)
        {
            throw new ArgumentException($"both ends need one IP family: {src} and {dst}");
        }
        int ip = IpHeaderLength(src.Family);
        int options = (h.Flags & TcpFlags.Syn) != 0 ? SynOptions : 0;
        int tcpLength = TcpHeader + options + payload.Length;
        Span<byte> tcp = packet.Slice(ip, tcpLength);
        WriteTcp(tcp, src.Port, dst.Port, h, options);
        payload.CopyTo(tcp[(TcpHeader + options)..]);
        if (src.Family == NetAddress.AfInet6)
        {
            WriteIpv6(packet, src, dst, tcpLength);
        }
        else
        {
            WriteIpv4(packet, src, dst, tcpLength, ipId);
        }
        // RFC 9293 section 3.1: the checksum covers a pseudo-header, the TCP header and the data; the field
        // counts as zero while it is summed.
        uint sum = PseudoHeaderSum(src, dst, tcpLength);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], InternetChecksum(tcp, sum));
        return ip + tcpLength;
    }

    /// <summary>
    /// The Internet checksum (RFC 1071): the one's complement of the one's complement sum of the 16-bit words,
    /// an odd last byte padded with zero; <paramref name="initial"/> adds a sum already taken (the pseudo-header).
    /// </summary>
    public static ushort InternetChecksum(ReadOnlySpan<byte> data, uint initial = 0)
    {
        ulong sum = initial;
        int i = 0;
        for (; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }
        if (i < data.Length)
        {
            sum += (uint)data[i] << 8;
        }
        while (sum > 0xffff)
        {
            sum = (sum & 0xffff) + (sum >> 16); // end-around carry
        }
        return (ushort)~sum;
    }

    /// <summary>
    /// The pseudo-header's words, not yet folded: for IPv4 (RFC 9293 section 3.1) source, destination, zero and
    /// protocol, TCP length; for IPv6 (RFC 8200 section 8.1) the 128-bit addresses, 32-bit length, next header.
    /// </summary>
    public static uint PseudoHeaderSum(NetAddress src, NetAddress dst, int tcpLength)
    {
        Span<byte> b = stackalloc byte[40];
        int n;
        if (src.Family == NetAddress.AfInet6)
        {
            BinaryPrimitives.WriteUInt128BigEndian(b, src.Address);
            BinaryPrimitives.WriteUInt128BigEndian(b[16..], dst.Address);
            BinaryPrimitives.WriteInt32BigEndian(b[32..], tcpLength);
            BinaryPrimitives.WriteInt32BigEndian(b[36..], ProtocolTcp);
            n = 40;
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(b, V4(src));
            BinaryPrimitives.WriteUInt32BigEndian(b[4..], V4(dst));
            b[8] = 0;
            b[9] = ProtocolTcp;
            BinaryPrimitives.WriteUInt16BigEndian(b[10..], (ushort)tcpLength);
            n = 12;
        }
        // The complement of the complement: the plain folded sum, to be added in InternetChecksum.
        return (ushort)~InternetChecksum(b[..n]);
    }

    private static void WriteTcp(Span<byte> tcp, ushort srcPort, ushort dstPort, TcpSegmentHeader h, int options)
    {
        // RFC 9293 section 3.1, the header format.
        BinaryPrimitives.WriteUInt16BigEndian(tcp, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], dstPort);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], h.Seq);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], (h.Flags & TcpFlags.Ack) != 0 ? h.Ack : 0);
        tcp[12] = (byte)((TcpHeader + options) / 4 << 4); // data offset in 32-bit words; reserved bits zero
        tcp[13] = (byte)h.Flags;
        // The largest window: with the scale announced in the handshake, Wireshark never sees a sender run past it.
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], ushort.MaxValue);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], 0); // the checksum, filled in last
        BinaryPrimitives.WriteUInt16BigEndian(tcp[18..], 0); // urgent pointer
        if (options > 0)
        {
            tcp[20] = 1; // NOP
            tcp[21] = 3; // window scale (RFC 7323 section 2.2)
            tcp[22] = 3;
            tcp[23] = WindowScale;
        }
    }

    private static void WriteIpv4(Span<byte> p, NetAddress src, NetAddress dst, int tcpLength, ushort ipId)
    {
        // RFC 791 section 3.1: version 4, IHL 5 words, no TOS, total length, identification, flags DF (the
        // packet was never fragmented) and offset 0, TTL, protocol, checksum, addresses.
        p[0] = 0x45;
        p[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(p[2..], (ushort)(Ipv4Header + tcpLength));
        BinaryPrimitives.WriteUInt16BigEndian(p[4..], ipId);
        BinaryPrimitives.WriteUInt16BigEndian(p[6..], 0x4000);
        p[8] = Ttl;
        p[9] = ProtocolTcp;
        BinaryPrimitives.WriteUInt16BigEndian(p[10..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(p[12..], V4(src));
        BinaryPrimitives.WriteUInt32BigEndian(p[16..], V4(dst));
        // RFC 791: "the 16 bit one's complement of the one's complement sum of all 16 bit words in the header".
        BinaryPrimitives.WriteUInt16BigEndian(p[10..], InternetChecksum(p[..Ipv4Header]));
    }

    private static void WriteIpv6(Span<byte> p, NetAddress src, NetAddress dst, int tcpLength)
    {
        // RFC 8200 section 3: version 6, traffic class and flow label 0, payload length, next header, hop limit.
        BinaryPrimitives.WriteUInt32BigEndian(p, 6u << 28);
        BinaryPrimitives.WriteUInt16BigEndian(p[4..], (ushort)tcpLength);
        p[6] = ProtocolTcp;
        p[7] = Ttl;
        BinaryPrimitives.WriteUInt128BigEndian(p[8..], src.Address);
        BinaryPrimitives.WriteUInt128BigEndian(p[24..], dst.Address);
    }

    /// <summary>NetAddress keeps an IPv4 address in the top 32 bits of its 128 (as its 16 bytes are laid out).</summary>
    private static uint V4(NetAddress a) => (uint)(a.Address >> 96);
}
