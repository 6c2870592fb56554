using Tattle.Protocols.Common;
using IMessageSink = Tattle.Protocols.Common.IMessageSink;

namespace Tattle.Tests.Protocols.Support;

/// <summary>
/// Feeds a protocol parser the way a connection's data stream does (the contract on <see cref="ParseStatus"/>):
/// per direction a buffer of the bytes not yet consumed; Parse is called until it needs more data; Consumed is
/// honoured; after Invalid, or a gap the parser could not absorb, bytes are dropped up to the next frame
/// boundary. It also checks the contract as it goes: Consumed within the input, progress on every Success or
/// Ignored, nothing consumed on Invalid, and a bound on calls, so a parser that loops fails instead of hanging.
/// </summary>
public sealed class StreamFeeder
{
    private readonly IProtocolParser _parser;
    private readonly Direction[] _directions = [new(), new()];
    private readonly int _maxCalls;

    /// <param name="consumesAtOnce">The sink copies each message and lets the parser refill it (as live), or keeps it.</param>
    public StreamFeeder(ProtocolInfo protocol, ParserOptions? options = null, int maxCalls = 1_000_000, bool consumesAtOnce = true)
    {
        Sink = new CollectingSink(consumesAtOnce);
        _parser = protocol.Create(options ?? ParserOptions.Default, Sink);
        _maxCalls = maxCalls;
    }

    public CollectingSink Sink { get; }

    public IReadOnlyList<ProtocolMessage> Messages => Sink.Messages;

    public IProtocolParser Parser => _parser;

    /// <summary>Parse calls made so far.</summary>
    public int Calls { get; private set; }

    /// <summary>The parser said EndOfStream: neither direction is parsed any more.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Every status the parser returned, in order.</summary>
    public List<ParseStatus> Statuses { get; } = [];

    /// <summary>The most bytes a direction's buffer ever held: what the parser made the stream keep.</summary>
    public int MaxBuffered(MessageKind kind) => _directions[(int)kind].MaxBuffered;

    /// <summary>Bytes dropped while resynchronising (after Invalid or a gap).</summary>
    public long Dropped(MessageKind kind) => _directions[(int)kind].Dropped;

    /// <summary>Appends bytes that arrived between <paramref name="startNs"/> and <paramref name="nowNs"/> and parses.</summary>
    public void Feed(MessageKind kind, ReadOnlySpan<byte> bytes, long startNs, long nowNs, bool endOfStream = false)
    {
        var d = _directions[(int)kind];
        if (Stopped)
        {
            return;
        }
        d.Append(bytes);
        if (d.Length == bytes.Length || !d.HasStart)
        {
            // The buffer held nothing: its first byte arrived now.
            d.StartNs = startNs;
            d.HasStart = true;
        }
        Pump(kind, d, new StreamContext(d.StartNs, nowNs, endOfStream));
    }

    /// <summary>Bytes of a direction that will never be seen.</summary>
    public bool Gap(MessageKind kind, long bytes, long nowNs)
    {
        var d = _directions[(int)kind];
        bool inStep = _parser.OnGap(kind, bytes, nowNs);
        if (!inStep)
        {
            // What the buffer holds came before the gap; what follows will not continue it.
            d.Dropped += d.Length;
            d.Clear();
            d.Resync = true;
        }
        return inStep;
    }

    public void Close(long nowNs)
    {
        if (!Stopped)
        {
            _parser.OnClose(nowNs);
        }
    }

    private void Pump(MessageKind kind, Direction d, StreamContext context)
    {
        while (!Stopped)
        {
            if (d.Resync)
            {
                int boundary = _parser.FindFrameBoundary(kind, d.Span);
                if (boundary < -1 || boundary > d.Length)
                {
                    throw new InvalidOperationException($"FindFrameBoundary returned {boundary} for {d.Length} bytes");
                }
                if (boundary < 0)
                {
                    d.Dropped += d.Length;
                    d.Clear();
                    return;
                }
                d.Dropped += boundary;
                d.Consume(boundary);
                d.Resync = false;
            }

            var data = d.Span;
            var result = _parser.Parse(kind, data, context);
            Statuses.Add(result.Status);
            if (++Calls > _maxCalls)
            {
                throw new InvalidOperationException($"more than {_maxCalls} Parse calls: the parser loops");
            }
            if (result.Consumed < 0 || result.Consumed > data.Length)
            {
                throw new InvalidOperationException($"{result.Status} consumed {result.Consumed} of {data.Length} bytes");
            }
            switch (result.Status)
            {
                case ParseStatus.Success:
                case ParseStatus.Ignored:
                    // Completing a message at the end of the stream may take no bytes; anywhere else it would loop.
                    if (result.Consumed == 0 && !(data.IsEmpty && context.EndOfStream))
                    {
                        throw new InvalidOperationException($"{result.Status} consumed nothing: the caller would loop");
                    }
                    d.Consume(result.Consumed);
                    break;
                case ParseStatus.NeedMoreData:
                    d.Consume(result.Consumed);
                    return;
                case ParseStatus.Invalid:
                    if (result.Consumed != 0)
                    {
                        throw new InvalidOperationException($"Invalid consumed {result.Consumed} bytes");
                    }
                    if (data.IsEmpty)
                    {
                        throw new InvalidOperationException("Invalid on no bytes");
                    }
                    // The frame start the parser refused is skipped, or the boundary search would find it again.
                    d.Consume(1);
                    d.Dropped++;
                    d.Resync = true;
                    break;
                case ParseStatus.EndOfStream:
                    d.Consume(result.Consumed);
                    Stopped = true;
                    return;
            }
            if (d.Length == 0 && !context.EndOfStream)
            {
                return;
            }
        }
    }

    /// <summary>Collects what a parser reports: copies of it when <paramref name="consumesAtOnce"/> (see <see cref="MessageSnapshot"/>).</summary>
    public sealed class CollectingSink(bool consumesAtOnce = true) : IMessageSink
    {
        public List<ProtocolMessage> Messages { get; } = [];

        /// <summary>Sees each message object as handed over, the parser's own, while the call lasts.</summary>
        public Action<ProtocolMessage>? OnHanded { get; set; }

        public bool ConsumesAtOnce => consumesAtOnce;

        public void OnMessage(ProtocolMessage message)
        {
            OnHanded?.Invoke(message);
            Messages.Add(consumesAtOnce ? MessageSnapshot.Of(message) : message);
        }
    }

    private sealed class Direction
    {
        private byte[] _buffer = new byte[256];
        private int _start;

        public int Length { get; private set; }

        public int MaxBuffered { get; private set; }

        public long Dropped { get; set; }

        public bool Resync { get; set; }

        public long StartNs { get; set; }

        public bool HasStart { get; set; }

        public ReadOnlySpan<byte> Span => _buffer.AsSpan(_start, Length);

        public void Append(ReadOnlySpan<byte> bytes)
        {
            if (_start + Length + bytes.Length > _buffer.Length)
            {
                var grown = new byte[Math.Max(_buffer.Length, (Length + bytes.Length) * 2)];
                Span.CopyTo(grown);
                _buffer = grown;
                _start = 0;
            }
            bytes.CopyTo(_buffer.AsSpan(_start + Length));
            Length += bytes.Length;
            MaxBuffered = Math.Max(MaxBuffered, Length);
        }

        public void Consume(int n)
        {
            _start += n;
            Length -= n;
            if (Length == 0)
            {
                _start = 0;
                HasStart = false;
            }
        }

        public void Clear() => Consume(Length);
    }
}
