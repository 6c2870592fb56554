using System.Text;
using Tattle.Capture.Bpf;
using Tattle.Capture.Events;
using Tattle.Protocols.Common;
using Tattle.Protocols.Http1;
using Tattle.Tracking.Streams;

namespace Tattle.Tests.Tracking.Streams;

/// <summary>
/// The decoder's side of body skipping: when it asks the kernel to count the rest of a body, and how the kernel's
/// skipped records are read back (HTTP/1 wire bytes, the real parser).
/// </summary>
public sealed class BodySkipTests : IDecoderEvents, IBodySkips
{
    private const ulong Sock = 0xffff_8880_1234_5600;
    private const uint Generation = 77;
    private readonly List<HttpExchange> _exchanges = [];
    private readonly List<(Direction Dir, long Bytes, GapReason Reason)> _gaps = [];
    private readonly List<(ulong Sock, uint Generation, Direction Dir, ulong End)> _asked = [];
    private readonly List<ulong> _forgotten = [];
    private long _now = 1000;

    void IDecoderEvents.OnMessage(ProtocolMessage message) => _exchanges.Add((HttpExchange)message);

    void IDecoderEvents.OnGap(Direction direction, long bytes, GapReason reason) => _gaps.Add((direction, bytes, reason));

    void IDecoderEvents.OnProtocol(string protocol)
    {
    }

    void IBodySkips.SkipUntil(ulong sock, uint generation, Direction direction, ulong end) => _asked.Add((sock, generation, direction, end));

    void IBodySkips.Forget(ulong sock) => _forgotten.Add(sock);

    private ConnectionDecoder Decoder(StreamSettings? settings = null) =>
        new(settings ?? new StreamSettings(), this, datagram: false, localPort: 40000, remotePort: 80, "client", skips: this);

    private void Feed(ConnectionDecoder d, Direction dir, ulong position, byte[] bytes, uint? messageLength = null, uint chunkOffset = 0)
    {
        var e = new DataEvent
        {
            TimestampNs = _now += 10,
            Direction = dir,
            Position = position,
            MessageLength = messageLength ?? (uint)bytes.Length,
            ChunkOffset = chunkOffset,
            ChunkLength = (uint)bytes.Length,
            Flags = DataFlags.Last,
            SockType = SocketTypes.Stream,
            SockId = Sock,
            SocketGeneration = Generation,
        };
        d.OnData(in e, bytes, null);
    }

    /// <summary>The kernel's record for the first <paramref name="skipped"/> bytes of a message it did not copy.</summary>
    private void Skipped(ConnectionDecoder d, Direction dir, ulong position, uint skipped, uint messageLength)
    {
        var e = new DataEvent
        {
            TimestampNs = _now += 10,
            Direction = dir,
            Position = position,
            MessageLength = messageLength,
            Flags = DataFlags.Skipped | (skipped == messageLength ? DataFlags.Last : 0),
            SkipLength = skipped,
            SockType = SocketTypes.Stream,
            SockId = Sock,
            SocketGeneration = Generation,
        };
        d.OnData(in e, [], null);
    }

    private static byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s);

    private static readonly byte[] Request = Ascii("GET /big HTTP/1.1\r\nHost: example.test\r\nAccept: */*\r\n\r\n");
    private static readonly byte[] Head = Ascii("HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\nContent-Type: application/octet-stream\r\n\r\n");

    [Fact]
    public void ALongBody_IsAskedOnce_ToItsEnd_AndTheSkippedBytesCountAsBodyNotUnseen()
    {
        var d = Decoder();
        Feed(d, Direction.Send, 0, Request);
        // The first read: the head and 16 KiB of the body.
        var first = Head.Concat(new byte[16384]).ToArray();
        Feed(d, Direction.Recv, 0, first);
        var asked = Assert.Single(_asked);
        Assert.Equal((Sock, Generation, Direction.Recv, (ulong)(Head.Length + 1048576)), asked);

        // A read the kernel copied before it learnt (the parser reads it as body), then two it skipped: the last of
        // them ends in the next response's head, which it copied.
        ulong pos = (ulong)first.Length;
        Feed(d, Direction.Recv, pos, new byte[65536]);
        pos += 65536;
        Feed(d, Direction.Send, (ulong)Request.Length, Request);
        Skipped(d, Direction.Recv, pos, 500000, 500000);
        pos += 500000;
        uint rest = (uint)(Head.Length + 1048576 - (long)pos);
        var next = Ascii("HTTP/1.1 204 No Content\r\n\r\n");
        Skipped(d, Direction.Recv, pos, rest, rest + (uint)next.Length);
        Feed(d, Direction.Recv, pos, next, messageLength: rest + (uint)next.Length, chunkOffset: rest);
        Assert.Single(_asked); // the same body is not asked for again
        d.OnClose(_now);

        Assert.Empty(_gaps);
        Assert.Equal(2, _exchanges.Count);
        var big = _exchanges[0].Response!;
        Assert.Equal(200, big.Status);
        Assert.Equal(1048576, big.BodyBytes);
        Assert.Equal(0, big.UnseenBytes);
        Assert.False(big.Truncated);
        Assert.Equal(204, _exchanges[1].Response!.Status);
        Assert.Equal([Sock], _forgotten);
    }

    [Fact]
    public void ABodyWithLessThanTheThresholdLeft_OrOfUnknownLength_IsNotAsked()
    {
        var d = Decoder();
        Feed(d, Direction.Send, 0, Request);
        var small = Ascii("HTTP/1.1 200 OK\r\nContent-Length: 300000\r\n\r\n");
        Feed(d, Direction.Recv, 0, small.Concat(new byte[60000]).ToArray()); // 240 000 left: under 256 KiB
        Feed(d, Direction.Recv, (ulong)small.Length + 60000, new byte[240000]);
        Feed(d, Direction.Send, (ulong)Request.Length, Request);
        var chunked = Ascii("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000\r\n");
        Feed(d, Direction.Recv, (ulong)small.Length + 300000, chunked.Concat(new byte[1000]).ToArray());
        Assert.Empty(_asked);
        Assert.Single(_exchanges);
        Assert.Empty(_gaps);
    }

    [Fact]
    public void WithABodyLimit_TheKeptBytesAreCopied_AndOnlyTheRestIsAsked()
    {
        var settings = new StreamSettings { Parser = new ParserOptions { BodyLimit = 100000 } };
        var d = Decoder(settings);
        Feed(d, Direction.Send, 0, Request);
        var first = Head.Concat(new byte[16384]).ToArray();
        Feed(d, Direction.Recv, 0, first);
        Assert.Empty(_asked); // 100 000 body bytes are to be kept: not yet
        Feed(d, Direction.Recv, (ulong)first.Length, new byte[100000]);
        var asked = Assert.Single(_asked);
        Assert.Equal((ulong)(Head.Length + 1048576), asked.End);
    }

    [Fact]
    public void SkippedBytesTheParserDidNotExpect_AreAGapOfThatReason()
    {
        // A skip the parser never asked for (it lost step meanwhile): reported, not silently taken for body.
        var d = Decoder();
        Feed(d, Direction.Send, 0, Request);
        Feed(d, Direction.Recv, 0, Ascii("HTTP/1.1 204 No Content\r\n\r\n"));
        Skipped(d, Direction.Recv, 27, 5000, 5000);
        var gap = Assert.Single(_gaps);
        Assert.Equal((Direction.Recv, 5000L, GapReason.Skipped), gap);
    }
}
