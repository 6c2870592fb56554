using Tattle.Capture.Bpf;
using Tattle.Capture.Events;
using Tattle.Protocols.Common;

namespace Tattle.Tracking.Streams;

/// <summary>What a connection's decoder reports to its session.</summary>
internal interface IDecoderEvents
{
    void OnMessage(ProtocolMessage message);

    void OnGap(Direction direction, long bytes, GapReason reason);

    void OnProtocol(string protocol);

    /// <summary>Done with each message when <see cref="OnMessage"/> returns (see <see cref="IMessageSink.ConsumesAtOnce"/>).</summary>
    bool ConsumesAtOnce => false;
}

/// <summary>
/// Detects and parses one connection's protocol: two <see cref="DataStream"/>s for a stream socket, or one
/// datagram at a time for a datagram socket. It owns the contract's effects: it consumes what the parser says,
/// resyncs with <see cref="IProtocolParser.FindFrameBoundary"/> after <c>Invalid</c> or a gap the parser could
/// not absorb, and stops for good on <c>EndOfStream</c> or when no protocol claims the bytes.
/// </summary>
internal sealed class ConnectionDecoder : IStreamConsumer, IMessageSink
{
    /// <summary>Bytes a direction may carry before detection gives up on it.</summary>
    internal const int DetectLimit = 16 * 1024;

    /// <summary>Bytes kept at the end of a buffer searched in vain for a boundary (one may straddle the cut).</summary>
    private const int ResyncKeep = 64;

    private const int DatagramsToDetect = 8;

    /// <summary>
    /// The least body left that is worth asking the kernel to skip. Asking is a map update, a syscall that cost 4.6 µs
    /// of tattle's CPU per response under load, about what copying 64 KiB costs; and the kernel learns of it a ring
    /// drain late, so a body its server writes at once is copied anyway (nginx's 64 KiB page: asking for each made
    /// tattle's CPU 13.0 µs per request against 8.4 µs without, bench/results/2026-12-03-overhead-body-skip-*.txt).
    /// </summary>
    internal const long MinSkip = 256 * 1024;

    private readonly StreamSettings _settings;
    private readonly IDecoderEvents _events;
    private readonly DataStream[] _streams = new DataStream[2];
    private readonly bool[] _resync = new bool[2];
    private readonly long[] _skipped = new long[2];
    private readonly bool[] _undetectable = new bool[2];
    private readonly bool _datagram;
    private readonly int _localPort;
    private readonly int _remotePort;
    private readonly string? _role;
    private IProtocolParser? _parser;
    private Direction _requests;
    private bool _done;
    private int _datagramsSeen;
    private byte[]? _partial;
    private ulong _partialPosition;
    private readonly IBodySkips? _skips;
    private readonly ulong[] _skipEnd = new ulong[2];
    private ulong _sock;
    private uint _generation;

    /// <param name="skips">Where to ask the kernel not to copy the rest of a long body (null: every byte is copied).</param>
    public ConnectionDecoder(StreamSettings settings, IDecoderEvents events, bool datagram, int localPort, int remotePort, string? role,
        IBodySkips? skips = null)
    {
        _settings = settings;
        _skips = datagram ? null : skips;
        _events = events;
        _datagram = datagram;
        _localPort = localPort;
        _remotePort = remotePort;
        _role = role;
        _streams[0] = new DataStream(this, settings.CapBytes);
        _streams[1] = new DataStream(this, settings.CapBytes);
        if (PortOverride() is { } forced)
        {
            Use(forced, _role == "server" ? Direction.Recv : Direction.Send);
        }
    }

    /// <summary>The protocol found, or null.</summary>
    public string? Protocol => _parser?.Name;

    /// <summary>Whether more payload can still make a difference (false once no protocol claimed it, or it ended).</summary>
    public bool Wants => !_done && !_streams[0].Disabled;

    /// <summary>A datagram socket: each message is parsed alone, with its peer.</summary>
    public bool Datagram => _datagram;

