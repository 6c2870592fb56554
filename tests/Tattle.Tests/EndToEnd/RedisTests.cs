using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Tattle.Tests.Support;
using static Tattle.Tests.Support.RecordFields;

namespace Tattle.Tests.EndToEnd;

/// <summary>redis-cli against a real redis-server, traced end to end: the records count what the server counted.</summary>
[Collection("bpf")]
public sealed class RedisTests(ITestOutputHelper output)
{
    /// <summary>A redis-server of its own on 127.0.0.1, never the system service, persisting nothing.</summary>
    private static ServerProcess RedisServer()
    {
        int port = ServerProcess.FreeTcpPort();
        var dir = Directory.CreateTempSubdirectory("tattle-redis-").FullName;
        return ServerProcess.Start("redis-server", ["--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], port, dir);
    }

    /// <summary>Calls per command from INFO commandstats ("set" → 3, "config|set" → 1), asked by an untraced redis-cli.</summary>
    private static Dictionary<string, long> CommandStats(int port) => Info(port, "commandstats", "cmdstat_", "calls=");

    /// <summary>The ERR errors the server replied (INFO errorstats), asked by an untraced redis-cli.</summary>
    private static long ErrCount(int port) => Info(port, "errorstats", "errorstat_", "count=").GetValueOrDefault("ERR");

    /// <summary>One INFO section's "PREFIXname:…FIELD=N,…" lines as name → N.</summary>
    private static Dictionary<string, long> Info(int port, string section, string prefix, string field)
    {
        var psi = new ProcessStartInfo("redis-cli", ["-p", port.ToString(), "INFO", section]) { RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        string text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var stats = new Dictionary<string, long>();
        foreach (string line in text.Split('\n', StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                string name = line[prefix.Length..line.IndexOf(':')];
                string value = line[(line.IndexOf(field, StringComparison.Ordinal) + field.Length)..].Split(',')[0];
                stats[name] = long.Parse(value);
            }
        }
        return stats;
    }

    /// <summary>The server's calls between two snapshots, less the INFO that took the first.</summary>
    private static Dictionary<string, long> Delta(Dictionary<string, long> before, Dictionary<string, long> after)
    {
        var delta = after.ToDictionary(kv => kv.Key, kv => kv.Value - before.GetValueOrDefault(kv.Key));
        delta["info"]--;
        return delta.Where(kv => kv.Value != 0).ToDictionary();
    }

    private static bool IsUnknownCommand(JsonElement x) =>
        Str(x, "error") is { } e && (e.StartsWith("ERR unknown command", StringComparison.Ordinal) || e.StartsWith("ERR unknown subcommand", StringComparison.Ordinal));

    private static Dictionary<string, long> Recorded(TattleResult r) => Recorded(r.OfType("redis"));

    private static Dictionary<string, long> Recorded(IEnumerable<JsonElement> records) => records
        .Where(x => !x.TryGetProperty("push", out _))
        .GroupBy(x => Str(x, "command")!.ToLowerInvariant().Replace(' ', '|'))
        .ToDictionary(g => g.Key, g => (long)g.Count());

    private void AssertSameCalls(Dictionary<string, long> server, Dictionary<string, long> recorded)
    {
        output.WriteLine("server:   " + string.Join(", ", server.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}={kv.Value}")));
        output.WriteLine("recorded: " + string.Join(", ", recorded.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}={kv.Value}")));
        Assert.Equal(server.OrderBy(kv => kv.Key), recorded.OrderBy(kv => kv.Key));
    }

    [SkippableFact]
    public async Task RedisCliSet_IsOneRecordAndTheLiveLineSaysStatusOk()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "redis-server");
        Requires.Program(output, "redis-cli");
        using var server = RedisServer();
        var before = CommandStats(server.Port);
        var r = await TattleCli.RunAsync(["run", "--", "redis-cli", "-p", server.Port.ToString(), "SET", "k", "v"]);
        var after = CommandStats(server.Port);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);

        AssertSameCalls(Delta(before, after), Recorded(r));
        var set = r.OfType("redis").Single(x => Str(x, "command") == "SET");
        Assert.Equal(("k", 2), (Str(set, "key"), Int(set, "args")));
        var reply = set.GetProperty("reply");
        Assert.Equal(("status", "OK"), (Str(reply, "type"), Str(reply, "value")));
        Assert.True(set.GetProperty("latency_ms").GetDouble() > 0);
        Assert.Contains("redis SET k -> status OK", r.Stderr);
        var row = r.Summary.GetProperty("rows").EnumerateArray().Single(x => Str(x, "proto") == "tcp");
        Assert.Contains("redis", row.GetProperty("protocols").EnumerateArray().Select(p => p.GetString()));
        Assert.Empty(r.OfType("gap"));
    }

    [SkippableFact]
    public async Task StackExchangeRedis_MultiplexedAndPipelined_MatchesTheServersCommandStats()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "redis-server");
        Requires.Program(output, "dotnet");
        using var server = RedisServer();
        long errorsBefore = ErrCount(server.Port);
        var before = CommandStats(server.Port);
        var r = await TattleCli.RunAsync(["run", "--", .. DbClients.Command("redis", $"127.0.0.1:{server.Port}", "200")]);
        var after = CommandStats(server.Port);
        long errorsAfter = ErrCount(server.Port);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("sets 200 gets 199", r.Stdout); // k0's value is the empty string: a hit, but no value

        // The driver's own handshake (CLIENT SETNAME, INFO, CONFIG GET, SUBSCRIBE on a second connection…) counts too.
        // Commands this server does not know (CLIENT SETINFO came with Redis 7.2, SENTINEL is for sentinels) have
        // no commandstats line: the server counts them only as ERR errors, as it does CLUSTER's on a lone server.
        var known = r.OfType("redis").Where(x => !IsUnknownCommand(x)).ToList();
        AssertSameCalls(Delta(before, after), Recorded(known));
        Assert.Equal(errorsAfter - errorsBefore, r.OfType("redis").Count(x => Str(x, "error")?.StartsWith("ERR ", StringComparison.Ordinal) == true));
        var gets = r.OfType("redis").Where(x => Str(x, "command") == "GET" && Str(x, "key")![0] == 'k').ToList();
        Assert.Equal(200, gets.Count);
        Assert.Equal(Enumerable.Range(0, 200).Select(i => (long)i).Order(), gets.Select(g => g.GetProperty("reply").GetProperty("size").GetInt64()).Order());
        Assert.Empty(r.OfType("gap"));
    }

