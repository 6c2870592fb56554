using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Tattle.Capture.Packets;
using Tattle.Interop;
using Tattle.Tests.Support;

namespace Tattle.Tests.Capture.Packets;

/// <summary>Real captures through libpcap on this host, checked against the real tcpdump.</summary>
public sealed class LiveCaptureTests(ITestOutputHelper output)
{
    private const int LinuxSll2 = 276;
    private const int Sll2HeaderLength = 20;

    [SkippableTheory]
    [InlineData(false)] // TPACKET_V3: blocks handed over when full or after TimeoutMs
    [InlineData(true)] // TPACKET_V2: every packet at once
    public void LoopbackExchangeOnAny_MatchesTcpdumpOnLo(bool immediate)
    {
        Requires.RootAndLibpcap(output);
        Requires.Program(output, "tcpdump");
        int port = ServerProcess.FreeTcpPort();
        string filter = $"tcp port {port}";
        var pcapFile = Path.Combine(Path.GetTempPath(), $"tattle-oracle-{Guid.NewGuid():N}.pcap");
        long before = Libc.Now(Libc.CLOCK_REALTIME);

        using var tcpdump = TcpdumpProcess.Start(filter, pcapFile, output);
        using var capture = LiveCapture.Open(new CaptureOptions { Filter = filter, Immediate = immediate });
        output.WriteLine($"{LiveCapture.LibraryVersion}; link type {capture.LinkType}, snaplen {capture.Snaplen}, " +
            $"ns timestamps {capture.NanosecondTimestamps}, warnings [{string.Join("; ", capture.Warnings)}]");
        Assert.Equal(LinuxSll2, capture.LinkType);

        var collector = new Collector();
        var runner = StartRun(capture, collector);

        var request = Encoding.ASCII.GetBytes($"tattle-live-capture-request-{Guid.NewGuid():N}");
        var response = Enumerable.Range(0, 300_000).Select(i => (byte)(i * 13)).ToArray();
        Exchange(port, request, response);
        // Every packet has been sent once both ends closed, but either reader may still be behind (tcpdump
        // drops what it has not read when SIGINT arrives): wait until both agree twice in a row, 10 s at most.
        AwaitAgreement(() => collector.Snapshot().Count(p => !LiveCapture.IsLoopbackOutgoingDuplicate(capture.LinkType, p.Data)),
            () => TcpdumpProcess.CountPackets(pcapFile, strict: false));

        Libc.Kill(tcpdump.Process.Id, 2);
        Assert.True(tcpdump.Process.WaitForExit(10_000), "tcpdump did not exit on SIGINT");
        tcpdump.Process.WaitForExit(); // and its stderr is read to the end
        output.WriteLine(tcpdump.Messages.Trim());
        Assert.Contains("\n0 packets dropped by kernel", tcpdump.Messages);
        capture.Stop();
        Assert.True(runner.Thread.Join(2000), "Run did not return after Stop");
        Assert.Null(runner.Failure);
        long after = Libc.Now(Libc.CLOCK_REALTIME);
        var stats = capture.Stats();

        var packets = collector.Snapshot();
        int duplicates = packets.Count(p => LiveCapture.IsLoopbackOutgoingDuplicate(capture.LinkType, p.Data));
        var kept = packets.Where(p => !LiveCapture.IsLoopbackOutgoingDuplicate(capture.LinkType, p.Data)).ToList();
        int oracle = TcpdumpProcess.CountPackets(pcapFile);
        if (oracle != kept.Count)
        {
            foreach (var p in kept)
            {
                output.WriteLine($"ours {p.UnixNs / 1000 % 100_000_000} {Describe(p.Data)}");
            }
            output.WriteLine(DumpFile(pcapFile));
        }
        File.Delete(pcapFile);
        output.WriteLine($"delivered {packets.Count} in {collector.Batches} batches, loopback duplicates {duplicates}, " +
            $"tcpdump -i lo {oracle}; stats received {stats.Received} dropped {stats.Dropped} ifdropped {stats.InterfaceDropped}");

        Assert.NotEmpty(kept);
        Assert.Equal(oracle, kept.Count);
        Assert.True(collector.Batches >= 1);
        Assert.True(stats.Received >= (ulong)packets.Count, $"received {stats.Received} < delivered {packets.Count}");
        Assert.Equal(0UL, stats.Dropped);
        Assert.All(packets, p => Assert.InRange(p.UnixNs, before, after));
        Assert.All(packets, p => Assert.Equal(p.WireLength, p.Data.Length));

        // Every payload byte sent, in each direction, is in the capture.
        var toServer = TcpPayload(kept, dstPort: port);
        var toClient = TcpPayload(kept, srcPort: port);
        Assert.Equal(request, toServer);
        Assert.Equal(response, toClient);
    }

    [SkippableTheory]
    [InlineData("tcp port", "syntax error")]
    [InlineData("tcp port nosuchservice", "unknown port 'nosuchservice'")]
    public void BadFilter_ThrowsWithTheFilterAndPcapsMessage(string filter, string pcapMessage)
    {
        Requires.RootAndLibpcap(output);
        var ex = Assert.Throws<CaptureException>(() => LiveCapture.Open(new CaptureOptions { Filter = filter }));
        output.WriteLine(ex.Message);
        Assert.StartsWith($"tcpdump filter '{filter}': ", ex.Message);
        Assert.EndsWith(pcapMessage, ex.Message);
        Assert.IsType<PcapException>(ex.InnerException);
    }

