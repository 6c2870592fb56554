using System.Buffers.Binary;
using System.Text;
using Tattle.Protocols;
using Tattle.Protocols.Common;
using Tattle.Protocols.Zmtp;
using Tattle.Records.Live;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.Zmtp;

/// <summary>What the captures do not show: the probe, ZMTP 3.0 subscriptions, CURVE, bounds, gaps, records.</summary>
public sealed class ZmtpParserTests
{
    private static byte[] B(string s) => Encoding.Latin1.GetBytes(s);

    /// <summary>ZMTP bytes as libzmq writes them.</summary>
    public static class Wire
    {
        public static byte[] Greeting(string mechanism = "NULL", int minor = 1)
        {
            var g = new byte[64];
            g[0] = 0xFF;
            g[8] = 1;
            g[9] = 0x7F;
            g[10] = 3;
            g[11] = (byte)minor;
            Encoding.ASCII.GetBytes(mechanism).CopyTo(g, 12);
            return g;
        }

        public static byte[] Frame(byte[] body, bool more = false, bool command = false)
        {
            byte flags = (byte)((more ? 1 : 0) | (command ? 4 : 0) | (body.Length > 255 ? 2 : 0));
            if (body.Length > 255)
            {
                var size = new byte[8];
                BinaryPrimitives.WriteUInt64BigEndian(size, (ulong)body.Length);
                return [flags, .. size, .. body];
            }
            return [flags, (byte)body.Length, .. body];
        }

        public static byte[] Command(string name, byte[] data) => Frame([(byte)name.Length, .. B(name), .. data], command: true);

        public static byte[] Ready(string socketType, string identity = "", string command = "READY")
        {
            byte[] Property(string name, string value)
            {
                var length = new byte[4];
                BinaryPrimitives.WriteUInt32BigEndian(length, (uint)value.Length);
                return [(byte)name.Length, .. B(name), .. length, .. B(value)];
            }
            return Command(command, [.. Property("Socket-Type", socketType), .. Property("Identity", identity)]);
        }

        public static byte[] Message(params string[] frames) =>
            [.. frames.SelectMany((f, i) => Frame(B(f), more: i < frames.Length - 1))];

        /// <summary>A greeting and a READY: the start of one direction.</summary>
        public static byte[] Start(string socketType, string mechanism = "NULL", int minor = 1) =>
            [.. Greeting(mechanism, minor), .. Ready(socketType)];
    }

    private static StreamFeeder Connect(string requester, string responder, ParserOptions? options = null, int minor = 1)
    {
        var feeder = new StreamFeeder(ZmtpProtocol.Info, options);
        feeder.Feed(MessageKind.Request, Wire.Start(requester, minor: minor), 1_000, 1_000);
        feeder.Feed(MessageKind.Response, Wire.Start(responder, minor: minor), 2_000, 2_000);
        return feeder;
    }

    private static List<string> Summaries(StreamFeeder feeder) =>
        [.. feeder.Messages.Cast<ZmtpMessage>().Where(m => m.Kind != "ready").Select(ZmtpCaptureTests.Summary)];

    [Theory]
    [InlineData("", "No")]
    [InlineData("\xff", "NeedMoreData")]
    [InlineData("\xff\0\0\0\0\0\0\0\x01", "NeedMoreData")]
    [InlineData("\xff\0\0\0\0\0\0\0\x01\x7f", "NeedMoreData")]
    [InlineData("\xff\0\0\0\0\0\0\0\x01\x7f\x03", "Request")]
    [InlineData("\xff\0\0\0\0\0\0\0\x01\x7f\x01", "No")]
    [InlineData("\xff\0\0\0\0\0\0\0\x01\x7e\x03", "No")]
    [InlineData("\xff\0\0\0\0\0\0\0\x01\x7f\x03\x01NULL\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", "Request")]
    [InlineData("\xff\0\0\0\0\0\0\0\x01\x7f\x03\x01null\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", "No")]
    [InlineData("\xff\0\0\0\0\0\0\0\x01\x7f\x03\x01NULL\0\0x\0\0\0\0\0\0\0\0\0\0\0\0\0", "No")]
    [InlineData("GET / HTTP/1.1\r\n", "No")]
    [InlineData("*1\r\n$4\r\nPING\r\n", "No")]
    public void ProbeClaimsTheGreetingSignatureWithMajorVersionThree(string data, string expected)
    {
        Assert.Equal(expected, ZmtpProtocol.Probe(B(data), false, 40000, 5555).ToString());
        Assert.Equal("No", ZmtpProtocol.Probe(Wire.Greeting(), true, 40000, 5555).ToString());
    }

