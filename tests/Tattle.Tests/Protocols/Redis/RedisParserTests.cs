using System.Text;
using Tattle.Protocols.Common;
using Tattle.Protocols.Redis;
using Tattle.Records.Live;
using Tattle.Tests.Protocols.Support;
using Tattle.Tests.Support;

namespace Tattle.Tests.Protocols.Redis;

/// <summary>What real captures do not show: probes, inline commands, attributes, bounds, gaps and resync, records.</summary>
public sealed class RedisParserTests
{
    private static byte[] B(string s) => Encoding.ASCII.GetBytes(s);

    private static List<RedisExchange> Feed(string commands, string replies)
    {
        var feeder = new StreamFeeder(RedisProtocol.Info);
        feeder.Feed(MessageKind.Request, B(commands), 1_000_000, 1_000_000);
        feeder.Feed(MessageKind.Response, B(replies), 1_200_000, 1_300_000);
        feeder.Close(2_000_000);
        return [.. feeder.Messages.Cast<RedisExchange>()];
    }

    [Theory]
    [InlineData("*1\r\n$4\r\nPING\r\n", 1234, "Request")]
    [InlineData("*3\r\n$3\r\nset\r\n$1\r\nk\r\n", 1234, "Request")]
    [InlineData("*3\r\n$3\r\nse", 1234, "NeedMoreData")]
    [InlineData("*", 1234, "NeedMoreData")]
    [InlineData("*3\r\n", 1234, "NeedMoreData")]
    [InlineData("*3\r\n+x\r\n", 1234, "No")]
    [InlineData("*0\r\n", 1234, "No")]
    [InlineData("PING\r\n", 1234, "No")]
    [InlineData("PING\r\n", 6379, "Request")]
    [InlineData("+OK\r\n", 6379, "Response")]
    [InlineData("+OK\r\n", 1234, "No")]
    [InlineData("GET / HTTP/1.1\r\n", 1234, "No")]
    public void ProbeClaimsCommandsAnywhereAndRepliesOnlyOnItsPort(string data, int port, string expected)
    {
        Assert.Equal(expected, RedisProtocol.Probe(B(data), false, 40000, port).ToString());
    }

