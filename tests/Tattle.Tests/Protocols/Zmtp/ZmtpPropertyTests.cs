using FsCheck;
using FsCheck.Fluent;
using Tattle.Protocols.Common;
using Tattle.Protocols.Zmtp;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.Zmtp;

/// <summary>
/// Whatever the bytes, the parser returns a status: no exception, Consumed within the input, a bounded number of
/// calls (the feeder checks both and throws on a breach, which fails the property), and bounded buffering.
/// </summary>
public sealed class ZmtpPropertyTests
{
    private static readonly Config Many = Config.QuickThrowOnFailure.WithMaxTest(300);

    /// <summary>What the parser makes the stream hold at most: a whole command, a greeting, a frame header.</summary>
    private const int MaxHeld = ZmtpParser.MaxCommand + 9 + 64;

    private static readonly byte[][] Tokens =
    [
        ZmtpParserTests.Wire.Greeting(), ZmtpParserTests.Wire.Greeting("PLAIN", 0), ZmtpParserTests.Wire.Greeting("CURVE"),
        ZmtpParserTests.Wire.Ready("REQ"), ZmtpParserTests.Wire.Ready("SUB"), ZmtpParserTests.Wire.Ready("REP", "me", "INITIATE"),
        ZmtpParserTests.Wire.Message("", "x"), ZmtpParserTests.Wire.Message("\x01topic"), ZmtpParserTests.Wire.Message(new string('y', 300)),
        ZmtpParserTests.Wire.Command("PING", [0, 1]), ZmtpParserTests.Wire.Command("PONG", []), ZmtpParserTests.Wire.Command("ERROR", [3, 52, 48, 48]),
        ZmtpParserTests.Wire.Command("HELLO", [1, 97, 1, 98]), ZmtpParserTests.Wire.Command("MESSAGE", [1, 2, 3]),
        ZmtpParserTests.Wire.Command("SUBSCRIBE", [97]), ZmtpParserTests.Wire.Command("CANCEL", []),
        [0x5e, 0x52, 0x52, 0x4f, 0x52], [2, 0, 0, 0, 0, 0, 0, 1, 0], [2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        [4, 0xff], [6, 0, 0, 0, 0, 0, 1, 0, 0, 7], [1], [0], [0xff], [0x7f], [3],
    ];

    private static StreamFeeder Feed(byte[] requests, byte[] responses, Random random)
    {
        var feeder = RandomFeeding.Feed(ZmtpProtocol.Info, requests, responses, random, new ParserOptions { Previews = true });
        Assert.True(feeder.MaxBuffered(MessageKind.Request) <= MaxHeld && feeder.MaxBuffered(MessageKind.Response) <= MaxHeld);
        return feeder;
    }

    [Fact]
    public void RandomBytesNeverThrowNorLoop()
    {
        Check.One(Many, Prop.ForAll<byte[], byte[], int>((requests, responses, seed) =>
        {
            Feed(requests ?? [], responses ?? [], new Random(seed));
            return true;
        }));
    }

    [Fact]
    public void TokenSoupNeverThrowsNorLoops()
    {
        Check.One(Many, Prop.ForAll<int[], int[], int>((a, b, seed) =>
        {
            Feed(RandomFeeding.Soup(Tokens, a), RandomFeeding.Soup(Tokens, b), new Random(seed));
            return true;
        }));
    }

    [Fact]
    public void MutatedRealConnectionsNeverThrowNorLoop()
    {
        byte[] special = [0, 1, 2, 3, 4, 6, 0xff, 0x7f, 0x5e, (byte)'R'];
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(100), Prop.ForAll<int>(seed =>
        {
            var random = new Random(seed);
            var capture = ZmtpCaptureTests.Load(ZmtpCaptureTests.All[random.Next(ZmtpCaptureTests.All.Length)]);
            Feed(RandomFeeding.Mutate(capture.Requests, random, special), RandomFeeding.Mutate(capture.Responses, random, special), random);
            return true;
        }));
    }

    [Fact]
    public void PendingRequestsAndPingsStayBounded()
    {
        // A REQ whose peer never answers: the queue reports its oldest rather than growing without end.
        var feeder = new StreamFeeder(ZmtpProtocol.Info);
        feeder.Feed(MessageKind.Request, ZmtpParserTests.Wire.Start("REQ"), 1, 1);
        feeder.Feed(MessageKind.Response, ZmtpParserTests.Wire.Start("REP"), 1, 1);
        var message = ZmtpParserTests.Wire.Message("", "q");
        for (int i = 0; i < 10_005; i++)
        {
            feeder.Feed(MessageKind.Request, message, i, i);
        }
        Assert.Equal(5, feeder.Messages.Cast<ZmtpMessage>().Count(m => m.IsRequest));
        feeder.Close(20_000);
        Assert.Equal(10_005, feeder.Messages.Cast<ZmtpMessage>().Count(m => m.IsRequest));
    }
}