    [Fact]
    public void CatalogFindsZmtpByItsGreetingAndKeepsHttp2Last()
    {
        var (protocol, detection) = ProtocolCatalog.Default.Detect(Wire.Greeting(), false, 40000, 5555);
        Assert.Equal(("zmtp", Detection.Request), (protocol?.Name, detection));
        Assert.Equal("http2", ProtocolCatalog.Default.Protocols[^1].Name);
        Assert.Same(ZmtpProtocol.Info, ProtocolCatalog.Default.Find("zeromq"));
    }

    [Fact]
    public void ARequestLeftUnansweredIsReportedAtCloseWithoutLatency()
    {
        var feeder = Connect("REQ", "REP");
        feeder.Feed(MessageKind.Request, Wire.Message("", "anyone?"), 3_000, 3_000);
        Assert.Empty(Summaries(feeder));
        feeder.Close(4_000);
        var request = Assert.Single(feeder.Messages.Cast<ZmtpMessage>(), m => m.Kind == "message");
        Assert.Equal("REQ->REP 2f 7B -> (none)", ZmtpCaptureTests.Summary(request));
        var record = request.ToRecord(new FixedMessageContext());
        Assert.True(record.IsRequest);
        Assert.Null(record.LatencyMs);
    }

    [Fact]
    public void ADealerTalkingToARepWaitsForItsRepliesInOrder()
    {
        var feeder = Connect("DEALER", "REP");
        feeder.Feed(MessageKind.Request, [.. Wire.Message("", "a"), .. Wire.Message("", "bb")], 3_000, 3_000);
        feeder.Feed(MessageKind.Response, [.. Wire.Message("", "1"), .. Wire.Message("", "22")], 4_000, 5_000);
        Assert.Equal(["DEALER->REP 2f 1B -> 2f 1B", "DEALER->REP 2f 2B -> 2f 2B"], Summaries(feeder));
    }

    [Fact]
    public void OneWayMessagesAreNotRequests()
    {
        var feeder = Connect("PUSH", "PULL");
        feeder.Feed(MessageKind.Request, Wire.Message("job", "x"), 3_000, 3_000);
        var message = feeder.Messages.Cast<ZmtpMessage>().Last();
        Assert.Equal("PUSH message 2f 4B", ZmtpCaptureTests.Summary(message));
        Assert.False(message.ToRecord(new FixedMessageContext()).IsRequest);
    }

    [Theory]
    [InlineData("SUB")]
    [InlineData("XSUB")]
    public void Zmtp30SubscriptionsAreMessagesStartingWithOneOrZero(string type)
    {
        var feeder = Connect(type, "PUB", minor: 0);
        feeder.Feed(MessageKind.Request, [.. Wire.Message("\x01news"), .. Wire.Message("\x00news"), .. Wire.Message("\x01")], 3_000, 3_000);
        feeder.Feed(MessageKind.Response, Wire.Message("\x01news"), 4_000, 4_000);
        Assert.Equal([$"{type} subscribe news", $"{type} cancel news", $"{type} subscribe ", "PUB message 1f 5B"], Summaries(feeder));
        Assert.All(feeder.Messages.Cast<ZmtpMessage>(), m => Assert.Equal("3.0", m.Version));
    }

