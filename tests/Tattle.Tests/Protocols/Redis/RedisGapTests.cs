using System.Text;
using Tattle.Protocols.Common;
using Tattle.Protocols.Redis;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.Redis;

/// <summary>
/// Commands lost in a gap: the replies are all there, those of the lost commands between the ones sent before the
/// hole and the ones after it, so the replies are realigned on the commands after it from their end.
/// </summary>
public sealed class RedisGapTests
{
    private static byte[] B(string s) => Encoding.ASCII.GetBytes(s);

    private static string Command(params string[] words) =>
        $"*{words.Length}\r\n" + string.Concat(words.Select(w => $"${w.Length}\r\n{w}\r\n"));

    private static string Incr(int n) => Command("INCR", $"k{n}");

    private static List<string> Summaries(StreamFeeder feeder) => [.. feeder.Messages.Cast<RedisExchange>().Select(RedisCaptureTests.Summary)];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void OneCommandLostBetweenWaitedRepliesLeavesTheOthersPaired(bool toldLate)
    {
        // redis-cli: each command waits for its reply. The tracker tells a gap when the bytes after it arrive, so
        // the lost command's reply may come before the gap is told.
        var feeder = new StreamFeeder(RedisProtocol.Info);
        feeder.Feed(MessageKind.Request, B(Command("GET", "a")), 10, 10);
        feeder.Feed(MessageKind.Response, B("$1\r\nx\r\n"), 20, 20);
        if (!toldLate)
        {
            Assert.False(feeder.Gap(MessageKind.Request, 30, 30));
        }
        feeder.Feed(MessageKind.Response, B("+OK\r\n"), 40, 40);
        if (toldLate)
        {
            Assert.False(feeder.Gap(MessageKind.Request, 30, 50));
        }
        feeder.Feed(MessageKind.Request, B(Command("GET", "c")), 50, 50);
        feeder.Feed(MessageKind.Response, B("$2\r\nyy\r\n"), 60, 60);
        feeder.Feed(MessageKind.Request, B(Command("INCR", "d")), 70, 70);
        feeder.Feed(MessageKind.Response, B(":1\r\n"), 80, 80);
        // Realigned when the client sent INCR after waiting for GET's reply: nothing waits for the close.
        Assert.Equal(["GET a -> bulk 1", "GET c -> bulk 2", "INCR d -> integer 1"], Summaries(feeder));
        feeder.Close(90);
        Assert.Equal(3, feeder.Messages.Count);
    }

    [Fact]
    public void APipelineWithAHoleOverSeveralCommandsPairsTheRestFromTheEnd()
    {
        var feeder = new StreamFeeder(RedisProtocol.Info);
        string before = string.Concat(Enumerable.Range(0, 3).Select(Incr)) + Incr(3)[..6];
        string after = Incr(5)[9..] + string.Concat(Enumerable.Range(6, 4).Select(Incr));
        feeder.Feed(MessageKind.Request, B(before), 10, 10);
        Assert.False(feeder.Gap(MessageKind.Request, 40, 11));
        feeder.Feed(MessageKind.Request, B(after), 12, 12);
        feeder.Feed(MessageKind.Response, B(string.Concat(Enumerable.Range(0, 10).Select(n => $":{n}\r\n"))), 20, 20);
        // The next command, sent after the last reply, is the alignment point; its own reply pairs as usual.
        feeder.Feed(MessageKind.Request, B(Command("PING")), 30, 30);
        feeder.Feed(MessageKind.Response, B("+PONG\r\n"), 40, 40);
        Assert.Equal(
            [.. new[] { 0, 1, 2, 6, 7, 8, 9 }.Select(n => $"INCR k{n} -> integer {n}"), "PING -> status PONG"],
            Summaries(feeder));
    }

    [Fact]
    public void AtTheCloseTheLastRepliesGoToTheCommandsAfterTheHole()
    {
        var feeder = new StreamFeeder(RedisProtocol.Info);
        feeder.Feed(MessageKind.Request, B(Incr(0) + Incr(1)[..5]), 10, 10);
        Assert.False(feeder.Gap(MessageKind.Request, 20, 11));
        feeder.Feed(MessageKind.Request, B(Incr(2) + Incr(3)), 12, 12);
        feeder.Feed(MessageKind.Response, B(":0\r\n:1\r\n:2\r\n:3\r\n"), 20, 20);
        feeder.Close(30);
        Assert.Equal(["INCR k0 -> integer 0", "INCR k2 -> integer 2", "INCR k3 -> integer 3"], Summaries(feeder));
    }

    [Fact]
    public void BeyondTheBoundTheCommandsAfterTheHoleAreGivenUp()
    {
        var feeder = new StreamFeeder(RedisProtocol.Info);
        feeder.Feed(MessageKind.Request, B(Incr(0) + Incr(1)[..5]), 10, 10);
        Assert.False(feeder.Gap(MessageKind.Request, 20, 11));
        feeder.Feed(MessageKind.Request, B(Incr(2) + Incr(3)), 12, 12);
        // More replies past the commands before the hole than are kept: the lost commands were too many to tell.
        int replies = 1 + RedisParser.MaxKept + 10 + 2;
        feeder.Feed(MessageKind.Response, B(string.Concat(Enumerable.Range(0, replies).Select(n => $":{n}\r\n"))), 20, 20);
        Assert.Equal(["INCR k0 -> integer 0", "INCR k2 -> (none)", "INCR k3 -> (none)"], Summaries(feeder));
        // Afterwards pairing starts afresh.
        feeder.Feed(MessageKind.Request, B(Command("PING")), 30, 30);
        feeder.Feed(MessageKind.Response, B("+PONG\r\n"), 40, 40);
        feeder.Close(50);
        Assert.Equal("PING -> status PONG", Summaries(feeder)[^1]);
        Assert.Equal(4, feeder.Messages.Count);
    }
}
