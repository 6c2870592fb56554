using System.Buffers.Binary;
using System.Text;
using static Tattle.Capture.Packets.PcapngFormat;

namespace Tattle.Capture.Packets;

/// <summary>
/// Reads pcap and pcapng files packet by packet (formats, limits: README.md). Malformed or cut input never
/// throws: <see cref="TryRead"/> returns false and <see cref="Error"/> names the byte offset of the bad block,
/// after every packet before it was returned. Only the stream's own I/O errors propagate. Not thread-safe.
/// </summary>
public sealed class CaptureReader : IDisposable
{
    /// <summary>Larger blocks or records are taken for corruption, not read (Wireshark caps packets near this too).</summary>
    public const int MaxBlockLength = 256 << 20;

    /// <summary>How the error of a file whose first bytes are neither pcap's nor pcapng's magic begins.</summary>
    public const string NotACapture = "not a pcap or pcapng file";

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly List<CaptureInterface> _interfaces = [];
    private readonly List<CaptureStatistics> _statistics = [];
    private readonly List<Resolution> _resolutions = [];
    private readonly byte[] _header = new byte[24];
    private long _position;
    private bool _bigEndian;
    private bool _nanoseconds; // pcap only
    private int _sectionBase; // pcapng: index in _interfaces of this section's interface 0
    private int _section = -1;
    private int _pending; // bytes of the next block already in _header (the first SHB's type, read to detect the format)
    private bool _done;

    private CaptureReader(Stream stream, bool leaveOpen)
    {
        _stream = stream;
        _leaveOpen = leaveOpen;
    }

    /// <summary>
    /// Reads the file header and detects the format. Never throws for bad content: an unrecognized file gives a
    /// reader whose <see cref="Error"/> is set and whose <see cref="TryRead"/> returns false.
    /// </summary>
    public static CaptureReader Open(Stream stream, bool leaveOpen = false)
    {
        var reader = new CaptureReader(stream, leaveOpen);
        reader.ReadFileHeader();
        return reader;
    }

