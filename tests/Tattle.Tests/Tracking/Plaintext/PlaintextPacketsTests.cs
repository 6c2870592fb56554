using System.Buffers.Binary;
using System.Net;
using System.Text;
using Tattle.Capture.Events;
using Tattle.Capture.Packets;
using Tattle.Output.Pcapng;
using Tattle.Tests.Output.Pcapng;
using Tattle.Tests.Support;
using Tattle.Tracking.Connections;
using Tattle.Tracking.Plaintext;

namespace Tattle.Tests.Tracking.Plaintext;

/// <summary>
/// TLS plaintext made into TCP/IP packets: checksums recomputed here word by word, sequence numbers across chunks
/// and directions, a cut message, IPv6, and tshark reading a file of them as HTTP.
/// </summary>
public class PlaintextPacketsTests(ITestOutputHelper output)
{
    private const ulong Session = 0x5555_0000_1230;
    private const int Pid = 4242;
    private const long T0 = 1_700_000_000_000_000_000;

    /// <summary>Keeps every packet with its comment.</summary>
    private sealed class Collect : IPlaintextPacketSink
    {
        public List<(long Ns, byte[] Packet, string Comment)> Packets { get; } = [];

        public string Describe(PlaintextFlow flow, bool fromLocal) =>
            $"pid={flow.Pid} comm={flow.Comm} conn={flow.Conn} dir={(fromLocal ? "out" : "in")} tls=plaintext";

        public void Write(long unixNs, ReadOnlySpan<byte> packet, string comment) => Packets.Add((unixNs, packet.ToArray(), comment));

        public DecodedPacket Decode(int i)
        {
            Assert.Equal(DecodeStatus.Ok, PacketDecoder.TryDecode(LinkTypes.Raw, Packets[i].Packet, out var p));
            return p;
        }

        public byte[] Payload(int i)
        {
            var p = Decode(i);
            return Packets[i].Packet.AsSpan(p.PayloadOffset, p.PayloadLength).ToArray();
        }
    }

    private static NetAddress A(string ip, int port) => NetAddress.FromEndPoint(new IPEndPoint(IPAddress.Parse(ip), port));

    private static Connection Conn(NetAddress local, NetAddress remote, string? role = "client") => new()
    {
        Id = "c7",
        Pid = Pid,
        ProcessStart = 1,
        Fd = 5,
        Generation = 0,
        Proto = "tcp",
        Role = role,
        Local = local,
        Remote = remote,
    };

    private static DataEvent Chunk(Direction dir, ulong position, uint messageLength, uint offset, int length, DataFlags flags = DataFlags.Last) => new()
    {
        Pid = Pid,
        Fd = 5,
        Direction = dir,
        Flags = flags | DataFlags.Tls,
        SockId = 1,
        Position = position,
        MessageLength = messageLength,
        ChunkOffset = offset,
        ChunkLength = (uint)length,
        TlsSession = Session,
    };

    private static (PlaintextPackets Synth, Collect Sink) New()
    {
        var sink = new Collect();
        return (new PlaintextPackets { Output = sink }, sink);
    }

    private static void Feed(PlaintextPackets synth, Connection conn, DataEvent e, byte[] payload, long ns = T0) =>
        synth.OnPlaintext(in e, payload, conn, "curl", ns);

    /// <summary>The one's complement sum of 16-bit words, folded, as RFC 1071 computes it: written again here.</summary>
    private static uint Sum(ReadOnlySpan<byte> b)
    {
        uint sum = 0;
        for (int i = 0; i < b.Length; i += 2)
        {
            sum += (uint)(b[i] << 8 | (i + 1 < b.Length ? b[i + 1] : 0));
        }
        while (sum > 0xffff)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return sum;
    }

