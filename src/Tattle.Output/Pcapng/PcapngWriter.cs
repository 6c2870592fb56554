using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Unicode;
using Tattle.Interop;
using static Tattle.Capture.Packets.PcapngFormat;

namespace Tattle.Output.Pcapng;

/// <summary>
/// Writes a pcapng file (draft-ietf-opsawg-pcapng): one Section Header Block, Interface Description Blocks,
/// Enhanced Packet Blocks with an optional comment, Interface Statistics Blocks. Little-endian, nanosecond
/// timestamps. Each call writes one whole block to the stream; <see cref="Flush"/> after a batch leaves the file
/// ending at a block boundary, so it stays readable when Tattle is stopped. Not thread-safe.
/// </summary>
public sealed class PcapngWriter : IDisposable
{
    /// <summary>Option values have a 16-bit length (section 3.5): longer comments are cut at a character.</summary>
    public const int MaxCommentBytes = ushort.MaxValue;

    // Section 4.3: block type, length, interface id, timestamp (2 words), captured and original length.
    private const int EpbHeader = 28;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private byte[] _buffer = new byte[64 * 1024];
    private int[] _snaplens = new int[4];
    private int _interfaceCount;
    private bool _disposed;

    /// <summary>Writes the Section Header Block at once.</summary>
    public PcapngWriter(Stream stream, bool leaveOpen = false)
    {
        _stream = stream;
        _leaveOpen = leaveOpen;
        WriteSectionHeader();
    }

    /// <summary>Creates (or truncates) the file, private to its user (<see cref="OutputFile"/>); it may be read while it is written.</summary>
    public static PcapngWriter Create(string path) => new(OutputFile.Create(path, bufferSize: 1 << 16));

    /// <summary>Enhanced Packet Blocks written so far.</summary>
    public long PacketsWritten { get; private set; }

    /// <summary>
    /// Writes an Interface Description Block and returns its interface id (0, 1, … in this section). A
    /// <paramref name="snaplen"/> of 0 means no limit; packets longer than a non-zero snaplen are cut to it.
    /// </summary>
    public int AddInterface(string name, ushort linkType, int snaplen, string? description = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfNegative(snaplen);
        ObjectDisposedException.ThrowIf(_disposed, this);
        int size = 16 + OptionSize(Utf8Length(name)) + (description is null ? 0 : OptionSize(Utf8Length(description)))
            + OptionSize(1) + 4 + 4;
        Span<byte> b = Reserve(size);
        // Section 4.2, Figure 10: LinkType, Reserved (written as 0), SnapLen.
        BinaryPrimitives.WriteUInt16LittleEndian(b[8..], linkType);
        BinaryPrimitives.WriteUInt16LittleEndian(b[10..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], (uint)snaplen);
        int at = 16;
        at += WriteStringOption(b[at..], IfName, name);
        if (description is not null)
        {
            at += WriteStringOption(b[at..], IfDescription, description);
        }
        // if_tsresol 9: timestamps count nanoseconds (the default, 6, would lose the kernel's precision).
        at += WriteOptionHeader(b[at..], IfTsResol, 1);
        b[at] = 9;
        b[(at + 1)..(at + 4)].Clear();
        at += 4;
        at += WriteOptionHeader(b[at..], OptEndOfOpt, 0);
        Commit(InterfaceDescriptionBlock, at);

        if (_interfaceCount == _snaplens.Length)
        {
            Array.Resize(ref _snaplens, _snaplens.Length * 2);
        }
        _snaplens[_interfaceCount] = snaplen;
        return _interfaceCount++;
    }

