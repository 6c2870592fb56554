using Tattle.Capture.Packets;
using Tattle.Output.Pcapng;
using Tattle.Tests.Support;

namespace Tattle.Tests.Output.Pcapng;

public class PcapngWriterTests
{
    private const long T0 = 1_700_000_000_123_456_789;

    private static readonly string?[] Comments =
    [
        "pid=1234 comm=curl conn=c3 dir=out cmdline=\"curl -s http://127.0.0.1:8000/\"",
        null,
        "",
        "é ✓ 🙂 multi-byte",
        "two\nlines",
        "x",
        "pid=1 comm=init conn=c1 dir=in",
        null,
    ];

    /// <summary>Lengths 0 to 7 (every padding), a full frame, and one cut to a snaplen.</summary>
    private static readonly int[] Lengths = [0, 1, 2, 3, 4, 5, 6, 7, 1514, 61];

    [Fact]
    public void RoundTrip_InterfacesPacketsCommentsAndStatistics_ReadBackEqual()
    {
        var ms = new MemoryStream();
        var written = new List<(int Iface, long Ns, byte[] Data, int Original, string? Comment)>();
        using (var w = new PcapngWriter(ms, leaveOpen: true))
        {
            Assert.Equal(0, w.AddInterface("lo", LinkTypes.Ethernet, 262144, "loopback"));
            Assert.Equal(1, w.AddInterface("any", LinkTypes.LinuxSll2, 65535));
            for (int i = 0; i < Lengths.Length; i++)
            {
                byte[] data = Enumerable.Range(0, Lengths[i]).Select(b => (byte)(b * 7 + i)).ToArray();
                int iface = i % 2;
                long ns = T0 + i * 1_000_000_001L + i; // nanosecond digits differ in every packet
                int original = i == 9 ? 4000 : data.Length; // a packet that was cut before it got here
                string? comment = Comments[i % Comments.Length];
                w.WritePacket(iface, ns, data, original, comment);
                written.Add((iface, ns, data, original, comment));
            }
            w.WriteStatistics(0, T0 + 20_000_000_000, received: 12, dropped: 3, ifDropped: 1, startNs: T0 - 5, endNs: T0 + 19_999_999_999);
            w.WriteStatistics(1, T0 + 20_000_000_001, received: 7, dropped: 0);
            Assert.Equal(Lengths.Length, w.PacketsWritten);
        }

        ms.Position = 0;
        using var r = CaptureReader.Open(ms);
        var packets = r.ReadAll();
        Assert.Null(r.Error);
        Assert.Equal(CaptureFormat.Pcapng, r.Format);
        Assert.False(r.IsBigEndian);
        Assert.Equal(new CaptureInterface(0, 0, "lo", "loopback", LinkTypes.Ethernet, 262144, 9, 0), r.Interfaces[0]);
        Assert.Equal(new CaptureInterface(0, 1, "any", null, LinkTypes.LinuxSll2, 65535, 9, 0), r.Interfaces[1]);
        Assert.Equal(written.Count, packets.Count);
        for (int i = 0; i < written.Count; i++)
        {
            var (iface, ns, data, original, comment) = written[i];
            Assert.Equal(iface, packets[i].InterfaceId);
            Assert.Equal(iface == 0 ? LinkTypes.Ethernet : LinkTypes.LinuxSll2, packets[i].LinkType);
            Assert.Equal(ns, packets[i].UnixNs);
            Assert.Equal(data, packets[i].Data.ToArray());
            Assert.Equal(original, packets[i].OriginalLength);
            Assert.Equal(comment, packets[i].Comment);
        }
        Assert.Equal(
            [
                new CaptureStatistics(0, T0 + 20_000_000_000, T0 - 5, T0 + 19_999_999_999, 12, 1, null, 3, null, null),
                new CaptureStatistics(1, T0 + 20_000_000_001, null, null, 7, null, null, 0, null, null),
            ],
            r.Statistics);
        Assert.Equal(ms.Length, ms.Position);
    }

    [Fact]
    public void SectionHeader_IsLittleEndianVersion1_0_WithUnknownLengthAndTattleAsApplication()
    {
        var ms = new MemoryStream();
        using (new PcapngWriter(ms, leaveOpen: true))
        {
        }
        byte[] b = ms.ToArray();
        Assert.Equal<byte>([0x0A, 0x0D, 0x0D, 0x0A], b[..4]);
        Assert.Equal<byte>([0x4D, 0x3C, 0x2B, 0x1A, 1, 0, 0, 0], b[8..16]);
        Assert.Equal(-1L, BitConverter.ToInt64(b, 16));
        Assert.Equal<byte>([4, 0, 6, 0, .. "tattle"u8, 0, 0], b[24..36]);
        Assert.Equal(b.Length, BitConverter.ToInt32(b, 4));
        Assert.Equal(0, b.Length % 4);
    }

