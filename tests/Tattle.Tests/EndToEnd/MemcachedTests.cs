using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Tattle.Tests.Support;
using static Tattle.Tests.Support.RecordFields;

namespace Tattle.Tests.EndToEnd;

/// <summary>pymemcache and a meta pipeline against a real memcached, traced end to end: the records count what the server counted.</summary>
[Collection("bpf")]
public sealed class MemcachedTests(ITestOutputHelper output)
{
    /// <summary>N sets, N hits, N misses, a multi-key get, two deletes, then a quiet meta batch ended by mn.</summary>
    private const string Client = """
        import socket, sys
        from pymemcache.client.base import Client
        port, n = int(sys.argv[1]), int(sys.argv[2])
        c = Client(("127.0.0.1", port), default_noreply=False)
        for i in range(n):
            c.set(f"k:{i}", b"v" * (i + 1))
        for i in range(n):
            c.get(f"k:{i}")
            c.get(f"miss:{i}")
        c.get_many(["k:0", "miss:x", "k:1"])
        c.delete("k:0")
        c.delete("k:0")
        c.close()
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"ms m1 2 q\r\nhi\r\nmg m1 v q k\r\nmg nope v q k\r\nmd m1 q O1\r\nmd nope q O2\r\nmn\r\n")
        seen = b""
        while not seen.endswith(b"MN\r\n"):
            seen += s.recv(65536)
        s.close()
        print("done")
        """;

    /// <summary>A memcached of its own on 127.0.0.1, never the system service.</summary>
    private static ServerProcess MemcachedServer()
    {
        int port = ServerProcess.FreeTcpPort();
        var dir = Directory.CreateTempSubdirectory("tattle-memcached-").FullName;
        return ServerProcess.Start("memcached", ["-p", port.ToString(), "-l", "127.0.0.1", "-U", "0", "-u", "root"], port, dir);
    }

    /// <summary>The server's counters (STAT lines), asked on an untraced connection.</summary>
    private static Dictionary<string, long> Stats(int port)
    {
        using var c = new TcpClient("127.0.0.1", port);
        var stream = c.GetStream();
        stream.Write("stats\r\n"u8);
        var text = new StringBuilder();
        var buffer = new byte[65536];
        while (!text.ToString().EndsWith("END\r\n", StringComparison.Ordinal))
        {
            int n = stream.Read(buffer);
            Assert.True(n > 0, "memcached closed the stats connection");
            text.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
        var stats = new Dictionary<string, long>();
        foreach (string line in text.ToString().Split("\r\n"))
        {
            string[] parts = line.Split(' ');
            if (parts is ["STAT", var name, var value] && long.TryParse(value, out long v))
            {
                stats[name] = v;
            }
        }
        return stats;
    }

    [SkippableFact]
    public async Task PymemcacheAndAMetaBatch_MatchTheServersStats()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "memcached");
        Requires.FileFrom(output, "/usr/lib/python3/dist-packages/pymemcache/__init__.py", "python3-pymemcache");
        using var server = MemcachedServer();
        string script = Path.Combine(server.Directory, "client.py");
        File.WriteAllText(script, Client);
        const int n = 20;
        var before = Stats(server.Port);
        var r = await TattleCli.RunAsync(["run", "--", "/usr/bin/python3", script, server.Port.ToString(), n.ToString()]);
        var after = Stats(server.Port);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("done", r.Stdout);
        long Delta(string name) => after[name] - before[name];

        var records = r.OfType("memcached").ToList();
        var retrievals = records.Where(x => Str(x, "command") is "get" or "gets" or "mg").ToList();
        var deletes = records.Where(x => Str(x, "command") is "delete" or "md").ToList();
        long Sum(IEnumerable<JsonElement> xs, string field) => xs.Sum(x => x.GetProperty(field).GetInt64());
        Assert.Equal(Delta("cmd_get"), Sum(retrievals, "keys"));
        Assert.Equal(Delta("get_hits"), Sum(retrievals, "hits"));
        Assert.Equal(Delta("get_misses"), Sum(retrievals, "misses"));
        Assert.Equal(Delta("cmd_set"), (long)records.Count(x => Str(x, "command") is "set" or "ms"));
        Assert.Equal(Delta("delete_hits"), (long)deletes.Count(x => Str(x, "result") is "DELETED" or "HD"));
        Assert.Equal(Delta("delete_misses"), (long)deletes.Count(x => Str(x, "result") is "NOT_FOUND" or "NF"));

        var multi = records.Single(x => Int(x, "keys") == 3);
        Assert.Equal((2, 1, "END"), (Int(multi, "hits"), Int(multi, "misses"), Str(multi, "result")));
        var quiet = records.Where(x => x.TryGetProperty("quiet", out _)).Select(x => $"{Str(x, "command")} {Str(x, "key")} {Str(x, "result")}");
        Assert.Equal(["ms m1 HD", "mg nope EN", "md m1 HD"], quiet);
        Assert.All(records.Where(x => Str(x, "command") != "quit"), x => Assert.NotEqual(JsonValueKind.Null, x.GetProperty("latency_ms").ValueKind));
        Assert.Contains("memcached get k:3 -> hit 4 B", r.Stderr);
        Assert.Contains("memcached get miss:3 -> miss", r.Stderr);
        Assert.Empty(r.OfType("gap"));
    }
}
