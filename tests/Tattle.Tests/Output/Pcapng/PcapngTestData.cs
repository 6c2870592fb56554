using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Tattle.Tests.Support;

namespace Tattle.Tests.Output.Pcapng;

/// <summary>Link-layer frames with real headers and checksums, so tcpdump and tshark decode them as real traffic.</summary>
internal static class Frames
{
    /// <summary>An IPv4/TCP packet (checksums filled in), without a link-layer header.</summary>
    public static byte[] Ipv4Tcp(byte[] src, byte[] dst, ushort srcPort, ushort dstPort, uint seq, uint ack, byte flags, byte[] payload)
    {
        var p = new byte[20 + 20 + payload.Length];
        p[0] = 0x45; // version 4, 5-word header
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), 0x1234);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(6), 0x4000); // don't fragment
        p[8] = 64;
        p[9] = 6; // TCP
        src.CopyTo(p, 12);
        dst.CopyTo(p, 16);
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), Checksum(p.AsSpan(0, 20), 0));
        Span<byte> tcp = p.AsSpan(20);
        BinaryPrimitives.WriteUInt16BigEndian(tcp, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], dstPort);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], seq);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], ack);
        tcp[12] = 5 << 4;
        tcp[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], 65535);
        payload.CopyTo(tcp[20..]);
        // The TCP checksum covers a pseudo header: addresses, protocol, TCP length.
        uint pseudo = Sum(src) + Sum(dst) + 6u + (uint)tcp.Length;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], Checksum(tcp, pseudo));
        return p;
    }

    /// <summary>Ethernet II around an IPv4 packet.</summary>
    public static byte[] Ethernet(byte[] ipPacket) =>
        [0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00, .. ipPacket];

    /// <summary>LINUX_SLL2's 20-byte header (protocol, interface index 1, ARPHRD_LOOPBACK, outgoing) around an IPv4 packet.</summary>
    public static byte[] Sll2(byte[] ipPacket)
    {
        var h = new byte[20];
        BinaryPrimitives.WriteUInt16BigEndian(h, 0x0800);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(4), 1);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(8), 772);
        h[10] = 4; // PACKET_OUTGOING
        h[11] = 6;
        return [.. h, .. ipPacket];
    }

    /// <summary>A short TCP conversation on 127.0.0.1 (handshake, a request, a response), wrapped by <paramref name="wrap"/>.</summary>
    public static List<byte[]> Conversation(Func<byte[], byte[]> wrap)
    {
        byte[] client = [127, 0, 0, 1], server = [127, 0, 0, 1];
        byte[] request = "GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"u8.ToArray();
        byte[] response = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nhi\n"u8.ToArray();
        return
        [
            wrap(Ipv4Tcp(client, server, 40000, 8000, 100, 0, 0x02, [])),
            wrap(Ipv4Tcp(server, client, 8000, 40000, 500, 101, 0x12, [])),
            wrap(Ipv4Tcp(client, server, 40000, 8000, 101, 501, 0x10, [])),
            wrap(Ipv4Tcp(client, server, 40000, 8000, 101, 501, 0x18, request)),
            wrap(Ipv4Tcp(server, client, 8000, 40000, 501, (uint)(101 + request.Length), 0x18, response)),
        ];
    }

    private static uint Sum(ReadOnlySpan<byte> b)
    {
        uint sum = 0;
        for (int i = 0; i + 1 < b.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(b[i..]);
        }
        if (b.Length % 2 == 1)
        {
            sum += (uint)b[^1] << 8;
        }
        return sum;
    }

    private static ushort Checksum(ReadOnlySpan<byte> b, uint initial)
    {
        uint sum = initial + Sum(b);
        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (ushort)~sum;
    }
}

/// <summary>
/// Builds pcapng files block by block in either byte order, including what <c>PcapngWriter</c> never writes
/// (big-endian sections, other if_tsresol values, Simple and obsolete Packet Blocks, unknown blocks).
/// </summary>
internal sealed class PcapngBuilder
{
    private readonly List<byte> _bytes = [];
    private bool _big;

    /// <summary>The offset of every block, in order.</summary>
    public List<int> BlockOffsets { get; } = [];

    public int Length => _bytes.Count;

    public byte[] ToArray() => [.. _bytes];

    public PcapngBuilder Shb(bool bigEndian = false, ushort major = 1, ushort minor = 0, params (ushort Code, byte[] Value)[] options)
    {
        _big = bigEndian;
        return Block(0x0A0D0D0A, [.. U32(0x1A2B3C4D), .. U16(major), .. U16(minor), .. U64(ulong.MaxValue), .. Options(options)]);
    }

    public PcapngBuilder Idb(ushort linkType, uint snaplen, byte? tsresol = null, long? tsoffsetSeconds = null, string? name = null)
    {
        var options = new List<(ushort, byte[])>();
        if (name is not null)
        {
            options.Add((2, Encoding.UTF8.GetBytes(name)));
        }
        if (tsresol is byte r)
        {
            options.Add((9, [r]));
        }
        if (tsoffsetSeconds is long o)
        {
            options.Add((14, U64((ulong)o)));
        }
        return Block(1, [.. U16(linkType), 0, 0, .. U32(snaplen), .. Options([.. options])]);
    }

    public PcapngBuilder Epb(uint iface, ulong ticks, byte[] data, uint? original = null, params string[] comments) =>
        Block(6, [.. U32(iface), .. U32((uint)(ticks >> 32)), .. U32((uint)ticks), .. U32((uint)data.Length),
            .. U32(original ?? (uint)data.Length), .. Padded(data), .. Options([.. comments.Select(c => ((ushort)1, Encoding.UTF8.GetBytes(c)))])]);