    [Fact]
    public void PacketLongerThanSnaplen_IsCutToIt_OriginalLengthKept()
    {
        var ms = new MemoryStream();
        using (var w = new PcapngWriter(ms, leaveOpen: true))
        {
            w.AddInterface("lo", LinkTypes.Raw, 100);
            w.WritePacket(0, T0, new byte[300], 300);
        }
        ms.Position = 0;
        var p = CaptureReader.Open(ms).ReadAll().Single();
        Assert.Equal(100, p.Data.Length);
        Assert.Equal(300, p.OriginalLength);
    }

    [Fact]
    public void CommentOverTheOptionLimit_IsCutAtACharacterBoundary()
    {
        // 30000 three-byte characters: 90000 bytes, more than an option's 16-bit length.
        string comment = new('✓', 30000);
        var ms = new MemoryStream();
        using (var w = new PcapngWriter(ms, leaveOpen: true))
        {
            w.AddInterface("lo", LinkTypes.Raw, 0);
            w.WritePacket(0, T0, [0x45], 1, comment);
            w.WritePacket(0, T0, [0x45], 1, "after");
        }
        ms.Position = 0;
        var r = CaptureReader.Open(ms);
        var packets = r.ReadAll();
        Assert.Null(r.Error);
        Assert.Equal(new string('✓', PcapngWriter.MaxCommentBytes / 3), packets[0].Comment);
        Assert.Equal("after", packets[1].Comment);
    }

    [Fact]
    public void LoneSurrogateInAComment_IsWrittenAsValidUtf8()
    {
        var ms = new MemoryStream();
        using (var w = new PcapngWriter(ms, leaveOpen: true))
        {
            w.AddInterface("lo", LinkTypes.Raw, 0);
            w.WritePacket(0, T0, [], 0, "a\ud800b");
        }
        ms.Position = 0;
        Assert.Equal("a\ufffdb", CaptureReader.Open(ms).ReadAll().Single().Comment);
    }

    [Fact]
    public void WritePacket_AllocatesNothing()
    {
        using var w = new PcapngWriter(Stream.Null);
        w.AddInterface("lo", LinkTypes.Ethernet, 262144);
        byte[] frame = new byte[1514];
        const string comment = "pid=1234 comm=curl conn=c3 dir=out cmdline=\"curl -s http://127.0.0.1:8000/ ✓\"";
        w.WritePacket(0, T0, frame, frame.Length, comment); // warm up (JIT, first use)
        int i = 0;
        long allocated = Allocations.LeastOf(3, () =>
        {
            for (int end = i + 1000; i < end; i++)
            {
                w.WritePacket(0, T0 + i, frame.AsSpan(0, i % 1514), 1514, (i & 1) == 0 ? comment : null);
            }
        });
        Assert.Equal(0, allocated);
        Assert.Equal(i + 1, w.PacketsWritten);
    }

    [Fact]
    public void Misuse_Throws()
    {
        using var w = new PcapngWriter(new MemoryStream());
        Assert.Throws<ArgumentOutOfRangeException>(() => w.WritePacket(0, T0, [], 0));
        w.AddInterface("lo", LinkTypes.Raw, 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => w.WritePacket(1, T0, [], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => w.WritePacket(0, -1, [], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => w.WritePacket(0, T0, [1, 2], 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => w.WriteStatistics(2, T0, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => w.AddInterface("x", LinkTypes.Raw, -1));
        w.Dispose();
        Assert.Throws<ObjectDisposedException>(() => w.WritePacket(0, T0, [], 0));
    }

    [Fact]
    public void FlushedFile_IsCompleteWhileStillBeingWritten()
    {
        // What a reader finds after Ctrl-C: every flushed batch, ending at a block boundary.
        string path = Path.Combine(Path.GetTempPath(), $"tattle-{Guid.NewGuid():N}.pcapng");
        try
        {
            using var w = PcapngWriter.Create(path);
            w.AddInterface("lo", LinkTypes.Ethernet, 262144);
            for (int batch = 1; batch <= 3; batch++)
            {
                for (int i = 0; i < 10; i++)
                {
                    w.WritePacket(0, T0 + i, new byte[60 + i], 60 + i, $"batch {batch}");
                }
                w.Flush();
                using var r = CaptureReader.Open(path);
                Assert.Equal(10 * batch, r.ReadAll().Count);
                Assert.Null(r.Error);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Strings_AreUtf8_InterfaceNameAndDescriptionIncluded()
    {
        var ms = new MemoryStream();
        using (var w = new PcapngWriter(ms, leaveOpen: true))
        {
            w.AddInterface("vethé0", LinkTypes.Ethernet, 1500, "Tattle's sandbox ✓");
        }
        ms.Position = 0;
        var r = CaptureReader.Open(ms);
        Assert.Empty(r.ReadAll());
        Assert.Equal("vethé0", r.Interfaces.Single().Name);
        Assert.Equal("Tattle's sandbox ✓", r.Interfaces.Single().Description);
    }
}
