using System.Text;
using Tattle.Protocols.Common;
using Tattle.Protocols.Zmtp;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.Zmtp;

/// <summary>Real libzmq peers (python3-zmq, testdata/zmtp/capture.py) replayed through the parser.</summary>
public sealed class ZmtpCaptureTests(ITestOutputHelper output)
{
    public static readonly string[] All = ["req_rep", "pub_sub", "dealer_router", "plain", "plain_bad", "long"];

    public static TheoryData<string> Names => [.. All];

    public static RecordedConnection Load(string name) => RecordedConnection.Load("zmtp", name);

    /// <summary>"REQ->REP 2f 11B -> 1f 5B", "PUB message 2f 9B", "SUB subscribe news", "DEALER ping pong".</summary>
    public static string Summary(ZmtpMessage m)
    {
        if (m.IsRequest)
        {
            string reply = m.Reply is { } r ? $"{r.Frames}f {r.Bytes}B" : "(none)";
            return $"{m.SocketType}->{m.PeerSocketType} {m.Frames}f {m.Bytes}B -> {reply}";
        }
        string detail = m.Kind switch
        {
            "message" or "encrypted" => $" {m.Frames}f {m.Bytes}B",
            "subscribe" or "cancel" => " " + m.Topic,
            "error" => " " + m.Error,
            "hello" => m.User is null ? "" : " " + m.User,
            "ready" or "initiate" => m.Identity is { Length: > 0 } id ? " " + id : "",
            "ping" => m.Answered ? " pong" : " (no pong)",
            _ => "",
        };
        return $"{m.SocketType ?? "?"} {m.Kind}{detail}";
    }

    private List<ZmtpMessage> Run(string name, Random? random = null, ParserOptions? options = null)
    {
        var feeder = Load(name).Replay(ZmtpProtocol.Info, options, random, maxSegment: 40);
        var messages = feeder.Messages.Cast<ZmtpMessage>().ToList();
        if (random is null)
        {
            foreach (var m in messages)
            {
                output.WriteLine(Summary(m));
            }
        }
        Assert.Equal(0, feeder.Dropped(MessageKind.Request));
        Assert.Equal(0, feeder.Dropped(MessageKind.Response));
        return messages;
    }

    [Fact]
    public void EachRequestPairsWithItsReply()
    {
        var x = Run("req_rep");
        Assert.Equal(
        [
            "REP ready", "REQ ready",
            // A REQ's message starts with an empty delimiter frame; so does the reply REP sends back.
            "REQ->REP 2f 5B -> 2f 9B", "REQ->REP 3f 16B -> 2f 12B", "REQ->REP 2f 4B -> 2f 8B",
        ], x.Select(Summary));
        Assert.All(x, m => Assert.Equal(("NULL", "3.1"), (m.Mechanism, m.Version)));
        Assert.All(x.Where(m => m.IsRequest), m => Assert.True(m.EndNs > m.StartNs));
        // libzmq's REQ sends an empty Identity property; its REP none.
        Assert.Equal([null, ""], x.Where(m => m.Kind == "ready").Select(m => m.Identity));
    }

    [Fact]
    public void SubscriptionsAreCommandsAndOnlyMatchingMessagesCross()
    {
        var x = Run("pub_sub");
        Assert.Equal(
        [
            "SUB ready", "PUB ready", "SUB subscribe news", "SUB subscribe weather",
            "PUB message 2f 9B", "PUB message 2f 12B", "PUB message 2f 7B", "SUB cancel news",
        ], x.Select(Summary));
        Assert.All(x.Where(m => m.Kind == "message"), m => Assert.Equal(("PUB", "SUB"), (m.SocketType, m.PeerSocketType)));
        Assert.All(x, m => Assert.False(m.IsRequest));
    }

    [Fact]
    public void DealerAndRouterMessagesAreOneWayAndHeartbeatsArePaired()
    {
        var x = Run("dealer_router");
        Assert.Equal(
        [
            "ROUTER ready", "DEALER ready worker-1", "DEALER message 4f 9B", "ROUTER message 2f 5B",
            "DEALER ping pong", "DEALER ping pong", "DEALER ping pong", "DEALER message 1f 3B",
        ], x.Select(Summary));
        Assert.All(x.Where(m => m.Kind == "ping"), m => Assert.True(m.EndNs > m.StartNs));
    }

