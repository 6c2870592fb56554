using Tattle.Protocols.Common;
using Tattle.Protocols.WebSocket;
using Tattle.Tests.Protocols.Support;
using Tattle.Tests.Support;

namespace Tattle.Tests.Protocols.WebSocket;

/// <summary>A connection that streams messages, as a chat or a feed does: what each one costs, and that it is right.</summary>
public sealed class WebSocketSteadyStateTests
{
    /// <summary>A frame as RFC 6455 section 5.2 lays it out: FIN, the opcode, a short payload, masked when a client sends it.</summary>
    private static byte[] Frame(int opcode, ReadOnlySpan<byte> payload, bool masked)
    {
        byte[] mask = [0x37, 0xfa, 0x21, 0x3d];
        byte[] head = masked ? [(byte)(0x80 | opcode), (byte)(0x80 | payload.Length), .. mask] : [(byte)(0x80 | opcode), (byte)payload.Length];
        var frame = new byte[head.Length + payload.Length];
        head.CopyTo(frame, 0);
        for (int i = 0; i < payload.Length; i++)
        {
            frame[head.Length + i] = (byte)(payload[i] ^ (masked ? mask[i & 3] : 0));
        }
        return frame;
    }

    [Fact]
    public void AConnectionStreamingMessages_AllocatesNothingPerMessage()
    {
        // The client sends a masked text and pings; the server answers with a binary message and pongs.
        var ws = new SteadyState(WebSocketProtocol.Info);
        byte[] text = Frame(1, "hello world!"u8, masked: true), ping = Frame(9, "hb"u8, masked: true);
        byte[] binary = Frame(2, [1, 2, 3, 4, 5, 6, 7, 8], masked: false), pong = Frame(10, "hb"u8, masked: false);
        long allocated = Allocations.InSteadyState(Exchange, out int next);

        Assert.Equal(4 * next, ws.Count);
        var last = Assert.IsType<WebSocketMessage>(ws.Last);
        Assert.Equal(("pong", "server", 2L), (last.Opcode, last.Sender, last.Bytes));
        Assert.NotNull(last.PingLatencyMs);
        Assert.Equal(0, allocated);

        void Exchange(int i)
        {
            ws.Feed(MessageKind.Request, text);
            ws.Feed(MessageKind.Response, binary);
            ws.Feed(MessageKind.Request, ping);
            ws.Feed(MessageKind.Response, pong);
        }
    }

    [Fact]
    public void EveryCaptureGivesTheSameMessages_RefilledOrKept()
    {
        foreach (string name in WebSocketCaptureTests.All)
        {
            var refilled = WebSocketCaptureTests.Run(name).Ws.Messages;
            var kept = WebSocketCaptureTests.Run(name, consumesAtOnce: false).Ws.Messages;
            Assert.NotEmpty(refilled);
            Assert.Equal(kept, refilled);
        }
    }

    [Fact]
    public void ARefilledRecord_IsTheRecordANewOneWouldBe()
    {
        var feeder = new StreamFeeder(WebSocketProtocol.Info);
        feeder.Feed(MessageKind.Request, [.. Frame(9, "hb"u8, masked: true), .. Frame(8, [0x0f, 0xa0, .. "bye"u8], masked: true)], 5, 10);
        feeder.Feed(MessageKind.Response, Frame(10, "hb"u8, masked: false), 20, 30);
        var x = feeder.Messages.Cast<WebSocketMessage>().ToList();
        Assert.Equal(["ping", "close", "pong"], x.Select(m => m.Opcode));

        var pong = RecordRefill.AssertEqualsNew<WebSocketRecord>(x[2], x[1].ToRecord(new FixedMessageContext()));
        Assert.Equal("server", pong.Sender);
        Assert.True(pong.LatencyMs > 0);
        var close = RecordRefill.AssertEqualsNew<WebSocketRecord>(x[1], pong);
        Assert.Equal((4000, "bye", null), (close.CloseCode, close.CloseReason, close.LatencyMs));
    }
}
