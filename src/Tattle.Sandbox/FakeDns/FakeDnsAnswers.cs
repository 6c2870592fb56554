using System.Buffers.Binary;
using System.Net;
using Tattle.Protocols.Dns;

namespace Tattle.Sandbox.FakeDns;

/// <summary>
/// The answers of --offline's fake resolver: every name gets its own address from 198.18.0.0/15 (RFC 2544's
/// benchmarking range, routed nowhere), the same one each time it is asked, so the program goes on to connect and
/// the connect is seen. A queries get that address; every other type an empty NOERROR answer (RFC 2308 NODATA),
/// so resolvers fall back to A. Nothing is ever forwarded. The range holds 131 070 addresses: past that many
/// distinct names the least recently asked name gives its address up (and is counted in <see cref="Recycled"/>),
/// so every answer stays inside the range and the table stays bounded whatever a program looks up.
/// </summary>
public sealed class FakeDnsAnswers
{
    /// <summary>The range answers come from.</summary>
    public static readonly Ipv4Cidr Range = new(0xC6120000, 15);

    private const ushort ClassIn = 1;
    private const uint TtlSeconds = 60;
    private const ushort FlagResponse = 0x8000;
    private const ushort FlagRecursionDesired = 0x0100;
    private const ushort FlagRecursionAvailable = 0x0080;
    private const ushort OpcodeMask = 0x7800;
    private const int RcodeFormErr = 1;
    private const int RcodeNotImp = 4;

    private readonly Dictionary<string, LinkedListNode<(string Name, IPAddress Address)>> _byName = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<IPAddress, string> _byAddress = [];
    // Most recently asked first: the last node is the one to recycle.
    private readonly LinkedList<(string Name, IPAddress Address)> _recency = new();
    private readonly Lock _gate = new();
    private readonly int _capacity;
    private long _recycled;

    /// <summary>Answers from the whole range.</summary>
    public FakeDnsAnswers()
        : this(Capacity)
    {
    }

    /// <summary>Answers from the first <paramref name="capacity"/> addresses of the range (tests reach the limit quickly).</summary>
    public FakeDnsAnswers(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, Capacity);
        _capacity = capacity;
    }

    /// <summary>How many names the range has room for at once: every address but the network and broadcast ones.</summary>
    public static int Capacity => (int)(Range.Last - Range.Network) - 1;

    /// <summary>How many times a name's address was handed to another name because the range was full.</summary>
    public long Recycled
    {
        get
        {
            lock (_gate)
            {
                return _recycled;
            }
        }
    }

    /// <summary>The names handed out so far, by their fake address.</summary>
    public IReadOnlyDictionary<IPAddress, string> Names
    {
        get
        {
            lock (_gate)
            {
                return new Dictionary<IPAddress, string>(_byAddress);
            }
        }
    }

    /// <summary>
    /// The address a name gets: assigned in the order names are first asked, then, once the range is full, the
    /// address of the name asked least recently.
    /// </summary>
    public IPAddress AddressOf(string name)
    {
        string key = name.TrimEnd('.');
        lock (_gate)
        {
            if (_byName.TryGetValue(key, out var node))
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
                return node.Value.Address;
            }
            IPAddress address;
            if (_byName.Count < _capacity)
            {
                address = Range.Host((uint)_byName.Count + 1);
            }
            else
            {
                var oldest = _recency.Last!;
                _recency.RemoveLast();
                _byName.Remove(oldest.Value.Name);
                address = oldest.Value.Address;
                _recycled++;
            }
            _byName[key] = _recency.AddFirst((key, address));
            _byAddress[address] = key;
            return address;
        }
    }

    /// <summary>
    /// Writes the response to <paramref name="query"/> into <paramref name="response"/> and returns its length;
    /// 0 when the bytes are not a query to answer (a response, or too short to have an id).
    /// </summary>
    public int Answer(ReadOnlySpan<byte> query, Span<byte> response)
    {
        if (!DnsHeader.TryRead(query, out var header) || header.IsResponse)
        {
            return 0;
        }
        string? name = null;
        ushort qtype = 0, qclass = 0;
        int questionEnd = header.QdCount == 1 && header.Opcode == 0 ? QuestionEnd(query, out name, out qtype, out qclass) : -1;
        int rcode = header.Opcode != 0 ? RcodeNotImp : questionEnd < 0 ? RcodeFormErr : 0;
        bool answerA = rcode == 0 && qtype == DnsCodes.A && qclass == ClassIn;
        // RFC 1035 §4.1.1: the id and RD are echoed, QR set; the question is copied back as it came.
        int questionLength = rcode == 0 ? questionEnd - DnsHeader.Size : 0;
        int length = DnsHeader.Size + questionLength + (answerA ? 16 : 0);
        if (response.Length < length)
        {
            return 0;
        }
        BinaryPrimitives.WriteUInt16BigEndian(response, header.Id);
        ushort flags = (ushort)(FlagResponse | (header.Flags & (OpcodeMask | FlagRecursionDesired)) | FlagRecursionAvailable | rcode);
        BinaryPrimitives.WriteUInt16BigEndian(response[2..], flags);
        BinaryPrimitives.WriteUInt16BigEndian(response[4..], (ushort)(rcode == 0 ? 1 : 0));
        BinaryPrimitives.WriteUInt16BigEndian(response[6..], (ushort)(answerA ? 1 : 0));
        BinaryPrimitives.WriteUInt32BigEndian(response[8..], 0); // no authority, no additional (EDNS not echoed)
        query[DnsHeader.Size..(DnsHeader.Size + questionLength)].CopyTo(response[DnsHeader.Size..]);
        if (answerA)
        {
            // RFC 1035 §4.1.3: NAME as a pointer to the question's name (offset 12), TYPE A, CLASS IN, TTL, RDATA.
            var a = response[(DnsHeader.Size + questionLength)..];
            BinaryPrimitives.WriteUInt16BigEndian(a, 0xC000 | DnsHeader.Size);
            BinaryPrimitives.WriteUInt16BigEndian(a[2..], DnsCodes.A);
            BinaryPrimitives.WriteUInt16BigEndian(a[4..], ClassIn);
            BinaryPrimitives.WriteUInt32BigEndian(a[6..], TtlSeconds);
            BinaryPrimitives.WriteUInt16BigEndian(a[10..], 4);
            AddressOf(name!).TryWriteBytes(a[12..], out _);
        }
        return length;
    }

    // The end of the single question (name, type, class), or -1 when it is malformed or cut.
    private static int QuestionEnd(ReadOnlySpan<byte> query, out string? name, out ushort qtype, out ushort qclass)
    {
        qtype = qclass = 0;
        name = DnsName.ReadString(query, DnsHeader.Size, out int end);
        if (name is null || end + 4 > query.Length)
        {
            return -1;
        }
        qtype = BinaryPrimitives.ReadUInt16BigEndian(query[end..]);
        qclass = BinaryPrimitives.ReadUInt16BigEndian(query[(end + 2)..]);
        return end + 4;
    }
}