    [SkippableFact]
    public async Task RedisCliPipeOfAThousandCommands_MatchesTheServersCommandStats()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, "redis-server");
        Requires.Program(output, "redis-cli");
        using var server = RedisServer();
        var commands = new StringBuilder();
        for (int i = 0; i < 1000; i++)
        {
            string[] words = (i % 4) switch
            {
                0 => ["SET", $"key:{i}", new string('x', i)],
                1 => ["GET", $"key:{i - 1}"],
                2 => ["INCR", "counter"],
                _ => ["LPUSH", "list", $"item {i}"],
            };
            commands.Append('*').Append(words.Length).Append("\r\n");
            foreach (string w in words)
            {
                commands.Append('$').Append(Encoding.UTF8.GetByteCount(w)).Append("\r\n").Append(w).Append("\r\n");
            }
        }
        string file = Path.Combine(server.Directory, "commands.resp");
        File.WriteAllText(file, commands.ToString());

        var before = CommandStats(server.Port);
        var r = await TattleCli.RunAsync(["run", "--", "sh", "-c", $"redis-cli -p {server.Port} --pipe < {file}"]);
        var after = CommandStats(server.Port);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("errors: 0, replies: 1000", r.Stdout);

        // --pipe ends with an ECHO of its own to know the last reply came: the server counts it too.
        AssertSameCalls(Delta(before, after), Recorded(r));
        var records = r.OfType("redis").ToList();
        Assert.All(records, x => Assert.NotEqual(JsonValueKind.Null, x.GetProperty("reply").ValueKind));
        var gets = records.Where(x => Str(x, "command") == "GET").ToList();
        Assert.Equal(250, gets.Count);
        Assert.Equal(Enumerable.Range(0, 250).Select(i => (long)(i * 4)), gets.Select(g => g.GetProperty("reply").GetProperty("size").GetInt64()));
        Assert.Empty(r.OfType("gap"));

        // The summary row of the server's endpoint counts every command, all answered, with their percentiles.
        var row = r.Summary.GetProperty("rows").EnumerateArray()
            .Single(x => Str(x, "proto") == "tcp" && x.GetProperty("endpoint").GetProperty("port").GetInt32() == server.Port);
        Assert.Equal(records.Count, Int(row, "requests"));
        Assert.Equal(0, Int(row, "unanswered"));
        var latencies = records.Select(x => x.GetProperty("latency_ms").GetDouble()).Order().ToList();
        double p50 = row.GetProperty("p50_ms").GetDouble(), p99 = row.GetProperty("p99_ms").GetDouble();
        // HdrHistogram keeps 2 significant digits: within 1% (and 1 µs) of the exact order statistics.
        Assert.InRange(p50, latencies[(latencies.Count - 1) / 2] * 0.99 - 0.001, latencies[latencies.Count / 2] * 1.01 + 0.001);
        Assert.InRange(p99, latencies[(int)Math.Ceiling(latencies.Count * 0.99) - 1] * 0.99 - 0.001, latencies[^1] * 1.01 + 0.001);
        Assert.Matches($@"127\.0\.0\.1:{server.Port} .*redis .* {Int(row, "requests")} +[0-9.]+ ms +[0-9.]+ ms", r.Stderr);
    }
}
