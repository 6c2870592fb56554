using System.Text.Json;
using Tattle.Tests.Support;
using static Tattle.Tests.Support.RecordFields;

namespace Tattle.Tests.EndToEnd;

/// <summary>
/// TLS plaintext through the uprobes, end to end: real clients of OpenSSL (dynamic and static) and GnuTLS against
/// local TLS servers, and nginx over TLS traced by attach.
/// </summary>
[Collection("bpf")]
public sealed class TlsTests(ITestOutputHelper output)
{
    public static TheoryData<string> Clients => ["curl", "python", "openssl", "wget", "node", "dotnet"];

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
        _ => throw new ArgumentException(client),
    };

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
        Assert.True(tls.GetProperty("calls").GetInt64() >= 2);
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
    public async Task ChildThatExecsCurl_IsProbedFromItsExec()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        Requires.Program(output, "openssl");
        using var server = TlsServers.OpenSslWww();
        // The shell is the traced command; curl is its child, probed when it execs (before it maps libssl).
        var r = await TattleCli.RunAsync(["run", "-q", "--", "sh", "-c",
            $"for i in 1 2 3; do curl -sk -o /dev/null https://localhost:{server.Port}/child-$i; done"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        var paths = r.OfType("http").Where(IsTls).Select(h => Str(h, "path")).Order().ToList();
        Assert.Equal(["/child-1", "/child-2", "/child-3"], paths);
        Assert.Equal(3, r.OfType("http").Where(IsTls).Select(h => h.GetProperty("pid").GetInt32()).Distinct().Count());
        // Probed before they ran: no notice per process (a build would print one per compiler).
        Assert.Empty(r.OfType("notice"));
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