    [Theory]
    [InlineData("CURVE")]
    [InlineData("GSSAPI")]
    public void EncryptedHandshakesAndMessagesAreCountedNotRead(string mechanism)
    {
        var random = new Random(7);
        byte[] Box(int n)
        {
            var b = new byte[n];
            random.NextBytes(b);
            return b;
        }
        var feeder = new StreamFeeder(ZmtpProtocol.Info);
        feeder.Feed(MessageKind.Request, [.. Wire.Greeting(mechanism), .. Wire.Command("HELLO", Box(194))], 1, 2);
        feeder.Feed(MessageKind.Response, [.. Wire.Greeting(mechanism), .. Wire.Command("WELCOME", Box(160))], 3, 4);
        feeder.Feed(MessageKind.Request, Wire.Command("INITIATE", Box(250)), 5, 6);
        // A box that happens to hold a Socket-Type property is still not read.
        feeder.Feed(MessageKind.Response, Wire.Ready("REP"), 7, 8);
        byte[] messages = [.. Wire.Command("MESSAGE", Box(41)), .. Wire.Command("MESSAGE", Box(100_000))];
        for (int i = 0; i < messages.Length; i += 4096)
        {
            feeder.Feed(MessageKind.Request, messages.AsSpan(i, Math.Min(4096, messages.Length - i)), 9 + i, 10 + i);
        }
        var x = feeder.Messages.Cast<ZmtpMessage>().ToList();
        Assert.Equal(["? hello", "? welcome", "? initiate", "? ready", "? encrypted 1f 41B", "? encrypted 1f 100000B"], x.Select(ZmtpCaptureTests.Summary));
        Assert.All(x, m => Assert.Equal(mechanism, m.Mechanism));
        Assert.True(feeder.MaxBuffered(MessageKind.Request) <= 4096, $"{feeder.MaxBuffered(MessageKind.Request)} bytes held");
    }

    [Fact]
    public void ErrorsAndUnknownCommandsAreRecorded()
    {
        var feeder = Connect("REQ", "REP");
        feeder.Feed(MessageKind.Response, [.. Wire.Command("ERROR", [.. "\nBad thing!"u8]), .. Wire.Command("FUTURE", [1, 2, 3])], 3, 4);
        Assert.Equal(["REP error Bad thing!", "REP command"], Summaries(feeder));
    }

    [Fact]
    public void AGapInsideALongFrameKeepsStep()
    {
        var feeder = Connect("PUSH", "PULL");
        var message = Wire.Message("head", new string('x', 5000));
        feeder.Feed(MessageKind.Request, message.AsSpan(0, 100), 3, 4);
        Assert.True(feeder.Gap(MessageKind.Request, 4000, 5));
        feeder.Feed(MessageKind.Request, [.. message.AsSpan(4100), .. Wire.Message("next")], 6, 7);
        Assert.Equal(["PUSH message 2f 5004B", "PUSH message 1f 4B"], Summaries(feeder));
    }

    [Fact]
    public void AGapEndingWhereAFrameEndsCompletesItsMessage()
    {
        var feeder = Connect("PUSH", "PULL");
        var message = Wire.Message("head", new string('x', 5000));
        feeder.Feed(MessageKind.Request, message.AsSpan(0, 100), 3, 4);
        Assert.True(feeder.Gap(MessageKind.Request, message.Length - 100, 5));
        Assert.Equal(["PUSH message 2f 5004B"], Summaries(feeder));
        feeder.Feed(MessageKind.Request, Wire.Message("next"), 6, 7);
        Assert.Equal(["PUSH message 2f 5004B", "PUSH message 1f 4B"], Summaries(feeder));
    }

    [Fact]
    public void JoinedAfterTheGreetingTheParserFindsFrames()
    {
        // --proto PORT=zmtp on a connection traced mid-way: no greeting; the first frame is taken for noise.
        var feeder = new StreamFeeder(ZmtpProtocol.Info);
        feeder.Feed(MessageKind.Request, [.. Wire.Message("first"), .. Wire.Message("second", "2"), .. Wire.Message("third")], 1, 2);
        Assert.Equal(["? message 2f 7B", "? message 1f 5B"], Summaries(feeder));
    }

