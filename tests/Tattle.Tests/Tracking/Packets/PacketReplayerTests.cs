using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using Tattle.Capture.Events;
using Tattle.Capture.Packets;
using Tattle.Capture.Packets.Replay;
using Tattle.Output.JsonLines;
using Tattle.Protocols.Dns;
using Tattle.Protocols.Http;
using Tattle.Records;
using Tattle.Tests.Support;
using Tattle.Tracking;
using Tattle.Tracking.Connections;
using Tattle.Tracking.Packets;
using Tattle.Tracking.Plaintext;
using Record = Tattle.Records.Record;

namespace Tattle.Tests.Tracking.Packets;

/// <summary>
/// Captures of real exchanges (testdata/packets/capture.sh) replayed through a <see cref="TraceSession"/>: the
/// records must tell what curl and dig printed when the capture was made (capture.log), and must not change when
/// the capture repeats, reorders or cuts packets.
/// </summary>
public sealed class PacketReplayerTests
{
    public static readonly TheoryData<string> HttpCaptures = new()
    {
        "http-lo.pcap", "http-any-sll.pcap", "http-any-sll2.pcap", "http-bridge.pcap", "http-v6.pcap",
    };

    /// <summary>A capture's frames as (link type, bytes, time, owner).</summary>
    private sealed record Packet(int LinkType, byte[] Bytes, long Ns, PacketComment? Owner = null);

    [Theory]
    [MemberData(nameof(HttpCaptures))]
    public void CurlAgainstHttpServer_IsOneConnectionWithOneExchange(string file)
    {
        var run = Replay(Packets(file));
        var logged = CaptureLog.Of(file);

        var start = run.Records.Of<ProcessStartRecord>().Single();
        Assert.Equal((0, "capture"), (start.Pid, start.Comm));
        var open = run.Records.Of<ConnOpenRecord>().Single();
        Assert.Equal(("tcp", "client", 0), (open.Proto, open.Role, open.Pid));
        Assert.Equal(logged.Local, open.Local!.ToString());
        Assert.Equal(logged.Remote, open.Remote!.ToString());

        var http = run.Records.Of<HttpRecord>().Single();
        Assert.Equal(("GET", logged.Path, logged.Status, "client"), (http.Method, http.Path, http.Status, http.Role));
        Assert.Equal(open.Conn, http.Conn);

        // Byte counts are the sums of the distinct payloads each side sent, as the decoder reads them.
        var (sent, received) = PayloadSums(file, logged.Local);
        var close = run.Records.Of<ConnCloseRecord>().Single();
        Assert.Equal((sent, received), (close.BytesSent, close.BytesRecv));
        Assert.True(received >= (ulong)logged.Size);
        Assert.Empty(run.Records.Of<GapRecord>());
        Assert.Equal(1, run.Replayer.Counters.Flows);
        Assert.Equal((long)(sent + received), run.Replayer.Counters.PayloadBytes);
    }

    [Fact]
    public void BridgeCapture_SeesEveryPacketTwice_AndDropsTheCopies()
    {
        var packets = Packets("http-bridge.pcap");
        var run = Replay(packets);
        Assert.Equal(packets.Count, run.Replayer.Counters.Packets);
        Assert.Equal(packets.Count / 2, run.Replayer.Counters.Duplicates);
        Assert.Equal(0, run.Replayer.Counters.RepeatedBytes);
        Assert.Equal(Records(Replay(packets.Where((_, i) => i % 2 == 0)).Records, times: true), Records(run.Records, times: true));
    }

    [Theory]
    [InlineData("http-lo.pcap")]
    [InlineData("http-any-sll2.pcap")]
    [InlineData("http-v6.pcap")]
    public void EveryPacketTwice_GivesTheSameRecords(string file)
    {
        var packets = Packets(file);
        // As "any" on a kernel that shows a loopback packet as sent and as received: the copy a few µs later.
        var doubled = packets.SelectMany(p => new[] { p, p with { Bytes = AsOutgoing(p), Ns = p.Ns + 3_000 } }).ToList();
        var once = Replay(packets);
        var twice = Replay(doubled);
        Assert.Equal(Records(once.Records, times: true), Records(twice.Records, times: true));
        Assert.Equal(packets.Count, twice.Replayer.Counters.Duplicates);
    }

