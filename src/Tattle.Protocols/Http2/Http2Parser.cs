using System.Buffers.Binary;
using Tattle.Protocols.Common;
using Tattle.Protocols.Http2.Hpack;

namespace Tattle.Protocols.Http2;

/// <summary>
/// One connection's HTTP/2 reader (RFC 9113): a frame layer per direction, one HPACK decoder per direction, and
/// a stream table that pairs each stream's request with its response and reports the stream when it ends.
/// </summary>
/// <remarks>
/// DATA payloads are never held: they are consumed as they arrive (up to the body limit kept), so a direction
/// buffers at most one header-carrying frame. Header blocks split over CONTINUATION frames are gathered up to
/// <see cref="MaxHeaderBlock"/>; a larger block is skipped, its stream marked, and the HPACK decoder of its
/// direction desynchronized (the block's table changes are lost with it).
/// </remarks>
public sealed class Http2Parser : IProtocolParser
{
    /// <summary>The largest header block gathered (HEADERS or PUSH_PROMISE and its CONTINUATIONs).</summary>
    internal const int MaxHeaderBlock = 256 * 1024;

    private readonly ParserOptions _options;
    private readonly IMessageSink _sink;
    private readonly Side _client;
    private readonly Side _server;
    private readonly Http2StreamTable _streams = new();
    private readonly Http2HeaderCollector _collector;

    /// <summary>The highest stream id each peer has opened: frames for lower ids belong to streams already over.</summary>
    private int _highestClientStream;

    private int _highestPushStream;

    /// <summary>The sink is done with each message when it returns: the parser refills its exchange and streams.</summary>
    private readonly bool _reuse;

    private Http2Exchange? _exchange;

    /// <summary>
    /// Streams reported that nothing refers to any more: the next ones opened are made of them. As many as the
    /// connection had open at once, up to <see cref="MostSpares"/>: a client with eight requests in flight ends
    /// eight streams before it opens the next eight.
    /// </summary>
    private Stack<Http2Stream>? _spares;

    private const int MostSpares = 8;

    private bool _closed;
    private bool _prefaceSeen;
    private long _firstNs;

    internal Http2Parser(ParserOptions options, IMessageSink sink, Http2Start start)
    {
        _options = options;
        _sink = sink;
        _reuse = sink.ConsumesAtOnce;
        _collector = new Http2HeaderCollector(options.Redact);
        _client = new Side(MessageKind.Request, start.AtConnectionStart);
        _server = new Side(MessageKind.Response, start.AtConnectionStart);
        // After an Upgrade the client's preface follows the 101 (RFC 7540 section 3.5), as it opens any h2c connection.
        _client.PrefaceExpected = start.AtConnectionStart || start.UpgradedRequest is not null;
        // After a 101 the server may answer stream 1 before the client's preface is read: the start is known anyway.
        _prefaceSeen = start.UpgradedRequest is not null;
        if (start.UpgradedRequest is { } request)
        {
            OpenUpgradedStream(request);
        }
    }

    public string Name => Http2Protocol.Name;

    /// <summary>Connection-level frames seen so far (SETTINGS, PING, WINDOW_UPDATE...).</summary>
    public Http2ConnectionCounters Counters { get; } = new();

    /// <summary>Streams open now (requests not yet answered, responses not yet ended).</summary>
    public int OpenStreams => _streams.Count;

