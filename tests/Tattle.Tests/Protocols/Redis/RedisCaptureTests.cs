using Tattle.Protocols.Common;
using Tattle.Protocols.Redis;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.Redis;

/// <summary>Real redis-cli connections to a real redis-server (testdata/redis/capture.py) replayed through the parser.</summary>
public sealed class RedisCaptureTests(ITestOutputHelper output)
{
    public static readonly string[] All = ["set_get", "pipe100", "multi", "bigvalue", "bigget", "resp3", "pubsub", "pubsub3"];

    public static TheoryData<string> Names => [.. All];

    public static RecordedConnection Load(string name) => RecordedConnection.Load("redis", name);

    /// <summary>"GET user:1 -> bulk 5", "message news (3) push".</summary>
    public static string Summary(RedisExchange x)
    {
        string reply = x.Reply is { } r ? $"{RedisRecord.TypeName(r.Type)} {r.Size?.ToString() ?? r.Integer?.ToString() ?? r.Text}".TrimEnd() : "(none)";
        return x.IsPush ? $"push {x.Command} {x.Key}" : $"{x.Command} {x.Key} -> {reply}{(x.Error is null ? "" : " " + x.Error)}".Replace("  ", " ");
    }

    private List<RedisExchange> Run(string name, Random? random = null)
    {
        var feeder = Load(name).Replay(RedisProtocol.Info, random: random, maxSegment: 40);
        var exchanges = feeder.Messages.Cast<RedisExchange>().ToList();
        if (random is null)
        {
            foreach (var x in exchanges)
            {
                output.WriteLine(Summary(x));
            }
        }
        Assert.Equal(0, feeder.Dropped(MessageKind.Request));
        Assert.Equal(0, feeder.Dropped(MessageKind.Response));
        return exchanges;
    }

    [Fact]
    public void CommandsPairWithTheirRepliesAndErrors()
    {
        var x = Run("set_get");
        Assert.Equal(("COMMAND DOCS", RespType.Array), (x[0].Command, x[0].Reply!.Type));
        Assert.Equal(
        [
            "SET user:1 -> status OK", "GET user:1 -> bulk 5", "GET missing -> null", "DEL user:1 -> integer 1",
            "CONFIG SET -> status OK", "NOSUCH x -> error", "INCR counter -> integer 1", "LRANGE nolist -> array 0",
        ], x.Skip(1).Select(Cut));
        Assert.StartsWith("ERR unknown command 'NOSUCH'", x[6].Error);
        Assert.Equal(2, x[1].Args);
        Assert.All(x, e => Assert.True(e.EndNs > e.StartNs));
    }

    private static string Cut(RedisExchange e) => e.Error is not null ? $"{e.Command} {e.Key} -> error".Replace("  ", " ") : Summary(e);

    [Fact]
    public void ConfigSetKeepsNoArgumentValues()
    {
        var config = Run("set_get").Single(e => e.Command == "CONFIG SET");
        Assert.Null(config.Key);
        Assert.Equal(3, config.Args);
    }

    [Fact]
    public void PipelineOfAHundredPairsInOrder()
    {
        var x = Run("pipe100");
        // redis-cli --pipe ends with an ECHO of a random marker to know the last reply came.
        Assert.Equal(101, x.Count);
        Assert.Equal("ECHO", x[^1].Command);
        for (int i = 0; i < 100; i++)
        {
            string expected = i % 2 == 0 ? $"SET key:{i} -> status OK" : $"GET key:{i - 1} -> bulk {$"value {i - 1}".Length}";
            Assert.Equal(expected, Summary(x[i]));
        }
    }

    [Fact]
    public void MultiQueuesAndExecAnswersWithEveryReply()
    {
        var x = Run("multi");
        Assert.Equal(
        [
            "MULTI -> status OK", "SET a -> status QUEUED", "INCR a -> status QUEUED", "LPUSH l -> status QUEUED", "EXEC -> array 3",
            "MULTI -> status OK", "INCR a -> error", "EXEC -> error",
        ], x.Skip(1).Select(Cut));
        Assert.StartsWith("EXECABORT", x[^1].Error);
    }

    [Fact]
    public void LargeBulkValuesAreSkippedNotBuffered()
    {
        var capture = Load("bigvalue");
        var feeder = capture.Replay(RedisProtocol.Info);
        var set = (RedisExchange)Assert.Single(feeder.Messages);
        Assert.Equal("SET big -> status OK", Summary(set));
        Assert.True(feeder.MaxBuffered(MessageKind.Request) <= 65_536, $"{feeder.MaxBuffered(MessageKind.Request)} bytes held");

        var get = Assert.Single(Run("bigget"));
        Assert.Equal("GET big -> bulk 200000", Summary(get));
    }

    [Fact]
    public void Resp3RepliesHaveTheirTypes()
    {
        var x = Run("resp3");
        Assert.Equal("HELLO -> map 7", Summary(x[0]));
        Assert.Equal(
        [
            "HSET h -> integer 2", "HGETALL h -> map 2", "SADD s -> integer 2", "SMEMBERS s -> set 2", "GET missing -> null",
            "ZADD z -> integer 1", "ZSCORE z -> double 1.5", "EXISTS h -> integer 1", "DEBUG PROTOCOL -> bool true",
            "DEBUG PROTOCOL -> verbatim 29",
        ], x.Skip(2).Select(Summary));
    }

    [Theory]
    [InlineData("pubsub")]
    [InlineData("pubsub3")]
    public void PubSubMessagesArePushesAndSubscriptionsAreAnswered(string name)
    {
        var x = Run(name).Where(e => e.Command != "HELLO").ToList();
        Assert.Equal(
        [
            "SUBSCRIBE -> " + (name == "pubsub3" ? "push 3" : "array 3"), "push message news", "push message weather", "push message news",
            "UNSUBSCRIBE -> " + (name == "pubsub3" ? "push 3" : "array 3"), "push unsubscribe " + x[5].Key, "PING -> status PONG", "QUIT -> status OK",
        ], x.Select(Summary));
        Assert.Equal(2, x[0].Args);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void RandomSplitsGiveTheSameMessages(string name)
    {
        var whole = Run(name).Select(Summary).ToList();
        for (int seed = 0; seed < 10; seed++)
        {
            Assert.Equal(whole, Run(name, new Random(seed)).Select(Summary));
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void EveryPrefixNeedsMoreDataAndReportsNoEarlyMessage(string name) =>
        PrefixChecks.FirstFrameNeedsMoreData(RedisProtocol.Info, Load(name));
}
