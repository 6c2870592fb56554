using System.Globalization;
using Tattle.Capture.Packets;
using Tattle.Output.Pcapng;
using Tattle.Tests.Support;
using static Tattle.Tests.Output.Pcapng.PcapTools;

namespace Tattle.Tests.Output.Pcapng;

/// <summary>
/// The reader on captures made by tcpdump and tshark (testdata/pcap/capture.sh), checked against what those tools
/// read in the same files.
/// </summary>
public class PcapngCaptureFileTests(ITestOutputHelper output)
{
    public static TheoryData<string, CaptureFormat, ushort> Files => new()
    {
        { "http-us.pcap", CaptureFormat.Pcap, LinkTypes.Ethernet },
        { "http-ns.pcap", CaptureFormat.Pcap, LinkTypes.Ethernet },
        { "http-be.pcap", CaptureFormat.Pcap, LinkTypes.Ethernet },
        { "http-any.pcap", CaptureFormat.Pcap, LinkTypes.LinuxSll2 },
        { "http.pcapng", CaptureFormat.Pcapng, LinkTypes.Ethernet },
        { "http-sections.pcapng", CaptureFormat.Pcapng, LinkTypes.Ethernet },
        { "http-mixed.pcapng", CaptureFormat.Pcapng, LinkTypes.Ethernet },
    };

    private static List<CapturedPacket> ReadAll(string name, out CaptureReader reader)
    {
        reader = CaptureReader.Open(TestFile(name));
        var packets = reader.ReadAll();
        Assert.Null(reader.Error);
        return packets;
    }

    [SkippableTheory]
    [MemberData(nameof(Files))]
    public void PacketCount_EqualsTcpdumps(string name, CaptureFormat format, ushort firstLinkType)
    {
        Requires.Program(output, "tcpdump");
        var packets = ReadAll(name, out var reader);
        Assert.Equal(format, reader.Format);
        Assert.Equal(firstLinkType, reader.Interfaces[0].LinkType);
        var (exit, stdout, stderr) = Programs.Run("tcpdump", "-n", "-r", TestFile(name));
        if (name == "http-mixed.pcapng")
        {
            // libpcap stops at the second interface: one link type per file is all it handles.
            Assert.NotEqual(0, exit);
            Assert.Contains("different from the type of the first interface", stderr);
            Assert.True(Lines(stdout).Length < packets.Count);
            return;
        }
        Assert.Equal(0, exit);
        Assert.Equal(Lines(stdout).Length, packets.Count);
        Assert.InRange(packets.Count, 10, 30);
    }

    [SkippableTheory]
    [MemberData(nameof(Files))]
    public void TimesAndLengths_EqualTsharks(string name, CaptureFormat format, ushort firstLinkType)
    {
        _ = firstLinkType;
        Requires.Program(output, "tshark");
        var packets = ReadAll(name, out var reader);
        var rows = TsharkFields(TestFile(name), "frame.time_epoch", "frame.len", "frame.cap_len", "frame.interface_name");
        Assert.Equal(rows.Length, packets.Count);
        for (int i = 0; i < rows.Length; i++)
        {
            Assert.Equal(EpochToNs(rows[i][0]), packets[i].UnixNs);
            Assert.Equal(rows[i][1], packets[i].OriginalLength.ToString(CultureInfo.InvariantCulture));
            Assert.Equal(rows[i][2], packets[i].Data.Length.ToString(CultureInfo.InvariantCulture));
            // Wireshark names an interface without if_name "unknown"; a pcap file has no interface block at all.
            Assert.Equal(rows[i][3], reader.Interfaces[packets[i].InterfaceId].Name ?? (format == CaptureFormat.Pcap ? "" : "unknown"));
        }
    }

