using System.Text.Json;
using Tattle.Tests.Support;

namespace Tattle.Tests.EndToEnd;

/// <summary>--http-in-kernel: one http record per request from the heads the kernel programs read.</summary>
[Collection("bpf")]
public sealed class HttpInKernelTests(ITestOutputHelper output)
{
    private static string? Str(JsonElement r, string name) => r.GetProperty(name).GetString();

    /// <summary>
    /// What the kernel's records and the parsers' have in common, one line per record, sorted; the Host without the
    /// run's port.
    /// </summary>
    private static List<string> Exchanges(TattleResult r) =>
        [.. r.OfType("http").Select(x => $"{Str(x, "role")} {Str(x, "method")} {Str(x, "path")} {Str(x, "host")?.Split(':')[0]} {Str(x, "version")} "
            + $"{x.GetProperty("status")} {x.GetProperty("req_bytes")}/{x.GetProperty("resp_bytes")}").Order(StringComparer.Ordinal)];

    /// <summary>
    /// The same traffic traced by the parsers and read in the kernel (on either path) gives the same exchanges, each
    /// with its own time and latency, in batches of 32 and partial ones; Redis still reaches its parser.
    /// </summary>
    [SkippableFact]
    public async Task Records_AreTheExchangesTheParsersSee_OnBothSides()
    {
        Requires.RootAndBpf(output);
        var parsed = await TattleCli.RunAsync(["run", "--", Py.Exe, "-c", StatsTests.BothRolesScript]);
        output.WriteLine(parsed.ToString());
        Assert.Equal(0, parsed.ExitCode);
        var expected = Exchanges(parsed);
        Assert.Equal(2 * 108, expected.Count);
        foreach (var path in new[] { "", "--no-syscalls --bpf-variant fast" })
        {
            var r = await TattleCli.RunAsync(["run", "--http-in-kernel", .. path.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--", Py.Exe, "-c", StatsTests.BothRolesScript]);
            output.WriteLine(r.ToString());
            Assert.Equal(0, r.ExitCode);
            Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
            Assert.Equal(expected, Exchanges(r));
            var http = r.OfType("http").ToList();
            Assert.All(http, x => Assert.True(x.GetProperty("in_kernel").GetBoolean()));
            Assert.All(http, x => Assert.True(x.GetProperty("latency_ms").GetDouble() > 0, x.GetRawText()));
            Assert.All(http, x => Assert.False(string.IsNullOrEmpty(Str(x, "conn")), x.GetRawText()));
            // Each request its own time: the client's 100 pings, sharing their batches, are 100 distinct moments.
            var pings = http.Where(x => Str(x, "role") == "client" && Str(x, "path") == "/ping").Select(x => x.GetProperty("ts").GetString()!).ToList();
            Assert.Equal(100, pings.Distinct().Count());
            Assert.Equal(6, r.OfType("redis").Count()); // three PINGs, as the client and the server saw them
            Assert.Equal(parsed.OfType("redis").Count(), r.OfType("redis").Count());
        }
    }

    /// <summary>
    /// Without syscalls traced a socket ends at TCP's CLOSE state, where the kernel writes its last requests; a client
    /// that closes and connects again has its new socket at the old fd by then, while the server holds its side
    /// open. Each request is still its own connection's.
    /// </summary>
    [SkippableFact]
    public async Task NoSyscalls_RequestsWrittenAfterTheirFdWasTakenAgain_KeepTheirConnection()
    {
        Requires.RootAndBpf(output);
        const string script = """
            import socket, threading, time
            srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
            def one(c):
                while True:
                    if not c.recv(1000): break
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                time.sleep(0.5); c.close()
            def serve():
                while True:
                    c, _ = srv.accept(); threading.Thread(target=one, args=(c,), daemon=True).start()
            threading.Thread(target=serve, daemon=True).start()
            for i in range(3):
                s = socket.create_connection(srv.getsockname())
                s.sendall(f"GET /conn{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode()); s.recv(1000)
                s.close()
            time.sleep(1)
            """;
        var r = await TattleCli.RunAsync(["run", "--http-in-kernel", "--no-syscalls", "--bpf-variant", "fast", "--", Py.Exe, "-c", script]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        var opened = r.OfType("conn.open").Where(x => Str(x, "role") == "client").Select(x => Str(x, "conn")).ToHashSet();
        var client = r.OfType("http").Where(x => Str(x, "role") == "client").ToList();
        Assert.Equal(["/conn0", "/conn1", "/conn2"], client.Select(x => Str(x, "path")!).Order(StringComparer.Ordinal));
        Assert.All(client, x => Assert.Contains(Str(x, "conn"), opened));
        Assert.Equal(3, client.Select(x => Str(x, "conn")).Distinct().Count());
        Assert.Equal(3, r.OfType("http").Count(x => Str(x, "role") == "server" && x.GetProperty("status").GetInt32() == 200));
    }

    /// <summary>nginx with sendfile on the default path: a record for every request in its access log, with its
    /// status, and the bytes of bodies sent without a write.</summary>
    [SkippableFact]
    public async Task Nginx_EveryLoggedRequestHasItsRecord_WithTheBytesSentByFile()
    {
        var (logged, records) = await StatsTests.AttachToNginxAsync(output, ["--http-in-kernel"], "/nope?token=s3cret");
        var http = records.Where(r => Str(r, "type") == "http" && Str(r, "role") == "server").ToList();
        Assert.Equal(logged.Count, http.Count);
        Assert.All(http, x => Assert.Equal(("GET", "HTTP/1.1", "127.0.0.1"), (Str(x, "method"), Str(x, "version"), Str(x, "host")?.Split(':')[0])));
        Assert.Equal(["/a.txt 200", "/a.txt 200", "/a.txt 200", "/a.txt 200", "/a.txt 200", "/big.bin 200", "/big.bin 200",
            "/nope?token=REDACTED 404", "/nope?token=REDACTED 404", "/nope?token=REDACTED 404"],
            http.Select(x => $"{Str(x, "path")} {x.GetProperty("status")}").Order(StringComparer.Ordinal));
        Assert.All(http.Where(x => Str(x, "path") == "/big.bin"), x => Assert.True(x.GetProperty("resp_bytes").GetInt64() > 5 << 20, x.GetRawText()));
        Assert.DoesNotContain(records, r => r.GetRawText().Contains("s3cret", StringComparison.Ordinal));
        var summary = records.Single(r => Str(r, "type") == "summary");
        Assert.Equal(0, summary.GetProperty("lost").GetInt64());
    }
}