    [Fact]
    public void ReorderedOverlappingAndRetransmittedSegments_GiveTheSameRecords()
    {
        var p = Packets("http-lo.pcap");
        // 0 SYN, 1 SYN-ACK, 2 ACK, 3 request (100), 4 ACK, 5 response head (186), 6 ACK, 7 body (28), 8 ACK,
        // 9 FIN curl, 10 FIN server, 11 ACK.
        Assert.Equal((100, 186, 28), (PayloadLength(p[3]), PayloadLength(p[5]), PayloadLength(p[7])));
        var reordered = new List<Packet>
        {
            p[0], p[1], p[2],
            Segment(p[3], 0, 60), Segment(p[3], 40, 60), // overlapping halves of the request
            p[4],
            p[7], // the body before the head
            Segment(p[5], 100, 86), Segment(p[5], 0, 120), // the head's halves, the second overlapping the first
            p[6],
            Later(p[3], 1), // the request sent again
            Later(Coalesce(p[5], p[7]), 2), // head and body again in one segment (a retransmission merges them)
            p[8], p[10], p[9], p[11],
            Later(p[10], 3), // the server's FIN again
        };
        var want = Replay(p);
        var got = Replay(reordered);
        Assert.Equal(Records(want.Records, times: false), Records(got.Records, times: false));
        // Repeated: the request halves' 20 shared bytes, the head halves' 20, the resent request, the merged resend.
        Assert.Equal(20 + 20 + 100 + 186 + 28, got.Replayer.Counters.RepeatedBytes);
        Assert.Empty(got.Records.Of<GapRecord>());
    }

    [Fact]
    public void RandomOrderAndCopies_AfterTheRequest_GiveTheSameExchange()
    {
        // Everything after the request in any order, with copies anywhere: a response never precedes its request.
        var p = Packets("http-lo.pcap");
        var want = Records(Replay(p).Records, times: false);
        Prop.ForAll<int[], int[]>((keys, copies) =>
        {
            var rest = p.Skip(4).Select((x, i) => (Packet: x, Key: keys is { Length: > 0 } ? keys[i % keys.Length] ^ i : i)).OrderBy(x => x.Key).Select(x => x.Packet).ToList();
            foreach (int c in copies ?? [])
            {
                var copy = rest[(int)((uint)c % (uint)rest.Count)];
                rest.Insert((int)((uint)(c >> 8) % (uint)(rest.Count + 1)), Later(copy, 1 + (uint)c % 3));
            }
            var got = Records(Replay([.. p.Take(4), .. rest]).Records, times: false);
            Assert.Equal(want, got);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }

    [Fact]
    public void StreamStart_ArrivingAfterTheSessionGaveUpOnIt_IsDropped()
    {
        // The request in 50 two-byte segments, the first one last: 49 segments ahead of a hole are more than the
        // session's stream holds (32), so it declares the first 2 bytes lost; when they come they are too late and
        // must not be taken for new bytes at the stream's end.
        var p = Packets("http-lo.pcap");
        var pieces = Enumerable.Range(0, 50).Select(i => Segment(p[3], i * 2, 2)).ToList();
        var run = Replay([p[0], p[1], p[2], .. pieces.Skip(1), pieces[0], .. p.Skip(4)]);
        var gap = run.Records.Of<GapRecord>().Single();
        Assert.Equal(("send", 2L, "lost"), (gap.Dir, gap.Bytes, gap.Reason));
        Assert.Equal(98UL, run.Records.Of<ConnCloseRecord>().Single().BytesSent);
        Assert.Equal(200, run.Records.Of<HttpRecord>().Single(h => h.Status is not null).Status);
    }

    [Fact]
    public void SequenceNumbersWrappingAt2Pow32_GiveTheSameRecords()
    {
        var p = Packets("http-lo.pcap");
        // Renumber the server's side so its stream crosses 2^32 inside the response head (RFC 9293 §3.4).
        PacketDecoder.TryDecode(p[1].LinkType, p[1].Bytes, out var synAck);
        uint shift = (uint)(uint.MaxValue - 100 - synAck.Seq);
        var wrapped = p.Select(x =>
        {
            PacketDecoder.TryDecode(x.LinkType, x.Bytes, out var d);
            byte[] b = (byte[])x.Bytes.Clone();
            int tcp = TcpHeaderOffset(b, d);
            if (d.Src.Port == 18080)
            {
                BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(tcp + 4), d.Seq + shift);
            }
            else if (d.HasFlag(TcpFlags.Ack))
            {
                BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(tcp + 8), d.Ack + shift);
            }
            return x with { Bytes = b };
        }).ToList();
        Assert.Equal(Records(Replay(p).Records, times: true), Records(Replay(wrapped).Records, times: true));
    }

