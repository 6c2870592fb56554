using System.Text.Json;
using Tattle.Tests.Support;
using static Tattle.Tests.Support.RecordFields;

namespace Tattle.Tests.EndToEnd;

/// <summary>
/// Both ends of ZeroMQ socket pairs in one traced python3-zmq process (testdata/zmtp/peers.py): the records count
/// what the script counted it sent, on each end's connection.
/// </summary>
[Collection("bpf")]
public sealed class ZmtpTests(ITestOutputHelper output)
{
    private const string Python = "/usr/bin/python3";

    private static readonly string Script = Path.Combine(AppContext.BaseDirectory, "testdata", "zmtp", "peers.py");

    private void RequireZmq()
    {
        Requires.RootAndBpf(output);
        Requires.Program(output, Python);
        Requires.FileFrom(output, "/usr/lib/python3/dist-packages/zmq/__init__.py", "python3-zmq");
    }

    private async Task<(TattleResult Result, JsonElement Counts)> RunAsync(string mode)
    {
        var r = await TattleCli.RunAsync(["run", "--", Python, Script, mode]);
        output.WriteLine(r.ToString());
        Assert.Equal(0, r.ExitCode);
        string printed = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(l => l.StartsWith('{'));
        return (r, JsonDocument.Parse(printed).RootElement);
    }

    /// <summary>The message records of one end of the connections: "REQ->REP" → (messages, frames).</summary>
    private static Dictionary<string, (int Messages, long Frames)> Messages(TattleResult r, string role) => r.OfType("zmtp")
        .Where(x => Str(x, "role") == role && Str(x, "kind") == "message")
        .GroupBy(x => $"{Str(x, "socket_type")}->{Str(x, "peer_socket_type")}")
        .ToDictionary(g => g.Key, g => (g.Count(), g.Sum(x => x.GetProperty("frames").GetInt64())));

    [SkippableFact]
    public async Task SocketPairs_EachEndRecordsTheMessagesTheScriptSent()
    {
        RequireZmq();
        var (r, counts) = await RunAsync("pairs");
        int Sent(string pair) => counts.GetProperty(pair).GetProperty("sent").GetInt32();
        long Frames(string pair) => counts.GetProperty(pair).GetProperty("sent_frames").GetInt64();

        foreach (string role in new[] { "client", "server" })
        {
            var recorded = Messages(r, role);
            output.WriteLine($"{role}: " + string.Join(", ", recorded.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}={kv.Value}")));
            // REQ adds an empty delimiter frame on the wire, and so does REP to its reply: one per message.
            int requests = Sent("REQ->REP");
            Assert.Equal(
                new Dictionary<string, (int, long)>
                {
                    ["REQ->REP"] = (requests, Frames("REQ->REP") + requests),
                    ["PUB->SUB"] = (Sent("PUB->SUB"), Frames("PUB->SUB")),
                    ["DEALER->ROUTER"] = (Sent("DEALER->ROUTER"), Frames("DEALER->ROUTER")),
                    ["ROUTER->DEALER"] = (Sent("ROUTER->DEALER"), Frames("ROUTER->DEALER")),
                    ["PUSH->PULL"] = (Sent("PUSH->PULL"), Frames("PUSH->PULL")),
                }.OrderBy(kv => kv.Key),
                recorded.OrderBy(kv => kv.Key));

            var exchanges = r.OfType("zmtp").Where(x => Str(x, "role") == role && Str(x, "socket_type") == "REQ" && Str(x, "kind") == "message").ToList();
            Assert.All(exchanges, x => Assert.True(x.GetProperty("latency_ms").GetDouble() > 0));
            Assert.Equal(Frames("REP->REQ") + requests, exchanges.Sum(x => x.GetProperty("reply").GetProperty("frames").GetInt64()));
            var subscriptions = r.OfType("zmtp").Where(x => Str(x, "role") == role && Str(x, "kind") == "subscribe").ToList();
            Assert.Equal(["news"], subscriptions.Select(x => Str(x, "topic")));
        }
        Assert.Contains("zmtp REQ->REP 2 frames", r.Stderr);
        Assert.Contains("zmtp PUB message 2 frames", r.Stderr);
        Assert.Contains("zmtp SUB subscribe \"news\"", r.Stderr);
        Assert.All(r.OfType("zmtp"), x => Assert.False(x.TryGetProperty("preview", out _)));
        var row = r.Summary.GetProperty("rows").EnumerateArray().First(x => Str(x, "proto") == "tcp");
        Assert.Contains("zmtp", row.GetProperty("protocols").EnumerateArray().Select(p => p.GetString()));
        Assert.Empty(r.OfType("gap"));
    }

    [SkippableFact]
    public async Task ARequestTheServerNeverAnswers_IsRecordedUnanswered()
    {
        RequireZmq();
        var (r, counts) = await RunAsync("unanswered");
        Assert.Equal(1, counts.GetProperty("REQ->REP").GetProperty("received").GetInt32());
        foreach (string role in new[] { "client", "server" })
        {
            var request = Assert.Single(r.OfType("zmtp"), x => Str(x, "role") == role && Str(x, "kind") == "message");
            Assert.Equal(("REQ", "REP", 2), (Str(request, "socket_type"), Str(request, "peer_socket_type"), Int(request, "frames")));
            Assert.Equal(JsonValueKind.Null, request.GetProperty("latency_ms").ValueKind);
            Assert.Equal(JsonValueKind.Null, request.GetProperty("reply").ValueKind);
        }
        Assert.Contains("(no reply)", r.Stderr);
        // The summary counts it on both ends' rows: one request, unanswered, so no percentiles.
        var rows = r.Summary.GetProperty("rows").EnumerateArray().Where(x => Str(x, "proto") == "tcp").ToList();
        Assert.Equal(2, rows.Count);
        Assert.All(rows, row => Assert.Equal((1, 1, JsonValueKind.Null), (Int(row, "requests"), Int(row, "unanswered"), row.GetProperty("p50_ms").ValueKind)));
        Assert.Contains("unanswered×1", r.Stderr);
    }

    [SkippableFact]
    public async Task WithData_MessagesCarryAPreviewOfTheirFirstFrame()
    {
        RequireZmq();
        var r = await TattleCli.RunAsync(["run", "--data", "--", Python, Script, "unanswered"]);
        output.WriteLine(r.ToString());
        var request = r.OfType("zmtp").First(x => Str(x, "kind") == "message");
        Assert.Equal("anyone there?", Str(request, "preview"));
    }
}