    /// <summary>A chunk of a stream message (or of a datagram).</summary>
    public void OnData(in DataEvent e, ReadOnlySpan<byte> payload, string? peer)
    {
        if (_done)
        {
            return;
        }
        if (_datagram)
        {
            OnDatagramChunk(in e, payload, peer);
            return;
        }
        var stream = _streams[(int)e.Direction];
        ulong at = e.Position + e.ChunkOffset;
        if ((e.Flags & DataFlags.Eof) != 0)
        {
            stream.End(e.TimestampNs);
            return;
        }
        if ((e.Flags & (DataFlags.Sendfile | DataFlags.Splice)) != 0)
        {
            stream.Skip(e.Position, e.MessageLength, GapReason.Unseen, e.TimestampNs);
            return;
        }
        if ((e.Flags & DataFlags.Skipped) != 0)
        {
            stream.Skip(e.Position, e.SkipLength, GapReason.Skipped, e.TimestampNs);
            return;
        }
        if ((e.Flags & DataFlags.Unread) != 0)
        {
            // The rest of the message could not be read; an unread chunk mid-message shows as the next one's offset.
            if ((e.Flags & DataFlags.Last) != 0)
            {
                stream.Skip(at, e.MessageLength - (long)e.ChunkOffset, GapReason.Unread, e.TimestampNs);
            }
            return;
        }
        stream.Add(at, payload, e.TimestampNs);
        ulong captured = e.ChunkOffset + e.ChunkLength;
        if ((e.Flags & (DataFlags.Truncated | DataFlags.Last)) == (DataFlags.Truncated | DataFlags.Last) && e.MessageLength > captured)
        {
            stream.Skip(e.Position + captured, e.MessageLength - (long)captured, GapReason.Snaplen, e.TimestampNs);
        }
        if (_skips is not null && e.SocketGeneration != 0)
        {
            AskToSkip(e.Direction, e.SockId, e.SocketGeneration);
        }
    }

    /// <summary>
    /// Where the parser reads a long body it only counts, asks the kernel to walk past the rest of it. The kernel
    /// learns this a ring drain late: what it sent meanwhile is parsed as before, so only long bodies gain.
    /// </summary>
    private void AskToSkip(Direction dir, ulong sock, uint generation)
    {
        if (_parser is not IBodySkipping parser || _done)
        {
            return;
        }
        long rest = parser.SkippableBytes(KindOf(dir));
        if (rest < MinSkip)
        {
            return;
        }
        var stream = _streams[(int)dir];
        // The body's end: after what the parser consumed (what it holds unconsumed is not body yet).
        ulong end = stream.Next - (ulong)stream.Unconsumed.Length + (ulong)rest;
        if (end <= _skipEnd[(int)dir] && sock == _sock && generation == _generation)
        {
            return;
        }
        _sock = sock;
        _generation = generation;
        _skipEnd[(int)dir] = end;
        _skips!.SkipUntil(sock, generation, dir, end);
    }

    /// <summary>The connection closed: both directions end, the parser reports what is pending.</summary>
    public void OnClose(long nowNs)
    {
        if (!_datagram && !_done)
        {
            _streams[(int)_requests].End(nowNs);
            _streams[1 - (int)_requests].End(nowNs);
        }
        for (int d = 0; d < 2; d++)
        {
            ReportSkipped((Direction)d);
        }
        if (_sock != 0)
        {
            _skips?.Forget(_sock);
            _sock = 0;
        }
        _parser?.OnClose(nowNs);
        _done = true;
        _streams[0].Release();
        _streams[1].Release();
    }

    void IMessageSink.OnMessage(ProtocolMessage message) => _events.OnMessage(message);

    bool IMessageSink.ConsumesAtOnce => _events.ConsumesAtOnce;

    void IStreamConsumer.OnBytes(DataStream stream)
    {
        if (_done || stream.Disabled)
        {
            return;
        }
        var dir = stream == _streams[0] ? Direction.Send : Direction.Recv;
        if (_parser is null && !Detect(stream, dir))
        {
            return;
        }
        Parse(stream, dir);
    }