    [Fact]
    public void FlowJoinedAfterTheHandshake_StillHasItsClientAndExchange()
    {
        var p = Packets("http-lo.pcap");
        var run = Replay(p.Skip(3));
        var open = run.Records.Of<ConnOpenRecord>().Single();
        Assert.Equal("client", open.Role);
        Assert.Equal(CaptureLog.Of("http-lo.pcap").Local, open.Local!.ToString()); // the higher, ephemeral port
        Assert.Equal(200, run.Records.Of<HttpRecord>().Single().Status);
        var close = run.Records.Of<ConnCloseRecord>().Single();
        Assert.Equal((100UL, 214UL), (close.BytesSent, close.BytesRecv));
    }

    [Fact]
    public void OwnerComments_NameTheProcess_EvenWhenTheHandshakeHasNone()
    {
        var logged = CaptureLog.Of("http-lo.pcap");
        const string cmdline = "curl -s \\\"http://127.0.0.1:18080/hello.txt?from=tattle\\\"";
        var packets = Packets("http-lo.pcap").Select((x, i) =>
        {
            if (i < 3)
            {
                return x; // the handshake was captured before the socket was attributed
            }
            bool fromCurl = Decode(x).Src.ToString() == logged.Local;
            PacketComment.TryParse($"pid=4242 comm=curl conn=c3 dir={(fromCurl ? "out" : "in")} cmdline=\"{cmdline}\"", out var owner);
            return x with { Owner = owner };
        });
        var run = Replay(packets);
        var start = run.Records.Of<ProcessStartRecord>().Single();
        Assert.Equal((4242, "curl"), (start.Pid, start.Comm));
        Assert.Equal(["curl", "-s", "http://127.0.0.1:18080/hello.txt?from=tattle"], start.Argv);
        var open = run.Records.Of<ConnOpenRecord>().Single();
        Assert.Equal((4242, "client", logged.Local), (open.Pid, open.Role, open.Local!.ToString()));
        Assert.Equal(4242, run.Records.Of<HttpRecord>().Single().Pid);
    }

    [Fact]
    public void ServerOwner_AcceptsTheConnection()
    {
        var logged = CaptureLog.Of("http-lo.pcap");
        var packets = Packets("http-lo.pcap").Select(x =>
        {
            bool fromServer = Decode(x).Src.Port == 18080;
            PacketComment.TryParse($"pid=777 comm=python3 dir={(fromServer ? "out" : "in")} cmdline=\"python3 -m http.server 18080\"", out var owner);
            return x with { Owner = owner };
        });
        var run = Replay(packets);
        Assert.Equal("127.0.0.1:18080", run.Records.Of<ListenRecord>().Single().Local.ToString());
        var open = run.Records.Of<ConnOpenRecord>().Single();
        Assert.Equal((777, "server", "127.0.0.1:18080", logged.Local), (open.Pid, open.Role, open.Local!.ToString(), open.Remote!.ToString()));
        var http = run.Records.Of<HttpRecord>().Single();
        Assert.Equal(("server", "GET", 200), (http.Role, http.Method, http.Status));
        var close = run.Records.Of<ConnCloseRecord>().Single();
        Assert.Equal((214UL, 100UL), (close.BytesSent, close.BytesRecv));
    }

