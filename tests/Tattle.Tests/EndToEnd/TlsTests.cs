using System.Diagnostics;
using System.Text.Json;
using Tattle.Tests.Support;
using static Tattle.Tests.Support.RecordFields;

namespace Tattle.Tests.EndToEnd;

/// <summary>
/// TLS plaintext through the uprobes, end to end: real clients of OpenSSL (dynamic and static), GnuTLS and NSS
/// against local TLS servers, and nginx over TLS traced by attach.
/// </summary>
[Collection("bpf")]
public sealed class TlsTests(ITestOutputHelper output)
{
    public static TheoryData<string> Clients => ["curl", "python", "openssl", "wget", "node", "dotnet", "tstclnt"];

    /// <summary>The client's command line for GET <paramref name="path"/> on https://localhost:PORT, and its program.</summary>
    private static (string Program, string[] Command) ClientCommand(string client, int port, string path) => client switch
    {
        "curl" => ("curl", ["curl", "-sk", "-o", "/dev/null", $"https://localhost:{port}{path}"]),
        "python" => (Py.Exe, [Py.Exe, "-c", $"import ssl, urllib.request as u; print(u.urlopen('https://localhost:{port}{path}', context=ssl._create_unverified_context()).status)"]),
        // s_client sends what it reads from stdin (HTTP/1.0 closes after the answer); -ign_eof waits for it.
        "openssl" => ("openssl", ["sh", "-c", $"printf 'GET {path} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' | openssl s_client -quiet -ign_eof -servername localhost -connect 127.0.0.1:{port}"]),
        "wget" => ("wget", ["wget", "-q", "--no-check-certificate", "-O", "/dev/null", $"https://localhost:{port}{path}"]),
        "node" => ("node", ["node", "-e", $"require('https').get('https://localhost:{port}{path}', {{rejectUnauthorized: false}}, r => {{ console.log(r.statusCode); r.resume(); }})"]),
        "dotnet" => ("dotnet", DotnetHttpsClient.Command($"https://localhost:{port}{path}")),
        // NSS's test client: -o accepts the self-signed certificate, -D needs no certificate database. It reads the
        // request from a file (-A) through NSPR, as it writes the answer to stdout: with its stdin a pipe, it spins on
        // the pipe's end instead of exiting. -4: the server listens on 127.0.0.1 only. The shell execs it, so it runs
        // as the launched process, probed before it is released: a child the shell forked is probed while it runs,
        // and on a loaded machine its TLS could come first.
        "tstclnt" => ("tstclnt", ["sh", "-c", $"exec tstclnt -h localhost -4 -p {port} -o -D -A \"$0\" </dev/null", RequestFile(path)]),
        _ => throw new ArgumentException(client),
    };

    /// <summary>An HTTP/1.0 GET of <paramref name="path"/> in a file (one per path, rewritten at each use).</summary>
    private static string RequestFile(string path)
    {
        string file = Path.Combine(Path.GetTempPath(), $"tattle-tests-tstclnt{path.Replace('/', '-')}.http");
        File.WriteAllText(file, $"GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n");
        return file;
    }

