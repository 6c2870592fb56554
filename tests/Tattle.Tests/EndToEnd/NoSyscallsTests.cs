using System.Text.Json;
using Tattle.Tests.Support;

namespace Tattle.Tests.EndToEnd;

/// <summary>
/// --no-syscalls: payloads from the socket layer's send/receive tracepoints and connections from their first payload
/// and TCP states, with no program on the syscall tracepoints; the same records as the syscall path, against the
/// programs' own counters. The socket programs are the fast build's: the tests ask for it, so the suite's pass on the
/// fallback build (TATTLE_BPF_VARIANT=fallback) runs them unchanged.
/// </summary>
[Collection("bpf")]
public sealed class NoSyscallsTests(ITestOutputHelper output)
{
    private static string Str(JsonElement r, string name) => r.GetProperty(name).GetString()!;

    private static int Port(JsonElement ep) => ep.GetProperty("port").GetInt32();

    [SkippableFact]
    public async Task Run_CurlAgainstAPythonServer_SameConnectionRequestAndExactByteCounts()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        using var server = ServerProcess.HttpServer();
        var r = await TattleCli.RunAsync(["run", "--no-syscalls", "--bpf-variant", "fast", "--", "curl", "-s", "-o", "/dev/null", "-w",
            "%{size_request} %{size_header} %{size_download}", $"http://127.0.0.1:{server.Port}/index.html"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        var sizes = r.Stdout.Split(' ').Select(long.Parse).ToArray();
        int curlPid = r.OfType("process.start").Single().GetProperty("pid").GetInt32();

        var open = r.OfType("conn.open").Single(o => Str(o, "proto") == "tcp");
        Assert.Equal(curlPid, open.GetProperty("pid").GetInt32());
        Assert.Equal("client", Str(open, "role"));
        Assert.Equal(server.Port, Port(open.GetProperty("remote")));
        var http = r.OfType("http").Single();
        Assert.Equal(Str(open, "conn"), Str(http, "conn"));
        Assert.Equal("GET", Str(http, "method"));
        Assert.Equal(200, http.GetProperty("status").GetInt32());

        // The payload positions, not TCP's counters (which count the SYN and FIN too).
        var close = r.OfType("conn.close").Single(c => Str(c, "conn") == Str(open, "conn"));
        Assert.Equal(sizes[0], close.GetProperty("bytes_sent").GetInt64());
        Assert.Equal(sizes[1] + sizes[2], close.GetProperty("bytes_recv").GetInt64());
        Assert.True(close.GetProperty("fd").GetInt32() >= 3, "the connect's socket takes its fd from its first payload");
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
    }

    [SkippableFact]
    public async Task Udp_ASentDatagramNamesItsPeer_AReceivedOneNamesNone()
    {
        // The sender of a received datagram reaches the caller's sockaddr after sock_recv_length: what that memory
        // held before (the previous sendto's address, zeros) must not be reported as the sender.
        Requires.RootAndBpf(output);
        const string script = """
            import socket
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
            v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for i in range(3):
                v.sendto(b"hello %d" % i, u.getsockname()); u.recvfrom(100)
            print(u.getsockname()[1])
            """;
        var r = await TattleCli.RunAsync(["run", "--no-syscalls", "--bpf-variant", "fast", "--data", "--", Py.Exe, "-c", script]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        int port = int.Parse(r.Stdout.Trim());
        var opens = r.OfType("conn.open").Where(o => Str(o, "proto") == "udp").ToList();
        var client = Assert.Single(opens, o => Str(o, "role") == "client");
        Assert.Equal(port, Port(client.GetProperty("remote")));
        Assert.True(client.GetProperty("unconnected").GetBoolean());
        var server = Assert.Single(opens, o => Str(o, "role") == "server");
        Assert.Equal(JsonValueKind.Null, server.GetProperty("remote").ValueKind);
        var received = r.OfType("data").Where(d => Str(d, "conn") == Str(server, "conn")).ToList();
        Assert.Equal(3, received.Count);
        Assert.All(received, d => Assert.False(d.TryGetProperty("peer", out _), d.ToString()));
        Assert.All(r.OfType("data").Where(d => Str(d, "conn") == Str(client, "conn")), d => Assert.Equal(port, Port(d.GetProperty("peer"))));
    }

    [SkippableFact]
    public async Task Attach_ServerUnderKeepAliveAndNewConnections_EveryRequestOnItsConnectionOnce()
    {
        Requires.RootAndBpf(output);
        // Three connections one after the other, five keep-alive requests each: the server's fd is reused and its
        // sock often lands at the freed one's address; every request must stay on its own connection, once.
        using var server = ServerProcess.Python("""
            import http.server, os
            class H(http.server.BaseHTTPRequestHandler):
                protocol_version = "HTTP/1.1"
                def do_GET(self):
                    body = b"x" * 100
                    self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
                    self.wfile.write(body)
                def log_message(self, *a): pass
            s = http.server.HTTPServer(("127.0.0.1", 0), H)
            open("port", "w").write(str(s.server_address[1]))
            print("ready", flush=True)
            s.serve_forever()
            """);
        int port = int.Parse(File.ReadAllText(Path.Combine(server.Directory, "port")));
        using var tattle = TattleCli.Start(["attach", "-p", $"{server.Pid}", "--no-syscalls", "--bpf-variant", "fast"]);
        await tattle.WaitForRecordsAsync("process.start", 1);
        await Task.Delay(300); // the TLS probes' attach, after process.start
        using var client = System.Diagnostics.Process.Start(Py.Exe, ["-c", $$"""
            import http.client
            for c in range(3):
                h = http.client.HTTPConnection("127.0.0.1", {{port}})
                for i in range(5):
                    h.request("GET", f"/c{c}/r{i}"); resp = h.getresponse(); assert len(resp.read()) == 100
                h.close()
            """])!;
        await client.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, client.ExitCode);
        await tattle.WaitForRecordsAsync("http", 15);
        await tattle.WaitForRecordsAsync("conn.close", 3);
        var r = await tattle.StopAsync();
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);

        var https = r.OfType("http").ToList();
        var paths = https.Select(h => Str(h, "path")).ToList();
        Assert.Equal(Enumerable.Range(0, 3).SelectMany(c => Enumerable.Range(0, 5).Select(i => $"/c{c}/r{i}")), paths);
        Assert.All(https, h => Assert.Equal(200, h.GetProperty("status").GetInt32()));

        var opens = r.OfType("conn.open").Where(o => Str(o, "proto") == "tcp" && Str(o, "role") == "server").ToList();
        Assert.Equal(3, opens.Count);
        for (int c = 0; c < 3; c++)
        {
            string conn = Str(opens[c], "conn");
            Assert.Equal(Enumerable.Range(0, 5).Select(i => $"/c{c}/r{i}"),
                https.Where(h => Str(h, "conn") == conn).Select(h => Str(h, "path")));
            var close = r.OfType("conn.close").Single(x => Str(x, "conn") == conn);
            long sent = close.GetProperty("bytes_sent").GetInt64();
            Assert.True(sent > 5 * 100, $"the server sent {sent} bytes on {conn}, less than five bodies");
        }
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
    }