    /// <summary>
    /// A file of -w --tls-plaintext: the captured connection (ciphertext, here opaque bytes) and the synthetic flow
    /// of its plaintext, in the orders the two writers may leave them. One connection, the captured byte counts,
    /// the exchange on that connection, nothing before the first packet.
    /// </summary>
    [Theory]
    [InlineData("plaintext-inside")]
    [InlineData("plaintext-first")]
    [InlineData("plaintext-after-fins")]
    [InlineData("plaintext-after-the-close")]
    public void TlsPlaintextInterface_IsTheConnectionsPlaintext_NotAConnection(string order)
    {
        var client = NetAddress.FromEndPoint(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 50000));
        var server = NetAddress.FromEndPoint(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 4433));
        const long T0 = 1_700_000_000_000_000_000;
        string Comment(bool outgoing, string extra = "") =>
            $"pid=4242 comm=curl conn=c3 dir={(outgoing ? "out" : "in")} {extra}cmdline=\"curl -sk https://localhost:4433/\"";

        // The captured connection: handshake, 200 bytes out, 300 in, FINs. Its bytes are no protocol's.
        var cipherOut = Enumerable.Range(0, 200).Select(i => (byte)(i * 7 + 1)).ToArray();
        var cipherIn = Enumerable.Range(0, 300).Select(i => (byte)(i * 13 + 2)).ToArray();
        var captured = new List<Packet>();
        uint cs = 1000, ss = 9000;
        void Tcp(bool fromClient, uint seq, uint ack, TcpFlags flags, byte[] payload, long ns)
        {
            var buffer = new byte[TcpPacketBuilder.MaxPacket];
            int n = TcpPacketBuilder.Build(buffer, fromClient ? client : server, fromClient ? server : client,
                new TcpSegmentHeader(seq, ack, flags), payload, 1);
            PacketComment.TryParse(Comment(fromClient), out var owner);
            captured.Add(new Packet(LinkTypes.Raw, buffer[..n], ns, owner));
        }
        Tcp(true, cs, 0, TcpFlags.Syn, [], T0);
        Tcp(false, ss, cs + 1, TcpFlags.Syn | TcpFlags.Ack, [], T0 + 10_000);
        Tcp(true, cs + 1, ss + 1, TcpFlags.Ack, [], T0 + 20_000);
        Tcp(true, cs + 1, ss + 1, TcpFlags.Ack | TcpFlags.Psh, cipherOut, T0 + 1_000_000);
        Tcp(false, ss + 1, cs + 201, TcpFlags.Ack | TcpFlags.Psh, cipherIn, T0 + 2_000_000);
        Tcp(false, ss + 301, cs + 201, TcpFlags.Fin | TcpFlags.Ack, [], T0 + 3_000_000);
        Tcp(true, cs + 201, ss + 302, TcpFlags.Fin | TcpFlags.Ack, [], T0 + 4_000_000);
        Tcp(false, ss + 302, cs + 202, TcpFlags.Ack, [], T0 + 4_010_000);

        // The plaintext of that connection, as the trace loop writes it onto the synthetic interface.
        var sink = new PlaintextSink();
        var synth = new PlaintextPackets { Output = sink };
        var conn = new Connection { Id = "c3", Pid = 4242, ProcessStart = 1, Fd = 5, Generation = 0, Proto = "tcp", Role = "client", Local = client, Remote = server };
        var request = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"u8.ToArray();
        var response = "HTTP/1.0 200 ok\r\nContent-type: text/html\r\n\r\n<html>hi</html>"u8.ToArray();
        DataEvent Plain(Direction dir, byte[] bytes) => new()
        {
            Pid = 4242,
            Fd = 5,
            SockId = 1,
            Direction = dir,
            Flags = DataFlags.Last | DataFlags.Tls,
            TlsSession = 0xabc,
            MessageLength = (uint)bytes.Length,
            ChunkLength = (uint)bytes.Length,
        };
        synth.OnPlaintext(Plain(Direction.Send, request), request, conn, "curl", T0 + 900_000);
        synth.OnPlaintext(Plain(Direction.Recv, response), response, conn, "curl", T0 + 2_100_000);
        synth.OnSessionEnd(4242, 0xabc, T0 + 4_000_000);
        var plaintext = sink.Packets.Select(x =>
        {
            PacketComment.TryParse(x.Comment, out var owner);
            return new Packet(LinkTypes.Raw, x.Bytes, x.Ns, owner);
        }).ToList();
        Assert.All(plaintext, x => Assert.True(x.Owner!.IsTlsPlaintext));

        List<Packet> packets = order switch
        {
            "plaintext-inside" => [.. captured[..4], .. plaintext[..4], captured[4], .. plaintext[4..^3], .. captured[5..], .. plaintext[^3..]],
            "plaintext-first" => [.. plaintext, .. captured],
            // The trace loop flushes plaintext every 100 ms: the connection's last packet can come before it all.
            "plaintext-after-the-close" => [.. captured, .. plaintext],
            _ => [.. captured[..5], captured[6], .. plaintext, captured[5], captured[7]],
        };
        var run = Replay(packets);

        var open = Assert.Single(run.Records.Of<ConnOpenRecord>());
        Assert.Equal(("127.0.0.1:50000", "127.0.0.1:4433", "client"), (open.Local!.ToString(), open.Remote!.ToString(), open.Role));
        var close = Assert.Single(run.Records.Of<ConnCloseRecord>());
        Assert.Equal((open.Conn, 200UL, 300UL), (close.Conn, close.BytesSent, close.BytesRecv));
        var http = Assert.Single(run.Records.Of<HttpRecord>());
        Assert.Equal((open.Conn, "GET", "/", 200), (http.Conn, http.Method, http.Path, http.Status));
        Assert.Empty(run.Records.Of<GapRecord>());
        Assert.All(run.Records.All, r => Assert.True(r.TimestampNs >= T0, $"{r.GetType().Name} at {r.TimestampNs - T0} ns"));
        var row = Assert.Single(run.Records.Of<SummaryRecord>().Single().Rows);
        Assert.Equal((1, 200UL, 300UL), (row.Connections, row.BytesSent, row.BytesRecv));
        Assert.Equal(["https"], row.Protocols);
        Assert.Equal((1, 1), (run.Replayer.Counters.Flows, run.Replayer.Counters.PlaintextFlows));
    }

    /// <summary>A plaintext flow whose socket was never seen (addr=synthetic): its exchange shows, on no connection of the file's.</summary>
    [Fact]
    public void TlsPlaintextWithSyntheticAddresses_ShowsItsExchange_WithoutAConnection()
    {
        var sink = new PlaintextSink();
        var synth = new PlaintextPackets { Output = sink };
        var conn = new Connection { Id = "c9", Pid = 4242, ProcessStart = 1, Fd = -1, Generation = 0, Proto = "tcp" };
        var request = "GET /node HTTP/1.1\r\nHost: registry\r\n\r\n"u8.ToArray();
        var response = "HTTP/1.1 204 No Content\r\n\r\n"u8.ToArray();
        DataEvent Plain(Direction dir, byte[] bytes) => new()
        {
            Pid = 4242,
            Fd = -1,
            Direction = dir,
            Flags = DataFlags.Last | DataFlags.Tls,
            TlsSession = 0xdef,
            MessageLength = (uint)bytes.Length,
            ChunkLength = (uint)bytes.Length,
        };
        const long T0 = 1_700_000_000_000_000_000;
        synth.OnPlaintext(Plain(Direction.Send, request), request, conn, "node", T0);
        synth.OnPlaintext(Plain(Direction.Recv, response), response, conn, "node", T0 + 1_000_000);
        synth.OnSessionEnd(4242, 0xdef, T0 + 2_000_000);
        var run = Replay(sink.Packets.Select(x =>
        {
            PacketComment.TryParse(x.Comment, out var owner);
            Assert.Equal("synthetic", owner!.Addr);
            return new Packet(LinkTypes.Raw, x.Bytes, x.Ns, owner);
        }));
        var http = Assert.Single(run.Records.Of<HttpRecord>());
        Assert.Equal(("/node", 204), (http.Path, http.Status));
        Assert.DoesNotContain(run.Records.Of<ConnOpenRecord>(), o => o.Remote is not null);
        Assert.Equal((0, 1), (run.Replayer.Counters.Flows, run.Replayer.Counters.PlaintextFlows));
    }

    /// <summary>Keeps the synthetic plaintext packets with the comment a capture file gives them.</summary>
    private sealed class PlaintextSink : IPlaintextPacketSink
    {
        public List<(long Ns, byte[] Bytes, string Comment)> Packets { get; } = [];

        public string Describe(PlaintextFlow flow, bool fromLocal) =>
            $"pid={flow.Pid} comm={flow.Comm} conn={flow.Conn} dir={(fromLocal ? "out" : "in")} tls=plaintext "
            + (flow.ClientPort is ushort port ? $"client_port={port}" : "addr=synthetic");

        public void Write(long unixNs, ReadOnlySpan<byte> packet, string comment) => Packets.Add((unixNs, packet.ToArray(), comment));
    }

    [Fact]
    public void DigAgainstDnsmasq_GivesADnsRecord()
    {
        var run = Replay(Packets("dns-lo.pcap"));
        var log = File.ReadAllText(TestPcapFile.PathOf("capture.log"));
        Assert.Contains("dig +short +tries=1 +time=2 @127.0.0.54 www.example.test A\n10.1.2.3", log);
        var dns = run.Records.Of<DnsRecord>().Single();
        Assert.Equal(("www.example.test", "A", "udp", "client"), (dns.Query, dns.QType, dns.Transport, dns.Role));
        Assert.Equal("10.1.2.3", dns.Answers.Single().Data);
        Assert.Equal("127.0.0.54:53", dns.Remote!.ToString());
        var open = run.Records.Of<ConnOpenRecord>().Single();
        Assert.Equal(("udp", "client", "127.0.0.54:53"), (open.Proto, open.Role, open.Remote!.ToString()));
        var close = run.Records.Of<ConnCloseRecord>().Single();
        Assert.Equal((57UL, 61UL), (close.BytesSent, close.BytesRecv));
    }

    [Fact]
    public void DnsServerOwner_IsTheServerEnd()
    {
        var packets = Packets("dns-lo.pcap").Select(x =>
        {
            bool fromServer = Decode(x).Src.Port == 53;
            PacketComment.TryParse($"pid=53 comm=dnsmasq dir={(fromServer ? "out" : "in")}", out var owner);
            return x with { Owner = owner };
        });
        var run = Replay(packets);
        var open = run.Records.Of<ConnOpenRecord>().Single();
        Assert.Equal((53, "server", "127.0.0.54:53"), (open.Pid, open.Role, open.Local!.ToString()));
        Assert.Equal(("www.example.test", "server"), (run.Records.Of<DnsRecord>().Single().Query, run.Records.Of<DnsRecord>().Single().Role));
    }

    [Fact]
    public void SnapLengthCut_CountsTheWireBytes_AndSaysWhatWasNotSeen()
    {
        var run = Replay(Packets("http-snap.pcap"));
        var http = run.Records.Of<HttpRecord>().Single();
        Assert.Equal(("GET", "/big.txt", 200), (http.Method, http.Path, http.Status));
        Assert.True(http.UnseenBytes > 0, "the body's cut part is counted as unseen");
        var close = run.Records.Of<ConnCloseRecord>().Single();
        Assert.Equal((86UL, 188UL + 6000UL), (close.BytesSent, close.BytesRecv));
    }

    [Fact]
    public void RefusedAndUnansweredConnects_Fail()
    {
        var p = Packets("http-lo.pcap");
        byte[] rst = (byte[])p[1].Bytes.Clone();
        var synAck = Decode(p[1]);
        rst[TcpHeaderOffset(rst, synAck) + 13] = (byte)(TcpFlags.Rst | TcpFlags.Ack);
        var refused = Replay([p[0], p[1] with { Bytes = rst }]);
        var fail = refused.Records.Of<ConnFailRecord>().Single();
        Assert.Equal(("ECONNREFUSED", "127.0.0.1:18080"), (fail.Error, fail.Remote!.ToString()));
        Assert.Empty(refused.Records.Of<ConnOpenRecord>());

        var unanswered = Replay([p[0], Later(p[0], 1)]);
        Assert.Equal("ETIMEDOUT", unanswered.Records.Of<ConnFailRecord>().Single().Error);
    }

    [Fact]
    public void FramesThatAreNotTcpOrUdp_AreCounted()
    {
        var p = Packets("http-lo.pcap");
        byte[] arp = [.. p[0].Bytes[..12], 0x08, 0x06, .. new byte[28]];
        byte[] icmp = (byte[])p[0].Bytes.Clone();
        icmp[14 + 9] = 1;
        var run = Replay([p[0] with { Bytes = arp }, p[0] with { Bytes = icmp }, p[0] with { Bytes = p[0].Bytes[..30] }, .. p]);
        var c = run.Replayer.Counters;
        Assert.Equal((p.Count + 3L, 1L, 1L, 1L), (c.Packets, c.NotIp, c.OtherProtocols, c.Undecodable));
        Assert.Single(run.Records.Of<HttpRecord>());
        Assert.StartsWith($"{p.Count + 3} packets (", c.ToString());
        Assert.Contains("1 not IP", c.ToString());
    }

    [Fact]
    public void AnyFrame_AnyPrefix_NeverThrows()
    {
        var frames = new[] { "http-lo.pcap", "http-any-sll2.pcap", "http-snap.pcap", "dns-lo.pcap" }.SelectMany(Packets).ToList();
        // Every frame cut at every length, in order, through one replayer and session.
        var run = new Run();
        foreach (var f in frames)
        {
            for (int n = 0; n <= f.Bytes.Length; n += 7)
            {
                run.Replayer.Add(f.LinkType, f.Bytes.AsSpan(0, n), f.Ns);
            }
        }
        run.Finish();
        Prop.ForAll<int, byte[]>((which, bytes) =>
        {
            var r = new Run();
            r.Replayer.Add(frames[(int)((uint)which % (uint)frames.Count)].LinkType, bytes ?? [], 1);
            r.Replayer.Add(LinkTypes.Raw, bytes ?? [], 2);
            r.Finish();
        }).QuickCheckThrowOnFailure();
    }

    [Theory]
    [InlineData("pid=1234 comm=curl conn=c3 dir=out cmdline=\"curl -s http://x/\"", 1234, "curl", "c3", "out", "curl -s http://x/")]
    [InlineData("  dir=in   pid=7 unknown=\"a b\" stray  cmdline=\"sh -c \\\"echo hi\\\"\"", 7, null, null, "in", "sh -c \"echo hi\"")]
    [InlineData("pid=9 cmdline=\"unterminated value", 9, null, null, null, "unterminated value")]
    public void Comments_AreReadTolerantly(string text, int pid, string? comm, string? conn, string? dir, string? cmdline)
    {
        Assert.True(PacketComment.TryParse(text, out var c));
        Assert.Equal((pid, comm, conn, dir, cmdline), (c.Pid, c.Comm, c.Conn, c.Dir, c.Cmdline));
    }

    [Fact]
    public void Comments_WithoutAPid_AreNoOwner_AndCommandLinesSplitLikeAShell()
    {
        Assert.False(PacketComment.TryParse(null, out _));
        Assert.False(PacketComment.TryParse("comm=curl", out _));
        Assert.False(PacketComment.TryParse("pid=abc comm=curl", out _));
        Assert.False(PacketComment.TryParse("captured by dumpcap", out _));
        var c = new PacketComment { Pid = 1, Cmdline = "sh -c 'echo \"a b\"' x\\ y \"\"" };
        Assert.Equal(["sh", "-c", "echo \"a b\"", "x y", ""], c.Argv());
        Assert.Empty(new PacketComment { Pid = 1 }.Argv());
    }

    private sealed class Run
    {
        public ListSink Records { get; } = new();

        public TraceSession Session { get; }

        public PacketReplayer Replayer { get; }

        public Run()
        {
            // Packet times are Unix time already: the session's clock conversion is the identity.
            Session = new TraceSession(Records, new NoSocketLookup(), new TraceSettings { ToUnixNs = PacketReplayer.UnixClock });
            Replayer = new PacketReplayer(Session);
        }

        public void Finish()
        {
            Replayer.Finish();
            Session.Finish(Replayer.LastNs, Replayer.FirstNs, (ulong)Replayer.Counters.Packets, 0);
        }
    }

    private static Run Replay(IEnumerable<Packet> packets)
    {
        var run = new Run();
        // What tattle read's first pass tells the replayer: the connections whose plaintext the file holds.
        foreach (var owner in packets.Select(p => p.Owner).OfType<PacketComment>().Where(o => o.IsTlsPlaintext))
        {
            run.Replayer.ExpectPlaintext(owner);
        }
        foreach (var p in packets)
        {
            run.Replayer.Add(p.LinkType, p.Bytes, p.Ns, p.Owner);
        }
        run.Finish();
        return run;
    }

    private static List<Packet> Packets(string file)
    {
        var pcap = TestPcapFile.Read(file);
        return pcap.Frames.Select(f => new Packet(pcap.LinkType, f.Bytes, f.UnixNs)).ToList();
    }

    private static DecodedPacket Decode(Packet p)
    {
        Assert.Equal(DecodeStatus.Ok, PacketDecoder.TryDecode(p.LinkType, p.Bytes, out var d));
        return d;
    }

    private static int PayloadLength(Packet p) => Decode(p).WirePayloadLength;

    /// <summary>Where the TCP header of an IPv4 frame starts (after a 20-byte IP header).</summary>
    private static int TcpHeaderOffset(byte[] frame, DecodedPacket d) => d.IpOffset + 20;

    /// <summary>Bytes each side sent: the sum over distinct segments (sender, sequence number) of their lengths.</summary>
    private static (ulong Sent, ulong Received) PayloadSums(string file, string local)
    {
        var segments = Packets(file).Select(Decode).Where(d => d.WirePayloadLength > 0)
            .DistinctBy(d => (d.Src, d.Seq)).ToList();
        ulong sent = (ulong)segments.Where(d => d.Src.ToString() == local).Sum(d => d.WirePayloadLength);
        ulong received = (ulong)segments.Where(d => d.Src.ToString() != local).Sum(d => d.WirePayloadLength);
        return (sent, received);
    }

    /// <summary>The records as JSON, without what legitimately varies (the packet count; times, unless asked).</summary>
    private static List<string> Records(ListSink sink, bool times)
    {
        var list = new List<string>();
        foreach (Record r in sink.All)
        {
            using var ms = new MemoryStream();
            using (var w = new Utf8JsonWriter(ms))
            {
                RecordJson.Write(w, r);
            }
            var node = JsonNode.Parse(ms.ToArray())!.AsObject();
            node.Remove("events");
            node.Remove("duration_ms");
            if (!times || r is SummaryRecord) // the summary's time is the last packet's, a copy or not
            {
                node.Remove("ts");
            }
            if (!times)
            {
                node.Remove("latency_ms");
                // The summary rows' latency percentiles too.
                foreach (var row in node["rows"]?.AsArray() ?? [])
                {
                    row!.AsObject().Remove("p50_ms");
                    row.AsObject().Remove("p99_ms");
                }
            }
            list.Add(node.ToJsonString());
        }
        return list;
    }

    /// <summary>A copy of a packet sent again later (beyond the duplicate window: a retransmission).</summary>
    private static Packet Later(Packet p, uint step) => p with { Ns = p.Ns + step * 200_000_000L };

    /// <summary>The copy of an SLL2 frame as the sender's side shows it; other link types unchanged.</summary>
    private static byte[] AsOutgoing(Packet p)
    {
        byte[] b = (byte[])p.Bytes.Clone();
        if (p.LinkType == LinkTypes.LinuxSll2)
        {
            b[10] = (byte)SllPacketType.Outgoing;
        }
        return b;
    }

    /// <summary>An Ethernet/IPv4 TCP frame carrying <paramref name="length"/> bytes of another's payload from <paramref name="from"/>.</summary>
    private static Packet Segment(Packet p, int from, int length)
    {
        var d = Decode(p);
        byte[] payload = d.PayloadOf(p.Bytes)[from..(from + length)].ToArray();
        return WithPayload(p, d, d.Seq + (uint)from, payload);
    }

    /// <summary>One segment carrying the payloads of two consecutive ones.</summary>
    private static Packet Coalesce(Packet first, Packet second)
    {
        var d = Decode(first);
        return WithPayload(first, d, d.Seq, [.. d.PayloadOf(first.Bytes), .. Decode(second).PayloadOf(second.Bytes)]);
    }

    private static Packet WithPayload(Packet p, DecodedPacket d, uint seq, byte[] payload)
    {
        byte[] b = [.. p.Bytes[..d.PayloadOffset], .. payload];
        int tcp = TcpHeaderOffset(b, d);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(tcp + 4), seq);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(d.IpOffset + 2), (ushort)(b.Length - d.IpOffset));
        return p with { Bytes = b };
    }

    /// <summary>What capture.sh logged for a capture: curl's -w line and the URL it fetched.</summary>
    private sealed partial record CaptureLog(string Path, int Status, int Size, string Local, string Remote)
    {
        public static CaptureLog Of(string file)
        {
            var log = File.ReadAllText(TestPcapFile.PathOf("capture.log"));
            var m = Regex.Match(log, $@"^## {Regex.Escape(file)}: .* (?<url>http://\S+)\n" +
                @"status=(?<status>\d+) size=(?<size>\d+) local=(?<local>\S+) remote=(?<remote>\S+)$", RegexOptions.Multiline);
            Assert.True(m.Success, $"{file} is not in capture.log");
            var url = new Uri(m.Groups["url"].Value);
            return new CaptureLog(url.PathAndQuery, int.Parse(m.Groups["status"].Value), int.Parse(m.Groups["size"].Value),
                Endpoint(m.Groups["local"].Value), Endpoint(m.Groups["remote"].Value));
        }

        /// <summary>curl prints "::1:43184"; records print "[::1]:43184".</summary>
        private static string Endpoint(string text)
        {
            int colon = text.LastIndexOf(':');
            string addr = text[..colon];
            return addr.Contains(':') ? $"[{addr}]{text[colon..]}" : text;
        }
    }
}
