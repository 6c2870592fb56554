using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using Tattle.Capture.Packets;
using Tattle.Output.Pcapng;
using static Tattle.Tests.Output.Pcapng.PcapTools;

namespace Tattle.Tests.Output.Pcapng;

/// <summary>
/// Cut and corrupted files: the reader never throws, returns every packet before the damage, and names the byte
/// offset of the block (or pcap record) where it stopped.
/// </summary>
public class PcapngRobustnessTests
{
    private static readonly string[] InputNames =
        ["http.pcapng", "writer.pcapng", "every-feature.pcapng", "http-us.pcap", "http-be.pcap", "http-ns.pcap"];

    public static TheoryData<string> Inputs => new(InputNames);

    private static byte[] Input(string name) => name switch
    {
        "writer.pcapng" => WriterFile(),
        "every-feature.pcapng" => PcapngReaderTests.EveryFeatureFile(),
        _ => File.ReadAllBytes(TestFile(name)),
    };

    /// <summary>A small file as Tattle writes it: comments, odd lengths, an empty packet, statistics.</summary>
    internal static byte[] WriterFile()
    {
        var ms = new MemoryStream();
        using (var w = new PcapngWriter(ms, leaveOpen: true))
        {
            w.AddInterface("lo", LinkTypes.Ethernet, 262144, "loopback");
            var frames = Frames.Conversation(Frames.Ethernet);
            for (int i = 0; i < frames.Count; i++)
            {
                w.WritePacket(0, 1_700_000_000_000_000_001 + i, frames[i], frames[i].Length, i % 2 == 0 ? $"pid={i} comm=curl" : null);
            }
            w.WritePacket(0, 1_700_000_000_000_000_100, [], 0, "empty");
            w.WriteStatistics(0, 1_700_000_000_000_000_200, 7, 1, 0, 1_700_000_000_000_000_000, 1_700_000_000_000_000_200);
        }
        return ms.ToArray();
    }