    [SkippableFact]
    public async Task Run_Https_PlaintextThroughTheTlsProbes_ARefusedConnectIsAFailure()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        Requires.Program(output, "openssl");
        using var server = TlsServers.OpenSslWww();
        int closed = ServerProcess.FreeTcpPort();
        var r = await TattleCli.RunAsync(["run", "--no-syscalls", "--bpf-variant", "fast", "--", "sh", "-c",
            $"curl -sk -o /dev/null https://127.0.0.1:{server.Port}/x; curl -s http://127.0.0.1:{closed}/ || true"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        var http = r.OfType("http").Single();
        Assert.Equal("/x", Str(http, "path"));
        Assert.Equal(200, http.GetProperty("status").GetInt32());
        Assert.True(http.GetProperty("tls").GetBoolean());
        var failed = r.OfType("conn.fail").Single(f => Port(f.GetProperty("remote")) == closed);
        Assert.Equal("ECONNREFUSED", Str(failed, "error"));
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
    }

    [SkippableFact]
    public async Task OnAKernelWithoutTheSocketTracepoints_OneClearLine()
    {
        Requires.RootAndBpf(output);
        var r = await TattleCli.RunAsync(["run", "--no-syscalls", "--", "true"], json: false,
            env: new Dictionary<string, string> { ["TATTLE_KERNEL_HIDE"] = "SockLengthTracepoints" });
        output.WriteLine(r.ToString());
        Assert.Equal(2, r.ExitCode);
        string line = Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.Contains("--no-syscalls needs the sock_send_length and sock_recv_length tracepoints (Linux 6.3)", line);
    }

    [SkippableFact]
    public async Task WithPacketsOnly_IsRefused()
    {
        var r = await TattleCli.RunAsync(["run", "--no-syscalls", "--packets-only", "-w", "/tmp/x.pcapng", "--", "true"], json: false);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--no-syscalls and --packets-only", r.Stderr);
    }
}
