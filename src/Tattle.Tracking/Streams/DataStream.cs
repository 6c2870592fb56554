using System.Buffers;

namespace Tattle.Tracking.Streams;

/// <summary>Told what a <see cref="DataStream"/> has, in stream order.</summary>
internal interface IStreamConsumer
{
    /// <summary>New contiguous bytes are buffered: parse from <see cref="DataStream.Unconsumed"/>.</summary>
    void OnBytes(DataStream stream);

    /// <summary><paramref name="bytes"/> bytes at the current end of the stream will never be seen.</summary>
    void OnGap(DataStream stream, long bytes, GapReason reason);
}

/// <summary>
/// One direction of one connection as an ordered byte stream. The kernel stamps each message with its position
/// in the direction (bytes moved before it), so chunks that arrive out of order (two threads writing one socket
/// from two CPUs reserve ring space in the other order) are held until the hole fills, and a hole that does not
/// fill is a gap of known size rather than a guess. Unparsed bytes are capped; past the cap they become a gap.
/// Bytes that continue an empty stream are parsed where the caller holds them (the ring buffer's memory): only
/// what the parser leaves, a message's beginning, is copied in.
/// </summary>
internal sealed unsafe class DataStream(IStreamConsumer consumer, int capBytes)
{
    /// <summary>Out-of-order chunks held at most; past this the first hole is declared a gap.</summary>
    private const int MaxHeld = 32;

    private readonly SortedList<ulong, Held> _held = [];
    private readonly Queue<(ulong End, long Ts)> _arrivals = new();
    private byte[] _buffer = [];
    private int _head;
    private int _tail;
    private ulong _next;
    private long _heldBytes;

    /// <summary>While the consumer parses the caller's bytes in place: where they are (pinned for that call).</summary>
    private byte* _outside;
    private int _outsideHead;
    private int _outsideLength;

    /// <summary>Bytes received but not yet consumed by the parser.</summary>
    public ReadOnlySpan<byte> Unconsumed => _outside != null
        ? new ReadOnlySpan<byte>(_outside + _outsideHead, _outsideLength - _outsideHead)
        : _buffer.AsSpan(_head, _tail - _head);

    private int UnconsumedLength => _outside != null ? _outsideLength - _outsideHead : _tail - _head;

    /// <summary>Monotonic time the first unconsumed byte arrived.</summary>
    public long StartNs => _arrivals.Count > 0 ? _arrivals.Peek().Ts : NowNs;

    /// <summary>Monotonic time of the latest chunk.</summary>
    public long NowNs { get; private set; }

    /// <summary>No more bytes will come (read returned 0, the connection closed).</summary>
    public bool Ended { get; private set; }

    /// <summary>The position of the next byte expected.</summary>
    public ulong Next => _next;

    /// <summary>Stops buffering: the connection's protocol is unknown or was left (TLS, Upgrade).</summary>
    public bool Disabled { get; private set; }

    /// <summary>Payload of the stream from <paramref name="position"/>.</summary>
    public void Add(ulong position, ReadOnlySpan<byte> data, long nowNs)
    {
        if (Disabled || Ended || data.IsEmpty)
        {
            return;
        }
        NowNs = nowNs;
        if (!Start(ref position, (ulong)data.Length))
        {
            return;
        }
        if (position < _next)
        {
            data = data[(int)(_next - position)..]; // overlaps what we have: keep the new part
            position = _next;
        }
        if (position > _next)
        {
            Hold(position, new Held(data.ToArray(), data.Length, GapReason.Lost, nowNs));
            return;
        }
        Append(data, nowNs);
        Drain();
    }

    /// <summary>Bytes of the stream from <paramref name="position"/> that will never be seen, and why.</summary>
    public void Skip(ulong position, long bytes, GapReason reason, long nowNs)
    {
        if (Disabled || Ended || bytes <= 0)
        {
            return;
        }
        NowNs = nowNs;
        if (!Start(ref position, (ulong)bytes))
        {
            return;
        }
        if (position > _next)
        {
            Hold(position, new Held(null, bytes, reason, nowNs));
            return;
        }
        long fresh = (long)(position + (ulong)bytes - _next);
        _next += (ulong)fresh;
        consumer.OnGap(this, fresh, reason);
        Drain();
    }

    /// <summary>The direction ended: holes that never filled are gaps, then the consumer sees the end.</summary>
    public void End(long nowNs)
    {
        if (Ended)
        {
            return;
        }
        NowNs = Math.Max(NowNs, nowNs);
        while (_held.Count > 0 && !Disabled)
        {
            ForceFirstHole();
        }
        Ended = true;
        if (!Disabled)
        {
            consumer.OnBytes(this);
        }
    }

    /// <summary>The parser used up <paramref name="count"/> bytes from the front.</summary>
    public void Consume(int count)
    {
        if (_outside != null)
        {
            _outsideHead += count;
        }
        else
        {
            _head += count;
        }
        ulong consumedEnd = _next - (ulong)UnconsumedLength;
        while (_arrivals.Count > 0 && _arrivals.Peek().End <= consumedEnd)
        {
            _arrivals.Dequeue();
        }
        if (_outside == null && _head == _tail)
        {
            // Everything parsed: give the buffer back. An idle keep-alive connection then holds no buffer, which
            // is what keeps a process with 10 000 connections cheap to trace (renting again is a pool hit).
            Release();
        }
    }