    public ParseResult Parse(MessageKind kind, ReadOnlySpan<byte> data, in StreamContext context)
    {
        if (_closed)
        {
            return ParseResult.EndOfStream(0);
        }
        if (_firstNs == 0)
        {
            _firstNs = context.StartNs;
        }
        var side = SideOf(kind);
        if (side.SkipRemaining > 0)
        {
            return Skip(side, data, 0, context.NowNs);
        }
        if (side.PrefaceExpected)
        {
            var preface = Http2Protocol.Preface;
            if (data.Length < preface.Length && preface.StartsWith(data))
            {
                return ParseResult.NeedMoreData();
            }
            side.PrefaceExpected = false;
            if (data.StartsWith(preface))
            {
                _prefaceSeen = true;
                return ParseResult.Ignored(preface.Length);
            }
            MidConnection();
        }
        if (data.Length < FrameHeader.Size)
        {
            return ParseResult.NeedMoreData();
        }
        var h = FrameHeader.Read(data);
        if (!h.IsValid(kind, side.MaxFrameSize))
        {
            return ParseResult.Invalid;
        }
        if (side.InBlock && (h.Type != FrameType.Continuation || h.StreamId != side.BlockStream))
        {
            // RFC 9113 section 6.10: nothing may come between a block's frames. The block is lost.
            AbandonBlock(side);
        }
        if (h.Type == FrameType.Data)
        {
            return StartData(side, h, data, context);
        }
        if (!h.IsKnownType || (h.Type is FrameType.Headers or FrameType.PushPromise or FrameType.Continuation && h.Length > MaxHeaderBlock))
        {
            side.StartSkip(h.Length, 0, null);
            if (h.IsKnownType)
            {
                OnOversizedBlock(side, h, context.StartNs);
            }
            else
            {
                Counters.UnknownFrames++;
            }
            return Skip(side, data[FrameHeader.Size..], FrameHeader.Size, context.NowNs);
        }
        int total = FrameHeader.Size + h.Length;
        if (data.Length < total)
        {
            return ParseResult.NeedMoreData();
        }
        bool reported = OnFrame(side, h, data.Slice(FrameHeader.Size, h.Length), context);
        return reported ? ParseResult.Success(total) : ParseResult.Ignored(total);
    }

    /// <summary>A whole frame other than DATA; true if it ended a stream (reported).</summary>
    private bool OnFrame(Side side, FrameHeader h, ReadOnlySpan<byte> payload, in StreamContext context)
    {
        switch (h.Type)
        {
            case FrameType.Headers:
                return OnHeaders(side, h, payload, context);
            case FrameType.PushPromise:
                return OnPushPromise(side, h, payload, context);
            case FrameType.Continuation:
                return OnContinuation(side, h, payload, context);
            case FrameType.RstStream:
                return OnRstStream(side, h, payload, context.NowNs);
            case FrameType.Settings:
                return OnSettings(side, h, payload);
            case FrameType.GoAway:
                return OnGoAway(side, payload, context.NowNs);
            case FrameType.Ping:
                Counters.Pings++;
                return false;
            case FrameType.WindowUpdate:
                Counters.WindowUpdates++;
                return false;
            default:
                Counters.Priorities++;
                return false;
        }
    }

    public int FindFrameBoundary(MessageKind kind, ReadOnlySpan<byte> data)
    {
        var side = SideOf(kind);
        // Whatever was lost may have changed the peer's HPACK table.
        LoseStep(side);
        var preface = Http2Protocol.Preface;
        for (int pos = 0; pos < data.Length; pos++)
        {
            var rest = data[pos..];
            if (kind == MessageKind.Request && (rest.Length < preface.Length ? preface.StartsWith(rest) : rest.StartsWith(preface)))
            {
                side.PrefaceExpected = true;
                return pos;
            }
            if (rest.Length < FrameHeader.Size)
            {
                continue;
            }
            var h = FrameHeader.Read(rest);
            if (!h.IsPlausible(kind, side.MaxFrameSize))
            {
                continue;
            }
            // A frame whose end is in view must be followed by another plausible header, or by the end of the data.
            int next = FrameHeader.Size + h.Length;
            if (next + FrameHeader.Size <= rest.Length && !FrameHeader.Read(rest[next..]).IsPlausible(kind, side.MaxFrameSize))
            {
                continue;
            }
            return pos;
        }
        return -1;
    }

    public bool OnGap(MessageKind kind, long bytes, long nowNs)
    {
        if (_closed)
        {
            return false;
        }
        if (bytes <= 0)
        {
            return true;
        }
        var side = SideOf(kind);
        if (side.SkipRemaining > 0 && bytes <= side.SkipRemaining)
        {
            // Inside a payload being skipped: the frames after it are where they were.
            int lost = (int)bytes;
            if (side.SkipStream is { } stream)
            {
                int data = Math.Min(lost, side.DataRemaining);
                side.DataRemaining -= data;
                stream.UnseenBytes += data;
                stream.Half(kind == MessageKind.Request).OnGap();
            }
            side.SkipRemaining -= lost;
            if (side.SkipRemaining == 0)
            {
                EndSkippedFrame(side, nowNs);
            }
            return true;
        }
        LoseStep(side);
        return false;
    }

