using System.Text.Json;
using Tattle.Tests.Support;
using static Tattle.Tests.Support.RecordFields;

namespace Tattle.Tests.EndToEnd;

/// <summary>A websockets-library client traced against an echo server of the test's own: the records count what the client sent.</summary>
[Collection("bpf")]
public sealed class WebSocketTests(ITestOutputHelper output)
{
    private const string Server = """
        import asyncio, sys, websockets
        async def echo(ws, *_):
            try:
                async for m in ws:
                    await ws.send(m)
            except websockets.ConnectionClosed:
                pass
        async def main():
            async with websockets.serve(echo, "127.0.0.1", int(sys.argv[1]), compression=None, max_size=None):
                print("ready", flush=True)
                await asyncio.Future()
        asyncio.run(main())
        """;

    /// <summary>Text messages (one fragmented), binary ones (one of 70 000 bytes: a 64-bit length), a ping, a close; prints its counts.</summary>
    private const string Client = """
        import asyncio, sys, websockets
        async def main():
            counts = {"text": 0, "binary": 0, "ping": 0}
            sent = 0
            async with websockets.connect(f"ws://127.0.0.1:{sys.argv[1]}/", compression=None, max_size=None) as ws:
                for i in range(5):
                    m = f"message {i}"
                    await ws.send(m); await ws.recv(); counts["text"] += 1; sent += len(m)
                await ws.send(["frag", "ment"]); await ws.recv(); counts["text"] += 1; sent += 8
                for size in (10, 70000):
                    await ws.send(b"b" * size); await ws.recv(); counts["binary"] += 1; sent += size
                await (await ws.ping(b"hi")); counts["ping"] += 1
                await ws.close(code=1000, reason="done")
            print(" ".join(f"{k}={v}" for k, v in counts.items()), f"bytes={sent}")
        asyncio.run(main())
        """;

    [SkippableFact]
    public async Task WebSocketsClient_MessagesMatchItsCountsAndTheUpgradeIsHttp()
    {
        Requires.RootAndBpf(output);
        Requires.FileFrom(output, "/usr/lib/python3/dist-packages/websockets/__init__.py", "python3-websockets");
        int port = ServerProcess.FreeTcpPort();
        using var server = ServerProcess.Python(Server, port);
        string script = Path.Combine(server.Directory, "ws_client.py");
        File.WriteAllText(script, Client);
        var r = await TattleCli.RunAsync(["run", "--", "/usr/bin/python3", script, port.ToString()]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("text=6 binary=2 ping=1 bytes=70063", r.Stdout);

        var upgrade = r.OfType("http").Single();
        Assert.Equal(101, upgrade.GetProperty("status").GetInt32());
        var ws = r.OfType("websocket").ToList();
        var sent = ws.Where(x => Str(x, "sender") == "client").ToList();
        var received = ws.Where(x => Str(x, "sender") == "server").ToList();
        Assert.Equal(6, sent.Count(x => Str(x, "opcode") == "text"));
        Assert.Equal(2, sent.Count(x => Str(x, "opcode") == "binary"));
        Assert.Equal(70063, sent.Where(x => Str(x, "opcode") is "text" or "binary").Sum(x => x.GetProperty("bytes").GetInt64()));
        Assert.All(sent, x => Assert.True(x.GetProperty("masked").GetBoolean()));
        // Two fragments and the empty final continuation frame websockets ends them with.
        Assert.Equal(3, sent.Single(x => Str(x, "opcode") == "text" && Int(x, "frames") > 1).GetProperty("frames").GetInt32());
        Assert.Single(sent, x => Str(x, "opcode") == "ping");
        var pong = received.Single(x => Str(x, "opcode") == "pong");
        Assert.NotEqual(JsonValueKind.Null, pong.GetProperty("latency_ms").ValueKind);
        Assert.Equal(8, received.Count(x => Str(x, "opcode") is "text" or "binary"));
        Assert.All(new[] { sent, received }, side => Assert.Equal(1000, Int(side.Single(x => Str(x, "opcode") == "close"), "close_code")));
        Assert.Equal("done", Str(sent.Single(x => Str(x, "opcode") == "close"), "close_reason"));
        Assert.Contains("ws text 1 frame 9 B ->", r.Stderr);
        Assert.Contains("ws <- close 1000 \"done\"", r.Stderr);
        Assert.Empty(r.OfType("gap"));
    }
}
