using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Tattle.Tests.Support;
using static Tattle.Tests.Support.RecordFields;

namespace Tattle.Tests.EndToEnd;

/// <summary>
/// Go's crypto/tls read in plaintext end to end: Go programs built here (plain and stripped), as clients of a Go
/// HTTP/2 server and of OpenSSL's HTTP/1 one, as a server traced by attach, and many goroutines on two threads.
/// </summary>
[Collection("bpf")]
public sealed class GoTlsTests(ITestOutputHelper output)
{
    private static ServerProcess GoServer(GoPrograms go)
    {
        var dir = Directory.CreateTempSubdirectory("tattle-go-tls-").FullName;
        var cert = TestCertificate.CreateIn(dir);
        int port = ServerProcess.FreeTcpPort();
        return ServerProcess.Start(go.Stripped, ["serve", $"127.0.0.1:{port}", cert.CertPath, cert.KeyPath], port, dir);
    }

    private string Binary(GoPrograms go, string build) => build == "stripped" ? go.Stripped : go.Plain;

    [SkippableTheory]
    [InlineData("stripped")]
    [InlineData("plain")]
    public async Task GoClient_Http2ToGoServer_IsShownInPlaintext(string build)
    {
        Requires.RootAndBpf(output);
        var go = GoPrograms.Get(output);
        using var server = GoServer(go);
        var r = await TattleCli.RunAsync(["run", "-q", "--", Binary(go, build), "get", $"https://127.0.0.1:{server.Port}/x"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("200 OK HTTP/2.0", r.Stdout);

        var exchange = Assert.Single(r.OfType("http"));
        Assert.True(IsTls(exchange));
        Assert.Equal(("GET", "/x", "2", 200), (Str(exchange, "method"), Str(exchange, "path"), Str(exchange, "version"), exchange.GetProperty("status").GetInt32()));
        Assert.Equal("client", Str(exchange, "role"));
        Assert.Equal(server.Port, exchange.GetProperty("remote").GetProperty("port").GetInt32());
        Assert.Null(Str(exchange, "tls_session"));
        // The preface, SETTINGS and HEADERS all came through, once each: no gap on either side.
        Assert.Empty(r.OfType("gap"));
        var tls = r.Summary.GetProperty("tls");
        long calls = tls.GetProperty("calls").GetInt64(), hits = tls.GetProperty("probe_hits").GetInt64();
        Assert.True(calls >= 2);
        // Each Read adds a hit on one of its RETs; a Write is read at entry alone.
        Assert.InRange(hits, calls + 1, 2 * calls - 1);
        Assert.Equal(0, tls.GetProperty("without_socket").GetInt64());
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
    }

    [SkippableFact]
    public async Task StrippedGoClient_Http1ToOpenSsl_ShowsTheLiveLine()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "openssl");
        var go = GoPrograms.Get(output);
        using var server = TlsServers.OpenSslWww();
        var r = await TattleCli.RunAsync(["run", "--", go.Stripped, "get", $"https://127.0.0.1:{server.Port}/x"], json: false);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Matches(@$"stripped\[\d+\] https GET 127\.0\.0\.1:{server.Port}/x -> 200 ", r.Stderr);
    }

