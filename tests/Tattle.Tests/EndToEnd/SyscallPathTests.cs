using System.Text.Json;
using Tattle.Tests.Support;

namespace Tattle.Tests.EndToEnd;

/// <summary>
/// The two ways the fast build traces syscalls give the same records: by default (Linux 6.3+) payloads come from the
/// socket layer and only the calls it does not show (socket, connect, accept, bind, listen, shutdown, close, the
/// multi-message calls) run programs, on their own tracepoints; --raw-syscalls runs programs on every syscall. A
/// Python program makes each kind of call once; a UDP socket's close() must be seen when it happens, not at exit.
/// </summary>
[Collection("bpf")]
public sealed class SyscallPathTests(ITestOutputHelper output)
{
    private static string Str(JsonElement r, string name) => r.GetProperty(name).GetString()!;

    private static DateTime Ts(JsonElement r) => DateTime.Parse(Str(r, "ts"), null, System.Globalization.DateTimeStyles.RoundtripKind);

    private const string Script = """
        import socket, time
        srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(); port = srv.getsockname()[1]
        gone = socket.socket(); gone.bind(("127.0.0.1", 0)); refused_port = gone.getsockname()[1]; gone.close()
        c0 = socket.socket()
        try:
            c0.connect(("127.0.0.1", refused_port))
        except ConnectionRefusedError:
            pass
        c0.close()
        c = socket.create_connection(("127.0.0.1", port)); a, _ = srv.accept()
        c.sendall(b"ping" * 10); got = a.recv(100); a.sendall(got.upper()); c.recv(100)
        c.shutdown(socket.SHUT_WR); a.recv(10); a.close(); c.close(); srv.close()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
        v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); v.sendto(b"hello", u.getsockname()); u.recvfrom(100)
        v.close(); u.close()
        time.sleep(0.5)
        print(port, refused_port)
        """;

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task EveryCallKind_SameRecords_AndAUdpCloseWhenItHappens(bool raw)
    {
        Requires.RootAndBpf(output);
        var r = await TattleCli.RunAsync(["run", "--verbose", "--bpf-variant", "fast", .. raw ? new[] { "--raw-syscalls" } : [], "--",
            Py.Exe, "-c", Script]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Contains(raw ? "syscalls traced: every syscall" : "syscalls traced: their own tracepoints (close, socket, connect", r.Stderr);
        var ports = r.Stdout.Trim().Split(' ').Select(int.Parse).ToArray();

        var listen = Assert.Single(r.OfType("listen"));
        Assert.Equal(ports[0], listen.GetProperty("local").GetProperty("port").GetInt32());
        var fail = Assert.Single(r.OfType("conn.fail"), f => Str(f, "proto") == "tcp");
        Assert.Equal("ECONNREFUSED", Str(fail, "error"));
        Assert.Equal(ports[1], fail.GetProperty("remote").GetProperty("port").GetInt32());

        // Both ends of the TCP connection, each with 40 bytes each way, closed by close() (not at exit).
        var exit = r.OfType("process.exit").Single(e => e.GetProperty("pid").GetInt32() == r.Summary.GetProperty("pid").GetInt32());
        var tcp = r.OfType("conn.close").Where(c => Str(c, "proto") == "tcp").ToList();
        Assert.Equal(["client", "server"], tcp.Select(c => Str(c, "role")).Order());
        foreach (var close in tcp)
        {
            Assert.Equal(40, close.GetProperty("bytes_sent").GetInt64());
            Assert.Equal(40, close.GetProperty("bytes_recv").GetInt64());
            Assert.True(Ts(exit) - Ts(close) > TimeSpan.FromMilliseconds(300), "the TCP sockets' close() calls are seen as they happen");
        }
        var udp = r.OfType("conn.close").Where(c => Str(c, "proto") == "udp").ToList();
        Assert.Equal(2, udp.Count);
        Assert.Equal([0L, 5L], udp.Select(c => c.GetProperty("bytes_sent").GetInt64()).Order());
        Assert.Equal([0L, 5L], udp.Select(c => c.GetProperty("bytes_recv").GetInt64()).Order());
        Assert.All(udp, close => Assert.True(Ts(exit) - Ts(close) > TimeSpan.FromMilliseconds(300), "a UDP socket's close() is seen when it happens"));
        Assert.Equal(0, r.Summary.GetProperty("lost").GetInt64());
    }

    [SkippableFact]
    public async Task RawSyscalls_WithNoSyscalls_IsRefused()
    {
        var r = await TattleCli.RunAsync(["run", "--raw-syscalls", "--no-syscalls", "--", "true"]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--raw-syscalls traces every syscall, --no-syscalls and --packets-only none: choose one", r.Stderr);
    }
}
