using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Tattle.Tests.Support;
using static Tattle.Tests.Support.RecordFields;

namespace Tattle.Tests.EndToEnd;

/// <summary>
/// Long HTTP/1 bodies are counted in the kernel, not copied, once the parser reads them: the same records as when
/// every byte is copied (--copy-bodies), in both directions, through the real programs.
/// </summary>
[Collection("bpf")]
public sealed partial class LongBodyTests(ITestOutputHelper output)
{
    private const int Body = 2 * 1024 * 1024;

    /// <summary>
    /// One process, a server thread and a client on one keep-alive connection: two 2 MiB downloads with a small one
    /// between, and a 2 MiB upload. The bodies go in 32 KiB writes 2 ms apart, so most of each is sent after tattle
    /// has read its head.
    /// </summary>
    private const string Script = """
        import http.client, socket, sys, threading, time
        SIZE, PIECE = 2 * 1024 * 1024, 32768
        srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
        def serve():
            c, _ = srv.accept()
            f = c.makefile("rb")
            while True:
                line = f.readline()
                if not line: break
                length = 0
                while True:
                    h = f.readline()
                    if h in (b"\r\n", b""): break
                    if h.lower().startswith(b"content-length:"): length = int(h.split(b":")[1])
                got = 0
                while got < length:
                    got += len(f.read1(min(65536, length - got)))
                n = SIZE if line.startswith(b"GET /big") else 5
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n)
                if n == 5:
                    c.sendall(b"small"); continue
                piece = bytes(range(256)) * (PIECE // 256)
                for i in range(0, n, PIECE):
                    c.sendall(piece[:min(PIECE, n - i)]); time.sleep(0.002)
            c.close()
        threading.Thread(target=serve, daemon=True).start()
        conn = http.client.HTTPConnection("127.0.0.1", srv.getsockname()[1])
        for path in ["/big/1", "/small", "/big/2"]:
            conn.request("GET", path); r = conn.getresponse(); print(path, r.status, len(r.read()))
        up = b"u" * SIZE
        def pieces():
            for i in range(0, SIZE, PIECE):
                yield up[i:i + PIECE]; time.sleep(0.002)
        conn.request("POST", "/upload", body=pieces(), headers={"Content-Length": str(SIZE)})
        r = conn.getresponse(); print("/upload", r.status, len(r.read()))
        conn.close()
        """;

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task LongBodies_BothDirections_SameRecordsAsCopyingThem_MostBytesCountedNotCopied(bool noSyscalls)
    {
        Requires.RootAndBpf(output);
        string dir = Directory.CreateTempSubdirectory("tattle-bodies").FullName;
        try
        {
            string script = Path.Combine(dir, "bodies.py");
            File.WriteAllText(script, Script);
            // A snap length above every call's size: what is not copied is only what was skipped.
            string[] common = noSyscalls ? ["run", "--verbose", "--snaplen", "1048576", "--no-syscalls", "--bpf-variant", "fast"]
                : ["run", "--verbose", "--snaplen", "1048576"];
            var skipping = await TattleCli.RunAsync([.. common, "--", Py.Exe, script]);
            output.WriteLine(skipping.ToString());
            var copying = await TattleCli.RunAsync([.. common, "--copy-bodies", "--", Py.Exe, script]);
            output.WriteLine(copying.ToString());

            foreach (var r in new[] { skipping, copying })
            {
                Assert.Equal(0, r.ExitCode);
                Assert.Equal($"/big/1 200 {Body}\n/small 200 5\n/big/2 200 {Body}\n/upload 200 5\n", r.Stdout);
                Assert.Empty(r.OfType("gap"));
                Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
            }
            // Each exchange twice (the client's and the server's), with the same sizes either way, and nothing unseen.
            Assert.Equal(Exchanges(copying), Exchanges(skipping));
            Assert.Equal(8, Exchanges(skipping).Count);
            // Heads: the GET's 73 bytes and the POST's 100 (a five-digit port in Host), the 200's 44 and 43.
            Assert.Contains(("client GET /big/1 200", 73L, Body + 44L), Exchanges(skipping));
            Assert.Contains(("server POST /upload 200", Body + 100L, 43L), Exchanges(skipping));
            Assert.All(skipping.OfType("http"), h => Assert.False(h.TryGetProperty("unseen_bytes", out _), h.GetRawText()));
            // A skipped message is still counted once in its connection's bytes.
            Assert.Equal(ClosedBytes(copying), ClosedBytes(skipping));
            Assert.Contains((73L * 3 + Body + 100, 2 * (Body + 44L) + 43 * 2), ClosedBytes(skipping));

            // Six bodies of 2 MiB crossed the two sockets (each seen once sent and once received): most not copied.
            long skipped = long.Parse(SkippedLine().Match(skipping.Stderr).Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.InRange(skipped, 3L * Body, 6L * Body);
            Assert.DoesNotMatch(SkippedLine(), copying.Stderr);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static List<(string Key, long Req, long Resp)> Exchanges(TattleResult r) =>
        [.. r.OfType("http")
            .Select(h => ($"{Str(h, "role")} {Str(h, "method")} {Str(h, "path")} {Int(h, "status")}",
                h.GetProperty("req_bytes").GetInt64(), h.GetProperty("resp_bytes").GetInt64()))
            .OrderBy(e => e.Item1, StringComparer.Ordinal)];

    private static List<(long Sent, long Recv)> ClosedBytes(TattleResult r) =>
        [.. r.OfType("conn.close").Where(c => Str(c, "proto") == "tcp")
            .Select(c => (c.GetProperty("bytes_sent").GetInt64(), c.GetProperty("bytes_recv").GetInt64())).Order()];

    [GeneratedRegex(@"body bytes counted in the kernel, not copied: (\d+)")]
    private static partial Regex SkippedLine();
}