    /// <summary>Opens a file for reading (see <see cref="Open(Stream, bool)"/>).</summary>
    public static CaptureReader Open(string path) =>
        Open(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16));

    public CaptureFormat Format { get; private set; }

    /// <summary>True when the file (for pcapng: the current section) is big-endian.</summary>
    public bool IsBigEndian => _bigEndian;

    /// <summary>Every interface seen so far, in file order, across sections.</summary>
    public IReadOnlyList<CaptureInterface> Interfaces => _interfaces;

    /// <summary>Every Interface Statistics Block seen so far.</summary>
    public IReadOnlyList<CaptureStatistics> Statistics => _statistics;

    /// <summary>Null while the file is well formed; set when reading stopped at a bad or cut block.</summary>
    public CaptureError? Error { get; private set; }

    public long PacketsRead { get; private set; }

    /// <summary>
    /// The next packet; false at the end of the file (<see cref="Error"/> null) or at the first malformed or
    /// truncated block (<see cref="Error"/> set). Each packet's Data is its own memory, kept valid.
    /// </summary>
    public bool TryRead(out CapturedPacket packet)
    {
        packet = default;
        if (_done)
        {
            return false;
        }
        bool ok = Format == CaptureFormat.Pcap ? TryReadPcapRecord(out packet) : TryReadPcapngPacket(out packet);
        if (ok)
        {
            PacketsRead++;
        }
        else
        {
            _done = true;
        }
        return ok;
    }

    /// <summary>Reads every remaining packet.</summary>
    public List<CapturedPacket> ReadAll()
    {
        var list = new List<CapturedPacket>();
        while (TryRead(out var p))
        {
            list.Add(p);
        }
        return list;
    }

    public void Dispose()
    {
        if (!_leaveOpen)
        {
            _stream.Dispose();
        }
    }

    private void ReadFileHeader()
    {
        int got = ReadUpTo(_header.AsSpan(0, 4));
        if (got < 4)
        {
            Fail(0, got == 0 ? "empty file: no pcap or pcapng header at byte 0"
                : $"truncated file header at byte 0: needs at least 4 bytes, {got} left");
            return;
        }
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(_header);
        switch (magic)
        {
            case SectionHeaderBlock:
                Format = CaptureFormat.Pcapng;
                _pending = 4; // the first block is read from these 4 bytes on
                return;
            case PcapMicroseconds or PcapNanoseconds or PcapMicrosecondsSwapped or PcapNanosecondsSwapped:
                Format = CaptureFormat.Pcap;
                _bigEndian = magic is PcapMicrosecondsSwapped or PcapNanosecondsSwapped;
                _nanoseconds = magic is PcapNanoseconds or PcapNanosecondsSwapped;
                ReadPcapHeader();
                return;
            default:
                Fail(0, $"{NotACapture}: magic 0x{magic:x8} at byte 0");
                return;
        }
    }

    // ---------------------------------------------------------------- pcap (draft-ietf-opsawg-pcap)

    private void ReadPcapHeader()
    {
        // Section 4 of draft-ietf-opsawg-pcap: magic, major and minor version, two reserved words, SnapLen,
        // then LinkType (low 16 bits) with the FCS length in the top bits.
        int got = 4 + ReadUpTo(_header.AsSpan(4, 20));
        if (got < 24)
        {
            Fail(0, $"truncated pcap file header at byte 0: needs 24 bytes, {got} left");
            return;
        }
        ReadOnlySpan<byte> h = _header;
        ushort major = U16(h[4..]);
        if (major != 2)
        {
            Fail(0, $"unsupported pcap version {major}.{U16(h[6..])} at byte 0");
            return;
        }
        uint snaplen = U32(h[16..]);
        ushort linkType = (ushort)U32(h[20..]);
        _interfaces.Add(new CaptureInterface(0, 0, null, null, linkType, snaplen, (byte)(_nanoseconds ? 9 : 6), 0));
        _resolutions.Add(new Resolution(false, _nanoseconds ? 9 : 6, 0));
    }

    private bool TryReadPcapRecord(out CapturedPacket packet)
    {
        packet = default;
        long start = _position;
        Span<byte> h = _header.AsSpan(0, 16);
        int got = ReadUpTo(h);
        if (got == 0)
        {
            return false; // end of file at a record boundary
        }
        if (got < 16)
        {
            return Fail(start, $"truncated pcap record header at byte {start}: needs 16 bytes, {got} left");
        }
        // Record header: seconds, microseconds or nanoseconds, captured length, original length.
        uint seconds = U32(h);
        uint fraction = U32(h[4..]);
        uint captured = U32(h[8..]);
        uint original = U32(h[12..]);
        if (captured > MaxBlockLength)
        {
            return Fail(start, $"bad pcap record at byte {start}: captured length {captured} is over the {MaxBlockLength >> 20} MiB cap");
        }
        byte[]? data = ReadBody((int)captured, out int bodyGot);
        if (data is null)
        {
            return Fail(start, $"truncated pcap record at byte {start}: needs {16 + captured} bytes, {16 + bodyGot} left");
        }
        long ns = (long)seconds * 1_000_000_000L + (_nanoseconds ? fraction : fraction * 1000L);
        packet = new CapturedPacket(0, _interfaces[0].LinkType, ns, original, data, null, start);
        return true;
    }

    // ---------------------------------------------------------------- pcapng (draft-ietf-opsawg-pcapng)

    private bool TryReadPcapngPacket(out CapturedPacket packet)
    {
        packet = default;
        while (true)
        {
            long start = _position - _pending;
            Span<byte> h = _header.AsSpan(0, 12);
            int got = _pending + ReadUpTo(h[_pending..8]);
            _pending = 0;
            if (got == 0)
            {
                return false; // end of file at a block boundary
            }
            // The Section Header Block's type is a palindrome (section 4.1): it reads the same in either byte order.
            bool isShb = got >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(h) == SectionHeaderBlock;
            uint type = isShb ? SectionHeaderBlock : got >= 4 ? U32(h) : 0;
            string name = got >= 4 ? BlockName(type) : "block";
            if (isShb)
            {
                // Section 4.1: the byte-order magic, 8 bytes in, says how to read the length before it.
                got += got == 8 ? ReadUpTo(h[8..12]) : 0;
                if (got < 12)
                {
                    return Fail(start, $"truncated {name} at byte {start}: needs at least 28 bytes, {got} left");
                }
                uint bom = BinaryPrimitives.ReadUInt32LittleEndian(h[8..]);
                if (bom != ByteOrderMagic && bom != BinaryPrimitives.ReverseEndianness(ByteOrderMagic))
                {
                    return Fail(start, $"bad byte-order magic 0x{bom:x8} in {name} at byte {start}");
                }
                _bigEndian = bom != ByteOrderMagic;
            }
            if (got < 8)
            {
                return Fail(start, $"truncated {name} at byte {start}: needs at least 12 bytes, {got} left");
            }
            uint length = U32(h[4..]);
            string? bad = length < 12 ? "less than 12"
                : length % 4 != 0 ? "not a multiple of 4"
                : length > MaxBlockLength ? $"over the {MaxBlockLength >> 20} MiB cap"
                : length < MinimumLength(type) ? $"too short for its fixed fields ({MinimumLength(type)} bytes)"
                : null;
            if (bad is not null)
            {
                return Fail(start, $"bad length {length} of {name} at byte {start}: {bad}");
            }
            int already = isShb ? 12 : 8;
            byte[]? block = ReadBody((int)length - already, out int bodyGot, already);
            if (block is null)
            {
                return Fail(start, $"truncated {name} at byte {start}: needs {length} bytes, {already + bodyGot} left");
            }
            h[..already].CopyTo(block);
            // Section 3.1: the length is repeated at the end; a mismatch means the block boundaries are lost.
            uint trailing = U32(block.AsSpan((int)length - 4));
            if (trailing != length)
            {
                return Fail(start, $"corrupt {name} at byte {start}: trailing length {trailing} differs from {length}");
            }
            if (isShb)
            {
                if (!ReadSectionHeader(block, start))
                {
                    return false;
                }
                continue;
            }
            switch (type)
            {
                case InterfaceDescriptionBlock:
                    if (!ReadInterface(block, start))
                    {
                        return false;
                    }
                    continue;
                case EnhancedPacketBlock:
                case PacketBlock:
                case SimplePacketBlock:
                    return ReadPacketBlock(type, block, start, out packet);
                case InterfaceStatisticsBlock:
                    if (!ReadStatistics(block, start))
                    {
                        return false;
                    }
                    continue;
                default:
                    continue; // section 3.1: a reader skips blocks it does not understand
            }
        }
    }

    private static uint MinimumLength(uint type) => type switch
    {
        SectionHeaderBlock => 28,
        InterfaceDescriptionBlock => 20,
        EnhancedPacketBlock or PacketBlock => 32,
        SimplePacketBlock => 16,
        InterfaceStatisticsBlock => 24,
        _ => 12,
    };

    private bool ReadSectionHeader(byte[] block, long start)
    {
        ushort major = U16(block.AsSpan(12));
        ushort minor = U16(block.AsSpan(14));
        // Section 4.1: version 1.0; readers MUST treat 1.2 as 1.0. Anything else is refused, as Wireshark and
        // libpcap do (the draft would skip the section, but no other version exists).
        if (major != 1 || (minor != 0 && minor != 2))
        {
            return Fail(start, $"unsupported pcapng version {major}.{minor} in Section Header Block at byte {start}");
        }
        if (!Options(block, 24, start, "Section Header Block", static (_, _, _) => { }))
        {
            return false;
        }
        // Section 4.2: interface ids are numbered from 0 again in each section.
        _section++;
        _sectionBase = _interfaces.Count;
        return true;
    }

    private bool ReadInterface(byte[] block, long start)
    {
        ushort linkType = U16(block.AsSpan(8));
        uint snaplen = U32(block.AsSpan(12));
        string? name = null, description = null;
        byte tsresol = 6; // section 4.2, if_tsresol: 10^-6 when absent
        long tsoffset = 0;
        bool ok = Options(block, 16, start, "Interface Description Block", (code, value, big) =>
        {
            switch (code)
            {
                case IfName:
                    name = Utf8(value);
                    break;
                case IfDescription:
                    description = Utf8(value);
                    break;
                case IfTsResol when value.Length == 1:
                    tsresol = value[0];
                    break;
                case IfTsOffset when value.Length == 8:
                    tsoffset = big ? BinaryPrimitives.ReadInt64BigEndian(value) : BinaryPrimitives.ReadInt64LittleEndian(value);
                    break;
            }
        });
        if (!ok)
        {
            return false;
        }
        int idInSection = _interfaces.Count - _sectionBase;
        _interfaces.Add(new CaptureInterface(_section, idInSection, name, description, linkType, snaplen, tsresol, tsoffset));
        _resolutions.Add(new Resolution((tsresol & 0x80) != 0, tsresol & 0x7F, tsoffset));
        return true;
    }

    private bool ReadPacketBlock(uint type, byte[] block, long start, out CapturedPacket packet)
    {
        packet = default;
        string name = BlockName(type);
        uint interfaceInSection, captured, original;
        ulong ticks = 0;
        int dataAt;
        ReadOnlySpan<byte> b = block;
        if (type == SimplePacketBlock)
        {
            // Section 4.4: interface 0, no timestamp; the captured length is the original length cut to the
            // interface's snaplen.
            interfaceInSection = 0;
            original = U32(b[8..]);
            dataAt = 12;
            captured = original;
            if (_interfaces.Count > _sectionBase && _interfaces[_sectionBase].SnapLength is > 0 and var snap && snap < captured)
            {
                captured = (uint)snap;
            }
        }
        else
        {
            // Section 4.3 (EPB) and appendix A (Packet Block: a 16-bit interface id and a drops count).
            interfaceInSection = type == EnhancedPacketBlock ? U32(b[8..]) : U16(b[8..]);
            ticks = ((ulong)U32(b[12..]) << 32) | U32(b[16..]);
            captured = U32(b[20..]);
            original = U32(b[24..]);
            dataAt = 28;
        }
        int inSection = _interfaces.Count - _sectionBase;
        if (interfaceInSection >= (uint)inSection)
        {
            return Fail(start, $"{name} at byte {start} refers to interface {interfaceInSection}, but its section has {inSection}");
        }
        int room = block.Length - 4 - dataAt;
        if (captured > (uint)room)
        {
            return Fail(start, $"corrupt {name} at byte {start}: captured length {captured} is longer than the block's {room} bytes of data");
        }
        int optionsAt = dataAt + Pad4((int)captured);
        string? comment = null;
        if (type != SimplePacketBlock && optionsAt <= block.Length - 4)
        {
            bool ok = Options(block, optionsAt, start, name, (code, value, _) =>
            {
                if (code == OptComment)
                {
                    // Section 3.5: opt_comment may repeat; the comments are joined one per line.
                    comment = comment is null ? Utf8(value) : comment + "\n" + Utf8(value);
                }
            });
            if (!ok)
            {
                return false;
            }
        }
        int id = _sectionBase + (int)interfaceInSection;
        long ns = type == SimplePacketBlock ? 0 : ToUnixNs(_resolutions[id], ticks);
        packet = new CapturedPacket(id, _interfaces[id].LinkType, ns, original, new ReadOnlyMemory<byte>(block, dataAt, (int)captured), comment, start);
        return true;
    }

    private bool ReadStatistics(byte[] block, long start)
    {
        uint interfaceInSection = U32(block.AsSpan(8));
        int inSection = _interfaces.Count - _sectionBase;
        if (interfaceInSection >= (uint)inSection)
        {
            return Fail(start, $"Interface Statistics Block at byte {start} refers to interface {interfaceInSection}, but its section has {inSection}");
        }
        int id = _sectionBase + (int)interfaceInSection;
        Resolution resolution = _resolutions[id];
        long ns = ToUnixNs(resolution, ((ulong)U32(block.AsSpan(12)) << 32) | U32(block.AsSpan(16)));
        long? startNs = null, endNs = null;
        ulong? ifRecv = null, ifDrop = null, filterAccept = null, osDrop = null, usrDeliv = null;
        string? comment = null;
        bool ok = Options(block, 20, start, "Interface Statistics Block", (code, value, big) =>
        {
            if (code == OptComment)
            {
                comment = comment is null ? Utf8(value) : comment + "\n" + Utf8(value);
                return;
            }
            if (value.Length != 8)
            {
                return; // section 3.5: an option of the wrong length MAY be ignored
            }
            ulong word = big ? BinaryPrimitives.ReadUInt64BigEndian(value) : BinaryPrimitives.ReadUInt64LittleEndian(value);
            // isb_starttime and isb_endtime are two 32-bit words, upper first (section 4.6), not one 64-bit integer.
            ulong upperLower = big ? word
                : ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(value) << 32) | BinaryPrimitives.ReadUInt32LittleEndian(value[4..]);
            switch (code)
            {
                case IsbStartTime:
                    startNs = ToUnixNs(resolution, upperLower);
                    break;
                case IsbEndTime:
                    endNs = ToUnixNs(resolution, upperLower);
                    break;
                case IsbIfRecv:
                    ifRecv = word;
                    break;
                case IsbIfDrop:
                    ifDrop = word;
                    break;
                case IsbFilterAccept:
                    filterAccept = word;
                    break;
                case IsbOsDrop:
                    osDrop = word;
                    break;
                case IsbUsrDeliv:
                    usrDeliv = word;
                    break;
            }
        });
        if (!ok)
        {
            return false;
        }
        _statistics.Add(new CaptureStatistics(id, ns, startNs, endNs, ifRecv, ifDrop, filterAccept, osDrop, usrDeliv, comment));
        return true;
    }

    private delegate void OptionHandler(ushort code, ReadOnlySpan<byte> value, bool bigEndian);

    /// <summary>
    /// Walks an option list (section 3.5) from <paramref name="at"/> to the trailing length. An option running past
    /// the block is corruption; a list without opt_endofopt ends at the block's end, as the draft asks.
    /// </summary>
    private bool Options(byte[] block, int at, long start, string name, OptionHandler handler)
    {
        int end = block.Length - 4;
        while (end - at >= 4)
        {
            ushort code = U16(block.AsSpan(at));
            int length = U16(block.AsSpan(at + 2));
            if (code == OptEndOfOpt)
            {
                return true;
            }
            if (at + 4 + length > end)
            {
                return Fail(start, $"corrupt {name} at byte {start}: option {code} at byte {start + at} has length {length}, past the block's end");
            }
            handler(code, block.AsSpan(at + 4, length), _bigEndian);
            at += 4 + Pad4(length);
        }
        return true;
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>if_tsresol and if_tsoffset of an interface (section 4.2).</summary>
    private readonly record struct Resolution(bool PowerOfTwo, int Exponent, long OffsetSeconds);

    /// <summary>
    /// Converts a count of if_tsresol units, plus if_tsoffset seconds, to Unix nanoseconds (section 4.3);
    /// finer units are truncated, and times beyond the range of a long (year 2262) are clamped to it.
    /// </summary>
    private static long ToUnixNs(Resolution r, ulong ticks)
    {
        Int128 ns;
        if (r.PowerOfTwo)
        {
            // 2^-n seconds: ticks * 10^9 fits in 94 bits, so the product is exact before the shift.
            ns = (Int128)(((UInt128)ticks * 1_000_000_000UL) >> r.Exponent);
        }
        else if (r.Exponent <= 9)
        {
            ns = (Int128)ticks * Pow10(9 - r.Exponent);
        }
        else
        {
            // Finer than a nanosecond: 2^64 ticks is under 10^20, so 20 or more extra digits leave 0.
            ns = r.Exponent - 9 >= 20 ? 0 : (Int128)(ticks / (ulong)Pow10(r.Exponent - 9));
        }
        ns += (Int128)r.OffsetSeconds * 1_000_000_000;
        return ns > long.MaxValue ? long.MaxValue : ns < long.MinValue ? long.MinValue : (long)ns;
    }

    private static long Pow10(int n)
    {
        long p = 1;
        for (int i = 0; i < n; i++)
        {
            p *= 10;
        }
        return p;
    }

    /// <summary>Section 3.5: a zero octet ends a string; section 3.6.3: invalid UTF-8 is repaired with U+FFFD.</summary>
    private static string Utf8(ReadOnlySpan<byte> value)
    {
        int nul = value.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul < 0 ? value : value[..nul]);
    }

    private ushort U16(ReadOnlySpan<byte> b) => _bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b);

    private uint U32(ReadOnlySpan<byte> b) => _bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b);

    private bool Fail(long offset, string message)
    {
        Error = new CaptureError(offset, message);
        _done = true;
        return false;
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or the stream ends; returns the bytes read.</summary>
    private int ReadUpTo(Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = _stream.Read(buffer[total..]);
            if (n == 0)
            {
                break;
            }
            total += n;
        }
        _position += total;
        return total;
    }

    /// <summary>
    /// Reads <paramref name="count"/> bytes into a new array (at <paramref name="prefix"/>, leaving room for the
    /// header already read); null when the stream ends first, with <paramref name="got"/> the bytes there were.
    /// The array grows as data arrives, so a corrupt length in a short file does not allocate 256 MiB.
    /// </summary>
    private byte[]? ReadBody(int count, out int got, int prefix = 0)
    {
        got = 0;
        if (_stream.CanSeek)
        {
            long left = Math.Max(0, _stream.Length - _stream.Position);
            if (left < count)
            {
                got = (int)left;
                _stream.Seek(0, SeekOrigin.End);
                _position += left;
                return null;
            }
        }
        byte[] buffer = new byte[prefix + Math.Min(count, 1 << 20)];
        while (true)
        {
            int n = ReadUpTo(buffer.AsSpan(prefix + got, buffer.Length - prefix - got));
            got += n;
            if (got == count)
            {
                return buffer;
            }
            if (prefix + got < buffer.Length)
            {
                return null; // the stream ended
            }
            Array.Resize(ref buffer, prefix + (int)Math.Min(count, 2L * got));
        }
    }
}
