using System.Text.Json;
using Tattle.Tests.Support;
using static Tattle.Tests.Support.RecordFields;

namespace Tattle.Tests.EndToEnd;

/// <summary>Payloads parsed into HTTP, DNS and TLS records, end to end, against real servers and clients.</summary>
[Collection("bpf")]
public sealed class ProtocolTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task CurlAgainstPythonServer_ShowsMethodPathStatusAndLatency()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        using var server = ServerProcess.HttpServer();
        var r = await TattleCli.RunAsync(["run", "--", "curl", "-s", "-o", "/dev/null", "-w", "%{size_header} %{size_download}",
            "-H", "Authorization: Bearer hunter2", $"http://127.0.0.1:{server.Port}/index.html?token=abc&page=2"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        var sizes = r.Stdout.Split(' ').Select(long.Parse).ToArray();

        var http = Assert.Single(r.OfType("http"));
        Assert.Equal("GET", Str(http, "method"));
        Assert.Equal("/index.html?token=REDACTED&page=2", Str(http, "path"));
        Assert.Equal($"127.0.0.1:{server.Port}", Str(http, "host"));
        Assert.Equal(200, Int(http, "status"));
        Assert.Equal("client", Str(http, "role"));
        Assert.False(http.GetProperty("tls").GetBoolean());
        Assert.True(http.GetProperty("latency_ms").GetDouble() > 0);
        Assert.Equal(sizes[0] + sizes[1], http.GetProperty("resp_bytes").GetInt64());
        Assert.Equal("REDACTED", Str(http.GetProperty("req_headers"), "authorization"));
        Assert.DoesNotContain("hunter2", r.Stderr + string.Join("", r.Records.Select(x => x.GetRawText())));
        var open = r.OfType("conn.open").Single(o => Str(o, "proto") == "tcp");
        Assert.Equal(Str(open, "conn"), Str(http, "conn"));
        Assert.Contains("http GET 127.0.0.1:", r.Stderr);
        Assert.Contains(" 200 ", r.Stderr);
        var row = r.Summary.GetProperty("rows").EnumerateArray().Single(x => Str(x, "proto") == "tcp");
        Assert.Equal(["http"], row.GetProperty("protocols").EnumerateArray().Select(p => p.GetString()));
        Assert.Empty(r.OfType("gap"));
    }

    /// <summary>A Redis inline command ("GET foo") from a real client to a server answering like Redis: not HTTP, no gap.</summary>
    [SkippableFact]
    public async Task RedisInlineCommand_IsNotTakenForHttp()
    {
        Requires.RootAndBpf(output);
        using var server = ServerProcess.Python("""
            import socket
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0)); s.listen()
            open("port", "w").write(str(s.getsockname()[1]))
            print("ready", flush=True)
            while True:
                c, _ = s.accept()
                while True:
                    line = c.recv(1000)
                    if not line: break
                    c.sendall(b"$3\r\nbar\r\n" if line.startswith(b"GET") else b"+PONG\r\n")
                c.close()
            """);
        int port = int.Parse(File.ReadAllText(Path.Combine(server.Directory, "port")));
        var r = await TattleCli.RunAsync(["run", "--", Py.Exe, "-c",
            "import socket,sys; c=socket.create_connection(('127.0.0.1', int(sys.argv[1]))); "
            + "c.sendall(b'GET foo\\r\\n'); print(c.recv(100)); c.sendall(b'PING\\r\\n'); print(c.recv(100)); c.close()",
            port.ToString()]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("b'$3\\r\\nbar\\r\\n'", r.Stdout);
        var close = r.OfType("conn.close").Single(c => Str(c, "proto") == "tcp");
        Assert.Equal((15UL, 16UL), (close.GetProperty("bytes_sent").GetUInt64(), close.GetProperty("bytes_recv").GetUInt64()));
        Assert.Empty(r.OfType("http"));
        Assert.Empty(r.OfType("gap"));
        var row = r.Summary.GetProperty("rows").EnumerateArray().Single(x => Str(x, "proto") == "tcp");
        Assert.DoesNotContain("http", row.GetProperty("protocols").EnumerateArray().Select(p => p.GetString()));
    }

    /// <summary>
    /// --snaplen 100 on a 3 MB download: each gap is what the kernel did not hand over (a message's length less the
    /// bytes captured), and the direction's gaps add up to its byte count (nothing of it was parsed).
    /// </summary>
    [SkippableFact]
    public async Task Snaplen_EveryGapIsWhatWasNotCaptured_AndTheGapsAddUpToTheBytes()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        using var server = ServerProcess.HttpServer();
        File.WriteAllBytes(Path.Combine(server.Directory, "big3.bin"), new byte[3_000_000]);
        var r = await TattleCli.RunAsync(["run", "--snaplen", "100", "--data", "--", "curl", "-s", "-o", "/dev/null",
            $"http://127.0.0.1:{server.Port}/big3.bin"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        string conn = Str(r.OfType("conn.open").Single(o => Str(o, "proto") == "tcp"), "conn")!;
        var close = r.OfType("conn.close").Single(c => Str(c, "conn") == conn);
        long received = close.GetProperty("bytes_recv").GetInt64();
        Assert.True(received > 3_000_000, $"{received} B received");
        var reads = r.OfType("data").Where(d => Str(d, "conn") == conn && Str(d, "dir") == "recv").ToList();
        Assert.Equal(received, reads.Sum(d => d.GetProperty("len").GetInt64()));
        var cut = reads.Where(d => d.GetProperty("truncated").GetBoolean())
            .Select(d => d.GetProperty("len").GetInt64() - d.GetProperty("captured").GetInt64()).ToList();
        var gaps = r.OfType("gap").Where(g => Str(g, "conn") == conn && Str(g, "dir") == "recv").ToList();
        foreach (var g in gaps)
        {
            output.WriteLine($"gap {g.GetProperty("bytes").GetInt64()} {Str(g, "reason")}");
        }
        var snaplen = gaps.Where(g => Str(g, "reason") == "snaplen").Select(g => g.GetProperty("bytes").GetInt64()).ToList();
        Assert.Equal(cut, snaplen);
        Assert.All(gaps, g => Assert.True(g.GetProperty("bytes").GetInt64() <= cut.Max()));
        Assert.Equal(received, gaps.Sum(g => g.GetProperty("bytes").GetInt64()));
    }

    [SkippableFact]
    public async Task Nginx_EveryExchangeTattleReports_MatchesTheAccessLogLineForLine()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "nginx");
        Requires.Program(output, "curl");
        using var site = new NginxSite();
        using var tattle = TattleCli.Start(["run", "-q", "--", .. site.Command]);
        ServerProcess.WaitForTcp(site.Port);

        // Keep-alive (two requests, one connection), gzip (chunked), 5 MB by sendfile, HEAD, 304, 404, 100-continue.
        Curl("-o", "/dev/null", "-o", "/dev/null", site.Url("/a.txt"), site.Url("/b.txt?x=1"));
        Curl("--compressed", "-o", "/dev/null", site.Url("/text.txt"));
        Curl("-o", "/dev/null", site.Url("/big.bin"));
        Curl("-I", site.Url("/a.txt"));
        Curl("-o", "/dev/null", "-z", "Fri, 01 Jan 2100 00:00:00 GMT", site.Url("/a.txt"));
        Curl("-o", "/dev/null", site.Url("/missing"));
        Curl("-o", "/dev/null", "-H", "Expect: 100-continue", "--data-binary", new string('p', 5000), site.Url("/echo"));
        // Three requests in one write: pipelining.
        var pipelined = Programs.Run(Py.Exe, "-c", $$"""
            import socket
            s = socket.create_connection(("127.0.0.1", {{site.Port}}))
            s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: p\r\n\r\nGET /b.txt HTTP/1.1\r\nHost: p\r\n\r\nGET /nope HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
            print(data.count(b"HTTP/1.1 "))
            """);
        Assert.Equal("3", pipelined.Stdout.Trim());
        await Task.Delay(300);
        var r = await tattle.StopAsync();
        output.WriteLine(r.ToString());

        var access = site.AccessLog();
        var seen = r.OfType("http").Where(h => Str(h, "role") == "server").ToList();
        foreach (var h in seen)
        {
            output.WriteLine(h.GetRawText());
        }
        Assert.Equal(11, access.Length);
        Assert.Equal(access.Order(StringComparer.Ordinal), seen.Select(Line).Order(StringComparer.Ordinal));

        var big = seen.Single(h => Str(h, "path") == "/big.bin");
        Assert.True(big.GetProperty("resp_bytes").GetInt64() > 5 << 20);
        Assert.Equal(5 << 20, big.GetProperty("unseen_bytes").GetInt64()); // sendfile: counted, not seen
        var gzip = seen.Single(h => Str(h, "path") == "/text.txt");
        Assert.Equal("chunked", Str(gzip.GetProperty("resp_headers"), "transfer-encoding"));
        Assert.Equal("gzip", Str(gzip.GetProperty("resp_headers"), "content-encoding"));
        var echo = seen.Single(h => Str(h, "path") == "/echo");
        Assert.Equal([100], echo.GetProperty("interim").EnumerateArray().Select(i => i.GetInt32()));
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
        Assert.DoesNotContain(r.OfType("gap"), g => Str(g, "reason") != "unseen");
    }

    [SkippableFact]
    public async Task CurlClient_KeepAliveAndChunkedGzip_AgainstNginx()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "nginx");
        Requires.Program(output, "curl");
        using var site = new NginxSite(sendfile: false);
        using var nginx = ServerProcess.Start("nginx", site.Command[1..], site.Port, site.Directory);
        var r = await TattleCli.RunAsync(["run", "--body-limit", "64", "--", "curl", "-s", "--compressed",
            "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null",
            site.Url("/a.txt"), site.Url("/text.txt"), site.Url("/big.bin")]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        var http = r.OfType("http").ToList();
        Assert.Equal(["GET /a.txt 200", "GET /text.txt 200", "GET /big.bin 200"], http.Select(Line));
        Assert.Single(http.Select(h => Str(h, "conn")).Distinct()); // keep-alive: one connection
        // --compressed: nginx gzips even a.txt; the captured body is the wire's, and inflates to the file.
        Assert.Equal("gzip", Str(http[0], "resp_content_encoding"));
        using (var gz = new System.IO.Compression.GZipStream(new MemoryStream(http[0].GetProperty("resp_body_b64").GetBytesFromBase64()), System.IO.Compression.CompressionMode.Decompress))
        {
            Assert.Equal("alpha\n", new StreamReader(gz).ReadToEnd());
        }
        Assert.Equal("chunked", Str(http[1].GetProperty("resp_headers"), "transfer-encoding"));
        Assert.Equal(64, http[2].GetProperty("resp_body_b64").GetBytesFromBase64().Length); // --body-limit
        Assert.True(http[2].GetProperty("resp_bytes").GetInt64() > 5 << 20);
        Assert.Empty(r.OfType("gap"));
    }

    [SkippableFact]
    public async Task Dig_OverUdpAndTcp_QueriesPairedWithAnswers()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "dig");
        Requires.Program(output, "dnsmasq");
        int port = ServerProcess.FreeTcpPort();
        using var dns = Programs.Dnsmasq(port);
        string dig = $"dig @127.0.0.1 -p {port} +tries=1 +time=3";
        // DNS over TCP is recognised on port 53 only; elsewhere --proto says so (and is tested by it).
        var r = await TattleCli.RunAsync(["run", "--proto", $"{port}=dns", "--", "sh", "-c",
            $"{dig} example.test A && {dig} +tcp example.test AAAA && {dig} alias.example.test A && {dig} _http._tcp.example.test SRV && {dig} example.test TXT"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        var records = r.OfType("dns").ToList();
        foreach (var d in records)
        {
            output.WriteLine(d.GetRawText());
        }
        JsonElement Dns(string query, string type) => records.Single(d => Str(d, "query") == query && Str(d, "qtype") == type);
        string[] Data(JsonElement d) => d.GetProperty("answers").EnumerateArray().Select(a => Str(a, "data")!).ToArray();

        var a = Dns("example.test", "A");
        Assert.Equal("NOERROR", Str(a, "rcode"));
        Assert.Equal("udp", Str(a, "transport"));
        Assert.Equal(["10.1.2.3"], Data(a));
        Assert.True(a.GetProperty("latency_ms").GetDouble() > 0);
        Assert.Equal(port, Int(a.GetProperty("remote"), "port"));
        var aaaa = Dns("example.test", "AAAA");
        Assert.Equal("tcp", Str(aaaa, "transport"));
        Assert.Equal(["fd00::3"], Data(aaaa));
        var alias = Dns("alias.example.test", "A");
        Assert.Equal(["example.test"], Data(alias));
        Assert.Equal(["CNAME"], alias.GetProperty("answers").EnumerateArray().Select(x => Str(x, "type")));
        Assert.Contains("example.test", Data(Dns("_http._tcp.example.test", "SRV")).Single());
        Assert.Contains("hello from dnsmasq", Data(Dns("example.test", "TXT")).Single());
        Assert.Equal(5, records.Count);
    }

    [SkippableFact]
    public async Task PythonResolver_NamesTheConnectionItMakes()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "dnsmasq");
        Requires.Program(output, "unshare");
        using var web = ServerProcess.HttpServer();
        // glibc's resolver only speaks to port 53, so the test resolver gets its own loopback address, and the
        // traced program its own resolv.conf in a private mount namespace.
        using var dns = Programs.Dnsmasq(53, "127.0.0.77", "--address=/api.example.test/127.0.0.1");
        var resolv = Path.Combine(dns.Directory, "resolv.conf");
        File.WriteAllText(resolv, "nameserver 127.0.0.77\noptions attempts:1 timeout:3\n");
        string script = $"import urllib.request; print(urllib.request.urlopen('http://api.example.test:{web.Port}/index.html').status)";
        var r = await TattleCli.RunAsync(["run", "--", "unshare", "-m", "sh", "-c",
            $"mount --bind {resolv} /etc/resolv.conf && exec {Py.Exe} -c \"{script}\""]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("200", r.Stdout.Trim());
        var a = r.OfType("dns").Single(d => Str(d, "qtype") == "A");
        Assert.Equal("api.example.test", Str(a, "query"));
        Assert.Equal(["127.0.0.1"], a.GetProperty("answers").EnumerateArray().Select(x => Str(x, "data")));
        var open = r.OfType("conn.open").Single(o => Str(o, "proto") == "tcp" && Int(o.GetProperty("remote"), "port") == web.Port);
        Assert.Equal("api.example.test", Str(open.GetProperty("remote"), "host"));
        var http = Assert.Single(r.OfType("http"));
        Assert.Equal($"api.example.test:{web.Port}", Str(http, "host"));
        Assert.Contains("api.example.test", r.Stderr); // the live view names the connection
    }

    [SkippableFact]
    public async Task CurlHttps_HandshakeShowsSniVersionAndAlpn_AndTheRestIsSkipped()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "openssl");
        Requires.Program(output, "curl");
        var dir = Directory.CreateTempSubdirectory("tattle-tls-").FullName;
        var req = Programs.Run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-subj", "/CN=example.test", "-days", "1", "-keyout", $"{dir}/key.pem", "-out", $"{dir}/cert.pem");
        Assert.Equal(0, req.ExitCode);
        int port = ServerProcess.FreeTcpPort();
        using var server = ServerProcess.Start("openssl", ["s_server", "-accept", $"127.0.0.1:{port}", "-cert", $"{dir}/cert.pem",
            "-key", $"{dir}/key.pem", "-www", "-alpn", "http/1.1", "-quiet"], port, dir);
        // --no-tls: what the ciphertext alone shows (tests/…/TlsTests cover the plaintext).
        var r = await TattleCli.RunAsync(["run", "--no-tls", "--", "curl", "-sk", "-o", "/dev/null", "--resolve", $"example.test:{port}:127.0.0.1",
            $"https://example.test:{port}/"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        var tls = Assert.Single(r.OfType("tls.handshake"));
        Assert.Equal("example.test", Str(tls, "sni"));
        Assert.Equal("TLS 1.3", Str(tls, "version"));
        Assert.Null(Str(tls, "alpn")); // TLS 1.3 sends the chosen ALPN in EncryptedExtensions: not in clear
        Assert.Contains("http/1.1", tls.GetProperty("alpn_offered").EnumerateArray().Select(x => x.GetString()));
        Assert.Empty(r.OfType("http"));
        Assert.Empty(r.OfType("gap"));
        var row = r.Summary.GetProperty("rows").EnumerateArray().Single(x => Str(x, "proto") == "tcp");
        Assert.Equal("example.test", Str(row.GetProperty("endpoint"), "host"));
        Assert.Equal(["tls"], row.GetProperty("protocols").EnumerateArray().Select(p => p.GetString()));
    }

    private void Curl(params string[] args)
    {
        var r = Programs.Run("curl", ["-s", "--max-time", "20", .. args]);
        output.WriteLine($"curl {string.Join(' ', args.Where(a => a.Length < 100))} -> {r.ExitCode}");
        Assert.Equal(0, r.ExitCode);
    }
}