    [Fact]
    public void BigEndianPcap_HoldsTheSamePacketsAsTheLittleEndianOne()
    {
        var little = ReadAll("http-us.pcap", out var lr);
        var big = ReadAll("http-be.pcap", out var br);
        Assert.False(lr.IsBigEndian);
        Assert.True(br.IsBigEndian);
        Assert.Equal(lr.Interfaces, br.Interfaces);
        Assert.Equal(little.Select(p => (p.UnixNs, p.OriginalLength, Hex(p.Data))), big.Select(p => (p.UnixNs, p.OriginalLength, Hex(p.Data))));
    }

    [Fact]
    public void NanosecondPcap_KeepsNanoseconds()
    {
        var packets = ReadAll("http-ns.pcap", out var reader);
        Assert.Equal(9, reader.Interfaces[0].TimestampResolution);
        Assert.Contains(packets, p => p.UnixNs % 1000 != 0);
        Assert.All(ReadAll("http-us.pcap", out _), p => Assert.Equal(0, p.UnixNs % 1000));
    }

    [Fact]
    public void TsharkPcapng_InterfaceAndStatistics()
    {
        var packets = ReadAll("http.pcapng", out var reader);
        var lo = reader.Interfaces.Single();
        Assert.Equal(("lo", LinkTypes.Ethernet, 262144L, (byte)9), (lo.Name, lo.LinkType, lo.SnapLength, lo.TimestampResolution));
        // dumpcap's closing ISB: its own comment, received and interface-drop counts, start and end times.
        var s = reader.Statistics.Single();
        Assert.Equal(("Counters provided by dumpcap", (ulong?)packets.Count, (ulong?)0, (ulong?)null), (s.Comment, s.IfRecv, s.IfDrop, s.OsDrop));
        // dumpcap 4.0 writes the ISB's times in microseconds although its IDB says if_tsresol 9. The reader follows
        // the draft (section 4.6: the interface's resolution), as Wireshark's block view does (it shows January
        // 1970): read as nanoseconds they are 1000 times too small.
        Assert.InRange(packets[0].UnixNs - s.StartNs!.Value * 1000, 0, 10_000_000_000);
        Assert.InRange(s.EndNs!.Value * 1000 - packets[^1].UnixNs, 0, 10_000_000_000);
        Assert.InRange(s.UnixNs * 1000, s.EndNs.Value * 1000 - 1_000_000_000, s.EndNs.Value * 1000 + 1_000_000_000);
    }

    [Fact]
    public void ConcatenatedPcapng_TwoSections_InterfacesNumberedAcrossThem()
    {
        var packets = ReadAll("http-sections.pcapng", out var reader);
        Assert.Equal([0, 1], reader.Interfaces.Select(i => i.Section));
        Assert.Equal([0, 0], reader.Interfaces.Select(i => i.IdInSection));
        Assert.Equal(2, reader.Statistics.Count);
        int half = packets.Count / 2;
        Assert.All(packets.Take(half), p => Assert.Equal(0, p.InterfaceId));
        Assert.All(packets.Skip(half), p => Assert.Equal(1, p.InterfaceId));
        Assert.Equal(packets.Take(half).Select(p => Hex(p.Data)), packets.Skip(half).Select(p => Hex(p.Data)));
    }

    [Fact]
    public void MergedPcapng_TwoLinkTypesInOneSection()
    {
        var packets = ReadAll("http-mixed.pcapng", out var reader);
        Assert.Equal([LinkTypes.Ethernet, LinkTypes.LinuxSll2], reader.Interfaces.Select(i => i.LinkType));
        Assert.Equal(ReadAll("http-us.pcap", out _).Count, packets.Count(p => p.LinkType == LinkTypes.Ethernet));
        Assert.Equal(ReadAll("http-any.pcap", out _).Count, packets.Count(p => p.LinkType == LinkTypes.LinuxSll2));
        Assert.All(packets, p => Assert.Equal(reader.Interfaces[p.InterfaceId].LinkType, p.LinkType));
    }

    private static string Hex(ReadOnlyMemory<byte> data) => Convert.ToHexString(data.Span);
}
