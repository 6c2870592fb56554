using System.Diagnostics;
using System.Text.Json;
using Tattle.Tests.Support;

namespace Tattle.Tests.EndToEnd;

/// <summary>--stats: no record per request; the summary's routes count every request the client made.</summary>
[Collection("bpf")]
public sealed class StatsTests(ITestOutputHelper output)
{
    /// <summary>
    /// A process serving HTTP/1 to itself (both roles): 100 identical requests on one connection (the kernel's
    /// batches of 32 and a partial one), varying paths, a 410, and a Redis exchange that must still reach the parsers.
    /// </summary>
    internal const string BothRolesScript = """
        import http.server, http.client, socket, threading
        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True
            def do_GET(self):
                body = b"x" * (10 + len(self.path))
                self.send_response(410 if self.path == "/gone" else 200)
                self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
            def log_message(self, *a): pass
        s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=s.serve_forever, daemon=True).start()
        r = socket.socket(); r.bind(("127.0.0.1", 0)); r.listen()
        def resp():
            c, _ = r.accept()
            while c.recv(100): c.sendall(b"+PONG\r\n")
            c.close()
        threading.Thread(target=resp, daemon=True).start()
        h = http.client.HTTPConnection("127.0.0.1", s.server_address[1])
        def get(p):
            h.request("GET", p); x = h.getresponse(); x.read(); return x.status
        for i in range(100): assert get("/ping") == 200
        for i in range(7): assert get(f"/items/{i + 1000}?q={i}") == 200
        assert get("/gone") == 410
        h.close()
        c = socket.create_connection(r.getsockname())
        for i in range(3):
            c.sendall(b"*1\r\n$4\r\nPING\r\n"); c.recv(100)
        c.close()
        s.shutdown()
        """;

    private static string Str(JsonElement r, string name) => r.GetProperty(name).GetString()!;

    [SkippableTheory]
    [InlineData("--stats", false)]
    [InlineData("--stats", true)]
    [InlineData("--stats-in-kernel", false)]
    [InlineData("--stats-in-kernel", true)]
    public async Task Stats_CountsEveryRequestPerRoute_WithStatusClasses_AndWritesNoRequestRecords(string mode, bool noSyscalls)
    {
        Requires.RootAndBpf(output);
        using var server = ServerProcess.Python("""
            import http.server
            class H(http.server.BaseHTTPRequestHandler):
                protocol_version = "HTTP/1.1"
                def reply(self, status):
                    n = int(self.headers.get("Content-Length") or 0)
                    self.rfile.read(n)
                    self.send_response(status); self.send_header("Content-Length", "2"); self.end_headers()
                    self.wfile.write(b"ok")
                def do_GET(self): self.reply(200 if self.path.startswith("/users/") else 404)
                def do_POST(self): self.reply(201)
                def log_message(self, *a): pass
            s = http.server.HTTPServer(("127.0.0.1", 0), H)
            open("port", "w").write(str(s.server_address[1]))
            print("ready", flush=True)
            s.serve_forever()
            """);
        int port = int.Parse(File.ReadAllText(Path.Combine(server.Directory, "port")));
        string client = $$"""
            import http.client
            h = http.client.HTTPConnection("127.0.0.1", {{port}})
            def call(method, path, body=None):
                h.request(method, path, body=body); r = h.getresponse(); r.read(); return r.status
            for i in range(20): assert call("GET", f"/users/{i + 100}?expand=1") == 200
            for i in range(5): assert call("GET", "/missing") == 404
            for i in range(3): assert call("POST", "/users", body=b"{}") == 201
            h.close()
            """;
        string[] args = ["run", mode, .. noSyscalls ? (string[])["--no-syscalls", "--bpf-variant", "fast"] : [], "--", Py.Exe, "-c", client];
        var r = await TattleCli.RunAsync(args);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Empty(r.OfType("http"));

        var routes = r.Summary.GetProperty("routes").EnumerateArray()
            .Where(x => x.GetProperty("endpoint").GetProperty("port").GetInt32() == port).ToList();
        var users = routes.Single(x => Str(x, "operation") == "GET" && Str(x, "route") == "/users/{id}");
        Assert.Equal(20, users.GetProperty("requests").GetInt64());
        Assert.Equal(20, users.GetProperty("statuses").GetProperty("2xx").GetInt64());
        Assert.Equal("client", Str(users, "role"));
        Assert.Equal("http", Str(users, "protocol"));
        Assert.True(users.GetProperty("p50_ms").GetDouble() > 0);
        Assert.True(users.GetProperty("max_ms").GetDouble() >= users.GetProperty("p99_ms").GetDouble());
        Assert.True(users.GetProperty("response_bytes").GetInt64() > 20 * 2);
        var missing = routes.Single(x => Str(x, "route") == "/missing");
        Assert.Equal(5, missing.GetProperty("statuses").GetProperty("4xx").GetInt64());
        var post = routes.Single(x => Str(x, "operation") == "POST");
        Assert.Equal(("/users", 3L), (Str(post, "route"), post.GetProperty("statuses").GetProperty("2xx").GetInt64()));
        Assert.Equal(28, routes.Sum(x => x.GetProperty("requests").GetInt64()));
        Assert.Equal(0, r.Summary.GetProperty("routes_folded").GetInt64());
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
        Assert.Contains("/users/{id}", r.Stderr); // the route table under the summary
    }