    /// <summary>
    /// Writes an Enhanced Packet Block. <paramref name="data"/> is what was captured (cut to the interface's
    /// snaplen), <paramref name="originalLength"/> the packet's length on the wire; <paramref name="comment"/>
    /// becomes the packet's opt_comment (Tattle puts the process there: see README.md). Allocates nothing
    /// once the buffer has grown to the largest packet.
    /// </summary>
    public void WritePacket(int interfaceId, long unixNs, ReadOnlySpan<byte> data, int originalLength, string? comment = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if ((uint)interfaceId >= (uint)_interfaceCount)
        {
            throw new ArgumentOutOfRangeException(nameof(interfaceId), interfaceId, $"{_interfaceCount} interfaces were added");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(unixNs);
        // Section 4.3: a writer MUST NOT write an original length below the captured length.
        ArgumentOutOfRangeException.ThrowIfLessThan(originalLength, data.Length);
        int snaplen = _snaplens[interfaceId];
        if (snaplen != 0 && data.Length > snaplen)
        {
            // libpcap refuses a packet longer than its interface's snaplen ("bigger than snaplen"); the
            // captured length is the minimum of the original length and the snaplen (section 4.3).
            data = data[..snaplen];
        }

        int commentRoom = comment is null ? 0 : 4 + Pad4(Math.Min(MaxCommentBytes, Encoding.UTF8.GetMaxByteCount(comment.Length))) + 4;
        Span<byte> b = Reserve(EpbHeader + Pad4(data.Length) + commentRoom + 4);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], (uint)interfaceId);
        // Section 4.3: the timestamp is one 64-bit count of if_tsresol units written as two 32-bit words, the
        // upper first (not seconds and fractions as in pcap).
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], (uint)((ulong)unixNs >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(b[16..], (uint)unixNs);
        BinaryPrimitives.WriteUInt32LittleEndian(b[20..], (uint)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(b[24..], (uint)originalLength);
        data.CopyTo(b[EpbHeader..]);
        int at = EpbHeader + data.Length;
        at += ZeroPad(b[at..], data.Length); // section 3.6.2: alignment octets MUST be zero
        if (comment is not null)
        {
            at += WriteStringOption(b[at..], OptComment, comment);
            // Section 3.5: a writer MUST end an option list with opt_endofopt (a block without options has none).
            at += WriteOptionHeader(b[at..], OptEndOfOpt, 0);
        }
        Commit(EnhancedPacketBlock, at);
        PacketsWritten++;
    }

    /// <summary>
    /// Writes an Interface Statistics Block (section 4.6): <paramref name="received"/> as isb_ifrecv,
    /// <paramref name="dropped"/> (libpcap's ps_drop: no room in the kernel's buffer) as isb_osdrop,
    /// <paramref name="ifDropped"/> (ps_ifdrop: dropped by the interface or its driver) as isb_ifdrop,
    /// and the capture's start and end as isb_starttime and isb_endtime.
    /// </summary>
    public void WriteStatistics(int interfaceId, long unixNs, ulong received, ulong dropped, ulong? ifDropped = null,
        long? startNs = null, long? endNs = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if ((uint)interfaceId >= (uint)_interfaceCount)
        {
            throw new ArgumentOutOfRangeException(nameof(interfaceId), interfaceId, $"{_interfaceCount} interfaces were added");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(unixNs);
        ArgumentOutOfRangeException.ThrowIfNegative(startNs ?? 0, nameof(startNs));
        ArgumentOutOfRangeException.ThrowIfNegative(endNs ?? 0, nameof(endNs));
        Span<byte> b = Reserve(20 + 5 * 12 + 4 + 4);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], (uint)interfaceId);
        WriteTimestamp(b[12..], unixNs);
        int at = 20;
        if (startNs is long start)
        {
            // isb_starttime and isb_endtime are in the EPB timestamp format: upper word, then lower word.
            at += WriteOptionHeader(b[at..], IsbStartTime, 8);
            WriteTimestamp(b[at..], start);
            at += 8;
        }
        if (endNs is long end)
        {
            at += WriteOptionHeader(b[at..], IsbEndTime, 8);
            WriteTimestamp(b[at..], end);
            at += 8;
        }
        at += WriteCounterOption(b[at..], IsbIfRecv, received);
        if (ifDropped is ulong ifdrop)
        {
            at += WriteCounterOption(b[at..], IsbIfDrop, ifdrop);
        }
        at += WriteCounterOption(b[at..], IsbOsDrop, dropped);
        at += WriteOptionHeader(b[at..], OptEndOfOpt, 0);
        Commit(InterfaceStatisticsBlock, at);
    }

    /// <summary>Flushes the stream; call after each batch so the file ends at a block boundary.</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _stream.Flush();
    }

    /// <summary>Flushes and, unless leaveOpen was given, closes the stream.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _stream.Flush();
        if (!_leaveOpen)
        {
            _stream.Dispose();
        }
    }

    private void WriteSectionHeader()
    {
        string os = RuntimeInformation.OSDescription;
        int size = 24 + OptionSize(Utf8Length("tattle")) + OptionSize(Utf8Length(os)) + 4 + 4;
        Span<byte> b = Reserve(size);
        // Section 4.1, Figure 9: byte-order magic, version 1.0 (readers refuse anything else), section
        // length -1 (unknown: the file is written as a stream).
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], ByteOrderMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(b[12..], 1);
        BinaryPrimitives.WriteUInt16LittleEndian(b[14..], 0);
        BinaryPrimitives.WriteInt64LittleEndian(b[16..], -1);
        int at = 24;
        at += WriteStringOption(b[at..], ShbUserAppl, "tattle");
        at += WriteStringOption(b[at..], ShbOs, os);
        at += WriteOptionHeader(b[at..], OptEndOfOpt, 0);
        Commit(SectionHeaderBlock, at);
    }

    /// <summary>The buffer, at least <paramref name="size"/> bytes; grows (allocates) only for a bigger block.</summary>
    private Span<byte> Reserve(int size)
    {
        if (size > _buffer.Length)
        {
            _buffer = new byte[Math.Max(size, _buffer.Length * 2)];
        }
        return _buffer;
    }

    /// <summary>Fills in the block type and both lengths around a body that ends at <paramref name="end"/>, and writes it.</summary>
    private void Commit(uint type, int end)
    {
        Span<byte> b = _buffer;
        int total = end + 4;
        BinaryPrimitives.WriteUInt32LittleEndian(b, type);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], (uint)total);
        BinaryPrimitives.WriteUInt32LittleEndian(b[end..], (uint)total);
        _stream.Write(_buffer, 0, total);
    }

    private static void WriteTimestamp(Span<byte> b, long unixNs)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)((ulong)unixNs >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], (uint)unixNs);
    }

    private static int WriteOptionHeader(Span<byte> b, ushort code, int length)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(b, code);
        BinaryPrimitives.WriteUInt16LittleEndian(b[2..], (ushort)length);
        return 4;
    }

    private static int WriteCounterOption(Span<byte> b, ushort code, ulong value)
    {
        WriteOptionHeader(b, code, 8);
        BinaryPrimitives.WriteUInt64LittleEndian(b[4..], value);
        return 12;
    }

    /// <summary>A UTF-8 option, cut at a character boundary to the 16-bit option length; returns the bytes used.</summary>
    private static int WriteStringOption(Span<byte> b, ushort code, string value)
    {
        // Utf8.FromUtf16 rather than Encoding.UTF8.GetBytes: same encoding without allocating, and it stops at a
        // whole character when the 64 KiB an option can hold is full instead of throwing. Lone surrogates
        // become U+FFFD (section 3.6.3: writers MUST write valid UTF-8).
        Span<byte> room = b.Slice(4, Math.Min(MaxCommentBytes, b.Length - 4));
        Utf8.FromUtf16(value, room, out _, out int written, replaceInvalidSequences: true, isFinalBlock: true);
        WriteOptionHeader(b, code, written);
        return 4 + written + ZeroPad(b[(4 + written)..], written);
    }

    private static int ZeroPad(Span<byte> b, int length)
    {
        int pad = Pad4(length) - length;
        b[..pad].Clear();
        return pad;
    }

    private static int Utf8Length(string s) => Math.Min(MaxCommentBytes, Encoding.UTF8.GetByteCount(s));

    private static int OptionSize(int valueLength) => 4 + Pad4(valueLength);
}