    [Fact]
    public void CatalogFindsRedisByItsArray()
    {
        var (protocol, detection) = Tattle.Protocols.ProtocolCatalog.Default.Detect(B("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), false, 40000, 7777);
        Assert.Equal(("redis", Detection.Request), (protocol?.Name, detection));
    }

    [Fact]
    public void InlineCommandsPairLikeArrays()
    {
        var x = Feed("PING\r\n\r\nset  k v\r\n", "+PONG\r\n+OK\r\n");
        Assert.Equal(["PING -> status PONG", "SET k -> status OK"], x.Select(RedisCaptureTests.Summary));
        Assert.Equal(2, x[1].Args);
    }

    [Fact]
    public void AttributesDescribeTheReplyAfterThem()
    {
        var x = Feed("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n",
            "|1\r\n+key-popularity\r\n%1\r\n$1\r\nk\r\n,0.19\r\n$2\r\nhi\r\n+PONG\r\n");
        Assert.Equal(["GET k -> bulk 2", "PING -> status PONG"], x.Select(RedisCaptureTests.Summary));
    }

    [Fact]
    public void SecretsOfAuthHelloAndMigrateAreNeverKept()
    {
        var x = Feed("*3\r\n$4\r\nAUTH\r\n$5\r\nalice\r\n$6\r\nsecret\r\n*4\r\n$5\r\nHELLO\r\n$1\r\n3\r\n$4\r\nAUTH\r\n$1\r\np\r\n"
            + "*6\r\n$7\r\nMIGRATE\r\n$4\r\nhost\r\n$4\r\n6379\r\n$1\r\nk\r\n$1\r\n0\r\n$4\r\n1000\r\n", "+OK\r\n%0\r\n+NOKEY\r\n");
        Assert.Equal(["AUTH -> status OK", "HELLO -> map 0", "MIGRATE -> status NOKEY"], x.Select(RedisCaptureTests.Summary));
        Assert.All(x, e => Assert.Null(e.Key));
    }

    [Fact]
    public void NestingDeeperThanTheBoundIsInvalid()
    {
        string deep = string.Concat(Enumerable.Repeat("*1\r\n", RespReader.MaxDepth + 1)) + ":1\r\n";
        var parser = RedisProtocol.Info.Create(ParserOptions.Default, new StreamFeeder.CollectingSink());
        Assert.Equal(ParseStatus.Invalid, parser.Parse(MessageKind.Response, B(deep), new StreamContext(1, 2)).Status);
        string fits = string.Concat(Enumerable.Repeat("*1\r\n", RespReader.MaxDepth)) + ":1\r\n";
        Assert.Equal(ParseStatus.Ignored, parser.Parse(MessageKind.Response, B(fits), new StreamContext(1, 2)).Status);
    }

    [Theory]
    [InlineData("$999999999999\r\n")]
    [InlineData("*-2\r\n")]
    [InlineData("%-1\r\n")]
    [InlineData(":12x\r\n")]
    [InlineData("#x\r\n")]
    [InlineData("?\r\n")]
    public void ImplausibleRepliesAreInvalid(string reply)
    {
        var parser = RedisProtocol.Info.Create(ParserOptions.Default, new StreamFeeder.CollectingSink());
        Assert.Equal(ParseResult.Invalid, parser.Parse(MessageKind.Response, B(reply), new StreamContext(1, 2)));
    }

    [Fact]
    public void AGapInsideABulkPayloadKeepsStep()
    {
        var feeder = new StreamFeeder(RedisProtocol.Info);
        feeder.Feed(MessageKind.Request, B("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"), 1, 2);
        feeder.Feed(MessageKind.Response, B("$1000\r\nabc"), 3, 4);
        Assert.True(feeder.Gap(MessageKind.Response, 990, 5));
        feeder.Feed(MessageKind.Response, B("xyz\r\n+OK\r\n"), 6, 7);
        var x = (RedisExchange)Assert.Single(feeder.Messages);
        Assert.Equal("GET k -> bulk 1000", RedisCaptureTests.Summary(x));
    }

    [Fact]
    public void AfterALostStretchCommandsResyncAtTheNextArray()
    {
        var feeder = new StreamFeeder(RedisProtocol.Info);
        feeder.Feed(MessageKind.Request, B("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*3\r\n$3\r\nSET\r\n"), 1, 2);
        Assert.False(feeder.Gap(MessageKind.Request, 20, 3));
        feeder.Feed(MessageKind.Request, B("lue\r\n*2\r\n$3\r\nGET\r\n$1\r\nz\r\n"), 4, 5);
        feeder.Feed(MessageKind.Response, B("$1\r\nk\r\n+OK\r\n$2\r\nzz\r\n"), 6, 7);
        feeder.Close(8);
        Assert.Equal(["GET k -> bulk 1", "GET z -> bulk 2"], feeder.Messages.Cast<RedisExchange>().Select(RedisCaptureTests.Summary));
    }

    [Fact]
    public void RepliesWithoutCommandsAreNotReported()
    {
        Assert.Empty(Feed("", "+OK\r\n:1\r\n"));
    }

    [Fact]
    public void UnansweredCommandsAreReportedAtClose()
    {
        var x = Assert.Single(Feed("*2\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n", ""));
        Assert.Null(x.Reply);
        Assert.Null(x.ToRecord(new FixedMessageContext()).LatencyMs);
    }

    [Theory]
    [InlineData("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n", "+OK\r\n", "redis SET k -> status OK 0.30 ms c1")]
    [InlineData("*2\r\n$3\r\nGET\r\n$6\r\nuser:1\r\n", "$12\r\nhello world!\r\n", "redis GET user:1 -> bulk 12 B 0.30 ms c1")]
    [InlineData("*1\r\n$4\r\nNOPE\r\n", "-ERR unknown command\r\n", "redis NOPE -> error ERR unknown command 0.30 ms c1")]
    [InlineData("*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n", ":42\r\n", "redis INCR n -> integer 42 0.30 ms c1")]
    [InlineData("*2\r\n$6\r\nCONFIG\r\n$3\r\nget\r\n", "*0\r\n", "redis CONFIG GET -> array 0 0.30 ms c1")]
    public void LiveLineNamesCommandKeyAndReply(string command, string reply, string expected)
    {
        var record = Assert.Single(Feed(command, reply)).ToRecord(new FixedMessageContext());
        var line = new LiveLine(color: false);
        record.Describe(line);
        Assert.Equal(expected, line.ToString());
    }

    [Fact]
    public void JsonCarriesTheReplyAndError()
    {
        var record = Assert.Single(Feed("*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n", ":42\r\n")).ToRecord(new FixedMessageContext());
        using var stream = new MemoryStream();
        using (var w = new System.Text.Json.Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            record.WriteFields(w);
            w.WriteEndObject();
        }
        Assert.Equal("""{"command":"INCR","key":"n","args":1,"reply":{"type":"integer","value":42},"error":null}""", Encoding.UTF8.GetString(stream.ToArray()));
    }

    [Fact]
    public void AClientRepeatingItsCommands_AllocatesNothingPerExchange()
    {
        // A cache client's steady state: the same GET and SET in turn on one connection, the same answers.
        var redis = new SteadyState(RedisProtocol.Info);
        byte[][] commands = [B("*2\r\n$3\r\nGET\r\n$6\r\nuser:1\r\n"), B("*3\r\n$3\r\nSET\r\n$6\r\nuser:2\r\n$5\r\nalice\r\n")];
        byte[][] replies = [B("$5\r\nalice\r\n"), B("+OK\r\n")];
        long allocated = Allocations.InSteadyState(Exchange, out int next);

        Assert.Equal(next, redis.Count);
        var last = Assert.IsType<RedisExchange>(redis.Last);
        Assert.Equal((next - 1) % 2 == 0 ? ("GET", "user:1", 1L, RespType.Bulk) : ("SET", "user:2", 2L, RespType.Status),
            (last.Command, last.Key, last.Args, last.Reply!.Type));
        Assert.Equal(0, allocated);

        void Exchange(int i)
        {
            redis.Feed(MessageKind.Request, commands[i % 2]);
            redis.Feed(MessageKind.Response, replies[i % 2]);
        }
    }

    [Fact]
    public void AReplyThatDiffersFromTheLast_IsANewObject_AndWhatWasKeptIsUnchanged()
    {
        var feeder = new StreamFeeder(RedisProtocol.Info);
        string get = "*2\r\n$3\r\nGET\r\n$1\r\na\r\n";
        feeder.Feed(MessageKind.Request, B(get + get + get + "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"), 0, 10);
        feeder.Feed(MessageKind.Response, B("$2\r\nhi\r\n$2\r\nhi\r\n$3\r\nbye\r\n:42\r\n"), 20, 30);
        var x = feeder.Messages.Cast<RedisExchange>().ToList();
        Assert.Equal(["a", "a", "a", "n"], x.Select(e => e.Key));
        Assert.Same(x[0].Reply, x[1].Reply); // the same answer again: one immutable object
        Assert.NotSame(x[1].Reply, x[2].Reply); // another bulk size: a new one, and the one handed before is as it was
        Assert.Equal(new RedisReply(RespType.Bulk, 2, null, null), x[1].Reply);
        Assert.Equal(new RedisReply(RespType.Bulk, 3, null, null), x[2].Reply);
        Assert.Equal(new RedisReply(RespType.Integer, null, 42, null), x[3].Reply);
        Assert.NotSame(x[0], x[3]); // the test's sink keeps copies of the refilled exchange
    }

    [Fact]
    public void ARefilledRecord_IsTheRecordANewOneWouldBe()
    {
        var feeder = new StreamFeeder(RedisProtocol.Info);
        feeder.Feed(MessageKind.Request, B("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*1\r\n$4\r\nPING\r\n"), 0, 10);
        feeder.Feed(MessageKind.Response, B("-ERR wrong\r\n+PONG\r\n"), 20, 30);
        var x = feeder.Messages.Cast<RedisExchange>().ToList();
        var spare = x[1].ToRecord(new FixedMessageContext());
        var r = RecordRefill.AssertEqualsNew<RedisRecord>(x[0], spare);
        Assert.Equal(("SET", "k", "ERR wrong", "ERR"), (r.Command, r.Key, r.Error, r.ErrorType));
    }
}
