using System.Net;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Tattle.Capture.Proc;

namespace Tattle.Tests.Capture.Proc;

public class ProcNetParserTests
{
    private static List<NetSocket> ParseFixture(ProcNetTable table, string file, out int malformed)
    {
        var list = new List<NetSocket>();
        byte[] content = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "testdata", "proc", file));
        malformed = ProcNetParser.ParseTable(table, content, list.Add);
        return list;
    }

    [Fact]
    public void Tcp4FixtureGivesAddressesPortsStatesQueuesAndInodes()
    {
        var s = ParseFixture(ProcNetTable.Tcp, "tcp", out int bad);
        Assert.Equal(0, bad);
        Assert.Equal(3, s.Count);
        Assert.Equal("tcp", s[0].Protocol);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 5556), s[0].Local);
        Assert.Equal(new IPEndPoint(IPAddress.Any, 0), s[0].Remote);
        Assert.Equal("LISTEN", s[0].State);
        Assert.Equal(3, s[0].RxQueue);
        Assert.Equal(40001UL, s[0].Inode);
        Assert.True(s[0].IsListening);
        Assert.Equal("ESTABLISHED", s[1].State);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 0xD431), s[1].Local);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 5556), s[1].Remote);
        Assert.Equal(10, s[1].TxQueue);
        Assert.Equal(5, s[1].RxQueue);
        Assert.Equal(1000, s[1].Uid);
        Assert.Equal("TIME_WAIT", s[2].State);
        Assert.Equal(0UL, s[2].Inode);
    }

    [Fact]
    public void Tcp6FixtureDecodesWordsInHostOrder()
    {
        var s = ParseFixture(ProcNetTable.Tcp6, "tcp6", out int bad);
        Assert.Equal(0, bad);
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Any, 22), s[0].Local);
        Assert.Equal("tcp6", s[0].Protocol);
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 8080), s[1].Local);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("::ffff:127.0.0.1"), 50000), s[1].Remote);
        Assert.Equal(33, s[1].Uid);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("2001:db8::1"), 443), s[2].Local);
    }

    [Fact]
    public void UdpStatesAreUnconnOrEstablished()
    {
        var s = ParseFixture(ProcNetTable.Udp, "udp", out int bad);
        Assert.Equal(0, bad);
        Assert.Equal("UNCONN", s[0].State);
        Assert.Equal(68, s[0].Local!.Port);
        Assert.True(s[0].IsListening);
        Assert.Equal("ESTABLISHED", s[1].State);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("127.0.0.53"), 53), s[1].Local);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 0xE0F0), s[1].Remote);
        Assert.Equal(512, s[1].RxQueue);
        Assert.Equal(40022UL, s[1].Inode);
    }

    [Fact]
    public void UnixFixtureKeepsPathsWithSpacesAbstractNamesAndTypes()
    {
        var s = ParseFixture(ProcNetTable.Unix, "unix", out int bad);
        Assert.Equal(0, bad);
        Assert.Equal(5, s.Count);
        Assert.Equal("LISTEN", s[0].State);
        Assert.Equal("/run/tattle test.sock", s[0].UnixPath);
        Assert.Equal("stream", s[0].UnixType);
        Assert.Equal("ESTABLISHED", s[1].State);
        Assert.Null(s[1].UnixPath);
        Assert.Equal(40032UL, s[1].Inode);
        Assert.Equal("@/org/abstract", s[3].UnixPath);
        Assert.Equal("dgram", s[3].UnixType);
        Assert.Equal("UNCONN", s[3].State);
        Assert.Equal("seqpacket", s[4].UnixType);
        Assert.Equal(635UL, s[4].Inode);
        Assert.All(s, x => Assert.Null(x.Local));
    }

    [Fact]
    public void PacketAndNetlinkFixtures()
    {
        var p = ParseFixture(ProcNetTable.Packet, "packet", out int bad);
        Assert.Equal(0, bad);
        Assert.Equal("type=raw,proto=0x0003,ifindex=2", p[0].Detail);
        Assert.Equal("RUNNING", p[0].State);
        Assert.Equal(40041UL, p[0].Inode);
        Assert.Equal(2304, p[1].RxQueue);
        Assert.Equal(1000, p[1].Uid);
        Assert.Equal("type=dgram,proto=0x88cc,ifindex=0", p[1].Detail);

        var n = ParseFixture(ProcNetTable.Netlink, "netlink", out bad);
        Assert.Equal(0, bad);
        Assert.Equal("proto=route,portid=812", n[0].Detail);
        Assert.Equal("proto=sock_diag,portid=0", n[1].Detail);
        Assert.Equal(40052UL, n[1].Inode);
    }

    [Fact]
    public void MalformedTcpLinesAreCountedNotThrown()
    {
        var s = ParseFixture(ProcNetTable.Tcp, "tcp_malformed", out int bad);
        Assert.Equal(9, bad);
        Assert.Equal(40061UL, Assert.Single(s).Inode);
    }

    [Fact]
    public void MalformedUnixLinesAreCountedNotThrown()
    {
        var s = ParseFixture(ProcNetTable.Unix, "unix_malformed", out int bad);
        Assert.Equal(4, bad);
        Assert.Equal("/ok", Assert.Single(s).UnixPath);
    }

    [Theory]
    [InlineData(ProcNetTable.Tcp)]
    [InlineData(ProcNetTable.Tcp6)]
    [InlineData(ProcNetTable.Udp)]
    [InlineData(ProcNetTable.Unix)]
    [InlineData(ProcNetTable.Packet)]
    [InlineData(ProcNetTable.Netlink)]
    public void TruncatedRealLinesNeverThrow(ProcNetTable table)
    {
        string file = table switch
        {
            ProcNetTable.Tcp6 => "tcp6",
            ProcNetTable.Udp => "udp",
            ProcNetTable.Unix => "unix",
            ProcNetTable.Packet => "packet",
            ProcNetTable.Netlink => "netlink",
            _ => "tcp",
        };
        foreach (string line in File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "testdata", "proc", file)))
        {
            byte[] bytes = Encoding.UTF8.GetBytes(line);
            for (int cut = 0; cut <= bytes.Length; cut++)
            {
                _ = ProcNetParser.TryParseLine(table, bytes.AsSpan(0, cut), out _);
            }
        }
    }

    [Fact]
    public void ArbitraryBytesNeverThrow()
    {
        var tables = Enum.GetValues<ProcNetTable>();
        Prop.ForAll<byte[], int>((bytes, which) =>
        {
            var table = tables[(int)((uint)which % (uint)tables.Length)];
            _ = ProcNetParser.TryParseLine(table, bytes ?? [], out _);
            return true;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void ArbitraryFieldSoupNeverThrows()
    {
        // Lines made of plausible tokens reach deeper into the parsers than random bytes do.
        string[] tokens = ["0:", "0100007F:0035", "00000000:0000", "0A", "00000000:00000000", "00:00000000", "0", "12345", ":", "", "ZZ", "FFFFFFFFFFFFFFFFFFFF", "@", "/p a"];
        var tables = Enum.GetValues<ProcNetTable>();
        Prop.ForAll<int[], int>((picks, which) =>
        {
            var sb = new StringBuilder();
            foreach (int p in picks ?? [])
            {
                sb.Append(tokens[(int)((uint)p % (uint)tokens.Length)]).Append(' ', 1 + ((int)((uint)p % 3)));
            }
            var table = tables[(int)((uint)which % (uint)tables.Length)];
            _ = ProcNetParser.TryParseLine(table, Encoding.UTF8.GetBytes(sb.ToString()), out _);
            return true;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void EndPointRoundTripsAnyV4Address()
    {
        Prop.ForAll<uint, ushort>((raw, port) =>
        {
            var addr = new IPAddress(BitConverter.GetBytes(raw));
            // What the kernel prints: the address bytes read as a host-order u32, then the port.
            string text = BitConverter.ToUInt32(addr.GetAddressBytes()).ToString("X8") + ":" + port.ToString("X4");
            return ProcNetParser.TryParseEndPoint(Encoding.ASCII.GetBytes(text), v6: false, out var ep)
                && ep!.Address.Equals(addr) && ep.Port == port;
        }).QuickCheckThrowOnFailure();
    }

    [Theory]
    [InlineData(1, "ESTABLISHED")]
    [InlineData(6, "TIME_WAIT")]
    [InlineData(10, "LISTEN")]
    [InlineData(12, "NEW_SYN_RECV")]
    [InlineData(99, "UNKNOWN")]
    [InlineData(-1, "UNKNOWN")]
    public void TcpStateNames(int state, string name) => Assert.Equal(name, ProcNetParser.TcpStateName(state));
}
