using System.Globalization;
using Tattle.Capture.Packets;
using Tattle.Output.Pcapng;
using Tattle.Tests.Support;
using static Tattle.Tests.Output.Pcapng.PcapTools;

namespace Tattle.Tests.Output.Pcapng;

/// <summary>
/// The real tshark and tcpdump (Debian 12: Wireshark 4.0, tcpdump 4.99 / libpcap 1.10) read what the writer wrote,
/// and read the hand-built files the reader is checked against.
/// </summary>
public class PcapngOracleTests(ITestOutputHelper output)
{
    private const long T0 = 1_700_000_000_123_456_789;

    /// <summary>A conversation written the way Tattle writes it: one link type, a comment per packet, an ISB.</summary>
    private static (byte[] File, List<byte[]> Frames, string?[] Comments, long[] Times) WriteConversation(ushort linkType)
    {
        var frames = Frames.Conversation(linkType == LinkTypes.Ethernet ? Frames.Ethernet : Frames.Sll2);
        string?[] comments =
        [
            "pid=1234 comm=curl conn=c3 dir=out cmdline=\"curl -s http://127.0.0.1:8000/hello.txt\"",
            "pid=5678 comm=python3 conn=c1 dir=out cmdline=\"python3 -m http.server\"",
            null,
            "pid=1234 comm=curl conn=c3 dir=out cmdline=\"curl ✓ é\"",
            "pid=5678 comm=python3 conn=c1 dir=out",
        ];
        long[] times = frames.Select((_, i) => T0 + i * 1_000_001L).ToArray();
        var ms = new MemoryStream();
        using (var w = new PcapngWriter(ms, leaveOpen: true))
        {
            w.AddInterface(linkType == LinkTypes.Ethernet ? "lo" : "any", linkType, 262144, "Tattle test");
            for (int i = 0; i < frames.Count; i++)
            {
                w.WritePacket(0, times[i], frames[i], frames[i].Length, comments[i]);
            }
            w.WriteStatistics(0, times[^1] + 1, received: 42, dropped: 3, ifDropped: 2, startNs: T0 - 1, endNs: times[^1] + 1);
        }
        return (ms.ToArray(), frames, comments, times);
    }

    [SkippableTheory]
    [InlineData(LinkTypes.Ethernet)]
    [InlineData(LinkTypes.LinuxSll2)]
    public void Tshark_ReadsEveryFrame_ItsNanosecondTime_AndItsComment(ushort linkType)
    {
        Requires.Program(output, "tshark");
        var (file, frames, comments, times) = WriteConversation(linkType);
        using var temp = Temp(file);
        // frame.comment is the field holding the text in Wireshark 4.0 (pkt_comment is the protocol: it prints its name).
        var rows = TsharkFields(temp.Path, "frame.number", "frame.time_epoch", "frame.len", "frame.cap_len", "frame.comment", "tcp.srcport", "ip.dst");
        Assert.Equal(frames.Count, rows.Length);
        for (int i = 0; i < frames.Count; i++)
        {
            output.WriteLine(string.Join(" | ", rows[i]));
            Assert.Equal((i + 1).ToString(CultureInfo.InvariantCulture), rows[i][0]);
            Assert.Equal($"{times[i] / 1_000_000_000}.{times[i] % 1_000_000_000:D9}", rows[i][1]);
            Assert.Equal(frames[i].Length.ToString(CultureInfo.InvariantCulture), rows[i][2]);
            Assert.Equal(rows[i][2], rows[i][3]);
            Assert.Equal(comments[i] ?? "", rows[i][4]);
            Assert.Equal("127.0.0.1", rows[i][6]);
        }
        Assert.Equal(["40000", "8000", "40000", "40000", "8000"], rows.Select(r => r[5]));
    }

    [SkippableFact]
    public void Tshark_FileFormatView_ShowsTheStatisticsWhereTheWriterMeantThem()
    {
        Requires.Program(output, "tshark");
        var (file, _, _, _) = WriteConversation(LinkTypes.Ethernet);
        using var temp = Temp(file);
        // Wireshark's own pcapng block dissector names each ISB option: received (4), interface drops (5), OS drops (7).
        string blocks = Run("tshark", "-X", "read_format:MIME Files Format", "-r", temp.Path, "-V");
        Assert.Contains("Number of Received Packets = 42", blocks);
        Assert.Contains("Number of Dropped Packets = 2", blocks);
        Assert.Contains("Code: Number of Packets Dropped by OS (7)", blocks);
        Assert.Contains("Application = tattle", blocks);
        Assert.Contains("Timestamp Resolution = 10^-9 (nanoseconds)", blocks);
    }