    [Fact]
    public void ASizeBeyondALongIsInvalid()
    {
        var parser = ZmtpProtocol.Info.Create(ParserOptions.Default, new StreamFeeder.CollectingSink());
        Assert.Equal(ParseStatus.Ignored, parser.Parse(MessageKind.Request, Wire.Greeting(), new StreamContext(1, 2)).Status);
        byte[] huge = [2, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        Assert.Equal(ParseStatus.Invalid, parser.Parse(MessageKind.Request, huge, new StreamContext(1, 2)).Status);
        Assert.Equal(ParseStatus.Invalid, parser.Parse(MessageKind.Request, [0x08, 0], new StreamContext(1, 2)).Status);
        Assert.Equal(ParseStatus.Invalid, parser.Parse(MessageKind.Request, [0x05, 0], new StreamContext(1, 2)).Status);
    }

    [Theory]
    [InlineData("REQ", "REP", "req", "zmtp REQ->REP 2 frames 11 B -> 1 frame 5 B 0.10 ms c1")]
    [InlineData("PUB", "SUB", "", "zmtp PUB message 2 frames 10 B c1")]
    [InlineData("SUB", "PUB", "sub", "zmtp SUB subscribe \"topic\" c1")]
    [InlineData("DEALER", "ROUTER", "ping", "zmtp DEALER ping 0.10 ms c1")]
    [InlineData("DEALER", "ROUTER", "error", "zmtp error \"no\" c1")]
    public void LiveLineNamesTheSocketTypesAndSizes(string from, string to, string what, string expected)
    {
        var feeder = Connect(from, to);
        switch (what)
        {
            case "sub":
                feeder.Feed(MessageKind.Request, Wire.Command("SUBSCRIBE", [.. "topic"u8]), 3_000, 3_000);
                break;
            case "ping":
                feeder.Feed(MessageKind.Request, Wire.Command("PING", [0, 0]), 3_000, 3_000);
                feeder.Feed(MessageKind.Response, Wire.Command("PONG", []), 103_000, 103_000);
                break;
            case "error":
                feeder = new StreamFeeder(ZmtpProtocol.Info);
                feeder.Feed(MessageKind.Response, [.. Wire.Greeting("PLAIN"), .. Wire.Command("ERROR", [.. "\x02no"u8])], 3_000, 3_000);
                break;
            case "":
                feeder.Feed(MessageKind.Request, Wire.Message("news", "sunny!"), 3_000, 3_000);
                break;
            default:
                feeder.Feed(MessageKind.Request, Wire.Message("", "hello world"), 3_000, 3_000);
                feeder.Feed(MessageKind.Response, Wire.Message("world"), 103_000, 103_000);
                break;
        }
        var line = new LiveLine(color: false);
        feeder.Messages.Cast<ZmtpMessage>().Last().ToRecord(new FixedMessageContext()).Describe(line);
        Assert.Equal(expected, line.ToString());
    }

    [Fact]
    public void JsonCarriesTheSocketTypesSizesAndReply()
    {
        var feeder = Connect("REQ", "REP");
        feeder.Feed(MessageKind.Request, Wire.Message("", "hi"), 3_000, 3_000);
        feeder.Feed(MessageKind.Response, Wire.Message("", "yo!"), 4_000, 5_000);
        Assert.Equal(
            """{"kind":"message","socket_type":"REQ","peer_socket_type":"REP","mechanism":"NULL","version":"3.1","frames":2,"bytes":2,"reply":{"frames":2,"bytes":3},"topic":null,"identity":null,"user":null,"error":null}""",
            FixedMessageContext.Fields(feeder.Messages.Cast<ZmtpMessage>().Last()));
    }
}
