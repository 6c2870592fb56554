using System.Text;
using Tattle.Capture.Events;
using Tattle.Protocols;
using Tattle.Protocols.Common;
using Tattle.Tracking.Streams;

namespace Tattle.Tests.Tracking.Streams;

/// <summary>Reassembly by kernel position, gaps, caps and resync, through the toy line protocol.</summary>
public sealed class ConnectionDecoderTests : IDecoderEvents
{
    private readonly List<LineExchange> _messages = [];
    private readonly List<(Direction Dir, long Bytes, GapReason Reason)> _gaps = [];
    private readonly List<string> _protocols = [];
    private long _now = 1000;

    void IDecoderEvents.OnMessage(ProtocolMessage message) => _messages.Add((LineExchange)message);

    void IDecoderEvents.OnGap(Direction direction, long bytes, GapReason reason) => _gaps.Add((direction, bytes, reason));

    void IDecoderEvents.OnProtocol(string protocol) => _protocols.Add(protocol);

    private ConnectionDecoder Decoder(int cap = 1 << 20, string role = "client") => new(
        new StreamSettings { Catalog = new ProtocolCatalog([LineProtocol.Info]), CapBytes = cap },
        this, datagram: false, localPort: 40000, remotePort: 7, role);

    private void Feed(ConnectionDecoder d, Direction dir, ulong position, string text,
        DataFlags flags = DataFlags.Last, uint? messageLength = null, uint chunkOffset = 0)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        var e = new DataEvent
        {
            TimestampNs = _now += 10,
            Direction = dir,
            Position = position,
            MessageLength = messageLength ?? (uint)bytes.Length,
            ChunkOffset = chunkOffset,
            ChunkLength = (uint)bytes.Length,
            Flags = flags,
            SockType = SocketTypes.Stream,
        };
        d.OnData(in e, bytes, null);
    }

    private IEnumerable<string> Pairs => _messages.Select(m => $"{m.Question}={m.Answer ?? "-"}");

    [Fact]
    public void InOrderSegments_SplitAnywhere_GiveTheSameExchanges()
    {
        const string requests = "Q:one\nQ:two\n";
        const string responses = "A:1\nA:2\n";
        for (int cut = 1; cut < requests.Length; cut++)
        {
            _messages.Clear();
            var d = Decoder();
            Feed(d, Direction.Send, 0, requests[..cut]);
            Feed(d, Direction.Send, (ulong)cut, requests[cut..]);
            Feed(d, Direction.Recv, 0, responses[..2]);
            Feed(d, Direction.Recv, 2, responses[2..]);
            d.OnClose(_now);
            Assert.Equal(["one=1", "two=2"], Pairs);
        }
        Assert.Equal("line", _protocols[0]);
        Assert.Empty(_gaps);
    }

    [Fact]
    public void BytesParsedInPlace_AreNotReadAfterTheCall_WhatIsLeftIsCopied()
    {
        // A ring buffer's record is reused once its callback returns: scribbling over each chunk after the call
        // must change nothing, whether the chunk held whole messages, a message's beginning, or both.
        var d = Decoder();
        ulong position = 0;
        foreach (string chunk in new[] { "Q:one\nQ:tw", "o\nQ:thr", "ee\n" })
        {
            var bytes = Encoding.ASCII.GetBytes(chunk);
            var e = new DataEvent
            {
                TimestampNs = _now += 10,
                Direction = Direction.Send,
                Position = position,
                MessageLength = (uint)bytes.Length,
                ChunkLength = (uint)bytes.Length,
                Flags = DataFlags.Last,
                SockType = SocketTypes.Stream,
            };
            d.OnData(in e, bytes, null);
            bytes.AsSpan().Fill((byte)'#');
            position += (ulong)bytes.Length;
        }
        Feed(d, Direction.Recv, 0, "A:1\nA:2\nA:3\n");
        d.OnClose(_now);
        Assert.Equal(["one=1", "two=2", "three=3"], Pairs);
        Assert.Empty(_gaps);
    }

    [Fact]
    public void ChunksArrivingOutOfOrder_AreReorderedByPosition()
    {
        var d = Decoder();
        Feed(d, Direction.Send, 6, "Q:b\n");
        Feed(d, Direction.Send, 10, "Q:c\n");
        Feed(d, Direction.Send, 0, "Q:aaa\n");
        Feed(d, Direction.Recv, 0, "A:1\nA:2\nA:3\n");
        Assert.Equal(["aaa=1", "b=2", "c=3"], Pairs);
        Assert.Empty(_gaps);
    }

    [Fact]
    public void AHoleThatNeverFills_IsALostGapOfExactSize_AndParsingResumesAtTheNextMessage()
    {
        var d = Decoder();
        Feed(d, Direction.Send, 0, "Q:first\n");     // 8 bytes
        Feed(d, Direction.Send, 8, "Q:sec");         // a partial message, then 20 bytes never arrive
        Feed(d, Direction.Send, 33, "nd\nQ:third\n"); // mid-message, then a message start
        d.OnClose(_now);
        var lost = Assert.Single(_gaps, g => g.Reason == GapReason.Lost);
        Assert.Equal(Direction.Send, lost.Dir);
        Assert.Equal(20, lost.Bytes); // the hole, exactly
        // The partial head the hole made useless and the tail up to the next message start were seen, then skipped.
        Assert.Contains(_gaps, g => g.Reason == GapReason.Resync && g.Bytes == "Q:sec".Length + 3);
        Assert.Equal(["first=-", "third=-"], Pairs);
    }

    [Fact]
    public void AMessageCutBySnaplen_IsASnaplenGap_AndTheNextMessageParses()
    {
        var d = Decoder();
        Feed(d, Direction.Send, 0, "Q:looo", DataFlags.Last | DataFlags.Truncated, messageLength: 100);
        Feed(d, Direction.Send, 100, "Q:next\n");
        Feed(d, Direction.Recv, 0, "A:n\n");
        Assert.Equal([(Direction.Send, 94L, GapReason.Snaplen), (Direction.Send, 6L, GapReason.Resync)], _gaps);
        Assert.Equal(["next=n"], Pairs);
    }

    /// <summary>
    /// A download at --snaplen 100 whose head was cut: every message's gap is what the kernel did not hand over
    /// (its length less the 100 bytes captured), never more, and the gaps with the skipped bytes add up to the
    /// direction's length.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EveryMessageCutBySnaplen_HasAGapOfExactlyWhatWasNotCaptured(bool detected)
    {
        var d = Decoder();
        uint[] lengths = [98_509, 102_400, 102_400, 27_361, 34_496];
        ulong position = 0;
        foreach (uint length in lengths)
        {
            // The first message starts like a response (the protocol is detected) or like nothing (never detected).
            Feed(d, Direction.Recv, position, (position == 0 && detected ? "A:" : "zz") + new string('z', 98),
                DataFlags.Last | DataFlags.Truncated, messageLength: length);
            position += length;
        }
        d.OnClose(_now);
        var received = _gaps.Where(g => g.Dir == Direction.Recv).ToList();
        Assert.Equal(lengths.Select(l => l - 100L), received.Where(g => g.Reason == GapReason.Snaplen).Select(g => g.Bytes));
        Assert.Equal((long)position, received.Sum(g => g.Bytes));
        Assert.DoesNotContain(_messages, m => m.Answer is not null);
    }

    [Fact]
    public void UnparsedBytesPastTheCap_BecomeACapGap()
    {
        var d = Decoder(cap: 4096);
        Feed(d, Direction.Send, 0, "Q:" + new string('x', 3000));
        Feed(d, Direction.Send, 3002, new string('y', 2000));
        Feed(d, Direction.Send, 5002, "\nQ:ok\n");
        Feed(d, Direction.Recv, 0, "A:fine\n");
        var cap = Assert.Single(_gaps, g => g.Reason == GapReason.Cap);
        Assert.Equal(5002, cap.Bytes);
        Assert.Equal(["ok=fine"], Pairs);
    }

    [Fact]
    public void GarbageBetweenMessages_IsSkippedAndCounted()
    {
        var d = Decoder();
        Feed(d, Direction.Send, 0, "Q:a\n#garbage#\nQ:b\n");
        Feed(d, Direction.Recv, 0, "A:1\nA:2\n");
        d.OnClose(_now);
        Assert.Equal(["a=1", "b=2"], Pairs);
        var resync = Assert.Single(_gaps);
        Assert.Equal((Direction.Send, 10L, GapReason.Resync), resync);
    }

    [Fact]
    public void SendfileBytes_AreAnUnseenGap_ReportedWhenTheParserCannotAbsorbThem()
    {
        var d = Decoder(role: "server");
        Feed(d, Direction.Recv, 0, "Q:file\n");
        Feed(d, Direction.Send, 0, "A:head\n");
        var e = new DataEvent
        {
            TimestampNs = _now += 10,
            Direction = Direction.Send,
            Position = 7,
            MessageLength = 5000,
            Flags = DataFlags.Sendfile | DataFlags.Last,
            SockType = SocketTypes.Stream,
        };
        d.OnData(in e, [], null);
        Assert.Equal(["file=head"], Pairs);
        Assert.Equal((Direction.Send, 5000L, GapReason.Unseen), Assert.Single(_gaps));
    }

    [Fact]
    public void BytesNoProtocolClaims_AreNotBuffered()
    {
        var d = Decoder();
        Feed(d, Direction.Send, 0, "\x16\x03\x01 not a line protocol");
        Feed(d, Direction.Recv, 0, "SSH-2.0-x\r\n");
        Feed(d, Direction.Send, 30, "Q:late\n");
        Feed(d, Direction.Recv, 11, "A:late\n");
        Assert.Null(d.Protocol);
        Assert.Empty(_messages);
    }
}
