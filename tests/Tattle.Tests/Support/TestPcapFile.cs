using System.Buffers.Binary;

namespace Tattle.Tests.Support;

/// <summary>
/// Test helper only: reads a classic pcap file (24-byte global header, 16-byte record headers) so the packet tests
/// do not depend on the product's capture-file reader.
/// </summary>
internal sealed record TestPcapFile(int LinkType, IReadOnlyList<TestPcapFile.Frame> Frames)
{
    /// <summary>One record: capture time, the captured bytes and the length the frame had on the wire.</summary>
    internal sealed record Frame(long UnixNs, byte[] Bytes, int WireLength);

    public static string PathOf(string name) => Path.Combine(AppContext.BaseDirectory, "testdata", "packets", name);

    public static TestPcapFile Read(string name) => Parse(File.ReadAllBytes(PathOf(name)));

    public static TestPcapFile Parse(byte[] data)
    {
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(data);
        bool little = magic is 0xA1B2C3D4 or 0xA1B23C4D;
        uint Read32(int at) => little ? BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(at)) : BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(at));
        uint m = Read32(0);
        Assert.True(m is 0xA1B2C3D4 or 0xA1B23C4D, $"not a pcap file: magic {magic:x8}");
        long fractionNs = m == 0xA1B23C4D ? 1 : 1000;
        var frames = new List<Frame>();
        for (int at = 24; at + 16 <= data.Length;)
        {
            int captured = (int)Read32(at + 8);
            frames.Add(new Frame(Read32(at) * 1_000_000_000L + Read32(at + 4) * fractionNs, data[(at + 16)..(at + 16 + captured)], (int)Read32(at + 12)));
            at += 16 + captured;
        }
        return new TestPcapFile((int)(Read32(20) & 0x0FFFFFFF), frames);
    }
}
