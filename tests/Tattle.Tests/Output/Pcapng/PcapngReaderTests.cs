using Tattle.Capture.Packets;
using Tattle.Output.Pcapng;

namespace Tattle.Tests.Output.Pcapng;

/// <summary>The reader on hand-built pcapng files: what each block and option means (draft-ietf-opsawg-pcapng).</summary>
public class PcapngReaderTests
{
    private const ulong Us = 1_700_000_000_123_456; // microseconds since 1970
    private const ulong Ns = 1_700_000_000_987_654_321;

    private static readonly byte[] EthFrame = Frames.Conversation(Frames.Ethernet)[3]; // 54 + request bytes
    private static readonly byte[] RawPacket = Frames.Conversation(p => p)[4];

    /// <summary>
    /// Two sections, little- then big-endian; interfaces with the default, nanosecond, millisecond and 2^-20 s
    /// resolutions; EPBs with 0, 1 and 2 comments, a Simple Packet Block cut to its snaplen, an obsolete Packet
    /// Block, statistics, and blocks the reader must skip (name resolution, custom, local use).
    /// </summary>
    internal static byte[] EveryFeatureFile(bool customBlock = true) => EveryFeature(customBlock).ToArray();

    internal static PcapngBuilder EveryFeature(bool customBlock = true)
    {
        var b = new PcapngBuilder();
        b.Shb(options: [(4, "hand-built"u8.ToArray())]);
        b.Idb(LinkTypes.Ethernet, 64, name: "eth0"); // no if_tsresol: microseconds
        b.Block(4, [0, 0, 0, 0]); // Name Resolution Block with only nrb_record_end
        if (customBlock)
        {
            b.Block(0x0BAD, [1, 2, 3, 4, 5]); // Custom Block (section 4.8), private enterprise number 0x04030201
        }
        b.Idb(LinkTypes.Raw, 0, tsresol: 9, name: "any");
        b.Epb(0, Us, EthFrame[..60], (uint)EthFrame.Length, "first");
        b.Epb(1, Ns, RawPacket, null, "one", "two");
        b.Spb((uint)EthFrame.Length, EthFrame[..64]); // cut to interface 0's snaplen
        b.PacketBlock(1, Ns + 1, RawPacket[..41]);
        b.Isb(1, Ns + 2, (2, b.Timestamp(Ns - 1)), (4, b.U64(9)), (7, b.U64(1)), (1, "stats"u8.ToArray()));
        b.Block(0x80000001, [9, 9, 9, 9]); // local use

        b.Shb(bigEndian: true);
        b.Idb(LinkTypes.Ethernet, 0, tsresol: 0x80 | 20); // 2^-20 s
        b.Idb(LinkTypes.Raw, 1500, tsresol: 3); // milliseconds
        b.Epb(0, (ulong)1_700_000_000 << 20 | 0x80000, EthFrame);
        b.Epb(1, 1_700_000_000_555, RawPacket, null, "big-endian ✓");
        b.Spb((uint)EthFrame.Length, EthFrame);
        return b;
    }

