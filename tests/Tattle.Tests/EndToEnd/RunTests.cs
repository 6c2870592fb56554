using System.Text;
using System.Text.Json;
using Tattle.Tests.Support;

namespace Tattle.Tests.EndToEnd;

/// <summary>`tattle run` against real programs on 127.0.0.1, through the real BPF programs.</summary>
[Collection("bpf")]
public sealed class RunTests(ITestOutputHelper output)
{
    private static string Addr(JsonElement ep) => ep.GetProperty("addr").GetString()!;

    private static int Port(JsonElement ep) => ep.GetProperty("port").GetInt32();

    private static string Str(JsonElement r, string name) => r.GetProperty(name).GetString()!;

    [SkippableFact]
    public async Task Writev_ASmallMessageIsOneRecordOfAllItsSegments_ALargeOneIsChunkedAtItsSegments()
    {
        Requires.RootAndBpf(output);
        // The kernel gathers a small message's iovecs into one chunk (nginx's head and body: one record, not two);
        // a message over half a chunk goes a segment at a time, cut at the snap length.
        const string script = """
            import os, socket
            l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
            c = socket.create_connection(l.getsockname()); s, _ = l.accept()
            small = [b"GET /gathered HTTP/1.1\r\n", b"Host: x\r\n", b"\r\n"]
            big = [b"a" * 6000, b"b" * 6000, b"c" * 6000]
            for parts in (small, big):
                os.writev(c.fileno(), parts)
                want = sum(map(len, parts))
                got = 0
                while got < want:
                    got += len(s.recv(65536))
            c.close(); s.close()
            """;
        var r = await TattleCli.RunAsync(["run", "--data", "--snaplen", "16384", "--", Py.Exe, "-c", script]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        var sends = r.OfType("data").Where(d => Str(d, "dir") == "send").ToList();

        var small = Assert.Single(sends, d => d.GetProperty("len").GetInt32() == 35);
        Assert.Equal(35, small.GetProperty("captured").GetInt32());
        Assert.Equal("GET /gathered HTTP/1.1\r\nHost: x\r\n\r\n", Encoding.ASCII.GetString(Convert.FromBase64String(Str(small, "b64"))));

        var big = sends.Where(d => d.GetProperty("len").GetInt32() == 18000).ToList();
        Assert.Equal([0, 6000, 12000], big.Select(d => d.TryGetProperty("offset", out var o) ? o.GetInt32() : 0));
        Assert.Equal([6000, 6000, 4384], big.Select(d => d.GetProperty("captured").GetInt32()));
        Assert.Equal(new string('b', 6000), Encoding.ASCII.GetString(Convert.FromBase64String(Str(big[1], "b64"))));
        Assert.True(big[2].TryGetProperty("truncated", out var cut) && cut.GetBoolean());
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
    }

    [SkippableTheory]
    [InlineData("")]
    [InlineData("--no-syscalls --bpf-variant fast")]
    public async Task EveryShapeOfSocketCall_TheStreamIsCapturedWholeAndInOrder(string mode)
    {
        Requires.RootAndBpf(output);
        // One message per kind of call, each read back with another kind: a buffer (send, write, recv, read), a few
        // segments (writev, sendmsg, readv, recvmsg_into into more room than the message), more segments than the
        // kernel gathers without its loop, and messages past half a chunk. The captured bytes, joined, must be the
        // stream itself in both directions.
        const string script = """
            import os, socket
            l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
            c = socket.create_connection(l.getsockname()); s, _ = l.accept()
            sends = [
                lambda: c.send(b"A" * 100),
                lambda: os.write(c.fileno(), b"B" * 200),
                lambda: os.writev(c.fileno(), [b"C" * 10, b"D" * 20]),
                lambda: c.sendmsg([b"E" * 5, b"F" * 6, b"G" * 7]),
                lambda: os.writev(c.fileno(), [b"H", b"I", b"J", b"K", b"L"]),
                lambda: c.sendmsg([b"M" * 3000, b"N" * 3000]),
                lambda: c.sendall(b"O" * 9000),
            ]
            def recv_some(i, n):
                k = i % 4
                if k == 0:
                    return s.recv(n)
                if k == 1:
                    return os.read(s.fileno(), n)
                if k == 2:
                    a, b = bytearray(n // 2 or 1), bytearray(n)
                    got = os.readv(s.fileno(), [a, b])
                    return bytes((a + b)[:got])
                a, b = bytearray(3), bytearray(n + 50)
                got = s.recvmsg_into([a, b])[0]
                return bytes((a + b)[:got])
            for i, send in enumerate(sends):
                n = send()
                n = n if isinstance(n, int) else 9000
                got = 0
                while got < n:
                    got += len(recv_some(i, n - got))
            c.close(); s.close()
            """;
        var r = await TattleCli.RunAsync(["run", "--data", "--snaplen", "16384", .. mode.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--", Py.Exe, "-c", script]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        string expected = "A".PadRight(100, 'A') + new string('B', 200) + new string('C', 10) + new string('D', 20) + "EEEEEFFFFFFGGGGGGG"
            + "HIJKL" + new string('M', 3000) + new string('N', 3000) + new string('O', 9000);
        foreach (var dir in new[] { "send", "recv" })
        {
            var records = r.OfType("data").Where(d => Str(d, "dir") == dir && d.TryGetProperty("b64", out _)).ToList();
            string stream = string.Concat(records.Select(d => Encoding.ASCII.GetString(Convert.FromBase64String(Str(d, "b64")))));
            Assert.Equal(expected.Length, stream.Length);
            Assert.True(expected == stream, $"{dir}: the captured stream differs from what was sent");
            Assert.All(records, d => Assert.Equal(d.GetProperty("captured").GetInt32(), Convert.FromBase64String(Str(d, "b64")).Length));
        }
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
    }

    [SkippableFact]
    public async Task CurlAgainstPythonHttpServer_ConnectionAndExactByteCounts()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        using var server = ServerProcess.HttpServer();
        // curl's own counters are the oracle: request bytes, and header + body bytes received.
        var r = await TattleCli.RunAsync(["run", "--", "curl", "-s", "-o", "/dev/null", "-w", "%{size_request} %{size_header} %{size_download}",
            $"http://127.0.0.1:{server.Port}/index.html"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        var sizes = r.Stdout.Split(' ').Select(long.Parse).ToArray();

        var start = r.OfType("process.start").Single();
        Assert.Equal("curl", Str(start, "comm"));
        Assert.Contains($"http://127.0.0.1:{server.Port}/index.html", start.GetProperty("argv").EnumerateArray().Select(a => a.GetString()));
        int curlPid = start.GetProperty("pid").GetInt32();

        var open = r.OfType("conn.open").Single(o => Str(o, "proto") == "tcp");
        Assert.Equal(curlPid, open.GetProperty("pid").GetInt32());
        Assert.Equal("client", Str(open, "role"));
        Assert.Equal("127.0.0.1", Addr(open.GetProperty("remote")));
        Assert.Equal(server.Port, Port(open.GetProperty("remote")));
        Assert.NotEqual(0, Port(open.GetProperty("local")));
        Assert.False(open.GetProperty("existing").GetBoolean());

        var close = r.OfType("conn.close").Single(c => Str(c, "conn") == Str(open, "conn"));
        Assert.Equal(sizes[0], close.GetProperty("bytes_sent").GetInt64());
        Assert.Equal(sizes[1] + sizes[2], close.GetProperty("bytes_recv").GetInt64());
        Assert.True(close.GetProperty("duration_ms").GetDouble() >= 0);

        var exit = r.OfType("process.exit").Single(e => e.GetProperty("pid").GetInt32() == curlPid);
        Assert.Equal(0, exit.GetProperty("exit_code").GetInt32());

        var row = r.Summary.GetProperty("rows").EnumerateArray().Single(x => Str(x, "proto") == "tcp");
        Assert.Equal(server.Port, Port(row.GetProperty("endpoint")));
        Assert.Equal(1, row.GetProperty("connections").GetInt32());
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
        foreach (var rec in r.Records)
        {
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", Str(rec, "ts"));
            Assert.True(rec.TryGetProperty("pid", out _) && rec.TryGetProperty("comm", out _));
        }
        Assert.Contains("tattle summary", r.Stderr);
    }

    [SkippableFact]
    public async Task Ipv6AsAnotherUser_AddressesAndUserAreRight()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        using var server = ServerProcess.Python("""
            import socket, sys
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s.bind(("::1", 0)); s.listen()
            open("port", "w").write(str(s.getsockname()[1]))
            print("ready", flush=True)
            while True:
                c, _ = s.accept(); c.recv(1000)
                c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"); c.close()
            """);
        int port = int.Parse(File.ReadAllText(Path.Combine(server.Directory, "port")));
        var r = await TattleCli.RunAsync(["run", "-u", "nobody", "--", "sh", "-c", $"id -un; curl -s -g http://[::1]:{port}/"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("nobody\nok", r.Stdout.Trim());
        var open = r.OfType("conn.open").Single(o => Str(o, "proto") == "tcp");
        Assert.Equal("::1", Addr(open.GetProperty("remote")));
        Assert.Equal(port, Port(open.GetProperty("remote")));
        Assert.Equal("::1", Addr(open.GetProperty("local")));
        Assert.Equal("curl", Str(open, "comm"));
    }

    [SkippableFact]
    public async Task RefusedConnect_IsConnFailAndCurlsExitCodePassesThrough()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        int closedPort = ServerProcess.FreeTcpPort();
        var r = await TattleCli.RunAsync(["run", "--", "curl", "-s", $"http://127.0.0.1:{closedPort}/"]);
        output.WriteLine(r.ToString());
        Assert.Equal(7, r.ExitCode); // curl: "Failed to connect to host"
        var fail = r.OfType("conn.fail").Single(f => Str(f, "proto") == "tcp");
        Assert.Equal("ECONNREFUSED", Str(fail, "error"));
        Assert.Equal(closedPort, Port(fail.GetProperty("remote")));
        Assert.DoesNotContain(r.OfType("conn.open"), o => Str(o, "proto") == "tcp");
        var row = r.Summary.GetProperty("rows").EnumerateArray().Single(x => Str(x, "proto") == "tcp");
        Assert.Equal(1, row.GetProperty("errors").GetProperty("ECONNREFUSED").GetInt32());
    }

    [SkippableFact]
    public async Task UdpExchange_DatagramsKeepTheirPeer()
    {
        Requires.RootAndBpf(output);
        using var echo = ServerProcess.Python("""
            import socket, sys
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            open("port", "w").write(str(s.getsockname()[1]))
            print("ready", flush=True)
            while True:
                data, peer = s.recvfrom(65536)
                s.sendto(data.upper(), peer)
            """);
        int port = int.Parse(File.ReadAllText(Path.Combine(echo.Directory, "port")));
        var script = $"""
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.sendto(b"ping from tattle", ("127.0.0.1", {port}))
            data, peer = s.recvfrom(100)
            print(data.decode())
            """;
        var r = await TattleCli.RunAsync(["run", "--data", "--", Py.Exe, "-c", script]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("PING FROM TATTLE", r.Stdout.Trim());
        var open = r.OfType("conn.open").Single(o => Str(o, "proto") == "udp");
        Assert.Equal(port, Port(open.GetProperty("remote")));
        // No connect(): the socket sent to an address, and may send to others.
        Assert.True(open.GetProperty("unconnected").GetBoolean());
        var data = r.OfType("data").Where(d => Str(d, "conn") == Str(open, "conn")).ToList();
        var sent = data.Single(d => Str(d, "dir") == "send");
        var recv = data.Single(d => Str(d, "dir") == "recv");
        Assert.Equal("ping from tattle", Encoding.ASCII.GetString(sent.GetProperty("b64").GetBytesFromBase64()));
        Assert.Equal("PING FROM TATTLE", Encoding.ASCII.GetString(recv.GetProperty("b64").GetBytesFromBase64()));
        Assert.Equal(port, Port(sent.GetProperty("peer")));
        Assert.Equal(port, Port(recv.GetProperty("peer")));
        var row = r.Summary.GetProperty("rows").EnumerateArray().Single(x => Str(x, "proto") == "udp");
        Assert.Equal(16, row.GetProperty("bytes_sent").GetInt64());
        Assert.Equal(16, row.GetProperty("bytes_recv").GetInt64());
    }

    [SkippableFact]
    public async Task UnixSocketExchange_ShowsThePath()
    {
        Requires.RootAndBpf(output);
        using var server = ServerProcess.Python("""
            import socket, os
            path = os.path.abspath("tattle.sock")
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(path)
            s.listen()
            print("ready", flush=True)
            while True:
                c, _ = s.accept()
                c.sendall(c.recv(100)[::-1])
                c.close()
            """);
        var path = Path.Combine(server.Directory, "tattle.sock");
        var script = $"""
            import socket
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect("{path}")
            s.sendall(b"abcdef")
            print(s.recv(100).decode())
            """;
        var r = await TattleCli.RunAsync(["run", "--", Py.Exe, "-c", script]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("fedcba", r.Stdout.Trim());
        var open = r.OfType("conn.open").Single(o => Str(o, "proto") == "unix" && o.GetProperty("remote").GetProperty("path").GetString() == path);
        Assert.Equal("client", Str(open, "role"));
        var close = r.OfType("conn.close").Single(c => Str(c, "conn") == Str(open, "conn"));
        Assert.Equal(6, close.GetProperty("bytes_sent").GetInt64());
        Assert.Equal(6, close.GetProperty("bytes_recv").GetInt64());
    }

    [SkippableFact]
    public async Task ForkedChild_ConnectionsAreAttributedToTheChild()
    {
        Requires.RootAndBpf(output);
        using var server = ServerProcess.HttpServer();
        var script = $"""
            import os, socket, sys
            pid = os.fork()
            if pid == 0:
                s = socket.create_connection(("127.0.0.1", {server.Port}))
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                while s.recv(65536): pass
                print("child", os.getpid(), flush=True)
                os._exit(3)
            _, status = os.waitpid(pid, 0)
            print("parent", os.getpid(), flush=True)
            """;
        var r = await TattleCli.RunAsync(["run", "--", Py.Exe, "-c", script]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        var pids = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToDictionary(l => l.Split(' ')[0], l => int.Parse(l.Split(' ')[1]));
        var open = r.OfType("conn.open").Single(o => Str(o, "proto") == "tcp");
        Assert.Equal(pids["child"], open.GetProperty("pid").GetInt32());
        var childStart = r.OfType("process.start").Single(p => p.GetProperty("pid").GetInt32() == pids["child"]);
        Assert.Equal(pids["parent"], childStart.GetProperty("ppid").GetInt32());
        var childExit = r.OfType("process.exit").Single(p => p.GetProperty("pid").GetInt32() == pids["child"]);
        Assert.Equal(3, childExit.GetProperty("exit_code").GetInt32());
        Assert.DoesNotContain(r.OfType("conn.open"), o => o.GetProperty("pid").GetInt32() == pids["parent"] && Str(o, "proto") == "tcp");
    }

    [SkippableFact]
    public async Task PayloadLargerThanSnaplen_IsCutCountedAndMarked()
    {
        Requires.RootAndBpf(output);
        using var sink = ServerProcess.Python("""
            import socket, sys, threading
            s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
            open("port", "w").write(str(s.getsockname()[1]))
            print("ready", flush=True)
            while True:
                c, _ = s.accept()
                n = 0
                while True:
                    d = c.recv(1 << 20)
                    if not d: break
                    n += len(d)
                c.sendall(str(n).encode()); c.close()
            """);
        int port = int.Parse(File.ReadAllText(Path.Combine(sink.Directory, "port")));
        // One 100 000-byte send: with --snaplen 40000 the kernel captures 40000 bytes in chunks of at most 16 KiB.
        var script = $"""
            import socket
            s = socket.create_connection(("127.0.0.1", {port}))
            payload = bytes((i * 7) % 251 for i in range(100000))
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            print(s.recv(100).decode())
            """;
        var r = await TattleCli.RunAsync(["run", "--data", "--snaplen", "40000", "--", Py.Exe, "-c", script]);
        output.WriteLine(r.ToString());
        Assert.Equal("100000", r.Stdout.Trim());
        var open = r.OfType("conn.open").Single(o => Str(o, "proto") == "tcp");
        var sends = r.OfType("data").Where(d => Str(d, "conn") == Str(open, "conn") && Str(d, "dir") == "send").ToList();
        long messageBytes = sends.Where(d => !d.TryGetProperty("offset", out _)).Sum(d => d.GetProperty("len").GetInt64());
        Assert.Equal(100000, messageBytes); // every byte counted, even those not captured
        var expected = Enumerable.Range(0, 100000).Select(i => (byte)(i * 7 % 251)).ToArray();
        // Reassemble each message's chunks and compare with what was sent, byte for byte.
        int cursor = 0;
        var chunks = new List<JsonElement>();
        foreach (var d in sends)
        {
            long off = d.TryGetProperty("offset", out var o) ? o.GetInt64() : 0;
            if (off == 0 && chunks.Count > 0)
            {
                cursor += CheckMessage(chunks, expected, cursor);
                chunks.Clear();
            }
            chunks.Add(d);
        }
        cursor += CheckMessage(chunks, expected, cursor);
        Assert.Equal(100000, cursor);
        Assert.Contains(sends, d => d.TryGetProperty("truncated", out var t) && t.GetBoolean());
        Assert.Contains(sends, d => d.TryGetProperty("offset", out _)); // split into several records
        var close = r.OfType("conn.close").Single(c => Str(c, "conn") == Str(open, "conn"));
        Assert.Equal(100000, close.GetProperty("bytes_sent").GetInt64());
    }

    /// <summary>Checks one message's captured chunks against the bytes sent; returns the message length.</summary>
    private static int CheckMessage(List<JsonElement> chunks, byte[] expected, int start)
    {
        int len = (int)chunks[0].GetProperty("len").GetInt64();
        int captured = 0;
        foreach (var c in chunks)
        {
            long off = c.TryGetProperty("offset", out var o) ? o.GetInt64() : 0;
            var bytes = c.GetProperty("b64").GetBytesFromBase64();
            Assert.Equal(captured, off);
            Assert.True(bytes.AsSpan().SequenceEqual(expected.AsSpan(start + (int)off, bytes.Length)), $"chunk at {start}+{off} differs");
            Assert.True(bytes.Length <= 16384);
            captured += bytes.Length;
        }
        Assert.Equal(Math.Min(len, 40000), captured);
        return len;
    }
}