    void IStreamConsumer.OnGap(DataStream stream, long bytes, GapReason reason)
    {
        var dir = stream == _streams[0] ? Direction.Send : Direction.Recv;
        // Bytes buffered before the hole cannot be finished now: detection restarts on what follows, or the
        // parser loses a partial head (or the bytes a resync kept).
        int dropped = stream.DropUnconsumed();
        bool absorbed = false;
        if (_parser is not null)
        {
            // Bytes skipped at the parser's request are body it read, not bytes it missed.
            absorbed = (reason == GapReason.Skipped && _parser is IBodySkipping skipping
                ? skipping.OnSkipped(KindOf(dir), bytes + dropped, stream.NowNs)
                : _parser.OnGap(KindOf(dir), bytes + dropped, stream.NowNs)) && dropped == 0;
            _resync[(int)dir] |= !absorbed;
        }
        // A gap inside a body the parser was skipping anyway changes nothing it reports: the message counts it
        // (unseen_bytes), and a record per 16 KiB read of a download would bury the ones that matter.
        if (!absorbed)
        {
            // The gap is what the kernel did not hand over, exactly; the captured bytes given up with it are
            // skipped bytes, reported with the resync's, so the gaps still add up to the stream's length.
            _skipped[(int)dir] += dropped;
            _events.OnGap(dir, bytes, reason);
        }
    }

    private bool Detect(DataStream stream, Direction dir)
    {
        var data = stream.Unconsumed;
        var (protocol, detection) = _settings.Catalog.Detect(data, datagram: false, _localPort, _remotePort);
        if (protocol is not null)
        {
            Use(protocol, detection == Detection.Request ? dir : Other(dir));
            var other = _streams[(int)Other(dir)];
            // Parse this direction first if it carries requests, so a response knows what it answers (HEAD).
            if (detection == Detection.Request)
            {
                Parse(stream, dir);
                Parse(other, Other(dir));
            }
            else
            {
                Parse(other, Other(dir));
                Parse(stream, dir);
            }
            return false;
        }
        if (detection == Detection.No || data.Length > DetectLimit)
        {
            _undetectable[(int)dir] = true;
            if (_undetectable[(int)Other(dir)] || data.Length > DetectLimit)
            {
                GiveUp();
            }
        }
        return false;
    }

    private void Parse(DataStream stream, Direction dir)
    {
        if (_parser is null || _done || stream.Disabled)
        {
            return;
        }
        var kind = KindOf(dir);
        while (!_done)
        {
            var data = stream.Unconsumed;
            if (_resync[(int)dir])
            {
                if (data.IsEmpty)
                {
                    return;
                }
                int boundary = _parser.FindFrameBoundary(kind, data);
                if (boundary < 0)
                {
                    int drop = Math.Max(0, data.Length - ResyncKeep);
                    stream.Consume(drop);
                    _skipped[(int)dir] += drop;
                    return;
                }
                stream.Consume(boundary);
                _skipped[(int)dir] += boundary;
                _resync[(int)dir] = false;
                ReportSkipped(dir);
                continue;
            }
            if (data.IsEmpty && !stream.Ended)
            {
                return;
            }
            var context = new StreamContext(stream.StartNs, stream.NowNs, stream.Ended);
            var result = _parser.Parse(kind, data, in context);
            int consumed = Math.Clamp(result.Consumed, 0, data.Length);
            switch (result.Status)
            {
                case ParseStatus.Success:
                case ParseStatus.Ignored:
                    stream.Consume(consumed);
                    if (consumed == 0)
                    {
                        return; // nothing left to make progress on
                    }
                    break;
                case ParseStatus.NeedMoreData:
                    stream.Consume(consumed);
                    return;
                case ParseStatus.Invalid:
                    // Not a message start here: step past one byte so the boundary search moves on.
                    if (data.IsEmpty)
                    {
                        return;
                    }
                    stream.Consume(1);
                    _skipped[(int)dir]++;
                    _resync[(int)dir] = true;
                    break;
                case ParseStatus.EndOfStream:
                    stream.Consume(consumed);
                    if (!TakeOver(dir))
                    {
                        Stop();
                        return;
                    }
                    break;
            }
        }
    }

