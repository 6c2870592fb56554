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

    /// <summary>The answers of the message being read (cleared for each), to be compared with <see cref="_like"/>.</summary>
    private readonly List<DnsAnswer> _answers = [];

    /// <summary>Answer lists handed with the last responses that had answers; never changed once handed.</summary>
    private readonly List<DnsAnswer>?[] _kept = new List<DnsAnswer>?[4];
    private int _nextKept;

    /// <summary>The kept list the message being read starts like, if any.</summary>
    private List<DnsAnswer>? _like;

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
        bool withAnswerSection = withAnswers && header.AnCount > 0;
        _answers.Clear();
        _like = null;
        var status = ReadRecords(message, p, header, withAnswerSection, ref rcode);
        result = new DnsMessage(header, qname, qtype, rcode, withAnswerSection ? Answers() : []);
        return status;
    }

    /// <summary>The resource records after the question: the answers into <see cref="_answers"/>, the OPT's extended code into <paramref name="rcode"/>.</summary>
    private DnsReadStatus ReadRecords(ReadOnlySpan<byte> message, int p, in DnsHeader header, bool withAnswers, ref int rcode)
    {
        int records = header.AnCount + header.NsCount + header.ArCount;
        for (int i = 0; i < records; i++)
        {
            bool answer = withAnswers && i < header.AnCount;
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
                Add(owner!, DnsCodes.TypeName(type), ttl, data);
            }
            else if (type == DnsCodes.Opt && i >= header.AnCount + header.NsCount)
            {
                // The OPT record's TTL carries the upper 8 bits of a 12-bit response code (RFC 6891 §6.1.3).
                rcode = (fixedPart[4] << 4) | header.Rcode;
            }
            p = rdata + rdlength;
        }
        return DnsReadStatus.Complete;
    }

    /// <summary>
    /// Adds an answer: the one at the same place of the kept list whose first answer is this message's first, when it
    /// is the same (its strings are shared, so that is a comparison of references, mostly).
    /// </summary>
    private void Add(string name, string type, uint ttl, string data)
    {
        int i = _answers.Count;
        if (i == 0)
        {
            foreach (var list in _kept)
            {
                if (list is { Count: > 0 } && Same(list[0], name, type, ttl, data))
                {
                    _like = list;
                    break;
                }
            }
        }
        if (_like is { } like && i < like.Count && Same(like[i], name, type, ttl, data))
        {
            _answers.Add(like[i]);
            return;
        }
        _answers.Add(new DnsAnswer(name, type, ttl, data));
    }

    private static bool Same(DnsAnswer a, string name, string type, uint ttl, string data) =>
        a.Ttl == ttl && a.Name == name && a.Type == type && a.Data == data;

    /// <summary>
    /// The answers read, as a list no one changes after: a kept list when every answer is the same (a program's
    /// repeated lookup, from a resolver that answers with the same TTL), else a new one, kept in place of the oldest.
    /// A few are kept, since programs look up in turn: A and AAAA for each name, or a handful of names.
    /// </summary>
    private IReadOnlyList<DnsAnswer> Answers()
    {
        if (_answers.Count == 0)
        {
            // Cut before its first answer.
            return [];
        }
        if (_like is { } like && like.Count == _answers.Count)
        {
            int i = 0;
            while (i < like.Count && ReferenceEquals(like[i], _answers[i]))
            {
                i++;
            }
            if (i == like.Count)
            {
                return like;
            }
        }
        List<DnsAnswer> made = [.. _answers];
        _kept[_nextKept] = made;
        _nextKept = (_nextKept + 1) % _kept.Length;
        return made;
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