    public void OnClose(long nowNs)
    {
        if (_closed)
        {
            return;
        }
        _closed = true;
        foreach (var stream in _streams.TakeAll())
        {
            stream.EndNs = Math.Max(stream.EndNs, nowNs);
            Report(ToExchange(stream, truncated: true));
        }
        if (_firstNs != 0)
        {
            // The frames no stream owns are counted, not lost: one summary per connection, after its streams.
            _sink.OnMessage(new Http2ConnectionSummary { StartNs = _firstNs, EndNs = Math.Max(_firstNs, nowNs), Counters = Counters });
        }
    }

    private void Report(Http2Exchange exchange)
    {
        Counters.Streams++;
        _sink.OnMessage(exchange);
    }

    /// <summary>The stream as a message: the parser's one exchange, refilled, when its sink consumes at once; else a new one.</summary>
    private Http2Exchange ToExchange(Http2Stream stream, bool truncated) =>
        Refillable.Next(_reuse, ref _exchange, NewExchange).Fill(stream, truncated);

    // Fill sets the times as every other field.
    private static readonly Func<Http2Exchange> NewExchange = static () => new() { StartNs = 0, EndNs = 0 };

    private Side SideOf(MessageKind kind) => kind == MessageKind.Request ? _client : _server;

    private Side OtherSide(Side side) => side == _client ? _server : _client;

    private ParseResult StartData(Side side, FrameHeader h, ReadOnlySpan<byte> data, in StreamContext context)
    {
        int header = FrameHeader.Size;
        int padding = 0;
        if (h.Has(FrameFlags.Padded))
        {
            if (h.Length < 1)
            {
                return ParseResult.Invalid;
            }
            if (data.Length <= FrameHeader.Size)
            {
                return ParseResult.NeedMoreData();
            }
            padding = data[FrameHeader.Size];
            header++;
            if (padding > h.Length - 1)
            {
                return ParseResult.Invalid;
            }
        }
        var stream = _streams.Find(h.StreamId);
        if (stream is not null)
        {
            stream.Half(side.Kind == MessageKind.Request).Bytes += h.Length;
            stream.EndNs = context.NowNs;
        }
        side.StartSkip(h.Length - (header - FrameHeader.Size), h.Length - (header - FrameHeader.Size) - padding, stream);
        side.SkipEndsStream = h.Has(FrameFlags.EndStream);
        return Skip(side, data[header..], header, context.NowNs);
    }

    /// <summary>Consumes what <paramref name="data"/> holds of the payload being skipped.</summary>
    /// <param name="before">Bytes this call already consumed (a frame header) in front of <paramref name="data"/>.</param>
    private ParseResult Skip(Side side, ReadOnlySpan<byte> data, int before, long nowNs)
    {
        int n = Math.Min(side.SkipRemaining, data.Length);
        if (side.SkipStream is { } stream)
        {
            int content = Math.Min(n, side.DataRemaining);
            side.DataRemaining -= content;
            stream.Half(side.Kind == MessageKind.Request).AddData(data[..content], _options.BodyLimit, stream.IsGrpc);
        }
        side.SkipRemaining -= n;
        if (side.SkipRemaining > 0)
        {
            return ParseResult.NeedMoreData(before + n);
        }
        bool reported = EndSkippedFrame(side, nowNs);
        // A frame of no payload consumes its header alone: never zero bytes.
        return reported ? ParseResult.Success(before + n) : ParseResult.Ignored(before + n);
    }