    [SkippableFact]
    public async Task GoServer_TracedByAttach_SeesEachRequestAsServer()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "curl");
        var go = GoPrograms.Get(output);
        using var server = GoServer(go);
        using var tattle = TattleCli.Start(["attach", "-q", "-p", server.Pid.ToString(CultureInfo.InvariantCulture)]);
        await tattle.WaitForRecordsAsync("notice", 1);
        string url = $"https://127.0.0.1:{server.Port}";
        Assert.Equal(0, Programs.Run("curl", "-sk", "--http2", "-o", "/dev/null", url + "/over-h2").ExitCode);
        Assert.Equal(0, Programs.Run("curl", "-sk", "--http1.1", "-o", "/dev/null", url + "/over-h1").ExitCode);
        await Task.Delay(300);
        var r = await tattle.StopAsync();
        output.WriteLine(r.ToString());

        var http = r.OfType("http").ToList();
        foreach (var (path, version) in (ReadOnlySpan<(string, string)>)[("/over-h2", "2"), ("/over-h1", "HTTP/1.1")])
        {
            var exchange = Assert.Single(http, h => Str(h, "path") == path);
            Assert.True(IsTls(exchange));
            Assert.Equal(("server", version, 200), (Str(exchange, "role"), Str(exchange, "version"), exchange.GetProperty("status").GetInt32()));
        }
        Assert.Equal(0, r.Summary.GetProperty("tls").GetProperty("without_socket").GetInt64());
    }

    [SkippableFact]
    public async Task TwoThreadsWritingASessionsFirstPlaintextAtOnce_EachByteIsSeenOnce()
    {
        Requires.RootAndBpf(output);
        var go = GoPrograms.Get(output);
        using var server = GoServer(go);
        // Each connection's first two writes race into the kernel from two threads. When both found no entry for
        // the session, the second insert used to replace the first, restarting the send position the first write
        // had taken: the third request then overlapped bytes already seen (a gap in 4 to 24 % of connections).
        const int Conns = 40;
        var r = await TattleCli.RunAsync(["run", "-q", "--", go.Stripped, "race", $"127.0.0.1:{server.Port}", $"{Conns}"]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Contains($"done {Conns}", r.Stdout);
        Assert.Empty(r.OfType("gap"));
        var byConnection = r.OfType("http").GroupBy(h => Str(h, "conn")).ToList();
        Assert.Equal(Conns, byConnection.Count);
        foreach (var exchanges in byConnection)
        {
            var paths = exchanges.Select(h => Str(h, "path")!).Order(StringComparer.Ordinal).ToList();
            string prefix = paths[0][..paths[0].LastIndexOf('/')];
            Assert.Equal([$"{prefix}/a", $"{prefix}/b", $"{prefix}/c"], paths);
            Assert.All(exchanges, h => Assert.Equal(200, h.GetProperty("status").GetInt32()));
        }
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
    }

    [SkippableFact]
    public async Task TlsCommand_ListsAStrippedGoServer_WithItsRets()
    {
        var go = GoPrograms.Get(output);
        using var server = GoServer(go);
        var text = await TattleCli.RunAsync(["tls", "-p", server.Pid.ToString(CultureInfo.InvariantCulture)], json: false);
        output.WriteLine(text.ToString());
        Assert.Equal(0, text.ExitCode);
        Assert.Matches(@$"(?m)^  crypto/tls\.\(\*Conn\)\.Write\s+write\s+0x[0-9a-f]+\s+go\s+{go.Version} stripped\s+{Regex.Escape(go.Stripped)}$", text.Stdout);
        Assert.Matches(@"(?m)^  crypto/tls\.\(\*Conn\)\.Read\s+ret\s+0x[0-9a-f]+\s+go\s", text.Stdout);

        var json = await TattleCli.RunAsync(["tls", "--json", "-p", server.Pid.ToString(CultureInfo.InvariantCulture)], json: false);
        using var doc = JsonDocument.Parse(json.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Single(l => l.Contains("\"go\"", StringComparison.Ordinal)));
        var lib = doc.RootElement;
        Assert.True(lib.GetProperty("stripped").GetBoolean());
        Assert.Equal(go.Version, lib.GetProperty("version").GetString());
        // The offsets are the reader's: the entry, the probe at or past the stack check, each RET of Read.
        var info = Tattle.Capture.Tls.Go.GoBinary.Read(go.Stripped);
        var read = lib.GetProperty("functions").EnumerateArray().Single(f => f.GetProperty("role").GetString() == "read");
        Assert.Equal(info.Function("crypto/tls.(*Conn).Read")!.FileOffset, read.GetProperty("offset").GetUInt64());
        Assert.Equal(info.Function("crypto/tls.(*Conn).Read")!.ProbeOffset, read.GetProperty("probe_offset").GetUInt64());
        Assert.True(info.Function("crypto/tls.(*Conn).Read")!.ProbeOffset >= info.Function("crypto/tls.(*Conn).Read")!.BodyOffset);
        Assert.Equal(info.Function("crypto/tls.(*Conn).Read")!.ReturnOffsets, read.GetProperty("ret_offsets").EnumerateArray().Select(e => e.GetUInt64()));
    }

    [SkippableFact]
    public async Task GoBeforeTheRegisterAbi_IsNamedInTheSummary_NotProbed()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "openssl");
        var go = GoPrograms.Get(output);
        // The same program, its build info saying go1.16: the version decides, and before 1.17 arguments were on the stack.
        string old = Path.Combine(Directory.CreateTempSubdirectory("tattle-go-old-").FullName, "old");
        var bytes = File.ReadAllBytes(go.Stripped);
        Assert.Equal(Tattle.Capture.Elf.ElfStatus.Ok, Tattle.Capture.Elf.ElfFile.Open(go.Stripped, out var elf));
        Tattle.Capture.Elf.ElfSection info;
        using (elf)
        {
            Assert.True(elf!.TryFindSection(".go.buildinfo", out info));
        }
        var section = bytes.AsSpan((int)info.Offset, (int)info.Size);
        int at = section.IndexOf(System.Text.Encoding.ASCII.GetBytes(go.Version));
        Assert.True(at > 0);
        System.Text.Encoding.ASCII.GetBytes("go1.16").CopyTo(section[at..]);
        File.WriteAllBytes(old, bytes);
        File.SetUnixFileMode(old, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        using var server = TlsServers.OpenSslWww();
        var r = await TattleCli.RunAsync(["run", "--", old, "get", $"https://127.0.0.1:{server.Port}/x"], json: false);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Matches(@"TLS: not probed: \S+/old: Go crypto/tls: go1\.16\S* passes arguments on the stack", r.Stderr);
        Assert.DoesNotContain("https GET", r.Stderr);
    }

    [SkippableTheory]
    [InlineData("h2")]
    [InlineData("h1")]
    public async Task ManyGoroutines_OnTwoThreads_EveryRequestOnItsConnectionOnce(string proto)
    {
        Requires.RootAndBpf(output);
        var go = GoPrograms.Get(output);
        using var server = GoServer(go);
        const int Conns = 20, Requests = 10;
        var r = await TattleCli.RunAsync(["run", "-q", "--", go.Stripped, "load", $"https://127.0.0.1:{server.Port}", $"{Conns}", $"{Requests}", proto]);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains($"done {Conns * Requests}", r.Stdout);

        // What the program says its connections were: cK LOCALPORT.
        var portOf = r.Stdout.Split('\n').Where(l => l.StartsWith('c') && l.Contains(' '))
            .Select(l => l.Split(' ')).ToDictionary(p => p[0], p => int.Parse(p[1], CultureInfo.InvariantCulture));
        Assert.Equal(Conns, portOf.Count);
        var localPortOfConn = r.OfType("conn.open").ToDictionary(o => Str(o, "conn")!, o => o.GetProperty("local").GetProperty("port").GetInt32());

        var http = r.OfType("http").Where(h => Str(h, "path") is { } p && p.StartsWith("/c", StringComparison.Ordinal)).ToList();
        var paths = http.Select(h => Str(h, "path")!).ToList();
        Assert.Equal(Conns * Requests, paths.Count);
        Assert.Equal(paths.Count, paths.Distinct().Count());
        foreach (var h in http)
        {
            string client = Str(h, "path")!.Split('/')[1];
            Assert.True(localPortOfConn.TryGetValue(Str(h, "conn")!, out int port), $"{Str(h, "path")} has no connection");
            Assert.Equal(portOf[client], port);
            Assert.Equal(200, h.GetProperty("status").GetInt32());
        }
        Assert.Equal(0, r.Summary.GetProperty("tls").GetProperty("without_socket").GetInt64());
        Assert.Equal(0, r.Summary.GetProperty("tls").GetProperty("socket_mismatches").GetInt64());
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
        Assert.Empty(r.OfType("gap"));
    }
}