    [Fact]
    public void EveryFeature_ReadsAsBuilt()
    {
        var r = CaptureReader.Open(new MemoryStream(EveryFeatureFile()));
        var p = r.ReadAll();
        Assert.Null(r.Error);
        Assert.Equal(
            [
                new CaptureInterface(0, 0, "eth0", null, LinkTypes.Ethernet, 64, 6, 0),
                new CaptureInterface(0, 1, "any", null, LinkTypes.Raw, 0, 9, 0),
                new CaptureInterface(1, 0, null, null, LinkTypes.Ethernet, 0, 0x80 | 20, 0),
                new CaptureInterface(1, 1, null, null, LinkTypes.Raw, 1500, 3, 0),
            ],
            r.Interfaces);
        Assert.True(r.IsBigEndian);
        Assert.Equal(7, p.Count);

        Assert.Equal((0, LinkTypes.Ethernet, (long)Us * 1000, EthFrame.Length, "first"), (p[0].InterfaceId, p[0].LinkType, p[0].UnixNs, (int)p[0].OriginalLength, p[0].Comment));
        Assert.Equal(EthFrame[..60], p[0].Data.ToArray());
        Assert.Equal((1, LinkTypes.Raw, (long)Ns, "one\ntwo"), (p[1].InterfaceId, p[1].LinkType, p[1].UnixNs, p[1].Comment));
        Assert.Equal(RawPacket, p[1].Data.ToArray());
        // Simple Packet Block: interface 0, no timestamp, data = min(original length, snaplen).
        Assert.Equal((0, 0L, (long)EthFrame.Length, (string?)null), (p[2].InterfaceId, p[2].UnixNs, p[2].OriginalLength, p[2].Comment));
        Assert.Equal(EthFrame[..64], p[2].Data.ToArray());
        Assert.Equal((1, (long)Ns + 1, 41), (p[3].InterfaceId, p[3].UnixNs, p[3].Data.Length));
        // The second section numbers its interfaces from 0 again; they follow the first section's in Interfaces.
        Assert.Equal((2, 1_700_000_000_500_000_000L), (p[4].InterfaceId, p[4].UnixNs));
        Assert.Equal(EthFrame, p[4].Data.ToArray());
        Assert.Equal((3, 1_700_000_000_555_000_000L, "big-endian ✓"), (p[5].InterfaceId, p[5].UnixNs, p[5].Comment));
        Assert.Equal((2, EthFrame.Length), (p[6].InterfaceId, p[6].Data.Length));

        Assert.Equal(new CaptureStatistics(1, (long)Ns + 2, (long)Ns - 1, null, 9, null, null, 1, null, "stats"), r.Statistics.Single());
        Assert.Equal(7, r.PacketsRead);
    }

    [Theory]
    [InlineData(null, 1_234_567UL, 1_234_567_000L)] // absent: 10^-6 (section 4.2)
    [InlineData((byte)6, 1_234_567UL, 1_234_567_000L)]
    [InlineData((byte)9, 1_234_567UL, 1_234_567L)]
    [InlineData((byte)0, 1_700_000_000UL, 1_700_000_000_000_000_000L)]
    [InlineData((byte)3, 1_700_000_000_001UL, 1_700_000_000_001_000_000L)]
    [InlineData((byte)12, 1_234_567_891UL, 1_234_567L)] // picoseconds: finer digits dropped
    [InlineData((byte)100, ulong.MaxValue, 0L)]
    [InlineData((byte)0x80, 5UL, 5_000_000_000L)] // 2^0
    [InlineData((byte)(0x80 | 10), 1024UL + 512, 1_500_000_000L)] // 1/1024 s
    [InlineData((byte)(0x80 | 30), 3UL, 2L)] // 3 * 10^9 / 2^30 = 2.79 ns, truncated
    [InlineData((byte)(0x80 | 127), ulong.MaxValue, 0L)]
    [InlineData((byte)0, ulong.MaxValue, long.MaxValue)] // past 2262: clamped
    public void Timestamps_FollowIfTsresol(byte? tsresol, ulong ticks, long expectedNs)
    {
        var b = new PcapngBuilder().Shb().Idb(LinkTypes.Raw, 0, tsresol).Epb(0, ticks, [0x45]);
        var r = CaptureReader.Open(new MemoryStream(b.ToArray()));
        Assert.Equal(expectedNs, r.ReadAll().Single().UnixNs);
        Assert.Null(r.Error);
    }

    [Fact]
    public void IfTsoffset_AddsSeconds()
    {
        var b = new PcapngBuilder().Shb().Idb(LinkTypes.Raw, 0, 9, tsoffsetSeconds: 1_700_000_000).Epb(0, 5, [0x45])
            .Isb(0, 7, (3, new byte[] { 0, 0, 0, 0, 9, 0, 0, 0 }));
        var r = CaptureReader.Open(new MemoryStream(b.ToArray()));
        Assert.Equal(1_700_000_000_000_000_005L, r.ReadAll().Single().UnixNs);
        Assert.Equal(1_700_000_000L, r.Interfaces[0].TimestampOffsetSeconds);
        Assert.Equal((1_700_000_000_000_000_007L, 1_700_000_000_000_000_009L), (r.Statistics[0].UnixNs, r.Statistics[0].EndNs));
    }