    private bool EndSkippedFrame(Side side, long nowNs)
    {
        var stream = side.SkipStream;
        bool endsStream = side.SkipEndsStream;
        bool endsBlock = side.SkipEndsBlock;
        side.StartSkip(0, 0, null);
        if (endsBlock)
        {
            side.InBlock = false;
            return EndBlock(side, default, overflowed: true, nowNs);
        }
        return stream is not null && endsStream && EndHalf(stream, side.Kind, nowNs);
    }

    private bool OnHeaders(Side side, FrameHeader h, ReadOnlySpan<byte> payload, in StreamContext context)
    {
        int offset = h.Has(FrameFlags.Padded) ? 1 : 0;
        int padding = offset == 1 && payload.Length > 0 ? payload[0] : 0;
        offset += h.Has(FrameFlags.Priority) ? 5 : 0;
        if (offset + padding > payload.Length)
        {
            // A protocol error the peer will answer with a GOAWAY; what the block held is not knowable.
            side.Decoder.Desynchronize();
            return false;
        }
        var fragment = payload[offset..^padding];
        side.BlockStartNs = context.StartNs;
        return BeginBlock(side, h, FrameType.Headers, 0, h.Length, fragment, context.NowNs);
    }

    private bool OnPushPromise(Side side, FrameHeader h, ReadOnlySpan<byte> payload, in StreamContext context)
    {
        int offset = h.Has(FrameFlags.Padded) ? 1 : 0;
        int padding = offset == 1 && payload.Length > 0 ? payload[0] : 0;
        if (offset + 4 + padding > payload.Length)
        {
            side.Decoder.Desynchronize();
            return false;
        }
        int promised = (int)(BinaryPrimitives.ReadUInt32BigEndian(payload[offset..]) & 0x7fff_ffff);
        var fragment = payload[(offset + 4)..^padding];
        side.BlockStartNs = context.StartNs;
        return BeginBlock(side, h, FrameType.PushPromise, promised, h.Length, fragment, context.NowNs);
    }

    /// <summary>A HEADERS or PUSH_PROMISE frame: its block is decoded now, or gathered until END_HEADERS.</summary>
    private bool BeginBlock(Side side, FrameHeader h, FrameType type, int promised, int frameLength, ReadOnlySpan<byte> fragment, long nowNs)
    {
        side.BlockStream = h.StreamId;
        side.BlockType = type;
        side.BlockPromised = promised;
        side.BlockEndsStream = type == FrameType.Headers && h.Has(FrameFlags.EndStream);
        side.BlockFrameBytes = frameLength;
        if (h.Has(FrameFlags.EndHeaders))
        {
            return EndBlock(side, fragment, overflowed: false, nowNs);
        }
        side.InBlock = true;
        side.BlockOverflow = false;
        side.BlockLength = 0;
        side.Append(fragment);
        return false;
    }

    private bool OnContinuation(Side side, FrameHeader h, ReadOnlySpan<byte> payload, in StreamContext context)
    {
        if (!side.InBlock)
        {
            // The block's start was lost; so were the table changes it began with.
            side.Decoder.Desynchronize();
            return false;
        }
        side.BlockFrameBytes += h.Length;
        if (!side.BlockOverflow && side.BlockLength + payload.Length > MaxHeaderBlock)
        {
            side.BlockOverflow = true;
        }
        if (!side.BlockOverflow)
        {
            side.Append(payload);
        }
        if (!h.Has(FrameFlags.EndHeaders))
        {
            return false;
        }
        side.InBlock = false;
        return EndBlock(side, side.Block.AsSpan(0, side.BlockLength), side.BlockOverflow, context.NowNs);
    }