    /// <summary>The kernel's counts against user space's parse of the same traffic (<see cref="BothRolesScript"/>).</summary>
    [SkippableFact]
    public async Task StatsInKernel_CountsWhatStatsParses_OnBothSides_AndLeavesOtherProtocolsToTheParsers()
    {
        Requires.RootAndBpf(output);
        var byMode = new Dictionary<string, Dictionary<string, string>>();
        foreach (var mode in new[] { "--stats", "--stats-in-kernel", "--stats-in-kernel --no-syscalls --bpf-variant fast" })
        {
            var r = await TattleCli.RunAsync(["run", .. mode.Split(' '), "--", Py.Exe, "-c", BothRolesScript]);
            output.WriteLine(r.ToString());
            Assert.Equal(0, r.ExitCode);
            Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
            var routes = r.Summary.GetProperty("routes").EnumerateArray().ToList();
            Assert.All(routes.Where(x => Str(x, "protocol") == "http"), x => Assert.True(x.GetProperty("p50_ms").GetDouble() > 0));
            byMode[mode] = routes.ToDictionary(
                x => $"{Str(x, "role")} {Str(x, "protocol")} {x.GetProperty("operation")} {x.GetProperty("route")}",
                x => $"requests={x.GetProperty("requests")} unanswered={x.GetProperty("unanswered")} statuses={x.GetProperty("statuses")} "
                    + $"bytes={x.GetProperty("request_bytes")}/{x.GetProperty("response_bytes")}");
        }
        var parsed = byMode["--stats"];
        Assert.StartsWith("requests=100 unanswered=0 statuses={\"2xx\":100} bytes=", parsed["server http GET /ping"]);
        Assert.StartsWith("requests=7 ", parsed["client http GET /items/{id}"]);
        Assert.StartsWith("requests=1 unanswered=0 statuses={\"4xx\":1}", parsed["client http GET /gone"]);
        Assert.Contains(parsed.Keys, k => k.StartsWith("client redis", StringComparison.Ordinal));
        foreach (var (mode, counted) in byMode)
        {
            Assert.Equal(parsed.OrderBy(x => x.Key), counted.OrderBy(x => x.Key));
        }
    }

    /// <summary>Attached to a running server and stopped while a client's connection is still open: its requests
    /// are still in the kernel's table, and are read from there.</summary>
    [SkippableFact]
    public async Task StatsInKernel_Attached_CountsTheRequestsOfConnectionsStillOpenAtTheEnd()
    {
        Requires.RootAndBpf(output);
        using var server = ServerProcess.KeepAliveHttp();
        var jsonPath = Path.Combine(server.Directory, "out.jsonl");
        using var tattle = Process.Start(TattleCli.StartInfo(["attach", "-p", server.Pid.ToString(), "--stats-in-kernel", "--duration", "5", "--json", jsonPath]))!;
        var stderr = tattle.StandardError.ReadToEndAsync();
        await TattleCli.WaitForRecordsAsync(tattle, jsonPath, "process.start", 1, stderr);
        // Ten requests on one keep-alive connection, held open well past tattle's end.
        using var client = Process.Start(Py.Exe, ["-c", $$"""
            import http.client, time
            h = http.client.HTTPConnection("127.0.0.1", {{server.Port}})
            for i in range(10):
                h.request("GET", "/index.html"); h.getresponse().read()
            time.sleep(15)
            """]);
        await tattle.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        client.Kill();
        output.WriteLine(await stderr);
        Assert.Equal(0, tattle.ExitCode);
        var summary = TattleCli.ReadJsonLines(jsonPath).Single(r => Str(r, "type") == "summary");
        var route = summary.GetProperty("routes").EnumerateArray().Single(x => Str(x, "route") == "/index.html");
        Assert.Equal(("server", "GET", 10L), (Str(route, "role"), Str(route, "operation"), route.GetProperty("requests").GetInt64()));
        Assert.Equal(10, route.GetProperty("statuses").GetProperty("2xx").GetInt64());
        Assert.Equal(0, summary.GetProperty("lost").GetInt64());
    }