    [Fact]
    public void Strings_EndAtAZeroOctet_AndInvalidUtf8IsRepaired()
    {
        // Section 3.5: readers MUST treat a zero octet as the end of a string; section 3.6.3: may repair UTF-8.
        var b = new PcapngBuilder().Shb().Idb(LinkTypes.Raw, 0, name: "lo\0junk").Epb(0, 1, [0x45], null, "ok\0ignored");
        byte[] file = b.ToArray();
        var r = CaptureReader.Open(new MemoryStream(file));
        Assert.Equal("ok", r.ReadAll().Single().Comment);
        Assert.Equal("lo", r.Interfaces[0].Name);

        var bad = new PcapngBuilder().Shb().Idb(LinkTypes.Raw, 0).Block(6,
            [.. new byte[12], 1, 0, 0, 0, 1, 0, 0, 0, 0x45, 0, 0, 0, 1, 0, 2, 0, 0xC3, 0x28, 0, 0, 0, 0, 0, 0]);
        Assert.Equal("\ufffd(", CaptureReader.Open(new MemoryStream(bad.ToArray())).ReadAll().Single().Comment);
    }

    [Fact]
    public void OptionListWithoutEndOfOpt_EndsAtTheBlock()
    {
        // Section 3.5: readers MUST NOT assume opt_endofopt is there.
        var b = new PcapngBuilder().Shb().Idb(LinkTypes.Raw, 0).Block(6,
            [.. new byte[12], 1, 0, 0, 0, 1, 0, 0, 0, 0x45, 0, 0, 0, 1, 0, 2, 0, (byte)'h', (byte)'i', 0, 0]);
        var r = CaptureReader.Open(new MemoryStream(b.ToArray()));
        Assert.Equal("hi", r.ReadAll().Single().Comment);
        Assert.Null(r.Error);
    }

    [Fact]
    public void Version1_2_IsRead_AsVersion1_0()
    {
        var r = CaptureReader.Open(new MemoryStream(new PcapngBuilder().Shb(minor: 2).Idb(LinkTypes.Raw, 0).Epb(0, 1, [0x45]).ToArray()));
        Assert.Single(r.ReadAll());
        Assert.Null(r.Error);
    }

    [Fact]
    public void FileOfOnlyASectionHeader_HasNoPacketsAndNoError()
    {
        var r = CaptureReader.Open(new MemoryStream(new PcapngBuilder().Shb().ToArray()));
        Assert.Empty(r.ReadAll());
        Assert.Null(r.Error);
        Assert.Equal(CaptureFormat.Pcapng, r.Format);
    }

    [Fact]
    public void OpenByPath_ReadsTheFile()
    {
        using var temp = PcapTools.Temp(EveryFeatureFile());
        using var r = CaptureReader.Open(temp.Path);
        Assert.Equal(7, r.ReadAll().Count);
    }

    [Fact]
    public void ReadingStops_AfterTheFirstError()
    {
        var b = new PcapngBuilder().Shb().Idb(LinkTypes.Raw, 0).Epb(0, 1, [0x45]).Epb(5, 1, [0x45]).Epb(0, 1, [0x45]);
        var r = CaptureReader.Open(new MemoryStream(b.ToArray()));
        Assert.True(r.TryRead(out _));
        Assert.False(r.TryRead(out _));
        Assert.False(r.TryRead(out _));
        Assert.Equal(b.BlockOffsets[3], r.Error!.Offset);
        Assert.Contains($"Enhanced Packet Block at byte {b.BlockOffsets[3]} refers to interface 5, but its section has 1", r.Error.Message);
        Assert.Equal(r.Error.Message, r.Error.ToString());
    }
}