    /// <summary>A whole header block: decoded into the stream it belongs to (or dropped, decoded all the same).</summary>
    private bool EndBlock(Side side, ReadOnlySpan<byte> block, bool overflowed, long nowNs)
    {
        var (stream, role) = StreamOfBlock(side);
        if (stream is not null)
        {
            stream.Half(role != BlockRole.Response).Bytes += side.BlockFrameBytes;
            stream.EndNs = nowNs;
        }
        if (overflowed)
        {
            // RFC 9113 bounds nothing here, SETTINGS_MAX_HEADER_LIST_SIZE is advisory: past our bound the block is
            // not read, and the table changes it made are lost with it.
            side.Decoder.Desynchronize();
            if (stream is not null)
            {
                stream.HeadersIncomplete = true;
            }
        }
        else
        {
            _collector.Begin(stream, role);
            if (!_prefaceSeen && _client.PrefaceExpected)
            {
                MidConnection(); // a header block before the client's preface: the connection began earlier
            }
            // Incomplete: fields named entries never seen (the sink marked the stream); what the block added to
            // the table is known and kept. Error: the decoder has forgotten its table by itself.
            if (side.Decoder.Decode(block, _collector) == HpackStatus.Error && stream is not null)
            {
                stream.HeadersIncomplete = true;
            }
            _collector.End();
        }
        return side.BlockEndsStream && stream is not null && EndHalf(stream, side.Kind, nowNs);
    }

    /// <summary>The stream a finished block belongs to (opening it if the block opens one) and what it is there.</summary>
    private (Http2Stream? Stream, BlockRole Role) StreamOfBlock(Side side)
    {
        int id = side.BlockStream;
        if (side.BlockType == FrameType.PushPromise)
        {
            int promised = side.BlockPromised;
            if (promised == 0 || promised % 2 == 1 || promised <= _highestPushStream)
            {
                return (null, BlockRole.Promise);
            }
            _highestPushStream = promised;
            var pushed = Open(promised, side.BlockStartNs);
            pushed.PromisedBy = id;
            // A promised request has no body (RFC 9113 section 8.4): its client side is over from the start.
            pushed.Request.Ended = true;
            return (pushed, BlockRole.Promise);
        }
        var stream = _streams.Find(id);
        if (side.Kind == MessageKind.Request)
        {
            if (stream is null && id > _highestClientStream)
            {
                _highestClientStream = id;
                stream = Open(id, side.BlockStartNs);
            }
            return (stream, BlockRole.Request);
        }
        if (stream is null && (id % 2 == 1 ? id > _highestClientStream : id > _highestPushStream))
        {
            // A response whose request came before tracing began (or was lost in a gap).
            if (id % 2 == 1)
            {
                _highestClientStream = id;
            }
            else
            {
                _highestPushStream = id;
            }
            stream = Open(id, side.BlockStartNs);
        }
        return (stream, BlockRole.Response);
    }

    private Http2Stream Open(int id, long startNs)
    {
        var stream = _spares is { Count: > 0 } spares ? spares.Pop().Reopen(id, startNs) : new Http2Stream(id, startNs);
        if (_streams.Add(stream) is { } evicted)
        {
            Counters.EvictedStreams++;
            Report(ToExchange(evicted, truncated: true));
        }
        return stream;
    }

    private void OpenUpgradedStream(Http1.HttpRequest request)
    {
        _highestClientStream = 1;
        var stream = Open(1, request.StartNs);
        stream.EndNs = request.EndNs;
        stream.Method = request.Method;
        stream.Path = request.Target;
        stream.Authority = request.Host;
        stream.Scheme = "http";
        stream.RequestHeaders = [.. request.Headers];
        stream.ContentType = request.Headers.FirstOrDefault(f => f.Name.Equals("content-type", StringComparison.OrdinalIgnoreCase)).Value;
        stream.Request.Bytes = request.HeadBytes + request.BodyBytes;
        stream.Request.ContentEncoding = request.ContentEncoding;
        stream.Request.AddData(request.Body.Span, _options.BodyLimit, grpc: false);
        stream.Request.Ended = true;

        // The upgrade request's HTTP2-Settings field is the client's first SETTINGS payload, base64url-encoded
        // (RFC 7540 section 3.2.1): its limits hold for the server's first frames.
        string? settings = request.Headers.FirstOrDefault(f => f.Name.Equals("http2-settings", StringComparison.OrdinalIgnoreCase)).Value;
        if (settings is not null && TryDecodeBase64Url(settings.Trim(), out byte[] payload))
        {
            ApplySettings(_client, payload.AsSpan(0, payload.Length - (payload.Length % 6)));
        }
    }