    [SkippableFact]
    public void NonexistentDevice_ThrowsNamingTheDevice()
    {
        Requires.RootAndLibpcap(output);
        var ex = Assert.Throws<CaptureException>(() => LiveCapture.Open(new CaptureOptions { Device = "tattle-nosuch0" }));
        output.WriteLine(ex.Message);
        Assert.StartsWith("libpcap: tattle-nosuch0: ", ex.Message);
        Assert.Contains("No such device", ex.Message);
    }

    [SkippableFact]
    public void StopFromAnotherThread_EndsAnIdleRunWithinASecond()
    {
        Requires.RootAndLibpcap(output);
        // A timeout far beyond the bound: Stop must not wait for it (on an idle TPACKET_V3 ring no block is ever
        // retired, so only pcap_breakloop's wake-up can end the wait).
        using var capture = LiveCapture.Open(new CaptureOptions
        {
            Filter = $"tcp port {ServerProcess.FreeTcpPort()}",
            TimeoutMs = 30_000,
        });
        var runner = StartRun(capture, new Collector());
        Thread.Sleep(300);
        Assert.True(runner.Thread.IsAlive, "Run returned before Stop");

        var clock = Stopwatch.StartNew();
        capture.Stop();
        Assert.True(runner.Thread.Join(1000), "Run did not return within a second of Stop");
        output.WriteLine($"Run returned {clock.ElapsedMilliseconds} ms after Stop");
        Assert.Null(runner.Failure);
        capture.Stop();
    }

    [SkippableFact]
    public void HandlerException_IsRethrownByRun()
    {
        Requires.RootAndLibpcap(output);
        int port = ServerProcess.FreeTcpPort();
        using var capture = LiveCapture.Open(new CaptureOptions { Filter = $"tcp port {port}", TimeoutMs = 10 });
        var runner = StartRun(capture, new ThrowingHandler());
        Exchange(port, "ping"u8.ToArray(), "pong"u8.ToArray());
        Assert.True(runner.Thread.Join(5000), "Run did not end after the handler threw");
        var failure = Assert.IsType<InvalidOperationException>(runner.Failure);
        Assert.Equal("handler failed", failure.Message);
        Assert.Contains(nameof(ThrowingHandler), failure.StackTrace);
    }

    [Fact]
    public void LoopbackOutgoingDuplicate_RecognisesTheSentCopyOnly()
    {
        int lo = (int)Libc.IfNameToIndex("lo");
        Assert.True(lo > 0);
        Assert.True(LiveCapture.IsLoopbackOutgoingDuplicate(LinuxSll2, Sll2(ifindex: lo, packetType: 4)));
        Assert.False(LiveCapture.IsLoopbackOutgoingDuplicate(LinuxSll2, Sll2(ifindex: lo, packetType: 0)));
        Assert.False(LiveCapture.IsLoopbackOutgoingDuplicate(LinuxSll2, Sll2(ifindex: lo + 1000, packetType: 4)));
        Assert.False(LiveCapture.IsLoopbackOutgoingDuplicate(LinuxSll2, Sll2(ifindex: lo, packetType: 4)[..19]));

        Assert.True(LiveCapture.IsLoopbackOutgoingDuplicate(113, Sll(packetType: 4, hatype: 772)));
        Assert.False(LiveCapture.IsLoopbackOutgoingDuplicate(113, Sll(packetType: 0, hatype: 772)));
        Assert.False(LiveCapture.IsLoopbackOutgoingDuplicate(113, Sll(packetType: 4, hatype: 1)));
        Assert.False(LiveCapture.IsLoopbackOutgoingDuplicate(1, Sll2(ifindex: lo, packetType: 4)));
    }

