using System.Runtime.InteropServices;
using Tattle.Protocols.Common;
using IMessageSink = Tattle.Protocols.Common.IMessageSink;

namespace Tattle.Tests.Protocols.Support;

/// <summary>
/// Feeds a parser the way a connection's data stream does, and checks the parser keeps the contract while at it:
/// a buffer per direction; <c>Parse</c> until it needs more data; <c>Consumed</c> honoured and within the input;
/// on <c>Invalid</c> the bytes up to the next <c>FindFrameBoundary</c> (searched from the second byte) dropped;
/// on <c>EndOfStream</c> both directions stopped; after a gap the parser cannot absorb, the direction's held bytes
/// dropped and the next ones searched with <c>FindFrameBoundary</c>. Datagrams go to <c>Parse</c> one at a time.
/// </summary>
public sealed class ProtocolFeeder : IMessageSink
{
    // No parse loop needs more calls than this per feed: more means the parser stopped making progress.
    private const int MaxCallsPerFeed = 100_000;

    private readonly List<byte>[] _buffers = [[], []];
    private readonly long[] _startNs = new long[2];
    private readonly bool[] _resync = new bool[2];

    private readonly bool _consumesAtOnce;

    /// <param name="consumesAtOnce">False: the parser is told the sink keeps messages, so it makes a new object for each.</param>
    public ProtocolFeeder(ProtocolInfo protocol, ParserOptions? options = null, bool consumesAtOnce = true)
    {
        _consumesAtOnce = consumesAtOnce;
        Parser = protocol.Create(options ?? ParserOptions.Default, this);
    }

    public IProtocolParser Parser { get; }

    /// <summary>What the parser reported, in order.</summary>
    public List<ProtocolMessage> Messages { get; } = [];

    /// <summary>Every status Parse returned, in order.</summary>
    public List<ParseStatus> Statuses { get; } = [];

    /// <summary>The parser said EndOfStream: nothing more is fed.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Bytes dropped to resynchronise after Invalid or a gap.</summary>
    public long DroppedBytes { get; private set; }

    /// <summary>The fake monotonic clock, in nanoseconds; each feed advances it by <see cref="Tick"/>.</summary>
    public long NowNs { get; set; } = 1_000_000_000;

    public long Tick { get; set; } = 1_000_000;

    /// <summary>Bytes a direction holds that the parser has not used up.</summary>
    public int Buffered(MessageKind kind) => _buffers[(int)kind].Count;

    public IEnumerable<T> Of<T>() => Messages.OfType<T>();

    void IMessageSink.OnMessage(ProtocolMessage message) => Messages.Add(MessageSnapshot.Of(message));

    // As the trace's recorder: parsers run the path they run live, and the feeder keeps copies.
    bool IMessageSink.ConsumesAtOnce => _consumesAtOnce;

    /// <summary>Bytes of a stream direction arrive.</summary>
    public void Feed(MessageKind kind, ReadOnlySpan<byte> bytes, bool endOfStream = false)
    {
        NowNs += Tick;
        if (Stopped)
        {
            return;
        }
        var buffer = _buffers[(int)kind];
        if (buffer.Count == 0)
        {
            _startNs[(int)kind] = NowNs;
        }
        buffer.AddRange(bytes);
        for (int calls = 0; buffer.Count > 0 && !Stopped; calls++)
        {
            Assert.True(calls < MaxCallsPerFeed, "the parser makes no progress");
            var data = CollectionsMarshal.AsSpan(buffer);
            if (_resync[(int)kind])
            {
                int boundary = Parser.FindFrameBoundary(kind, data);
                Assert.InRange(boundary, -1, data.Length - 1);
                int drop = boundary < 0 ? data.Length : boundary;
                Drop(kind, drop);
                _resync[(int)kind] = false;
                continue;
            }
            var result = Parser.Parse(kind, data, new StreamContext(_startNs[(int)kind], NowNs, endOfStream));
            Statuses.Add(result.Status);
            Assert.InRange(result.Consumed, 0, data.Length);
            switch (result.Status)
            {
                case ParseStatus.Success:
                case ParseStatus.Ignored:
                    Assert.True(result.Consumed > 0, $"{result.Status} consumed nothing");
                    buffer.RemoveRange(0, result.Consumed);
                    break;
                case ParseStatus.NeedMoreData:
                    buffer.RemoveRange(0, result.Consumed);
                    return;
                case ParseStatus.Invalid:
                    Assert.Equal(0, result.Consumed);
                    // The message at 0 is not one: look for the next from the second byte.
                    int next = Parser.FindFrameBoundary(kind, data[1..]);
                    Assert.InRange(next, -1, data.Length - 2);
                    Drop(kind, next < 0 ? data.Length : 1 + next);
                    break;
                case ParseStatus.EndOfStream:
                    buffer.RemoveRange(0, result.Consumed);
                    Stopped = true;
                    _buffers[0].Clear();
                    _buffers[1].Clear();
                    return;
            }
            _startNs[(int)kind] = NowNs;
        }
    }

    /// <summary>Feeds <paramref name="bytes"/> in pieces cut at <paramref name="cuts"/> (offsets, any order).</summary>
    public void FeedSplit(MessageKind kind, ReadOnlySpan<byte> bytes, IEnumerable<int> cuts)
    {
        int from = 0;
        int length = bytes.Length;
        foreach (int cut in cuts.Where(c => c > 0 && c < length).Distinct().Order())
        {
            Feed(kind, bytes[from..cut]);
            from = cut;
        }
        Feed(kind, bytes[from..]);
    }

    /// <summary>One datagram arrives, from or to <paramref name="peer"/> (null: a peer not known).</summary>
    public ParseResult FeedDatagram(MessageKind kind, ReadOnlySpan<byte> datagram, string? peer)
    {
        NowNs += Tick;
        var result = Parser.Parse(kind, datagram, new StreamContext(NowNs, NowNs, Datagram: true, Peer: peer));
        Statuses.Add(result.Status);
        Assert.InRange(result.Consumed, 0, datagram.Length);
        if (result.Status is ParseStatus.Success or ParseStatus.Ignored)
        {
            Assert.Equal(datagram.Length, result.Consumed);
        }
        if (result.Status == ParseStatus.Invalid)
        {
            Assert.Equal(0, result.Consumed);
            DroppedBytes += datagram.Length;
        }
        return result;
    }

    /// <summary>
    /// <paramref name="bytes"/> of a direction will never be seen. If the parser loses step, what the direction
    /// holds (the start of the message the gap cut) goes, and the next bytes are searched for a boundary.
    /// </summary>
    public void Gap(MessageKind kind, long bytes)
    {
        NowNs += Tick;
        if (!Parser.OnGap(kind, bytes, NowNs))
        {
            Drop(kind, _buffers[(int)kind].Count);
            _resync[(int)kind] = true;
        }
    }

    public void Close()
    {
        NowNs += Tick;
        Parser.OnClose(NowNs);
    }

    private void Drop(MessageKind kind, int count)
    {
        _buffers[(int)kind].RemoveRange(0, count);
        DroppedBytes += count;
    }
}