    /// <summary>A header with its checksum field in place sums to 0xffff (RFC 1071 section 1, "to check").</summary>
    private static void AssertChecksums(byte[] packet)
    {
        bool v6 = packet[0] >> 4 == 6;
        int ip = v6 ? 40 : 20;
        var tcp = packet.AsSpan(ip);
        var pseudo = new List<byte>();
        if (v6)
        {
            pseudo.AddRange(packet.AsSpan(8, 32).ToArray());
            pseudo.AddRange(new byte[] { 0, 0, (byte)(tcp.Length >> 8), (byte)tcp.Length, 0, 0, 0, 6 });
            Assert.Equal(tcp.Length, BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(4)));
        }
        else
        {
            Assert.Equal(0xffffu, Sum(packet.AsSpan(0, 20)));
            Assert.Equal(packet.Length, BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(2)));
            pseudo.AddRange(packet.AsSpan(12, 8).ToArray());
            pseudo.AddRange(new byte[] { 0, 6, (byte)(tcp.Length >> 8), (byte)tcp.Length });
        }
        Assert.Equal(0xffffu, Sum([.. pseudo, .. tcp]));
    }

    [Fact]
    public void Exchange_HandshakeDataAndFin_WithConsistentNumbersAndChecksums()
    {
        var (synth, sink) = New();
        var conn = Conn(A("10.0.0.1", 40000), A("10.0.0.2", 443));
        byte[] request = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"u8.ToArray();
        byte[] response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"u8.ToArray();
        Feed(synth, conn, Chunk(Direction.Send, 0, (uint)request.Length, 0, request.Length), request);
        // The response comes in two chunks of one message, the second first: each lands at its own offset.
        Feed(synth, conn, Chunk(Direction.Recv, 0, (uint)response.Length, 20, response.Length - 20), response[20..]);
        Feed(synth, conn, Chunk(Direction.Recv, 0, (uint)response.Length, 0, 20, DataFlags.None), response[..20]);
        synth.OnSessionEnd(Pid, Session, T0 + 5);

        Assert.Equal(9, sink.Packets.Count);
        Assert.Equal(9, synth.Packets);
        sink.Packets.ForEach(p => AssertChecksums(p.Packet));
        var p = Enumerable.Range(0, 9).Select(sink.Decode).ToArray();
        var client = p[0].Src; // the socket's own packets keep its port: the flow's is above the ephemeral range
        Assert.Equal("10.0.0.1", client.AddressText());
        Assert.InRange(client.Port, 61000, 65535);
        var server = A("10.0.0.2", 443);
        Assert.Equal((TcpFlags.Syn, client, server), (p[0].TcpFlags, p[0].Src, p[0].Dst));
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, p[1].TcpFlags);
        Assert.Equal((server, client), (p[1].Src, p[1].Dst));
        uint c = p[0].Seq + 1, s = p[1].Seq + 1;
        Assert.Equal(c, p[1].Ack);
        Assert.Equal((TcpFlags.Ack, c, s), (p[2].TcpFlags, p[2].Seq, p[2].Ack));
        Assert.Equal((TcpFlags.Ack | TcpFlags.Psh, c, s), (p[3].TcpFlags, p[3].Seq, p[3].Ack));
        Assert.Equal(request, sink.Payload(3));
        uint afterRequest = c + (uint)request.Length;
        Assert.Equal((TcpFlags.Ack | TcpFlags.Psh, s + 20, afterRequest), (p[4].TcpFlags, p[4].Seq, p[4].Ack));
        Assert.Equal(response[20..], sink.Payload(4));
        Assert.Equal((TcpFlags.Ack, s), (p[5].TcpFlags, p[5].Seq)); // not the message's end: no PSH
        Assert.Equal(response[..20], sink.Payload(5));
        uint afterResponse = s + (uint)response.Length;
        Assert.Equal((TcpFlags.Fin | TcpFlags.Ack, afterRequest, afterResponse), (p[6].TcpFlags, p[6].Seq, p[6].Ack));
        Assert.Equal((TcpFlags.Fin | TcpFlags.Ack, afterResponse, afterRequest + 1), (p[7].TcpFlags, p[7].Seq, p[7].Ack));
        Assert.Equal((TcpFlags.Ack, afterRequest + 1, afterResponse + 1), (p[8].TcpFlags, p[8].Seq, p[8].Ack));
        Assert.Equal(T0 + 5, sink.Packets[8].Ns);
        Assert.All(sink.Packets.Where((_, i) => p[i].Src == client), x => Assert.Contains("dir=out", x.Comment));
        Assert.All(sink.Packets.Where((_, i) => p[i].Src == server), x => Assert.Contains("dir=in", x.Comment));
    }

    [Fact]
    public void TruncatedMessage_WritesWhatWasCaptured_AndTheNextStartsPastTheWholeMessage()
    {
        var (synth, sink) = New();
        var conn = Conn(A("127.0.0.1", 50000), A("127.0.0.1", 8443));
        byte[] cut = new byte[100];
        Feed(synth, conn, Chunk(Direction.Send, 0, 1000, 0, cut.Length, DataFlags.Last | DataFlags.Truncated), cut);
        Feed(synth, conn, Chunk(Direction.Recv, 0, 5, 0, 5), "hello"u8.ToArray());
        Feed(synth, conn, Chunk(Direction.Send, 1000, 3, 0, 3), "end"u8.ToArray());

        uint c = sink.Decode(0).Seq + 1;
        Assert.Equal((c, 100), (sink.Decode(3).Seq, sink.Decode(3).PayloadLength));
        Assert.Equal(c + 1000, sink.Decode(4).Ack); // the reply acknowledges every byte the call moved
        Assert.Equal(c + 1000, sink.Decode(5).Seq);
        sink.Packets.ForEach(p => AssertChecksums(p.Packet));
    }

    [Fact]
    public void SessionsOpenAtOnce_ToOneServer_TakeClientPortsApart_AndEndedOnesFreeTheirs()
    {
        var (synth, sink) = New();
        var conn = Conn(A("10.0.0.1", 40000), A("10.0.0.2", 443));
        var e = Chunk(Direction.Send, 0, 4, 0, 4);
        var sessions = Enumerable.Range(0, 50).Select(i => Session + (ulong)i * 64).ToList();
        List<ushort> OpenAllAndReadTheirPorts()
        {
            sink.Packets.Clear();
            sessions.ForEach(s => Feed(synth, conn, e with { TlsSession = s }, "ping"u8.ToArray()));
            return [.. sink.Packets.Select((_, i) => sink.Decode(i)).Where(p => p.TcpFlags == TcpFlags.Syn).Select(p => p.Src.Port)];
        }
        var ports = OpenAllAndReadTheirPorts();
        Assert.Equal(50, ports.Distinct().Count());

        // Ended, their ports are free: the same sessions again (objects reused by the library) take the same ones.
        sessions.ForEach(s => synth.OnSessionEnd(Pid, s, T0));
        Assert.Equal(ports, OpenAllAndReadTheirPorts());
    }

    [Fact]
    public void ChunkLongerThanASegment_IsSplit_PshOnlyOnTheLast()
    {
        var (synth, sink) = New();
        var conn = Conn(A("127.0.0.1", 50000), A("127.0.0.1", 8443), role: "server"); // the traced process accepted
        byte[] big = new byte[TcpPacketBuilder.MaxPayload + 1000];
        Random.Shared.NextBytes(big);
        Feed(synth, conn, Chunk(Direction.Send, 0, (uint)big.Length, 0, big.Length), big);

        Assert.Equal(5, sink.Packets.Count);
        var peer = sink.Decode(0).Src; // the peer is the client: it sent the SYN, from a port of its own
        Assert.Equal("127.0.0.1", peer.AddressText());
        Assert.InRange(peer.Port, 61000, 65535);
        Assert.Contains("dir=in", sink.Packets[0].Comment);
        var (first, second) = (sink.Decode(3), sink.Decode(4));
        Assert.Equal((TcpPacketBuilder.MaxPayload, TcpFlags.Ack), (first.PayloadLength, first.TcpFlags));
        Assert.Equal((1000, TcpFlags.Ack | TcpFlags.Psh), (second.PayloadLength, second.TcpFlags));
        Assert.Equal(first.Seq + (uint)TcpPacketBuilder.MaxPayload, second.Seq);
        Assert.Equal(big, sink.Payload(3).Concat(sink.Payload(4)).ToArray());
        Assert.Equal(65535, sink.Packets[3].Packet.Length);
        sink.Packets.ForEach(p => AssertChecksums(p.Packet));
    }

    [Fact]
    public void Ipv6AndDualStack_V6HeadersOrPlainV4()
    {
        var (synth, sink) = New();
        Feed(synth, Conn(A("2001:db8::1", 40001), A("2001:db8::2", 443)), Chunk(Direction.Send, 0, 4, 0, 4), "ping"u8.ToArray());
        Assert.Equal(6, sink.Packets[0].Packet[0] >> 4);
        Assert.Equal(A("2001:db8::2", 443), sink.Decode(3).Dst);
        Assert.Equal("ping"u8.ToArray(), sink.Payload(3));
        sink.Packets.ForEach(p => AssertChecksums(p.Packet));

        var (mapped, v4) = New();
        var dual = Conn(A("::ffff:127.0.0.1", 40002), A("::ffff:127.0.0.1", 443));
        Feed(mapped, dual, Chunk(Direction.Send, 0, 4, 0, 4), "ping"u8.ToArray());
        Assert.Equal(4, v4.Packets[0].Packet[0] >> 4);
        Assert.Equal(A("127.0.0.1", 443), v4.Decode(0).Dst);
    }

    [Fact]
    public void UnknownSocket_DocumentationAddresses_AndFlowsApartPerSession()
    {
        var (synth, sink) = New();
        var detached = new Connection { Id = "c9", Pid = Pid, ProcessStart = 1, Fd = -1, Generation = 0, Proto = "tcp" };
        var e = Chunk(Direction.Send, 0, 4, 0, 4) with { SockId = 0, Fd = -1 };
        Feed(synth, detached, e, "ping"u8.ToArray());
        Feed(synth, detached, e with { TlsSession = Session + 64 }, "pong"u8.ToArray());

        var (one, two) = (sink.Decode(3), sink.Decode(7));
        Assert.Equal("192.0.2.1", one.Src.AddressText());
        Assert.Equal("192.0.2.2", one.Dst.AddressText());
        Assert.InRange(one.Src.Port, 61000, 65535);
        Assert.InRange(one.Dst.Port, 61000, 65535); // no port Wireshark would name a protocol for
        Assert.NotEqual((one.Src.Port, one.Dst.Port, one.Seq), (two.Src.Port, two.Dst.Port, two.Seq));
        Assert.Equal(2, synth.Sessions);
    }

    [Fact]
    public void NoOutput_MakesNothing_AndAnUnknownSessionEndIsIgnored()
    {
        var synth = new PlaintextPackets();
        Feed(synth, Conn(A("127.0.0.1", 1), A("127.0.0.1", 2)), Chunk(Direction.Send, 0, 1, 0, 1), [1]);
        synth.OnSessionEnd(Pid, Session, T0);
        Assert.Equal(0, synth.Packets);
    }

    [SkippableFact]
    public void Tshark_ReadsTheFlowAsHttp_WithGoodChecksumsAndNoExpertErrors()
    {
        Requires.Program(output, "tshark");
        var (synth, sink) = New();
        var conn = Conn(A("127.0.0.1", 41000), A("127.0.0.1", 8443));
        byte[] request = "GET /plain HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray();
        byte[] response = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n" + new string('x', 70000));
        Feed(synth, conn, Chunk(Direction.Send, 0, (uint)request.Length, 0, request.Length), request, T0);
        Feed(synth, conn, Chunk(Direction.Recv, 0, (uint)response.Length, 0, response.Length), response, T0 + 1000);
        synth.OnSessionEnd(Pid, Session, T0 + 2000);

        using var file = new PcapTools.TempFile(Path.Combine(Path.GetTempPath(), $"tattle-plain-{Guid.NewGuid():N}.pcapng"));
        using (var writer = PcapngWriter.Create(file.Path))
        {
            int id = writer.AddInterface("tattle-tls-plaintext", LinkTypes.Raw, 0);
            sink.Packets.ForEach(p => writer.WritePacket(id, p.Ns, p.Packet, p.Packet.Length, p.Comment));
        }
        string[] checking = ["-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE"];
        var rows = PcapTools.Lines(PcapTools.Run("tshark", ["-r", file.Path, .. checking, "-T", "fields", "-e", "ip.checksum.status",
            "-e", "tcp.checksum.status", "-e", "http.request.uri", "-e", "http.response.code"]));
        Assert.Equal(sink.Packets.Count, rows.Length);
        Assert.All(rows, r => Assert.StartsWith("1\t1\t", r)); // 1: good (0 bad, 2 unverified)
        Assert.Contains(rows, r => r.EndsWith("\t/plain\t", StringComparison.Ordinal));
        Assert.Contains(rows, r => r.EndsWith("\t200", StringComparison.Ordinal));
        var bad = PcapTools.Run("tshark", ["-r", file.Path, .. checking, "-Y", "_ws.malformed || _ws.expert.severity >= warning"]);
        Assert.Equal("", bad.Trim());
    }
}