    /// <summary>(start, end, holds a packet) of every block or record, found by a walk independent of the reader.</summary>
    private static List<(int Start, int End, bool Packet)> Layout(byte[] file)
    {
        var list = new List<(int, int, bool)>();
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(file);
        if (magic == 0x0A0D0D0A)
        {
            bool big = false;
            for (int at = 0; at < file.Length;)
            {
                uint type = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at));
                if (type == 0x0A0D0D0A)
                {
                    big = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 8)) != 0x1A2B3C4D;
                }
                var s = file.AsSpan(at);
                int length = (int)(big ? BinaryPrimitives.ReadUInt32BigEndian(s[4..]) : BinaryPrimitives.ReadUInt32LittleEndian(s[4..]));
                type = big ? BinaryPrimitives.ReadUInt32BigEndian(s) : type;
                list.Add((at, at + length, type is 2 or 3 or 6));
                at += length;
            }
        }
        else
        {
            bool big = magic is 0xD4C3B2A1 or 0x4D3CB2A1;
            list.Add((0, 24, false));
            for (int at = 24; at < file.Length;)
            {
                var s = file.AsSpan(at + 8);
                int captured = (int)(big ? BinaryPrimitives.ReadUInt32BigEndian(s) : BinaryPrimitives.ReadUInt32LittleEndian(s));
                list.Add((at, at + 16 + captured, true));
                at += 16 + captured;
            }
        }
        return list;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void EveryPrefix_GivesThePacketsBeforeTheCut_AndNamesTheCutBlock(string name)
    {
        byte[] file = Input(name);
        var layout = Layout(file);
        Assert.Equal(file.Length, layout[^1].End);
        var whole = CaptureReader.Open(new MemoryStream(file)).ReadAll();
        for (int cut = 0; cut <= file.Length; cut++)
        {
            byte[] prefix = file[..cut];
            foreach (Stream stream in new Stream[] { new MemoryStream(prefix), new TrickleStream(prefix) })
            {
                var r = CaptureReader.Open(stream);
                var packets = r.ReadAll();
                int complete = layout.Count(b => b.Packet && b.End <= cut);
                Assert.Equal(complete, packets.Count);
                Assert.Equal(whole.Take(complete).Select(p => (p.UnixNs, Convert.ToHexString(p.Data.Span), p.Comment)),
                    packets.Select(p => (p.UnixNs, Convert.ToHexString(p.Data.Span), p.Comment)));
                var cutBlock = layout.FirstOrDefault(b => b.Start < cut && cut < b.End);
                if (cut == 0)
                {
                    Assert.Equal(0, r.Error?.Offset);
                }
                else if (cutBlock == default)
                {
                    Assert.True(r.Error is null, $"cut at {cut} (a block boundary): {r.Error}");
                }
                else
                {
                    Assert.True(r.Error?.Offset == cutBlock.Start, $"cut at {cut} inside the block at {cutBlock.Start}: {r.Error}");
                    Assert.Contains($"at byte {cutBlock.Start}", r.Error!.Message);
                    Assert.Contains($"{cut - cutBlock.Start} left", r.Error.Message);
                }
            }
        }
    }

    [Fact]
    public void TruncatedBlock_MessageSaysWhatWasNeeded()
    {
        byte[] file = WriterFile();
        var layout = Layout(file);
        var epb = layout.First(b => b.Packet);
        var r = CaptureReader.Open(new MemoryStream(file[..(epb.Start + 40)]));
        Assert.Empty(r.ReadAll());
        Assert.Equal($"truncated Enhanced Packet Block at byte {epb.Start}: needs {epb.End - epb.Start} bytes, 40 left", r.Error!.Message);
    }

    /// <summary>The writer's file with the little-endian uint32 at <paramref name="at"/> bytes into its first EPB replaced.</summary>
    private static (byte[] File, int Epb) WithFirstEpbWord(int at, uint value)
    {
        byte[] file = WriterFile();
        int epb = Layout(file).First(b => b.Packet).Start;
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(epb + at), value);
        return (file, epb);
    }

    private static CaptureError ErrorOf(byte[] file, int expectedPackets = 0)
    {
        var r = CaptureReader.Open(new MemoryStream(file));
        Assert.Equal(expectedPackets, r.ReadAll().Count);
        Assert.NotNull(r.Error);
        return r.Error!;
    }

    [Theory]
    [InlineData(4, 102u, "not a multiple of 4")]
    [InlineData(4, 8u, "less than 12")]
    [InlineData(4, 24u, "too short for its fixed fields (32 bytes)")]
    [InlineData(4, 0x7FFFFFF0u, "over the 256 MiB cap")]
    [InlineData(4, 0xFFFFFFFCu, "over the 256 MiB cap")]
    [InlineData(8, 3u, "refers to interface 3, but its section has 1")]
    [InlineData(20, 5000u, "captured length 5000 is longer than the block's")]
    public void CorruptEnhancedPacketBlock_ErrorAtItsOffset(int at, uint value, string why)
    {
        var (file, epb) = WithFirstEpbWord(at, value);
        var e = ErrorOf(file);
        Assert.Equal(epb, e.Offset);
        Assert.Contains($"at byte {epb}", e.Message);
        Assert.Contains(why, e.Message);
    }

    [Fact]
    public void TrailingLengthMismatch_IsCorruption()
    {
        byte[] file = WriterFile();
        var layout = Layout(file);
        var second = layout.Where(b => b.Packet).ElementAt(1);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(second.End - 4), 12345);
        var e = ErrorOf(file, expectedPackets: 1);
        Assert.Equal(second.Start, e.Offset);
        Assert.Contains("trailing length 12345 differs", e.Message);
    }

    [Fact]
    public void OptionPastTheBlockEnd_IsCorruption()
    {
        byte[] file = WriterFile();
        var epb = Layout(file).First(b => b.Packet);
        int options = epb.Start + 28 + ((BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(epb.Start + 20)) + 3) & ~3);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(options + 2), 200); // the comment's length
        var e = ErrorOf(file);
        Assert.Equal(epb.Start, e.Offset);
        Assert.Contains("option 1", e.Message);
    }

    [Fact]
    public void BadByteOrderMagic_BadVersion_BadFileMagic()
    {
        byte[] file = WriterFile();
        file[8] ^= 0xFF;
        Assert.Equal((0L, "bad byte-order magic 0x1a2b3cb2 in Section Header Block at byte 0"), (ErrorOf(file).Offset, ErrorOf(file).Message));

        file = WriterFile();
        file[12] = 2;
        Assert.Contains("unsupported pcapng version 2.0", ErrorOf(file).Message);

        file = WriterFile();
        file[0] = (byte)'G';
        Assert.Equal((0L, "not a pcap or pcapng file: magic 0x0a0d0d47 at byte 0"), (ErrorOf(file).Offset, ErrorOf(file).Message));

        Assert.Equal("empty file: no pcap or pcapng header at byte 0", ErrorOf([]).Message);
    }

    [Fact]
    public void SecondSectionWithBadByteOrderMagic_ErrorAtThatSection()
    {
        byte[] one = WriterFile();
        byte[] file = [.. one, .. one];
        file[one.Length + 8] = 0;
        var e = ErrorOf(file, expectedPackets: 6);
        Assert.Equal(one.Length, e.Offset);
    }

    [Fact]
    public void PacketBeforeAnyInterface_IsAnError()
    {
        var b = new PcapngBuilder().Shb().Epb(0, 1, [0x45]);
        var e = ErrorOf(b.ToArray());
        Assert.Equal(b.BlockOffsets[1], e.Offset);
        Assert.Contains("its section has 0", e.Message);

        b = new PcapngBuilder().Shb().Spb(10, new byte[12]);
        Assert.Equal(b.BlockOffsets[1], ErrorOf(b.ToArray()).Offset);
    }

    [Fact]
    public void Pcap_BadVersion_AbsurdRecordLength()
    {
        byte[] file = File.ReadAllBytes(TestFile("http-us.pcap"));
        byte[] bad = [.. file];
        bad[4] = 3;
        Assert.Equal((0L, "unsupported pcap version 3.4 at byte 0"), (ErrorOf(bad).Offset, ErrorOf(bad).Message));

        var layout = Layout(file);
        bad = [.. file];
        BinaryPrimitives.WriteUInt32LittleEndian(bad.AsSpan(layout[3].Start + 8), 0x40000000);
        var e = ErrorOf(bad, expectedPackets: 2);
        Assert.Equal(layout[3].Start, e.Offset);
        Assert.Contains("captured length 1073741824 is over the 256 MiB cap", e.Message);
    }

    [Fact]
    public void AbsurdButAllowedLength_InAShortPipe_DoesNotAllocateIt()
    {
        // 200 MiB claimed, 100 bytes there: the reader must find out without allocating 200 MiB.
        var (file, epb) = WithFirstEpbWord(4, 200 << 20);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var r = CaptureReader.Open(new TrickleStream(file, 4096));
        Assert.Empty(r.ReadAll());
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 4 << 20);
        Assert.Equal(epb, r.Error!.Offset);
        Assert.Contains($"needs {200 << 20} bytes", r.Error.Message);
    }

    private static readonly byte[][] Valid = [.. InputNames.Select(Input)];

    /// <summary>Reads everything; the invariants hold for any input.</summary>
    private static (int Packets, CaptureError? Error) ReadChecked(byte[] bytes, Stream stream)
    {
        var r = CaptureReader.Open(stream);
        var packets = r.ReadAll();
        if (r.Error is { } e)
        {
            Assert.InRange(e.Offset, 0, bytes.Length);
            Assert.Contains($"at byte {e.Offset}", e.Message);
        }
        Assert.All(packets, p => Assert.InRange(p.Offset, 0, bytes.Length - 1));
        Assert.All(packets, p => Assert.InRange(p.InterfaceId, 0, r.Interfaces.Count - 1));
        return (packets.Count, r.Error);
    }

    [Fact]
    public void RandomBytes_NeverThrow()
    {
        byte[][] starts =
        [
            [], [0x0A, 0x0D, 0x0D, 0x0A], [0x0A, 0x0D, 0x0D, 0x0A, 0x1C, 0, 0, 0, 0x4D, 0x3C, 0x2B, 0x1A, 1, 0, 0, 0],
            [0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0], [0xA1, 0xB2, 0x3C, 0x4D, 0, 2, 0, 4],
        ];
        Prop.ForAll<int, byte[]>((which, tail) =>
        {
            byte[] bytes = [.. starts[(int)((uint)which % (uint)starts.Length)], .. tail ?? []];
            var seekable = ReadChecked(bytes, new MemoryStream(bytes));
            var pipe = ReadChecked(bytes, new TrickleStream(bytes, 5));
            Assert.Equal(seekable, pipe);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void MutatedFiles_NeverThrow_AndReadTheSameFromAPipe()
    {
        Prop.ForAll<int, int[], byte[]>((which, positions, values) =>
        {
            byte[] bytes = [.. Valid[(int)((uint)which % (uint)Valid.Length)]];
            positions ??= [];
            values ??= [];
            for (int i = 0; i < positions.Length; i++)
            {
                bytes[(int)((uint)positions[i] % (uint)bytes.Length)] = values.Length == 0 ? (byte)(positions[i] >> 8) : values[i % values.Length];
            }
            if (positions.Length % 3 == 2)
            {
                bytes = bytes[..(int)((uint)positions[0] % (uint)bytes.Length)];
            }
            var seekable = ReadChecked(bytes, new MemoryStream(bytes));
            var pipe = ReadChecked(bytes, new TrickleStream(bytes, 7));
            Assert.Equal(seekable, pipe);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(3000));
    }

    [Fact]
    public void MutatedLengthFields_NeverThrow()
    {
        // Random bytes rarely hit the length words; aim at them: every block's and record's lengths and counts.
        Prop.ForAll<int, int, uint>((which, block, value) =>
        {
            byte[] bytes = [.. Valid[(int)((uint)which % (uint)Valid.Length)]];
            var layout = Layout(bytes);
            var (start, end, _) = layout[(int)((uint)block % (uint)layout.Count)];
            int[] words = [start + 4, end - 4, start + 8, start + 20, start + 24];
            int at = words[(int)(value % (uint)words.Length)];
            if (at + 4 <= bytes.Length)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), value);
            }
            ReadChecked(bytes, new MemoryStream(bytes));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(3000));
    }
}