    [SkippableTheory]
    [MemberData(nameof(Clients))]
    public async Task Client_HttpsExchange_IsShownInPlaintext(string client)
    {
        var (program, command) = ClientCommand(client, 0, "/");
        Requires.RootAndBpf(output);
        Requires.Program(output, Path.GetFileName(program));
        Requires.Program(output, "openssl");
        using var server = TlsServers.OpenSslWww();
        string path = $"/from-{client}";
        (_, command) = ClientCommand(client, server.Port, path);
        var r = await TattleCli.RunAsync(["run", "-q", "--", .. command]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);

        var http = r.OfType("http").Where(h => Str(h, "path") == path).ToList();
        foreach (var h in r.OfType("http"))
        {
            output.WriteLine(h.GetRawText());
        }
        var exchange = Assert.Single(http);
        Assert.True(IsTls(exchange));
        Assert.Equal("GET", Str(exchange, "method"));
        Assert.Equal(200, exchange.GetProperty("status").GetInt32());
        Assert.Equal("client", Str(exchange, "role"));
        string comm = Path.GetFileName(program) is var p && p.StartsWith("python", StringComparison.Ordinal) ? "python3" : Path.GetFileName(program);
        Assert.Equal(comm, Str(exchange, "comm"));
        var tls = r.Summary.GetProperty("tls");
        long calls = tls.GetProperty("calls").GetInt64(), hits = tls.GetProperty("probe_hits").GetInt64();
        Assert.True(calls >= 2);
        // Reads trap at entry and return; writes are read at entry alone, which pays for SSL_set_fd's one entry per
        // connection (python). NSPR's probes also trap on tstclnt's descriptors that are not TLS (stdin, files),
        // and NSS's writes keep their return probe.
        Assert.InRange(hits, calls + 1, client == "tstclnt" ? long.MaxValue : 2 * calls);
        Assert.Equal(0, tls.GetProperty("untraced_hits").GetInt64());
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
        // Bound to its socket, node's memory BIO included (its socket I/O is outside the TLS calls, on the same
        // thread): the connection's addresses and the handshake's server name come with it.
        Assert.Null(Str(exchange, "tls_session"));
        Assert.Equal(server.Port, exchange.GetProperty("remote").GetProperty("port").GetInt32());
        Assert.Equal("localhost", Str(exchange, "sni"));
        var conn = r.OfType("conn.open").Single(o => Str(o, "conn") == Str(exchange, "conn"));
        Assert.Equal(server.Port, conn.GetProperty("remote").GetProperty("port").GetInt32());
        var row = r.Summary.GetProperty("rows").EnumerateArray()
            .Single(x => x.GetProperty("endpoint") is { ValueKind: JsonValueKind.Object } ep
                && ep.TryGetProperty("port", out var port) && port.ValueKind == JsonValueKind.Number && port.GetInt32() == server.Port);
        Assert.Equal(["https"], row.GetProperty("protocols").EnumerateArray().Select(p => p.GetString()));
    }

