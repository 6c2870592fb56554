using System.Buffers.Binary;

namespace Tattle.Protocols.Dns;

/// <summary>How far <see cref="DnsMessageReader.Read"/> got.</summary>
internal enum DnsReadStatus : byte
{
    /// <summary>The whole message was read.</summary>
    Complete,

    /// <summary>The header and question were read, then the bytes ran out inside a record.</summary>
    CutAfterQuestion,

    /// <summary>The bytes ran out before the question was read.</summary>
    CutInQuestion,

    /// <summary>Not a DNS message: a bad name or a record whose length runs past the message.</summary>
    Malformed,
}

/// <summary>What Tattle takes from one DNS message.</summary>
internal readonly record struct DnsMessage(
    DnsHeader Header, string? QName, ushort QType, int Rcode, IReadOnlyList<DnsAnswer> Answers);

/// <summary>
/// Reads a DNS message (RFC 1035 §4.1) in one pass: the header, the first question, the answer section as text
/// when asked, and the EDNS OPT record for the extended response code (RFC 6891 §6.1.3). The authority and
/// additional sections are walked (their names and lengths checked) but not kept.
/// </summary>
internal sealed class DnsMessageReader
{
    private readonly DnsNameCache _names = new();

    /// <summary>
    /// Reads <paramref name="message"/> (starting at the header). With <paramref name="withAnswers"/> false only
    /// the question's name becomes a string: the fast path for queries. On <see cref="DnsReadStatus.CutAfterQuestion"/>
    /// <paramref name="result"/> holds the answers read before the cut.
    /// </summary>
    public DnsReadStatus Read(ReadOnlySpan<byte> message, bool withAnswers, out DnsMessage result)
    {
        result = default;
        if (!DnsHeader.TryRead(message, out var header))
        {
            return DnsReadStatus.CutInQuestion;
        }
        _names.Clear();
        int p = DnsHeader.Size;
        string? qname = null;
        ushort qtype = 0;
        for (int i = 0; i < header.QdCount; i++)
        {
            int end;
            if (i == 0)
            {
                qname = _names.Read(message, p, out end);
            }
            else
            {
                end = DnsName.Skip(message, p);
            }
            if (end == DnsName.Malformed)
            {
                return DnsReadStatus.Malformed;
            }
            if (end < 0 || message.Length - end < 4)
            {
                return DnsReadStatus.CutInQuestion;
            }
            if (i == 0)
            {
                qtype = BinaryPrimitives.ReadUInt16BigEndian(message[end..]);
            }
            p = end + 4;
        }

        int rcode = header.Rcode;
        List<DnsAnswer>? answers = withAnswers && header.AnCount > 0 ? new(Math.Min((int)header.AnCount, 16)) : null;
        result = new DnsMessage(header, qname, qtype, rcode, answers ?? (IReadOnlyList<DnsAnswer>)[]);
        int records = header.AnCount + header.NsCount + header.ArCount;
        for (int i = 0; i < records; i++)
        {
            bool answer = answers is not null && i < header.AnCount;
            string? owner = null;
            int end = answer ? ReadOwner(message, p, out owner) : DnsName.Skip(message, p);
            if (end == DnsName.Malformed)
            {
                return DnsReadStatus.Malformed;
            }
            // RFC 1035 §4.1.3: TYPE, CLASS, TTL, RDLENGTH, then RDLENGTH bytes of RDATA.
            if (end < 0 || message.Length - end < 10)
            {
                return DnsReadStatus.CutAfterQuestion;
            }
            var fixedPart = message[end..];
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(fixedPart);
            uint ttl = BinaryPrimitives.ReadUInt32BigEndian(fixedPart[4..]);
            int rdlength = BinaryPrimitives.ReadUInt16BigEndian(fixedPart[8..]);
            int rdata = end + 10;
            if (message.Length - rdata < rdlength)
            {
                return DnsReadStatus.CutAfterQuestion;
            }
            if (answer)
            {
                string data = DnsRecordData.Format(message, rdata, rdlength, type, _names);
                answers!.Add(new DnsAnswer(owner!, DnsCodes.TypeName(type), ttl, data));
            }
            else if (type == DnsCodes.Opt && i >= header.AnCount + header.NsCount)
            {
                // The OPT record's TTL carries the upper 8 bits of a 12-bit response code (RFC 6891 §6.1.3).
                rcode = (fixedPart[4] << 4) | header.Rcode;
                result = result with { Rcode = rcode };
            }
            p = rdata + rdlength;
        }
        return DnsReadStatus.Complete;
    }

    /// <summary>
    /// The offset just past the resource record at <paramref name="pos"/> (RFC 1035 §4.1.3), or
    /// <see cref="DnsName.Malformed"/> / <see cref="DnsName.Cut"/>; allocates nothing.
    /// </summary>
    public static int SkipRecord(ReadOnlySpan<byte> message, int pos)
    {
        int end = DnsName.Skip(message, pos);
        if (end < 0)
        {
            return end;
        }
        if (message.Length - end < 10)
        {
            return DnsName.Cut;
        }
        int rdlength = BinaryPrimitives.ReadUInt16BigEndian(message[(end + 8)..]);
        return message.Length - (end + 10) < rdlength ? DnsName.Cut : end + 10 + rdlength;
    }

    private int ReadOwner(ReadOnlySpan<byte> message, int pos, out string? owner)
    {
        owner = _names.Read(message, pos, out int end);
        return end;
    }
}
