using Tattle.Protocols;
using Tattle.Protocols.Common;
using Tattle.Protocols.Http1;
using Tattle.Protocols.WebSocket;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.WebSocket;

/// <summary>
/// Real websockets-library connections (testdata/websocket/capture.py: an echo server, permessage-deflate off and on)
/// replayed through the HTTP/1 parser, which reads the upgrade, then through the parser that takes the connection over.
/// </summary>
public sealed class WebSocketCaptureTests(ITestOutputHelper output)
{
    public static readonly string[] All = ["plain", "deflate"];

    public static TheoryData<string> Names => [.. All];

    public static RecordedConnection Load(string name) => RecordedConnection.Load("websocket", name);

    /// <summary>"client text 1 frame 5 B masked", "server close 4000 bye".</summary>
    public static string Summary(WebSocketMessage m) =>
        m.CloseCode is { } code ? $"{m.Sender} close {code} {m.CloseReason}"
        : $"{m.Sender} {m.Opcode} {m.Frames} frame{(m.Frames == 1 ? "" : "s")} {m.Bytes} B{(m.Masked ? " masked" : "")}{(m.Compressed ? " deflate" : "")}";

    /// <summary>Where the HTTP/1.1 heads end in each direction, indexed by <see cref="MessageKind"/>.</summary>
    private static int[] Heads(RecordedConnection c) =>
        [c.Requests.AsSpan().IndexOf("\r\n\r\n"u8) + 4, c.Responses.AsSpan().IndexOf("\r\n\r\n"u8) + 4];

    /// <summary>The capture's HTTP upgrade, then its frames through the parser the upgrade hands over to.</summary>
    public static (StreamFeeder Http, StreamFeeder Ws) Run(string name, Random? random = null, ParserOptions? options = null, bool consumesAtOnce = true)
    {
        var c = Load(name);
        var http = new StreamFeeder(Http1Protocol.Info);
        c.Replay(http, random, 40);
        Assert.True(http.Stopped);
        var change = http.Parser.Switch!;
        var next = ProtocolCatalog.Default.ForUpgrade(change.Protocol)!;
        var ws = new StreamFeeder(new ProtocolInfo(next.Name, next.Probe, (o, s) => next.TakeOver!(o, s, change)), options, consumesAtOnce: consumesAtOnce);
        long now = c.Replay(ws, random, 40, from: Heads(c));
        ws.Close(now);
        Assert.Equal(0, ws.Dropped(MessageKind.Request));
        Assert.Equal(0, ws.Dropped(MessageKind.Response));
        return (http, ws);
    }

    private List<string> Messages(string name, Random? random = null)
    {
        var list = Run(name, random).Ws.Messages.Cast<WebSocketMessage>().Select(Summary).ToList();
        if (random is null)
        {
            list.ForEach(output.WriteLine);
        }
        return list;
    }

    [Fact]
    public void TheUpgradeIsHttpAndTheFramesAreMessages()
    {
        var (http, ws) = Run("plain");
        var upgrade = Assert.Single(http.Messages.Cast<HttpExchange>());
        Assert.Equal(101, upgrade.Response!.Status);
        Assert.Equal("websocket", http.Parser.Switch!.Protocol);
        Assert.Same(WebSocketProtocol.Info, ProtocolCatalog.Default.ForUpgrade("WebSocket"));
        Assert.Equal(
        [
            "client text 1 frame 5 B masked", "server text 1 frame 5 B", "client binary 1 frame 100 B masked", "server binary 1 frame 100 B",
            // websockets sends a fragmented message's last fragment as an empty continuation frame with FIN.
            "client text 4 frames 10 B masked", "server text 1 frame 10 B", "client ping 1 frame 2 B masked", "server pong 1 frame 2 B",
            "client binary 1 frame 100000 B masked", "server binary 1 frame 100000 B", "client close 4000 bye", "server close 4000 bye",
        ], ws.Messages.Cast<WebSocketMessage>().Select(Summary));
        var pong = ws.Messages.Cast<WebSocketMessage>().Single(m => m.Opcode == "pong");
        Assert.NotNull(pong.PingLatencyMs);
        Assert.True(ws.MaxBuffered(MessageKind.Request) <= 65_536, $"{ws.MaxBuffered(MessageKind.Request)} bytes held");
    }