    /// <summary>Drops every unconsumed byte (after a gap the parser could not absorb); returns how many.</summary>
    public int DropUnconsumed()
    {
        int n = UnconsumedLength;
        Consume(n);
        return n;
    }

    /// <summary>Stops buffering for good and frees the memory.</summary>
    public void Disable()
    {
        Disabled = true;
        Release();
        _held.Clear();
        _arrivals.Clear();
        _heldBytes = 0;
    }

    /// <summary>Returns the buffer to the pool (the connection ended).</summary>
    public void Release()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }
        _buffer = [];
        _head = _tail = 0;
    }

    /// <summary>False for a chunk wholly before what was seen (a duplicate).</summary>
    /// <remarks>
    /// The kernel starts counting a socket's positions at 0 when it first sees the socket, so every stream starts
    /// at 0, and a first chunk with a later position is out of order or follows lost records. A position of 0
    /// after the stream began means the kernel had no position for the socket (its table was full, or evicted
    /// it): take the bytes as the next ones rather than drop them as a duplicate.
    /// </remarks>
    private bool Start(ref ulong position, ulong length)
    {
        if (position == 0 && _next != 0 && length <= _next)
        {
            position = _next;
        }
        return position + length > _next;
    }

    private void Append(ReadOnlySpan<byte> data, long nowNs)
    {
        int unconsumed = _tail - _head;
        if (unconsumed + data.Length > capBytes)
        {
            // The parser found no message end within the cap: give up on what is buffered.
            int dropped = DropUnconsumed();
            _next += (ulong)data.Length;
            consumer.OnGap(this, dropped + data.Length, GapReason.Cap);
            return;
        }
        _next += (ulong)data.Length;
        _arrivals.Enqueue((_next, nowNs));
        if (unconsumed == 0)
        {
            ParseInPlace(data);
            return;
        }
        EnsureRoom(data.Length);
        data.CopyTo(_buffer.AsSpan(_tail));
        _tail += data.Length;
        consumer.OnBytes(this);
    }

    /// <summary>
    /// The consumer parses <paramref name="data"/> where it is; what it leaves is copied in afterwards. The bytes
    /// outlive the call (a ring buffer's record is released after its callback returns; an array is pinned here).
    /// </summary>
    private void ParseInPlace(ReadOnlySpan<byte> data)
    {
        int taken;
        fixed (byte* bytes = data)
        {
            _outside = bytes;
            _outsideHead = 0;
            _outsideLength = data.Length;
            try
            {
                consumer.OnBytes(this);
            }
            finally
            {
                taken = _outsideHead;
                _outside = null;
            }
        }
        var rest = data[taken..];
        // A consumer that stopped buffering (a protocol left, an unknown one) wants none of it.
        if (!rest.IsEmpty && !Disabled)
        {
            EnsureRoom(rest.Length);
            rest.CopyTo(_buffer.AsSpan(_tail));
            _tail += rest.Length;
        }
    }

    private void EnsureRoom(int extra)
    {
        int unconsumed = _tail - _head;
        if (_tail + extra <= _buffer.Length)
        {
            return;
        }
        if (unconsumed + extra <= _buffer.Length && _head > 0)
        {
            Buffer.BlockCopy(_buffer, _head, _buffer, 0, unconsumed);
        }
        else
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(4096, (unconsumed + extra) * 2));
            Buffer.BlockCopy(_buffer, _head, bigger, 0, unconsumed);
            if (_buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
            }
            _buffer = bigger;
        }
        _head = 0;
        _tail = unconsumed;
    }

    private void Hold(ulong position, Held chunk)
    {
        if (_held.TryGetValue(position, out var existing))
        {
            if (existing.Length >= chunk.Length)
            {
                return;
            }
            _heldBytes -= existing.Data?.Length ?? 0;
        }
        _held[position] = chunk;
        _heldBytes += chunk.Data?.Length ?? 0;
        while (_held.Count > MaxHeld || _heldBytes > capBytes)
        {
            ForceFirstHole();
        }
    }

    /// <summary>Moves held chunks that now continue the stream into it.</summary>
    private void Drain()
    {
        while (_held.Count > 0 && !Disabled)
        {
            ulong position = _held.Keys[0];
            if (position > _next)
            {
                return;
            }
            var chunk = _held.Values[0];
            _held.RemoveAt(0);
            _heldBytes -= chunk.Data?.Length ?? 0;
            ulong end = position + (ulong)chunk.Length;
            if (end <= _next)
            {
                continue;
            }
            int skip = (int)(_next - position);
            if (chunk.Data is null)
            {
                long fresh = chunk.Length - skip;
                _next += (ulong)fresh;
                consumer.OnGap(this, fresh, chunk.Reason);
            }
            else
            {
                Append(chunk.Data.AsSpan(skip), chunk.Ts);
            }
        }
    }

    /// <summary>The first hole will not fill: it is a gap of records lost on the way.</summary>
    private void ForceFirstHole()
    {
        ulong position = _held.Keys[0];
        if (position > _next)
        {
            long bytes = (long)(position - _next);
            _next = position;
            consumer.OnGap(this, bytes, GapReason.Lost);
        }
        Drain();
    }

    private readonly record struct Held(byte[]? Data, long Length, GapReason Reason, long Ts);
}