    private static byte[] Sll2(int ifindex, byte packetType)
    {
        var frame = new byte[Sll2HeaderLength + 20];
        BinaryPrimitives.WriteUInt16BigEndian(frame, 0x0800);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(4), ifindex);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(8), 772);
        frame[10] = packetType;
        frame[11] = 6;
        return frame;
    }

    private static byte[] Sll(ushort packetType, ushort hatype)
    {
        var frame = new byte[16 + 20];
        BinaryPrimitives.WriteUInt16BigEndian(frame, packetType);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), hatype);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(4), 6);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(14), 0x0800);
        return frame;
    }

    /// <summary>Client sends <paramref name="request"/>, server answers <paramref name="response"/>, both close.</summary>
    private static void Exchange(int port, byte[] request, byte[] response)
    {
        using var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        var server = Task.Run(() =>
        {
            using var peer = listener.AcceptTcpClient();
            var stream = peer.GetStream();
            var received = new byte[request.Length];
            stream.ReadExactly(received);
            stream.Write(response);
            peer.Client.Shutdown(SocketShutdown.Send);
            // Wait for the client's FIN so the server's close is an orderly one and no RST is sent.
            _ = stream.Read(new byte[1]);
        });
        using (var client = new TcpClient())
        {
            client.Connect(IPAddress.Loopback, port);
            var stream = client.GetStream();
            stream.Write(request);
            var received = new byte[response.Length];
            stream.ReadExactly(received);
            Assert.Equal(0, stream.Read(new byte[1]));
        }
        Assert.True(server.Wait(10_000), "the test server did not finish");
    }

    /// <summary>
    /// The byte stream of one direction of the SLL2/IPv4/TCP frames, put in sequence order: ring order is not
    /// sequence order when two CPUs handle consecutive segments, and a retransmitted byte is taken once.
    /// </summary>
    private static byte[] TcpPayload(List<Captured> packets, int srcPort = -1, int dstPort = -1)
    {
        uint? isn = null;
        var segments = new List<(uint Offset, byte[] Data)>();
        foreach (var p in packets)
        {
            var frame = p.Data.AsSpan();
            if (BinaryPrimitives.ReadUInt16BigEndian(frame) != 0x0800)
            {
                continue;
            }
            var ip = frame[Sll2HeaderLength..];
            int ipHeader = (ip[0] & 0xf) * 4;
            int ipTotal = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
            var tcp = ip[ipHeader..ipTotal];
            int sport = BinaryPrimitives.ReadUInt16BigEndian(tcp);
            int dport = BinaryPrimitives.ReadUInt16BigEndian(tcp[2..]);
            if ((srcPort >= 0 && sport != srcPort) || (dstPort >= 0 && dport != dstPort))
            {
                continue;
            }
            uint seq = BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]);
            if ((tcp[13] & 0x02) != 0)
            {
                isn = seq;
            }
            var data = tcp[((tcp[12] >> 4) * 4)..];
            if (data.Length > 0)
            {
                segments.Add((seq, data.ToArray()));
            }
        }
        Assert.True(isn.HasValue, "no SYN captured in this direction");
        var stream = new MemoryStream();
        foreach (var (seq, data) in segments.Select(s => (Offset: s.Offset - isn.Value - 1, s.Data)).OrderBy(s => s.Offset))
        {
            if (seq + data.Length > stream.Length)
            {
                Assert.True(seq <= stream.Length, $"hole in the captured stream at {stream.Length}");
                stream.Write(data, (int)(stream.Length - seq), (int)(seq + data.Length - stream.Length));
            }
        }
        return stream.ToArray();
    }

    private static string Describe(byte[] frame)
    {
        var ip = frame.AsSpan(Sll2HeaderLength);
        var tcp = ip[((ip[0] & 0xf) * 4)..];
        int len = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]) - (ip[0] & 0xf) * 4 - (tcp[12] >> 4) * 4;
        return $"{BinaryPrimitives.ReadUInt16BigEndian(tcp)}>{BinaryPrimitives.ReadUInt16BigEndian(tcp[2..])} " +
            $"flags {tcp[13]:x2} seq {BinaryPrimitives.ReadUInt32BigEndian(tcp[4..])} len {len} pkttype {frame[10]}";
    }

    private static string DumpFile(string file)
    {
        using var read = Process.Start(new ProcessStartInfo("tcpdump", ["-r", file, "-nn", "-S", "-tt"]) { RedirectStandardOutput = true })!;
        return read.StandardOutput.ReadToEnd();
    }

    private static void AwaitAgreement(Func<int> ours, Func<int> oracle)
    {
        var clock = Stopwatch.StartNew();
        int agreed = 0;
        while (agreed < 2 && clock.ElapsedMilliseconds < 10_000)
        {
            Thread.Sleep(150);
            agreed = ours() == oracle() ? agreed + 1 : 0;
        }
    }

    private sealed class Runner
    {
        public required Thread Thread { get; init; }
        public Exception? Failure { get; set; }
    }

    private static Runner StartRun(LiveCapture capture, IPacketHandler handler)
    {
        Runner? runner = null;
        var thread = new Thread(() =>
        {
            try
            {
                capture.Run(handler);
            }
            catch (Exception ex)
            {
                runner!.Failure = ex;
            }
        })
        { IsBackground = true, Name = "capture" };
        runner = new Runner { Thread = thread };
        thread.Start();
        return runner;
    }

    private sealed record Captured(long UnixNs, int WireLength, byte[] Data);

    private sealed class Collector : IPacketHandler
    {
        private readonly List<Captured> _packets = [];

        public int Batches { get; private set; }

        public void OnPacket(long unixNs, int wireLength, ReadOnlySpan<byte> data)
        {
            lock (_packets)
            {
                _packets.Add(new Captured(unixNs, wireLength, data.ToArray()));
            }
        }

        public void OnBatchEnd() => Batches++;

        public List<Captured> Snapshot()
        {
            lock (_packets)
            {
                return [.. _packets];
            }
        }
    }

    private sealed class ThrowingHandler : IPacketHandler
    {
        public void OnPacket(long unixNs, int wireLength, ReadOnlySpan<byte> data) =>
            throw new InvalidOperationException("handler failed");

        public void OnBatchEnd()
        {
        }
    }
}