    [Fact]
    public void PermessageDeflateMarksMessagesCompressed()
    {
        var x = Run("deflate").Ws.Messages.Cast<WebSocketMessage>().ToList();
        x.ForEach(m => output.WriteLine(Summary(m)));
        Assert.Equal(12, x.Count);
        Assert.All(x.Where(m => m.Opcode is "text" or "binary"), m => Assert.True(m.Compressed));
        Assert.All(x.Where(m => m.Opcode is "ping" or "pong" or "close"), m => Assert.False(m.Compressed));
        Assert.Equal(4, x[4].Frames);
    }

    [Fact]
    public void PreviewsOnlyWithData()
    {
        Assert.All(Run("plain").Ws.Messages.Cast<WebSocketMessage>(), m => Assert.Null(m.Preview));
        var previews = Run("plain", options: ParserOptions.Default with { Previews = true }).Ws.Messages.Cast<WebSocketMessage>()
            .Where(m => m.Preview is not null).Select(m => $"{m.Sender} {m.Preview}");
        Assert.Equal(["client hello", "server hello", "client fragmented", "server fragmented"], previews);
    }

    [Fact]
    public void AGapInsideAPayloadIsAbsorbedAndOneInAHeaderResyncs()
    {
        var feeder = new StreamFeeder(WebSocketProtocol.Info);
        // A masked binary frame of 1000 bytes with 900 of its payload lost, then a text frame.
        byte[] head = [0x82, 0xFE, 0x03, 0xE8, 1, 2, 3, 4];
        feeder.Feed(MessageKind.Request, [.. head, .. new byte[50]], 1, 2);
        Assert.True(feeder.Gap(MessageKind.Request, 900, 3));
        feeder.Feed(MessageKind.Request, [.. new byte[50], 0x81, 0x82, 0, 0, 0, 0, (byte)'h', (byte)'i'], 4, 5);
        // A gap that cuts a header: the next frame start is found again.
        Assert.False(feeder.Gap(MessageKind.Request, 3, 6));
        feeder.Feed(MessageKind.Request, [0x00, 0x05, 0x81, 0x82, 0, 0, 0, 0, (byte)'y', (byte)'o'], 7, 8);
        Assert.Equal(["client binary 1 frame 1000 B masked", "client text 1 frame 2 B masked", "client text 1 frame 2 B masked"],
            feeder.Messages.Cast<WebSocketMessage>().Select(Summary));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void RandomSplitsGiveTheSameMessages(string name)
    {
        var whole = Messages(name);
        for (int seed = 0; seed < 10; seed++)
        {
            Assert.Equal(whole, Messages(name, new Random(seed)));
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void EveryPrefixNeedsMoreDataAndReportsNoEarlyMessage(string name)
    {
        var c = Load(name);
        int[] heads = Heads(c);
        foreach (var kind in new[] { MessageKind.Request, MessageKind.Response })
        {
            var bytes = c.Bytes(kind).AsSpan(heads[(int)kind]).ToArray();
            // The first frames are short ("hello"): a 7-bit length, and a mask key from the client.
            int first = 2 + ((bytes[1] & 0x80) != 0 ? 4 : 0) + (bytes[1] & 0x7F);
            for (int n = 0; n < first; n++)
            {
                var feeder = new StreamFeeder(WebSocketProtocol.Info);
                feeder.Feed(kind, bytes.AsSpan(0, n), 1, 2);
                Assert.Empty(feeder.Messages);
                Assert.All(feeder.Statuses, s => Assert.Equal(ParseStatus.NeedMoreData, s));
            }
        }
    }
}
