using System.Buffers.Binary;
using Tattle.Protocols.Common;

namespace Tattle.Protocols.Dns;

/// <summary>DNS over UDP and TCP: how to recognise it and how to make a parser (see README.md).</summary>
public static class DnsProtocol
{
    /// <summary>The port of DNS (RFC 1035 §4.2) and of multicast DNS (RFC 6762).</summary>
    public const int Port = 53;
    public const int MulticastPort = 5353;

    /// <summary>DNS over TLS (RFC 7858 §3.1): the plaintext the TLS probes read is the TCP framing.</summary>
    public const int TlsPort = 853;

    public static ProtocolInfo Info { get; } = new("dns", Probe, (options, sink) => new DnsParser(sink));

    /// <summary>
    /// A datagram that holds a plausible DNS message: strictly checked (one question of class IN, the whole
    /// message well-formed) unless port 53 or 5353 is at either end. A stream is read leniently with port 53 or
    /// 853 at an end; on any other port its first length-prefixed message must pass the same strict checks as a
    /// datagram, to its last byte.
    /// </summary>
    public static Detection Probe(ReadOnlySpan<byte> data, bool datagram, int localPort, int remotePort)
    {
        bool port53 = localPort == Port || remotePort == Port;
        if (datagram)
        {
            return ProbeDatagram(data, port53 || localPort == MulticastPort || remotePort == MulticastPort);
        }
        return port53 || localPort == TlsPort || remotePort == TlsPort ? ProbeStream(data) : ProbeStreamStrictly(data);
    }

    /// <summary>
    /// A stream on a port that does not say DNS: its first message, once whole, must be a standard query with one
    /// question or its response, well-formed and ending where its length prefix says (a length prefix and a
    /// header alone are too weak a signature). Until then a header that passes the strict checks waits for more.
    /// </summary>
    internal static Detection ProbeStreamStrictly(ReadOnlySpan<byte> data)
    {
        if (data.Length < 2)
        {
            return Detection.NeedMoreData;
        }
        int length = BinaryPrimitives.ReadUInt16BigEndian(data);
        if (length < DnsHeader.Size)
        {
            return Detection.No;
        }
        var message = data[2..];
        if (!DnsHeader.TryRead(message, out var header))
        {
            return Detection.NeedMoreData;
        }
        if (!header.IsPlausible(length, lenient: false))
        {
            return Detection.No;
        }
        return message.Length < length ? Detection.NeedMoreData : ProbeDatagram(message[..length], lenient: false);
    }

    /// <summary>Whether one datagram holds a DNS message; <paramref name="lenient"/> when a port says DNS.</summary>
    internal static Detection ProbeDatagram(ReadOnlySpan<byte> data, bool lenient)
    {
        if (!DnsHeader.TryRead(data, out var header) || !header.IsPlausible(data.Length, lenient))
        {
            return Detection.No;
        }
        int p = DnsHeader.Size;
        if (header.QdCount > 0)
        {
            int end = DnsName.Skip(data, p);
            if (end < 0 || data.Length - end < 4)
            {
                return Detection.No;
            }
            ushort qtype = BinaryPrimitives.ReadUInt16BigEndian(data[end..]);
            // mDNS uses the top bit of QCLASS as "unicast response wanted" (RFC 6762 §5.4).
            int qclass = BinaryPrimitives.ReadUInt16BigEndian(data[(end + 2)..]) & 0x7FFF;
            bool classOk = lenient ? qclass is 1 or 3 or 4 or 254 or 255 : qclass == 1;
            if (qtype == 0 || !classOk)
            {
                return Detection.No;
            }
            p = end + 4;
        }
        if (!lenient && !IsWellFormed(data, header, p))
        {
            return Detection.No;
        }
        return header.IsResponse ? Detection.Response : Detection.Request;
    }

    /// <summary>
    /// Whether <paramref name="data"/> starts with a length-prefixed DNS message (RFC 1035 §4.2.2): the header is
    /// plausible and the question's name, as far as it has arrived, is well-formed.
    /// </summary>
    internal static Detection ProbeStream(ReadOnlySpan<byte> data)
    {
        if (data.Length < 2)
        {
            return Detection.NeedMoreData;
        }
        int length = BinaryPrimitives.ReadUInt16BigEndian(data);
        if (length < DnsHeader.Size)
        {
            return Detection.No;
        }
        var message = data[2..];
        if (!DnsHeader.TryRead(message, out var header))
        {
            return Detection.NeedMoreData;
        }
        if (!header.IsPlausible(length, lenient: true))
        {
            return Detection.No;
        }
        if (header.QdCount > 0)
        {
            bool whole = message.Length >= length;
            int end = DnsName.Skip(message[..Math.Min(length, message.Length)], DnsHeader.Size);
            if (end == DnsName.Malformed || (end == DnsName.Cut && whole) || (end >= 0 && length - end < 4))
            {
                return Detection.No;
            }
            if (end == DnsName.Cut)
            {
                return Detection.NeedMoreData;
            }
        }
        return header.IsResponse ? Detection.Response : Detection.Request;
    }

    /// <summary>Every record the header counts is there, well-formed, and the last ends the datagram.</summary>
    private static bool IsWellFormed(ReadOnlySpan<byte> data, DnsHeader header, int afterQuestion)
    {
        int p = afterQuestion;
        for (int i = 1; i < header.QdCount; i++)
        {
            p = DnsName.Skip(data, p);
            if (p < 0 || data.Length - p < 4)
            {
                return false;
            }
            p += 4;
        }
        int records = header.AnCount + header.NsCount + header.ArCount;
        for (int i = 0; i < records && p >= 0; i++)
        {
            p = DnsMessageReader.SkipRecord(data, p);
        }
        return p == data.Length;
    }
}