    /// <summary>
    /// The parser ended on a protocol switch another protocol takes over (HTTP/1.1 101 to h2c): the new parser
    /// gets what follows in both directions, so the messages before and after the switch are all reported.
    /// </summary>
    private bool TakeOver(Direction dir)
    {
        if (_parser?.Switch is not { } change || _settings.Catalog.ForUpgrade(change.Protocol) is not { TakeOver: { } create } next)
        {
            return false;
        }
        _parser = create(_settings.Parser, this, change);
        _events.OnProtocol(next.Name);
        _resync[0] = _resync[1] = false;
        ReportSkipped(Direction.Send);
        ReportSkipped(Direction.Recv);
        // This direction goes on in the caller's loop; the other may hold bytes the old parser left.
        Parse(_streams[(int)Other(dir)], Other(dir));
        return true;
    }

    private void OnDatagramChunk(in DataEvent e, ReadOnlySpan<byte> payload, string? peer)
    {
        if ((e.Flags & (DataFlags.Eof | DataFlags.Sendfile | DataFlags.Splice | DataFlags.Unread)) != 0)
        {
            return;
        }
        ReadOnlySpan<byte> datagram = payload;
        if ((e.Flags & DataFlags.Last) == 0 || e.ChunkOffset != 0)
        {
            // A datagram longer than one chunk: gather its chunks (same position) until the last.
            if (e.ChunkOffset == 0 || _partial is null || _partialPosition != e.Position)
            {
                _partial = e.ChunkOffset == 0 ? [] : null;
                _partialPosition = e.Position;
            }
            if (_partial is null)
            {
                return;
            }
            _partial = [.. _partial, .. payload];
            if ((e.Flags & DataFlags.Last) == 0)
            {
                return;
            }
            datagram = _partial;
            _partial = null;
        }
        if ((e.Flags & DataFlags.Truncated) != 0)
        {
            _events.OnGap(e.Direction, e.MessageLength - datagram.Length, GapReason.Snaplen);
            return; // a cut datagram is not a message
        }
        if (_parser is null)
        {
            var (protocol, detection) = _settings.Catalog.Detect(datagram, datagram: true, _localPort, _remotePort);
            if (protocol is null)
            {
                if (++_datagramsSeen >= DatagramsToDetect && detection != Detection.NeedMoreData)
                {
                    GiveUp();
                }
                return;
            }
            Use(protocol, detection == Detection.Request ? e.Direction : Other(e.Direction));
        }
        var context = new StreamContext(e.TimestampNs, e.TimestampNs, Datagram: true, Peer: peer);
        var result = _parser!.Parse(KindOf(e.Direction), datagram, in context);
        if (result.Status == ParseStatus.EndOfStream)
        {
            Stop();
        }
    }

    private ProtocolInfo? PortOverride()
    {
        foreach (int port in (ReadOnlySpan<int>)[_localPort, _remotePort])
        {
            if (port != 0 && _settings.PortProtocols.TryGetValue(port, out var name))
            {
                return _settings.Catalog.Find(name);
            }
        }
        return null;
    }

    private void Use(ProtocolInfo protocol, Direction requests)
    {
        _parser = protocol.Create(_settings.Parser, this);
        _requests = requests;
        _events.OnProtocol(protocol.Name);
    }

    private MessageKind KindOf(Direction dir) => dir == _requests ? MessageKind.Request : MessageKind.Response;

    private void ReportSkipped(Direction dir)
    {
        long skipped = _skipped[(int)dir];
        if (skipped > 0)
        {
            _skipped[(int)dir] = 0;
            _events.OnGap(dir, skipped, GapReason.Resync);
        }
    }

    /// <summary>The rest of the connection is not parsed (encrypted, upgraded): stop buffering it.</summary>
    private void Stop()
    {
        _streams[0].Disable();
        _streams[1].Disable();
    }

    private void GiveUp()
    {
        _done = true;
        Stop();
    }

    private static Direction Other(Direction dir) => dir == Direction.Send ? Direction.Recv : Direction.Send;
}