    public PcapngBuilder PacketBlock(ushort iface, ulong ticks, byte[] data) =>
        Block(2, [.. U16(iface), .. U16(0xFFFF), .. U32((uint)(ticks >> 32)), .. U32((uint)ticks), .. U32((uint)data.Length),
            .. U32((uint)data.Length), .. Padded(data)]);

    public PcapngBuilder Spb(uint original, byte[] data) => Block(3, [.. U32(original), .. Padded(data)]);

    public PcapngBuilder Isb(uint iface, ulong ticks, params (ushort Code, byte[] Value)[] options) =>
        Block(5, [.. U32(iface), .. U32((uint)(ticks >> 32)), .. U32((uint)ticks), .. Options(options)]);

    /// <summary>Any block: type, length, <paramref name="body"/> (padded), length.</summary>
    public PcapngBuilder Block(uint type, byte[] body)
    {
        BlockOffsets.Add(_bytes.Count);
        uint length = (uint)(12 + PadTo4(body.Length));
        _bytes.AddRange(U32(type));
        _bytes.AddRange(U32(length));
        _bytes.AddRange(Padded(body));
        _bytes.AddRange(U32(length));
        return this;
    }

    public byte[] U16(ushort v) => _big ? [(byte)(v >> 8), (byte)v] : [(byte)v, (byte)(v >> 8)];

    public byte[] U32(uint v)
    {
        var b = new byte[4];
        if (_big)
        {
            BinaryPrimitives.WriteUInt32BigEndian(b, v);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        }
        return b;
    }

    public byte[] U64(ulong v)
    {
        var b = new byte[8];
        if (_big)
        {
            BinaryPrimitives.WriteUInt64BigEndian(b, v);
        }
        else
        {
            BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        }
        return b;
    }

    /// <summary>A timestamp option value: upper 32 bits, then lower 32 bits (section 4.3).</summary>
    public byte[] Timestamp(ulong ticks) => [.. U32((uint)(ticks >> 32)), .. U32((uint)ticks)];

    private byte[] Options((ushort Code, byte[] Value)[] options)
    {
        if (options.Length == 0)
        {
            return [];
        }
        var list = new List<byte>();
        foreach (var (code, value) in options)
        {
            list.AddRange(U16(code));
            list.AddRange(U16((ushort)value.Length));
            list.AddRange(Padded(value));
        }
        list.AddRange(new byte[4]); // opt_endofopt
        return [.. list];
    }

    private static byte[] Padded(byte[] data) => [.. data, .. new byte[PadTo4(data.Length) - data.Length]];

    private static int PadTo4(int n) => (n + 3) & ~3;
}

/// <summary>Files under testdata/pcap and the real tools that serve as oracles.</summary>
internal static class PcapTools
{
    public static string TestFile(string name) => Path.Combine(AppContext.BaseDirectory, "testdata", "pcap", name);

    /// <summary>Runs a tool and fails the test, with its stderr, when it exits non-zero.</summary>
    public static string Run(string exe, params string[] args)
    {
        var (exit, stdout, stderr) = Programs.Run(exe, args);
        Assert.True(exit == 0, $"{exe} {string.Join(' ', args)} exited {exit}: {stderr}");
        return stdout;
    }

    public static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>tshark's fields, one array per frame (tab separated).</summary>
    public static string[][] TsharkFields(string file, params string[] fields) => TsharkFiltered(file, null, fields);

    /// <summary>tshark's fields of the packets matching a display filter (-Y), one row per packet.</summary>
    public static string[][] TsharkFiltered(string file, string? displayFilter, params string[] fields) =>
        Tshark(file, displayFilter is null ? [] : ["-Y", displayFilter], fields);

    /// <summary>
    /// <see cref="TsharkFiltered"/> with TCP port <paramref name="httpPort"/> decoded as HTTP. Otherwise tshark picks a
    /// dissector by either port, and a client's ephemeral port may be one it knows: 48898 reads as Beckhoff's AMS.
    /// </summary>
    public static string[][] TsharkHttp(string file, int httpPort, string displayFilter, params string[] fields) =>
        Tshark(file, ["-d", $"tcp.port=={httpPort},http", "-Y", displayFilter], fields);

    private static string[][] Tshark(string file, string[] options, string[] fields) =>
        Lines(Run("tshark", ["-r", file, .. options, "-T", "fields", "-E", "separator=/t", .. fields.SelectMany(f => new[] { "-e", f })]))
            .Select(l => l.Split('\t')).ToArray();

    /// <summary>frame.time_epoch ("1700000000.123456789" or fewer digits) as Unix nanoseconds.</summary>
    public static long EpochToNs(string epoch)
    {
        string[] parts = epoch.Split('.');
        long seconds = long.Parse(parts[0], CultureInfo.InvariantCulture);
        string fraction = parts.Length > 1 ? parts[1].PadRight(9, '0')[..9] : "0";
        return seconds * 1_000_000_000 + long.Parse(fraction, CultureInfo.InvariantCulture);
    }

    /// <summary>Writes bytes to a temporary file (deleted by the caller's using).</summary>
    public static TempFile Temp(byte[] content, string extension = ".pcapng")
    {
        var file = new TempFile(Path.Combine(Path.GetTempPath(), $"tattle-{Guid.NewGuid():N}{extension}"));
        File.WriteAllBytes(file.Path, content);
        return file;
    }

    public sealed record TempFile(string Path) : IDisposable
    {
        public void Dispose() => File.Delete(Path);
    }
}

/// <summary>A read-only stream that cannot seek and hands out at most a few bytes per Read, like a pipe.</summary>
internal sealed class TrickleStream(byte[] data, int chunk = 3) : Stream
{
    private int _at;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = Math.Min(Math.Min(chunk, buffer.Length), data.Length - _at);
        data.AsSpan(_at, n).CopyTo(buffer);
        _at += n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