    private static bool TryDecodeBase64Url(string text, out byte[] bytes)
    {
        string base64 = text.Replace('-', '+').Replace('_', '/');
        base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
        bytes = new byte[base64.Length];
        if (Convert.TryFromBase64String(base64, bytes, out int written))
        {
            bytes = bytes[..written];
            return true;
        }
        return false;
    }

    /// <summary>One side of the stream sent END_STREAM; the stream is reported once both have.</summary>
    private bool EndHalf(Http2Stream stream, MessageKind kind, long nowNs)
    {
        stream.Half(kind == MessageKind.Request).Ended = true;
        stream.EndNs = nowNs;
        if (!stream.Request.Ended || !stream.Response.Ended)
        {
            return false;
        }
        Report(stream, truncated: false);
        return true;
    }

    private void Report(Http2Stream stream, bool truncated)
    {
        _streams.Remove(stream.Id);
        Report(ToExchange(stream, truncated));
        // A side still skipping the stream's DATA (a RST_STREAM from the other side came first) adds to it: kept apart.
        if (_reuse && _client.SkipStream != stream && _server.SkipStream != stream && (_spares ??= new()).Count < MostSpares)
        {
            _spares.Push(stream);
        }
    }

    private bool OnRstStream(Side side, FrameHeader h, ReadOnlySpan<byte> payload, long nowNs)
    {
        if (_streams.Find(h.StreamId) is not { } stream)
        {
            return false;
        }
        uint code = BinaryPrimitives.ReadUInt32BigEndian(payload);
        stream.Error = new Http2StreamError("RST_STREAM", code, Http2ErrorCodes.Name(code), By(side));
        stream.EndNs = nowNs;
        Report(stream, truncated: false);
        return true;
    }

    /// <summary>
    /// The streams the sender will not process end with the GOAWAY (RFC 9113 section 6.8): those the receiver
    /// opened above the last stream id. A server's GOAWAY speaks of client streams (odd), a client's of pushes.
    /// </summary>
    private bool OnGoAway(Side side, ReadOnlySpan<byte> payload, long nowNs)
    {
        Counters.GoAways++;
        int last = (int)(BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7fff_ffff);
        uint code = BinaryPrimitives.ReadUInt32BigEndian(payload[4..]);
        var ended = _streams.Above(last, odd: side.Kind == MessageKind.Response);
        foreach (var stream in ended)
        {
            stream.Error = new Http2StreamError("GOAWAY", code, Http2ErrorCodes.Name(code), By(side));
            stream.EndNs = nowNs;
            Report(stream, truncated: false);
        }
        return ended.Count > 0;
    }

    private bool OnSettings(Side side, FrameHeader h, ReadOnlySpan<byte> payload)
    {
        Counters.Settings++;
        if (!h.Has(FrameFlags.Ack))
        {
            ApplySettings(side, payload);
        }
        return false;
    }

    /// <summary>A peer's settings bound what the other peer sends: its header table, its frame sizes.</summary>
    private void ApplySettings(Side side, ReadOnlySpan<byte> payload)
    {
        var other = OtherSide(side);
        for (int i = 0; i + 6 <= payload.Length; i += 6)
        {
            ushort id = BinaryPrimitives.ReadUInt16BigEndian(payload[i..]);
            uint value = BinaryPrimitives.ReadUInt32BigEndian(payload[(i + 2)..]);
            switch (id)
            {
                case SettingsIds.HeaderTableSize:
                    other.Decoder.MaxTableSizeLimit = (int)Math.Min(value, int.MaxValue);
                    break;
                case SettingsIds.MaxFrameSize when value is >= FrameHeader.DefaultMaxFrameSize and <= FrameHeader.LargestFrameSize:
                    other.MaxFrameSize = (int)value;
                    break;
            }
        }
    }

    private static string By(Side side) => side.Kind == MessageKind.Request ? "client" : "server";

