using System.Buffers.Binary;

namespace Tattle.Protocols.Dns;

/// <summary>The fixed 12-byte header of a DNS message (RFC 1035 §4.1.1).</summary>
internal readonly record struct DnsHeader(
    ushort Id, ushort Flags, ushort QdCount, ushort AnCount, ushort NsCount, ushort ArCount)
{
    public const int Size = 12;

    // RFC 1035 §4.1.2-3: a question is at least a root name (1) + type + class; a record adds TTL + RDLENGTH.
    private const int MinQuestion = 5;
    private const int MinRecord = 11;

    /// <summary>QR: the message is a response.</summary>
    public bool IsResponse => (Flags & 0x8000) != 0;

    public int Opcode => (Flags >> 11) & 0xF;

    /// <summary>TC: the server cut the answer to fit a datagram (the client retries over TCP, RFC 7766 §5).</summary>
    public bool Truncated => (Flags & 0x0200) != 0;

    public int Rcode => Flags & 0xF;

    /// <summary>Reads the header; false if fewer than 12 bytes.</summary>
    public static bool TryRead(ReadOnlySpan<byte> data, out DnsHeader header)
    {
        if (data.Length < Size)
        {
            header = default;
            return false;
        }
        header = new DnsHeader(
            BinaryPrimitives.ReadUInt16BigEndian(data),
            BinaryPrimitives.ReadUInt16BigEndian(data[2..]),
            BinaryPrimitives.ReadUInt16BigEndian(data[4..]),
            BinaryPrimitives.ReadUInt16BigEndian(data[6..]),
            BinaryPrimitives.ReadUInt16BigEndian(data[8..]),
            BinaryPrimitives.ReadUInt16BigEndian(data[10..]));
        return true;
    }

    /// <summary>
    /// Whether the header could start a DNS message of <paramref name="messageLength"/> bytes. Strict (no port
    /// says DNS): a standard query (opcode 0, Z clear, one question, nothing but EDNS/TSIG in a query) or its
    /// response. Lenient (port 53 or 5353): any assigned opcode and up to 32 questions (mDNS asks several).
    /// </summary>
    public bool IsPlausible(int messageLength, bool lenient)
    {
        int opcode = Opcode;
        if (lenient)
        {
            // RFC 6895 §2.2: 0 QUERY, 1 IQUERY (obsolete), 2 STATUS, 4 NOTIFY, 5 UPDATE, 6 DSO.
            if (opcode is 3 or > 6 || QdCount > 32)
            {
                return false;
            }
        }
        else
        {
            // Z (RFC 1035 §4.1.1) is reserved and must be zero; real queries ask exactly one question.
            if (opcode != 0 || (Flags & 0x0040) != 0 || QdCount != 1 || Rcode > 5)
            {
                return false;
            }
            if (!IsResponse && (Rcode != 0 || AnCount != 0 || NsCount != 0 || ArCount > 2))
            {
                return false;
            }
        }
        long minimum = Size + (long)QdCount * MinQuestion + ((long)AnCount + NsCount + ArCount) * MinRecord;
        return minimum <= messageLength;
    }
}