    /// <summary>nginx with sendfile: the bodies it sends without a write are counted in their route's bytes, and
    /// every request in its access log is counted once.</summary>
    [SkippableFact]
    public async Task StatsInKernel_Nginx_CountsEveryLoggedRequest_AndTheBytesSentByFile()
    {
        var (logged, records) = await AttachToNginxAsync(output, ["--stats-in-kernel", "--no-syscalls", "--bpf-variant", "fast"], "/nope");
        var summary = records.Single(r => Str(r, "type") == "summary");
        var routes = summary.GetProperty("routes").EnumerateArray().Where(x => Str(x, "role") == "server").ToList();
        JsonElement Route(string path) => routes.Single(x => Str(x, "route") == path);
        Assert.Equal((5L, 5L), (Route("/a.txt").GetProperty("requests").GetInt64(), Route("/a.txt").GetProperty("statuses").GetProperty("2xx").GetInt64()));
        Assert.Equal((3L, 3L), (Route("/nope").GetProperty("requests").GetInt64(), Route("/nope").GetProperty("statuses").GetProperty("4xx").GetInt64()));
        var big = Route("/big.bin");
        Assert.Equal(2, big.GetProperty("statuses").GetProperty("2xx").GetInt64());
        Assert.True(big.GetProperty("response_bytes").GetInt64() > 2L * (5 << 20), big.GetRawText());
        Assert.Equal(logged.Count, routes.Sum(x => x.GetProperty("requests").GetInt64()));
        Assert.Equal(0, summary.GetProperty("lost").GetInt64());
    }

    /// <summary>
    /// Attaches tattle in <paramref name="mode"/> to an nginx serving with sendfile, has curl fetch /a.txt five times,
    /// the 5 MiB /big.bin twice and <paramref name="missing"/> three times, and returns the requests nginx logged and
    /// the records.
    /// </summary>
    internal static async Task<(List<string> Logged, List<JsonElement> Records)> AttachToNginxAsync(ITestOutputHelper output, string[] mode, string missing)
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "nginx");
        Requires.Program(output, "curl");
        using var site = new NginxSite(sendfile: true);
        using var nginx = ServerProcess.Start("nginx", site.Command[1..], site.Port, site.Directory);
        var jsonPath = Path.Combine(site.Directory, "out.jsonl");
        using var tattle = Process.Start(TattleCli.StartInfo(["attach", "--comm", "nginx", .. mode, "--duration", "6", "--json", jsonPath]))!;
        var stderr = tattle.StandardError.ReadToEndAsync();
        await TattleCli.WaitForRecordsAsync(tattle, jsonPath, "process.start", 1, stderr);
        string[] urls = [.. Enumerable.Repeat(site.Url("/a.txt"), 5), site.Url("/big.bin"), site.Url("/big.bin"), .. Enumerable.Repeat(site.Url(missing), 3)];
        var curl = Programs.Run("curl", [.. urls.SelectMany(u => new[] { "-s", "-o", "/dev/null", u })]);
        Assert.Equal(0, curl.ExitCode);
        await tattle.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        output.WriteLine(await stderr);
        Assert.Equal(0, tattle.ExitCode);
        var logged = site.AccessLog().Where(l => !l.Contains("/status", StringComparison.Ordinal)).ToList();
        Assert.Equal(10, logged.Count);
        return (logged, [.. TattleCli.ReadJsonLines(jsonPath)]);
    }

    [SkippableTheory]
    [InlineData("--stats-in-kernel", "--no-payload")]
    [InlineData("--http-in-kernel", "--no-payload")]
    [InlineData("--http-in-kernel", "--data")]
    public async Task InKernelWithoutPayloads_IsRefused(string mode, string other)
    {
        var r = await TattleCli.RunAsync(["run", mode, other, "--", "true"], json: false);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{mode} reads requests from their payloads", r.Stderr);
    }

    [SkippableFact]
    public async Task StatsWithData_IsRefused()
    {
        var r = await TattleCli.RunAsync(["run", "--stats", "--data", "--", "true"], json: false);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--stats writes no record per request", r.Stderr);
    }
}