    /// <summary>
    /// A HEADERS, PUSH_PROMISE or CONTINUATION frame larger than <see cref="MaxHeaderBlock"/>: skipped, its block
    /// counted as overflowed. The block still ends where its flags say, and may still end its stream.
    /// </summary>
    private void OnOversizedBlock(Side side, FrameHeader h, long startNs)
    {
        if (h.Type != FrameType.Continuation)
        {
            side.BlockStream = h.StreamId;
            side.BlockType = h.Type;
            // A PUSH_PROMISE's promised id is in the payload not read: the promised stream is not followed.
            side.BlockPromised = 0;
            side.BlockEndsStream = h.Type == FrameType.Headers && h.Has(FrameFlags.EndStream);
            side.BlockFrameBytes = 0;
            side.BlockStartNs = startNs;
        }
        else if (!side.InBlock)
        {
            side.Decoder.Desynchronize();
            return;
        }
        side.BlockFrameBytes += h.Length;
        side.InBlock = true;
        side.BlockOverflow = true;
        side.SkipEndsBlock = h.Has(FrameFlags.EndHeaders);
    }

    /// <summary>A block interrupted by another frame, or cut by a gap: its stream lacks its fields.</summary>
    private void AbandonBlock(Side side)
    {
        side.InBlock = false;
        side.BlockLength = 0;
        side.Decoder.Desynchronize();
        if (_streams.Find(side.BlockStream) is { } stream)
        {
            stream.HeadersIncomplete = true;
        }
    }

    /// <summary>
    /// The frames did not start with the client's preface (detected mid-connection): both peers' HPACK tables hold
    /// entries never seen, so references to them are reported as unknown, never guessed.
    /// </summary>
    private void MidConnection()
    {
        _client.PrefaceExpected = false;
        _client.Decoder.Desynchronize();
        _server.Decoder.Desynchronize();
    }

    /// <summary>Bytes of the direction were lost where they could not be skipped: start again at a frame.</summary>
    private void LoseStep(Side side)
    {
        if (side.InBlock)
        {
            AbandonBlock(side);
        }
        if (side.SkipStream is { } stream)
        {
            stream.Half(side.Kind == MessageKind.Request).OnGap();
        }
        side.StartSkip(0, 0, null);
        side.PrefaceExpected = false;
        side.Decoder.Desynchronize();
    }

    /// <summary>The state of one direction.</summary>
    private sealed class Side(MessageKind kind, bool synchronized)
    {
        public readonly MessageKind Kind = kind;
        public readonly HpackDecoder Decoder = new(synchronized: synchronized);

        /// <summary>The largest frame this side may send: the other side's SETTINGS_MAX_FRAME_SIZE.</summary>
        public int MaxFrameSize = FrameHeader.DefaultMaxFrameSize;

        public bool PrefaceExpected;

        /// <summary>Payload bytes of the current frame still to skip (DATA, unknown types, oversized blocks).</summary>
        public int SkipRemaining;

        /// <summary>Of <see cref="SkipRemaining"/>, the DATA bytes before the padding.</summary>
        public int DataRemaining;

        /// <summary>The stream whose DATA is being skipped, when it is followed.</summary>
        public Http2Stream? SkipStream;

        public bool SkipEndsStream;
        public bool SkipEndsBlock;

        /// <summary>A header block is being gathered: only its CONTINUATION frames may follow.</summary>
        public bool InBlock;

        public int BlockStream;
        public FrameType BlockType;
        public int BlockPromised;
        public bool BlockEndsStream;
        public bool BlockOverflow;
        public long BlockStartNs;

        /// <summary>Payload bytes of the block's frames, padding included: they count to the stream's side.</summary>
        public long BlockFrameBytes;

        public byte[] Block = [];
        public int BlockLength;

        public void StartSkip(int payload, int data, Http2Stream? stream)
        {
            SkipRemaining = payload;
            DataRemaining = data;
            SkipStream = stream;
            SkipEndsStream = false;
            SkipEndsBlock = false;
        }

        public void Append(ReadOnlySpan<byte> fragment)
        {
            if (Block.Length < BlockLength + fragment.Length)
            {
                Array.Resize(ref Block, Math.Min(MaxHeaderBlock, Math.Max(BlockLength + fragment.Length, Block.Length * 2)));
            }
            fragment.CopyTo(Block.AsSpan(BlockLength));
            BlockLength += fragment.Length;
        }
    }
}