    [SkippableFact]
    public async Task Tstclnt_FileAndStdoutThroughNspr_AreNotTls()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "tstclnt");
        Requires.Program(output, "openssl");
        using var server = TlsServers.OpenSslWww();
        // The same PR_Read/PR_Write that carry the plaintext on the SSL socket read the request file and write the
        // answer to stdout: only the socket's calls are TLS, so every plaintext record sits on the connection.
        var (_, command) = ClientCommand("tstclnt", server.Port, "/nspr");
        var r = await TattleCli.RunAsync(["run", "-q", "--data", "--", .. command]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        var exchange = Assert.Single(r.OfType("http"), h => Str(h, "path") == "/nspr");
        var plaintext = r.OfType("data").Where(IsTls).ToList();
        Assert.Contains(plaintext, d => Str(d, "dir") == "send");
        Assert.Contains(plaintext, d => Str(d, "dir") == "recv");
        Assert.All(plaintext, d => Assert.Equal(Str(exchange, "conn"), Str(d, "conn")));
        Assert.All(plaintext, d => Assert.Null(Str(d, "tls_session")));
        Assert.Equal(0, r.Summary.GetProperty("tls").GetProperty("without_socket").GetInt64());
    }

    /// <summary>
    /// An NSPR client that pushes a layer of its own on top of its socket, as Firefox does over NSS's SSL layer:
    /// argv "PORT tls" imports the socket into NSS first (any certificate accepted), "PORT plain" does not. It GETs
    /// /layered with PR_Write and PR_Read on the top of the stack and prints the status line.
    /// </summary>
    private const string LayeredNsprClient = """
        import ctypes as C, sys
        P = C.c_void_p
        nspr, nss, ssl = C.CDLL("libnspr4.so"), C.CDLL("libnss3.so"), C.CDLL("libssl3.so")
        for f, res, args in [(nspr.PR_NewTCPSocket, P, []), (nspr.PR_GetUniqueIdentity, C.c_int, [C.c_char_p]),
                             (nspr.PR_GetDefaultIOMethods, P, []), (nspr.PR_CreateIOLayerStub, P, [C.c_int, P]),
                             (nspr.PR_PushIOLayer, C.c_int, [P, C.c_int, P]), (nspr.PR_InitializeNetAddr, C.c_int, [C.c_int, C.c_uint16, P]),
                             (nspr.PR_Connect, C.c_int, [P, P, C.c_uint32]), (nspr.PR_Write, C.c_int, [P, C.c_char_p, C.c_int]),
                             (nspr.PR_Read, C.c_int, [P, P, C.c_int]), (nspr.PR_Close, C.c_int, [P]),
                             (nss.NSS_NoDB_Init, C.c_int, [C.c_char_p]), (ssl.SSL_ImportFD, P, [P, P]),
                             (ssl.SSL_BadCertHook, C.c_int, [P, P, P]), (ssl.SSL_SetURL, C.c_int, [P, C.c_char_p]),
                             (ssl.SSL_ResetHandshake, C.c_int, [P, C.c_int])]:
            f.restype, f.argtypes = res, args
        port, tls = int(sys.argv[1]), sys.argv[2] == "tls"
        assert nss.NSS_NoDB_Init(None) == 0
        fd = nspr.PR_NewTCPSocket()
        if tls:
            fd = ssl.SSL_ImportFD(None, fd)
            accept_any = C.CFUNCTYPE(C.c_int, P, P)(lambda arg, fd: 0)
            assert ssl.SSL_BadCertHook(fd, C.cast(accept_any, P), None) == 0
            assert ssl.SSL_SetURL(fd, b"localhost") == 0
            assert ssl.SSL_ResetHandshake(fd, 0) == 0
        PR_TOP_IO_LAYER, PR_IP_ADDR_LOOPBACK = -2, 2
        layer = nspr.PR_CreateIOLayerStub(nspr.PR_GetUniqueIdentity(b"tattle-test"), nspr.PR_GetDefaultIOMethods())
        assert nspr.PR_PushIOLayer(fd, PR_TOP_IO_LAYER, layer) == 0
        addr = C.create_string_buffer(256)
        nspr.PR_InitializeNetAddr(PR_IP_ADDR_LOOPBACK, port, addr)
        assert nspr.PR_Connect(fd, addr, 0xffffffff) == 0
        req = b"GET /layered HTTP/1.0\r\nHost: localhost\r\n\r\n"
        assert nspr.PR_Write(fd, req, len(req)) == len(req)
        buf, got = C.create_string_buffer(65536), b""
        while (n := nspr.PR_Read(fd, buf, 65536)) > 0:
            got += buf.raw[:n]
        print(got.split(b"\r\n")[0].decode())
        nspr.PR_Close(fd)
        """;

    [SkippableTheory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task NsprLayerOverTheSocket_IsTlsOnlyWithNssBelowIt(bool tls)
    {
        Requires.RootAndBpf(output);
        Requires.FileFrom(output, "/usr/lib/x86_64-linux-gnu/libssl3.so", "libnss3");
        Requires.Program(output, "openssl");
        // A layer over SSL (Firefox's) is read as TLS; the same layer over a plain socket, whose top looks alike
        // (a layer with an identity and a lower one), is not.
        using var server = tls ? TlsServers.OpenSslWww() : ServerProcess.HttpServer();
        var r = await TattleCli.RunAsync(["run", "-q", "--", Py.Exe, "-c", LayeredNsprClient, server.Port.ToString(), tls ? "tls" : "plain"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.StartsWith(tls ? "HTTP/1.0 200" : "HTTP/1.0 404", r.Stdout, StringComparison.Ordinal);
        var exchange = Assert.Single(r.OfType("http"), h => Str(h, "path") == "/layered");
        Assert.Equal(tls, IsTls(exchange));
        Assert.Equal(server.Port, exchange.GetProperty("remote").GetProperty("port").GetInt32());
        var calls = r.Summary.GetProperty("tls").GetProperty("calls").GetInt64();
        Assert.True(tls ? calls >= 2 : calls == 0, $"{calls} TLS calls");
    }

    [SkippableFact]
    public async Task NsprFileIo_WithoutTls_IsNeitherRecordedNorCounted()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "certutil");
        Requires.Program(output, "openssl");
        var dir = Directory.CreateTempSubdirectory("tattle-nspr-");
        try
        {
            var cert = TestCertificate.CreateIn(dir.FullName);
            string db = Path.Combine(dir.FullName, "db");
            Directory.CreateDirectory(db);
            // certutil maps libnspr4 (probed) and reads the certificate, and writes it out, with PR_Read/PR_Write.
            var r = await TattleCli.RunAsync(["run", "-q", "--data", "--", "sh", "-c",
                $"certutil -N -d {db} --empty-password && certutil -A -n test -t P,, -i {cert.CertPath} -d {db} && certutil -L -d {db} -n test -a"]);
            output.WriteLine(r.ToString());
            Assert.Equal(0, r.ExitCode);
            Assert.Contains("BEGIN CERTIFICATE", r.Stdout, StringComparison.Ordinal);
            var tls = r.Summary.GetProperty("tls");
            Assert.True(tls.GetProperty("functions").GetInt64() > 0);
            Assert.Equal(0, tls.GetProperty("calls").GetInt64());
            Assert.Equal(0, tls.GetProperty("without_socket").GetInt64());
            Assert.DoesNotContain(r.Records, IsTls);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [SkippableFact]
    public async Task ChildThatExecsCurl_IsProbedFromItsExec()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        Requires.Program(output, "openssl");
        using var server = TlsServers.OpenSslWww();
        // The shell is the traced command; each curl is its child, probed from its fork, before it maps libssl, and
        // makes its first TLS call a few milliseconds after its exec. Two busy loops keep both CPUs taken, as a loaded
        // machine does: the events ring's consumer then reads a fork milliseconds late, and before the spawns ring
        // about one curl in ten was probed after that call (27 of 30, twice).
        const int Children = 12;
        using var busy = Process.Start("sh", ["-c", "for i in 1 2; do (while :; do :; done) & done; wait"])!;
        TattleResult r;
        try
        {
            r = await TattleCli.RunAsync(["run", "-q", "--", "sh", "-c",
                $"for i in $(seq {Children}); do curl -sk -o /dev/null https://localhost:{server.Port}/child-$i; done"]);
        }
        finally
        {
            busy.Kill(entireProcessTree: true);
            busy.WaitForExit();
        }
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        var curls = r.OfType("process.exec").Where(e => Str(e, "comm") == "curl").Select(e => e.GetProperty("pid").GetInt32()).ToList();
        Assert.Equal(Children, curls.Count);
        var whole = r.OfType("http").Where(IsTls)
            .Where(h => Str(h, "path") is not null && h.GetProperty("status").ValueKind == JsonValueKind.Number)
            .ToDictionary(h => h.GetProperty("pid").GetInt32(), h => Str(h, "path"));
        // Probed before they ran: no notice per process (a build would print one per compiler). But the first uprobe
        // registered after a quiet spell waits for an RCU grace period (about 10 ms with both CPUs busy), which a
        // curl to a local server can outlast: such a curl is named by a notice, never left out in silence.
        var late = r.OfType("notice").Select(n => (Pid: n.GetProperty("pid").GetInt32(), Message: Str(n, "message")!)).ToList();
        Assert.All(late, n => Assert.StartsWith("tls: plaintext probes", n.Message));
        Assert.All(curls.Where(pid => !whole.ContainsKey(pid)), pid => Assert.Contains(pid, late.Select(n => n.Pid)));
        Assert.Equal(late.Count, r.Summary.GetProperty("tls").GetProperty("late_connections").GetInt32());
        // Most are read whole (all but 2 of 240 in bench/tls-spawn.sh): without probes at the fork none would be.
        Assert.InRange(whole.Count, Children / 2, Children);
        Assert.Equal(whole.Count, whole.Values.Distinct().Count());
    }

    [SkippableFact]
    public async Task Nginx_OverTls_EveryAccessLogLineIsATlsRecord_AndUntracedClientsAreNotTrapped()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "nginx");
        Requires.Program(output, "curl");
        using var site = new NginxSite(sendfile: false, tls: true);
        using var nginx = ServerProcess.Start("nginx", site.Command[1..], site.TlsPort, site.Directory);
        int master = int.Parse(File.ReadAllText(Path.Combine(site.Directory, "nginx.pid")).Trim());
        using var tattle = TattleCli.Start(["attach", "-q", "-p", master.ToString()]);
        // Attaching to processes that already map libssl takes the kernel a while: wait until both say they are probed.
        await tattle.WaitForRecordsAsync("notice", 2);

        // Untraced clients using the same libssl: keep-alive (two requests, one connection), a 404, gzip, a POST.
        Curl("-o", "/dev/null", "-o", "/dev/null", site.TlsUrl("/a.txt"), site.TlsUrl("/b.txt?x=1"));
        Curl("-o", "/dev/null", site.TlsUrl("/missing"));
        Curl("--compressed", "-o", "/dev/null", site.TlsUrl("/text.txt"));
        Curl("-o", "/dev/null", "--data-binary", new string('p', 5000), site.TlsUrl("/echo"));
        var py = Programs.Run(Py.Exe, "-c", $"import ssl, urllib.request as u; print(u.urlopen('{site.TlsUrl("/a.txt?py")}', context=ssl._create_unverified_context()).status)");
        Assert.Equal("200", py.Stdout.Trim());
        await Task.Delay(300);
        var r = await tattle.StopAsync();
        output.WriteLine(r.ToString());

        var access = site.AccessLog();
        var seen = r.OfType("http").Where(h => Str(h, "role") == "server").ToList();
        foreach (var h in seen)
        {
            output.WriteLine(h.GetRawText());
        }
        Assert.Equal(6, access.Length);
        Assert.All(seen, h => Assert.True(IsTls(h)));
        Assert.Equal(access.Order(StringComparer.Ordinal), seen.Select(Line).Order(StringComparer.Ordinal));
        var tls = r.Summary.GetProperty("tls");
        Assert.True(tls.GetProperty("calls").GetInt64() >= 12);
        // The probes sit in nginx's processes only: the clients above ran the same libssl without trapping.
        Assert.Equal(0, tls.GetProperty("untraced_hits").GetInt64());
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
        Assert.All(seen, h => Assert.Null(Str(h, "tls_session")));
        var probed = r.OfType("notice").Select(n => Str(n, "message")).ToList();
        Assert.All(probed, m => Assert.StartsWith("tls: plaintext probes on libssl.so", m));
    }

    [SkippableFact]
    public async Task TlsWriteLargerThanAChunk_IsChunked_AndPastTheSnapLengthCountedAsTruncated()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "openssl");
        using var server = TlsServers.OpenSslWww();
        string script = $"""
            import socket, ssl
            c = ssl._create_unverified_context()
            s = c.wrap_socket(socket.create_connection(("127.0.0.1", {server.Port})), server_hostname="localhost")
            n = s.write(bytes(range(256)) * 160)   # one SSL_write of 40960 bytes
            print(n)
            s.close()
            """;
        foreach (var (snaplen, captured, truncated) in new[] { (65536, 40960, false), (16384, 16384, true) })
        {
            var r = await TattleCli.RunAsync(["run", "-q", "--data", "--snaplen", snaplen.ToString(), "--", Py.Exe, "-c", script]);
            output.WriteLine(r.ToString());
            Assert.Equal(0, r.ExitCode);
            var chunks = r.OfType("data").Where(d => IsTls(d) && Str(d, "dir") == "send").ToList();
            Assert.All(chunks, d => Assert.Equal(40960, d.GetProperty("len").GetInt64()));
            var offsets = chunks.Select(d => d.TryGetProperty("offset", out var o) ? o.GetInt64() : 0).ToList();
            Assert.Equal(Enumerable.Range(0, (captured + 16383) / 16384).Select(i => i * 16384L), offsets);
            Assert.Equal(captured, chunks.Sum(d => d.GetProperty("captured").GetInt32()));
            var bytes = chunks.SelectMany(d => d.GetProperty("b64").GetBytesFromBase64()).ToArray();
            Assert.Equal(Enumerable.Range(0, captured).Select(i => (byte)(i % 256)), bytes);
            Assert.Equal(truncated, chunks.Any(d => d.TryGetProperty("truncated", out var t) && t.GetBoolean()));
        }
    }

    private static void Curl(params string[] args)
    {
        var r = Programs.Run("curl", ["-sSk", .. args]);
        Assert.True(r.ExitCode == 0, $"curl {string.Join(' ', args)}: {r.Stderr}");
    }
}
