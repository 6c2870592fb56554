using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Tattle.Tests.Output.Pcapng;
using Tattle.Tests.Support;

namespace Tattle.Tests.EndToEnd;

/// <summary>`-w FILE`: the traced processes' packets in pcapng, read back by the real tshark and tcpdump, and by `tattle read`.</summary>
public class PacketCaptureTests(ITestOutputHelper output)
{
    private static string? Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private void Ready()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "tshark");
        Requires.Program(output, "tcpdump");
        Requires.Program(output, "curl");
    }

    private static string TempPcap() => Path.Combine(Path.GetTempPath(), $"tattle-test-{Guid.NewGuid():N}.pcapng");

    /// <summary>The capture options: a full trace, or --packets-only (no syscall tracing at all).</summary>
    private static string[] Mode(bool packetsOnly) => packetsOnly ? ["--packets-only"] : [];

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RunWithW_EveryPacketOfCurlsConnection_TaggedWithCurl_AsTcpdumpSawThem(bool packetsOnly)
    {
        Ready();
        using var web = ServerProcess.HttpServer();
        string pcap = TempPcap();
        string oracleFile = Path.ChangeExtension(pcap, ".oracle.pcap");
        using var tcpdump = TcpdumpProcess.Start($"tcp port {web.Port}", oracleFile, output);
        var r = await TattleCli.RunAsync(["run", "-w", pcap, .. Mode(packetsOnly), "--", "curl", "-s", "-o", "/dev/null", $"http://127.0.0.1:{web.Port}/index.html"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        int expected = tcpdump.StopAndCount();

        var start = r.OfType("process.start").Single();
        int pid = start.GetProperty("pid").GetInt32();
        // tshark reads the file without error; every packet carries curl's tag; the request is dissected as HTTP.
        var rows = PcapTools.TsharkFields(pcap, "frame.comment", "tcp.srcport", "tcp.dstport");
        Assert.Equal(expected, rows.Length);
        Assert.True(expected >= 8, $"a whole HTTP exchange is at least 8 packets, tcpdump saw {expected}");
        var conn = Str(r.OfType("conn.open").Single(o => o.GetProperty("proto").GetString() == "tcp"), "conn");
        foreach (var row in rows)
        {
            Assert.StartsWith($"pid={pid} comm=curl conn={conn} dir=", row[0]);
            Assert.Matches("cmdline=\"\\S*curl -s -o /dev/null http://127.0.0.1:[0-9]+/index.html\"$", row[0]);
            Assert.Contains($"{web.Port}", new[] { row[1], row[2] });
        }
        Assert.Contains(rows, row => row[0].Contains("dir=out") && row[2] == $"{web.Port}");
        Assert.Contains(rows, row => row[0].Contains("dir=in") && row[1] == $"{web.Port}");
        var uris = PcapTools.TsharkHttp(pcap, web.Port, "http.request", "http.request.uri");
        Assert.Equal(["/index.html"], uris.Select(u => u[0]));
        Assert.Contains($"{pcap}: {expected} packets ({expected} of traced processes)", r.Stderr); // the rest of the line counts what was not written
        // The connection's byte counts are its TCP payload on the wire, each way: with --packets-only they come from
        // TCP's counters, which also count the SYN and the FINs.
        var close = r.OfType("conn.close").Single(c => Str(c, "conn") == conn);
        var lengths = PcapTools.TsharkFields(pcap, "tcp.srcport", "tcp.len");
        Assert.Equal(lengths.Where(l => l[0] != $"{web.Port}").Sum(l => long.Parse(l[1])), close.GetProperty("bytes_sent").GetInt64());
        Assert.Equal(lengths.Where(l => l[0] == $"{web.Port}").Sum(l => long.Parse(l[1])), close.GetProperty("bytes_recv").GetInt64());
        File.Delete(pcap);
    }

    [SkippableFact]
    public async Task RunWithW_APeerThatClosesAfterTheCommandExits_ItsFinIsWrittenToo()
    {
        Ready();
        // curl closes first (at its exit, the response having its length); the server closes 400 ms later. Its FIN
        // and curl's kernel's answer to it come after the command has exited: tcpdump sees them, so must -w.
        int port = ServerProcess.FreeTcpPort();
        using var server = ServerProcess.Python("""
            import socket, sys, time
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
            print("ready", flush=True)
            while True:
                c, _ = s.accept()
                data = b""
                while b"\r\n\r\n" not in data:
                    data += c.recv(4096)
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
                while c.recv(4096): pass
                time.sleep(0.4)
                c.close()
            """, port);
        string pcap = TempPcap();
        string oracleFile = Path.ChangeExtension(pcap, ".oracle.pcap");
        using var tcpdump = TcpdumpProcess.Start($"tcp port {port}", oracleFile, output);
        var r = await TattleCli.RunAsync(["run", "-w", pcap, "--", "curl", "-s", "-o", "/dev/null", $"http://127.0.0.1:{port}/"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        await Task.Delay(200); // the server's close, 400 ms after curl's, has happened by now
        int expected = tcpdump.StopAndCount();
        var rows = PcapTools.TsharkFields(pcap, "tcp.srcport", "tcp.flags.fin");
        Assert.Equal(expected, rows.Length);
        Assert.Contains(rows, row => row[0] == $"{port}" && row[1] is "1" or "True");
        Assert.Contains(rows, row => row[0] != $"{port}" && row[1] is "1" or "True");
        File.Delete(pcap);
        File.Delete(oracleFile);
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TwoProcessesAtOnce_EachPacketAttributedToItsOwn(bool packetsOnly)
    {
        Ready();
        using var web = ServerProcess.HttpServer();
        string pcap = TempPcap();
        string url = $"http://127.0.0.1:{web.Port}/big.bin";
        var r = await TattleCli.RunAsync(["run", "-w", pcap, .. Mode(packetsOnly), "--", "sh", "-c",
            $"curl -s -o /dev/null {url} & curl -s -o /dev/null {url} & curl -s -o /dev/null {url}; wait"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        var owners = r.OfType("conn.open").Where(o => Str(o, "proto") == "tcp")
            .ToDictionary(o => o.GetProperty("local").GetProperty("port").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture),
                o => o.GetProperty("pid").GetInt32());
        Assert.Equal(3, owners.Values.Distinct().Count());
        var rows = PcapTools.TsharkFields(pcap, "frame.comment", "tcp.srcport", "tcp.dstport");
        Assert.True(rows.Length >= 3 * 8, $"three downloads: {rows.Length} packets");
        foreach (var row in rows)
        {
            string clientPort = row[1] == $"{web.Port}" ? row[2] : row[1];
            Assert.StartsWith($"pid={owners[clientPort]} comm=curl ", row[0]);
        }
        File.Delete(pcap);
    }

    [SkippableFact]
    public async Task PacketsOnly_SocketsAtAFreedSocketsAddress_AreEachLearnt()
    {
        Ready();
        // One connection after another: the kernel hands a closed socket's memory to the next one, and the entry
        // the first left behind must not hide the second (--packets-only learns sockets from state changes alone).
        using var web = ServerProcess.HttpServer();
        string pcap = TempPcap();
        const int count = 12;
        string script = $$"""
            import socket
            for _ in range({{count}}):
                s = socket.create_connection(("127.0.0.1", {{web.Port}}))
                s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                while s.recv(65536):
                    pass
                s.close()
            """;
        var r = await TattleCli.RunAsync(["run", "-w", pcap, "--packets-only", "--", Py.Exe, "-c", script]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        var opens = r.OfType("conn.open").Where(o => Str(o, "proto") == "tcp").ToList();
        Assert.Equal(count, opens.Count);
        Assert.Equal(count, opens.Select(o => o.GetProperty("local").GetProperty("port").GetInt32()).Distinct().Count());
        var rows = PcapTools.TsharkFields(pcap, "frame.comment", "tcp.srcport", "tcp.dstport");
        Assert.Equal(count, rows.Select(row => row[1] == $"{web.Port}" ? row[2] : row[1]).Distinct().Count());
        Assert.All(rows, row => Assert.StartsWith("pid=", row[0]));
        File.Delete(pcap);
    }

    [SkippableFact]
    public async Task PacketsOnly_AnAcceptedConnection_IsTheListenersServerConnection_WithItsPayloadBytes()
    {
        Ready();
        // The accepted socket reaches ESTABLISHED in softirq, not in the server's context: it is learnt from the
        // port its owner listens on. Client and server are one process here, so both ends are traced.
        string pcap = TempPcap();
        const string script = """
            import socket, threading
            s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
            port = s.getsockname()[1]
            def client():
                c = socket.create_connection(("127.0.0.1", port))
                c.sendall(b"ping" * 10)
                got = b""
                while len(got) < 100:
                    got += c.recv(100)
                c.close()
            t = threading.Thread(target=client); t.start()
            a, _ = s.accept()
            got = b""
            while len(got) < 40:
                got += a.recv(100)
            a.sendall(b"pong" * 25)
            t.join(); a.recv(1); a.close(); s.close()
            print(port)
            """;
        var r = await TattleCli.RunAsync(["run", "-w", pcap, "--packets-only", "--", Py.Exe, "-c", script]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        int port = int.Parse(r.Stdout.Trim());
        var opens = r.OfType("conn.open").Where(o => Str(o, "proto") == "tcp").ToList();
        var server = Assert.Single(opens, o => Str(o, "role") == "server");
        Assert.Equal(port, server.GetProperty("local").GetProperty("port").GetInt32());
        var client = Assert.Single(opens, o => Str(o, "role") == "client");
        Assert.Equal(port, client.GetProperty("remote").GetProperty("port").GetInt32());
        var serverClose = r.OfType("conn.close").Single(c => Str(c, "conn") == Str(server, "conn"));
        var clientClose = r.OfType("conn.close").Single(c => Str(c, "conn") == Str(client, "conn"));
        Assert.Equal((40L, 100L), (serverClose.GetProperty("bytes_recv").GetInt64(), serverClose.GetProperty("bytes_sent").GetInt64()));
        Assert.Equal((40L, 100L), (clientClose.GetProperty("bytes_sent").GetInt64(), clientClose.GetProperty("bytes_recv").GetInt64()));
        File.Delete(pcap);
    }

    [SkippableFact]
    public async Task OtherProcessesPackets_CountedButNotWritten_UnlessAllPackets()
    {
        Ready();
        using var web = ServerProcess.HttpServer();
        foreach (bool all in new[] { false, true })
        {
            string pcap = TempPcap();
            // The test process (not traced) talks to the same server while curl runs, on a thread of its own: an
            // async loop on the thread pool could wait behind other tests' work for the whole capture.
            using var noise = new NoiseClient(web.Port);
            Assert.True(noise.WaitForExchanges(1, TimeSpan.FromSeconds(10)), "the untraced client's first exchange did not complete");
            int before = noise.Exchanges;
            var r = await TattleCli.RunAsync(["run", "-w", pcap, .. all ? new[] { "--all-packets" } : [], "--", "sh", "-c",
                $"sleep 0.3; curl -s -o /dev/null http://127.0.0.1:{web.Port}/index.html; sleep 0.3"]);
            int during = noise.Exchanges - before;
            noise.Stop();
            output.WriteLine(r.ToString());
            output.WriteLine($"untraced exchanges while tattle ran: {during}");
            Assert.Equal(0, r.ExitCode);
            Assert.True(during > 0, "the untraced client made no exchange while tattle ran");
            var rows = PcapTools.TsharkFields(pcap, "frame.comment", "frame.number"); // a second field: no row is empty
            int tagged = rows.Count(row => row[0].Contains("comm=curl"));
            int untagged = rows.Count(row => row[0].Length == 0);
            Assert.True(tagged >= 8);
            if (all)
            {
                Assert.True(untagged > 0, "--all-packets writes the other process's packets untagged");
                Assert.Matches(@"\(\d+ of traced processes, [1-9]\d* of other processes, \d+ not TCP/UDP\)", r.Stderr);
            }
            else
            {
                Assert.Equal(0, untagged);
                Assert.Matches(@"; not written: [1-9]\d* packets of other processes, \d+ not TCP/UDP", r.Stderr);
            }
            File.Delete(pcap);
        }
    }

    [SkippableFact]
    public async Task Read_OwnCapture_GivesTheExchangeAndTheProcess_AndATruncatedCopyStopsAtItsOffset()
    {
        Ready();
        using var web = ServerProcess.HttpServer();
        string pcap = TempPcap();
        var run = await TattleCli.RunAsync(["run", "-w", pcap, "--", "curl", "-s", "-o", "/dev/null", $"http://127.0.0.1:{web.Port}/index.html"]);
        Assert.Equal(0, run.ExitCode);
        int pid = run.OfType("process.start").Single().GetProperty("pid").GetInt32();

        var read = await TattleCli.RunAsync(["read", pcap]);
        output.WriteLine(read.ToString());
        Assert.Equal(0, read.ExitCode);
        var http = Assert.Single(read.OfType("http"));
        Assert.Equal("GET", Str(http, "method"));
        Assert.Equal("/index.html", Str(http, "path"));
        Assert.Equal(200, http.GetProperty("status").GetInt32());
        Assert.Equal(pid, http.GetProperty("pid").GetInt32());
        Assert.Equal("curl", Str(http, "comm"));
        Assert.Contains($"http GET 127.0.0.1:{web.Port}/index.html -> 200", read.Stdout);
        var row = read.Summary.GetProperty("rows").EnumerateArray().Single();
        Assert.Equal("http", row.GetProperty("protocols").EnumerateArray().Single().GetString());

        // Cut the file inside its last packet: everything before it is still read, and the error names the block.
        var bytes = File.ReadAllBytes(pcap);
        string cut = Path.ChangeExtension(pcap, ".cut.pcapng");
        File.WriteAllBytes(cut, bytes[..(bytes.Length - 40)]);
        var damaged = await TattleCli.RunAsync(["read", cut]);
        output.WriteLine(damaged.ToString());
        Assert.Equal(1, damaged.ExitCode);
        Assert.Matches(@"stopped at byte \d+: ", damaged.Stderr);
        Assert.Single(damaged.OfType("summary"));
        File.Delete(pcap);
        File.Delete(cut);
    }

    [SkippableFact]
    public async Task BadFilterOrUnwritableFile_OneLineAndExit2()
    {
        Requires.RootAndBpf(output);
        var bad = await TattleCli.RunAsync(["run", "-w", TempPcap(), "--filter", "tcp portt 80", "--", "true"]);
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("tcp portt 80", bad.Stderr);
        Assert.Single(bad.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var nowhere = await TattleCli.RunAsync(["run", "-w", "/nonexistent/dir/x.pcapng", "--", "true"]);
        Assert.Equal(2, nowhere.ExitCode);
        Assert.Contains("/nonexistent/dir/x.pcapng", nowhere.Stderr);
        var notPcap = await TattleCli.RunAsync(["read", "/etc/hostname"]);
        Assert.Equal(2, notPcap.ExitCode);
        Assert.Contains("not a pcap or pcapng file", notPcap.Stderr);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(notPcap.Stderr, "not a pcap or pcapng file"));
    }

    [SkippableFact]
    public async Task NoPayload_CountsBytesInTheKernel_StillTagsEveryPacket()
    {
        Ready();
        using var web = ServerProcess.HttpServer();
        string pcap = TempPcap();
        string url = $"http://127.0.0.1:{web.Port}/big.bin";
        var full = await TattleCli.RunAsync(["run", "--", "curl", "-s", "-o", "/dev/null", url]);
        var light = await TattleCli.RunAsync(["run", "--no-payload", "-w", pcap, "--", "curl", "-s", "-o", "/dev/null", url]);
        output.WriteLine(light.ToString());
        Assert.Equal(0, light.ExitCode);
        JsonElement Close(TattleResult r) => r.OfType("conn.close").Single(c => Str(c, "proto") == "tcp");
        // The same bytes, counted by the kernel instead of summed from data records; nothing parsed.
        Assert.Equal(Close(full).GetProperty("bytes_recv").GetUInt64(), Close(light).GetProperty("bytes_recv").GetUInt64());
        Assert.Equal(Close(full).GetProperty("bytes_sent").GetUInt64(), Close(light).GetProperty("bytes_sent").GetUInt64());
        Assert.True(Close(light).GetProperty("bytes_recv").GetUInt64() > 200_000);
        Assert.Single(full.OfType("http"));
        Assert.Empty(light.OfType("http"));
        var rows = PcapTools.TsharkFields(pcap, "frame.comment", "frame.number");
        Assert.True(rows.Length >= 8);
        Assert.All(rows, row => Assert.Contains("comm=curl", row[0]));
        File.Delete(pcap);
    }

    [SkippableFact]
    public async Task AttachWithW_SigtermLeavesACompleteFile_WithTheServersPacketsAndItsStatistics()
    {
        Ready();
        using var web = ServerProcess.HttpServer();
        string pcap = TempPcap();
        using var tattle = TattleCli.Start(["attach", "-p", $"{web.Pid}", "-w", pcap]);
        await tattle.WaitForRecordsAsync("process.start", 1); // attached: written once the server is traced
        for (int i = 0; i < 3; i++)
        {
            var curl = Programs.Run("curl", "-s", "-o", "/dev/null", $"http://127.0.0.1:{web.Port}/index.html");
            Assert.Equal(0, curl.ExitCode);
        }
        var r = await tattle.StopAsync(); // SIGTERM, as Ctrl-C would
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        // The server's side of each exchange, tagged with the server, and the file ends with its statistics block.
        var rows = PcapTools.TsharkFields(pcap, "frame.comment", "tcp.srcport");
        Assert.True(rows.Length >= 3 * 8, $"{rows.Length} packets");
        Assert.All(rows, row => Assert.StartsWith($"pid={web.Pid} ", row[0]));
        Assert.Equal(3, PcapTools.TsharkFiltered(pcap, "http.request", "http.request.uri").Length);
        using var reader = Tattle.Capture.Packets.CaptureReader.Open(pcap);
        var packets = reader.ReadAll();
        Assert.Null(reader.Error);
        Assert.Equal(rows.Length, packets.Count);
        var stats = Assert.Single(reader.Statistics);
        Assert.True(stats.IfRecv >= (ulong)packets.Count);
        Assert.Equal(0UL, stats.OsDrop);
        File.Delete(pcap);
    }

    /// <summary>An untraced HTTP/1.0 client fetching from a port in a loop on a dedicated thread, counting its exchanges.</summary>
    private sealed class NoiseClient : IDisposable
    {
        private readonly Thread thread;
        private readonly int port;
        private volatile bool stopping;
        private int exchanges;
        private Exception? failure;

        public NoiseClient(int port)
        {
            this.port = port;
            thread = new Thread(Loop) { IsBackground = true, Name = "untraced client" };
            thread.Start();
        }

        public int Exchanges => Volatile.Read(ref exchanges);

        public bool WaitForExchanges(int count, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (Exchanges < count && failure is null && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(10);
            }

            return Exchanges >= count;
        }

        /// <summary>Ends the loop and rethrows what stopped it early, if anything did.</summary>
        public void Stop()
        {
            stopping = true;
            thread.Join();
            if (failure is not null)
            {
                throw new InvalidOperationException("the untraced client failed", failure);
            }
        }

        public void Dispose()
        {
            stopping = true;
            thread.Join();
        }

        private void Loop()
        {
            try
            {
                while (!stopping)
                {
                    using var c = new TcpClient(AddressFamily.InterNetwork);
                    c.Connect(IPAddress.Loopback, port);
                    c.GetStream().Write("GET /index.html HTTP/1.0\r\n\r\n"u8);
                    c.GetStream().CopyTo(Stream.Null);
                    Interlocked.Increment(ref exchanges);
                    Thread.Sleep(20);
                }
            }
            catch (Exception e)
            {
                failure = e;
            }
        }
    }
}