    [Fact]
    public void PlainRecordsTheUserButNeverThePassword()
    {
        var x = Run("plain", options: new ParserOptions { Redact = false, Previews = true });
        Assert.Equal(["? hello admin", "? welcome", "REQ initiate", "REP ready", "REQ->REP 2f 5B -> 2f 9B"], x.Select(Summary));
        Assert.All(x, m => Assert.Equal("PLAIN", m.Mechanism));
        var wrong = Run("plain_bad", options: new ParserOptions { Redact = false, Previews = true });
        foreach (var m in x.Concat(wrong))
        {
            string json = FixedMessageContext.Fields(m);
            Assert.DoesNotContain("secret", json, StringComparison.Ordinal);
            Assert.DoesNotContain("wrong", json, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ABadPasswordIsAnsweredWithError()
    {
        // libzmq 4.3.4 names the command 0x5E "RROR" (a C escape swallows the E): read as ERROR all the same.
        Assert.Equal(["? hello admin", "? error 400"], Run("plain_bad").Select(Summary));
    }

    [Fact]
    public void LongFramesAreCountedAndSkippedNotBuffered()
    {
        var feeder = Load("long").Replay(ZmtpProtocol.Info, random: new Random(1), maxSegment: 512);
        Assert.Equal(
            ["REP ready", "REQ ready", "REQ->REP 2f 300B -> 2f 70000B", "REQ->REP 2f 5B -> 2f 2B"],
            feeder.Messages.Cast<ZmtpMessage>().Select(Summary));
        Assert.True(feeder.MaxBuffered(MessageKind.Response) <= 1024, $"{feeder.MaxBuffered(MessageKind.Response)} bytes held");
    }

    [Fact]
    public void PreviewsAreTheFirstNonEmptyFrameOnlyWhenAsked()
    {
        Assert.All(Run("req_rep"), m => Assert.Null(m.Preview));
        var x = Run("req_rep", options: new ParserOptions { Previews = true });
        Assert.Equal(["hello", "part one", "ping"], x.Where(m => m.IsRequest).Select(m => m.Preview));
        var pub = Run("pub_sub", options: new ParserOptions { Previews = true });
        Assert.Equal(["news", "weather", "news"], pub.Where(m => m.Kind == "message").Select(m => m.Preview));
    }

    [Theory]
    [InlineData("req_rep", MessageKind.Request, 3, new[] { "REP ready", "REQ ready", "REQ->REP 2f 5B -> 2f 9B", "REP message 2f 12B", "REQ->REP 2f 4B -> 2f 8B" })]
    [InlineData("dealer_router", MessageKind.Response, 2, new[] { "ROUTER ready", "DEALER ready worker-1", "DEALER message 4f 9B", "DEALER ping pong", "DEALER ping pong", "DEALER ping pong", "DEALER message 1f 3B" })]
    public void AGapInTheMiddleResyncsAndTheMessagesAfterItAreRecovered(string name, MessageKind kind, int nth, string[] expected)
    {
        // The nth recv of that direction (a whole message) is lost: the message after it is found again.
        var capture = Load(name);
        var feeder = new StreamFeeder(ZmtpProtocol.Info);
        long now = RecordedConnection.StepNs;
        int[] offsets = [0, 0];
        int seen = 0;
        foreach (var (k, length) in capture.Recvs)
        {
            var bytes = capture.Bytes(k).AsSpan(offsets[(int)k], length);
            offsets[(int)k] += length;
            if (k == kind && seen++ == nth)
            {
                Assert.False(feeder.Gap(k, length, now));
            }
            else
            {
                feeder.Feed(k, bytes, now, now + 1);
            }
            now += RecordedConnection.StepNs;
        }
        feeder.Close(now);
        Assert.Equal(expected, feeder.Messages.Cast<ZmtpMessage>().Select(Summary));
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
    public void EveryPrefixNeedsMoreDataAndReportsNoEarlyMessage(string name)
    {
        var capture = Load(name);
        foreach (var kind in new[] { MessageKind.Request, MessageKind.Response })
        {
            // The greeting, then the first command: the parser waits and reports nothing.
            var bytes = capture.Bytes(kind);
            int first = 64 + 2 + bytes[65];
            for (int n = 0; n < first; n++)
            {
                var feeder = new StreamFeeder(ZmtpProtocol.Info);
                feeder.Feed(kind, bytes.AsSpan(0, n), 1, 2);
                Assert.Empty(feeder.Messages);
                Assert.Equal(0, feeder.Dropped(kind));
                Assert.All(feeder.Statuses, s => Assert.True(s is ParseStatus.NeedMoreData or ParseStatus.Ignored, $"{s} at {n}"));
            }
        }
    }
}