    [SkippableTheory]
    [InlineData(LinkTypes.Ethernet, "EN10MB")]
    [InlineData(LinkTypes.LinuxSll2, "LINUX_SLL2")]
    public void Tcpdump_ReadsTheFile_WithoutError(ushort linkType, string dlt)
    {
        Requires.Program(output, "tcpdump");
        var (file, frames, _, times) = WriteConversation(linkType);
        using var temp = Temp(file);
        var (exit, stdout, stderr) = Programs.Run("tcpdump", "-n", "-tt", "--nano", "-r", temp.Path);
        output.WriteLine(stdout + stderr);
        Assert.Equal(0, exit);
        Assert.Contains($"link-type {dlt}", stderr);
        Assert.DoesNotContain("tcpdump:", stderr); // its errors start so
        string[] lines = Lines(stdout);
        Assert.Equal(frames.Count, lines.Length);
        Assert.StartsWith($"{times[0] / 1_000_000_000}.{times[0] % 1_000_000_000:D9}", lines[0]);
        Assert.Contains("127.0.0.1.40000 > 127.0.0.1.8000: Flags [S]", lines[0]);
        Assert.Contains("127.0.0.1.40000 > 127.0.0.1.8000: Flags [P.], seq 1:45, ack 1, win 65535, length 44", lines[3]);
    }

    [SkippableFact]
    public void Tcpdump_RefusesInterfacesOfDifferentLinkTypes_TheReasonTattleWritesOnePerFile()
    {
        Requires.Program(output, "tcpdump");
        var ms = new MemoryStream();
        using (var w = new PcapngWriter(ms, leaveOpen: true))
        {
            w.AddInterface("lo", LinkTypes.Ethernet, 262144);
            w.AddInterface("any", LinkTypes.LinuxSll2, 262144);
            w.WritePacket(0, T0, Frames.Conversation(Frames.Ethernet)[0], 54);
            w.WritePacket(1, T0, Frames.Conversation(Frames.Sll2)[0], 60);
        }
        using var temp = Temp(ms.ToArray());
        var (_, _, stderr) = Programs.Run("tcpdump", "-r", temp.Path);
        Assert.Contains("different from the type of the first interface", stderr);
    }

    [SkippableFact]
    public void Reader_AgreesWithTshark_OnHandBuiltFiles_BigEndian_Sections_Resolutions_OldBlocks()
    {
        Requires.Program(output, "tshark");
        // Without the Custom Block: Wireshark lists it as a record of its own, where the reader skips it.
        byte[] file = PcapngReaderTests.EveryFeatureFile(customBlock: false);
        using var temp = Temp(file);
        var rows = TsharkFields(temp.Path, "frame.time_epoch", "frame.len", "frame.cap_len", "frame.comment");
        var r = CaptureReader.Open(new MemoryStream(file));
        var packets = r.ReadAll();
        Assert.Null(r.Error);
        output.WriteLine(string.Join("\n", rows.Select(row => string.Join(" | ", row))));
        Assert.Equal(rows.Length, packets.Count);
        for (int i = 0; i < rows.Length; i++)
        {
            output.WriteLine($"{string.Join(" | ", rows[i])}  <->  {packets[i].UnixNs} {packets[i].OriginalLength} {packets[i].Data.Length} {packets[i].Comment}");
            // A Simple Packet Block has no time (tshark prints none); the rest must match to the nanosecond.
            Assert.Equal(rows[i][0] == "" ? 0 : EpochToNs(rows[i][0]), packets[i].UnixNs);
            Assert.Equal(rows[i][1], packets[i].OriginalLength.ToString(CultureInfo.InvariantCulture));
            Assert.Equal(rows[i][2], packets[i].Data.Length.ToString(CultureInfo.InvariantCulture));
            Assert.Equal(rows[i][3].Replace("\\n", "\n").Replace(",", "\n"), packets[i].Comment ?? "");
        }
    }
}
