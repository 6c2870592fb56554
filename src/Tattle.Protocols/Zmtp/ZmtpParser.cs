using Tattle.Protocols.Common;

namespace Tattle.Protocols.Zmtp;

/// <summary>
/// Reads both directions of a ZMTP 3.x connection (see README.md). The two directions are symmetric: each starts
/// with a greeting and a handshake naming its socket type; the message kinds each side may send follow from the
/// two types. A REQ's message (or any message to a REP) waits for the other side's next message, its reply.
/// </summary>
public sealed class ZmtpParser(ParserOptions options, IMessageSink sink) : IProtocolParser
{
    /// <summary>Commands are read whole up to this size; a longer one (a CURVE MESSAGE) is skipped as it arrives.</summary>
    internal const int MaxCommand = 64 * 1024;

    /// <summary>Requests awaiting replies beyond this are reported unanswered: a REP never lags that far.</summary>
    private const int MaxPending = 10_000;

    /// <summary>Bytes of a message's first non-empty frame kept: the 3.0 subscription topic, the preview.</summary>
    private const int CaptureLimit = 256;

    /// <summary>Printable bytes of a preview.</summary>
    private const int PreviewBytes = 32;

    private readonly Side[] _sides = [new(), new()];

    public string Name => ZmtpProtocol.Name;

    private string? _mechanism;

    /// <summary>The sink is done with each message when it returns: the parser refills <see cref="_message"/>.</summary>
    private readonly bool _reuse = sink.ConsumesAtOnce;

    private ZmtpMessage? _message;
    private ZmtpReply? _lastReply;

    /// <summary>One direction: its greeting, its handshake's facts, the frame being read, what waits for the other.</summary>
    private sealed class Side
    {
        public bool Greeted;
        public int Minor = -1;
        public string? SocketType;
        public string? Identity;

        public bool InBody;
        public long Remaining;
        public bool FrameMore;
        public bool Capturing;

        /// <summary>A command too long to read whole being skipped; whether it is a CURVE MESSAGE.</summary>
        public bool SkippingCommand;
        public bool SkippedMessage;
        public long SkippedSize;

        public bool InMessage;
        public long StartNs;
        public int Frames;
        public long Bytes;
        public readonly byte[] Capture = new byte[CaptureLimit];
        public int Captured;
        public bool CaptureDone;

        /// <summary>Requests this side sent, awaiting the other's replies.</summary>
        public readonly Queue<Pending> Pending = new();

        /// <summary>PINGs this side sent, awaiting PONGs.</summary>
        public readonly Queue<long> Pings = new();

        /// <summary>Whether this side's messages wait for answers: it is a REQ, or it talks to a REP.</summary>
        public bool Asks(Side peer) => SocketType == "REQ" || peer.SocketType == "REP";

        public void ResetFrames()
        {
            InBody = false;
            Remaining = 0;
            FrameMore = false;
            Capturing = false;
            SkippingCommand = false;
            InMessage = false;
            Frames = 0;
            Bytes = 0;
            Captured = 0;
            CaptureDone = false;
        }
    }

    private struct Pending
    {
        public long StartNs;
        public int Frames;
        public long Bytes;
        public string? Preview;
    }

    public ParseResult Parse(MessageKind kind, ReadOnlySpan<byte> data, in StreamContext context)
    {
        var side = _sides[(int)kind];
        if (data.IsEmpty)
        {
            return ParseResult.NeedMoreData();
        }
        if (!side.Greeted)
        {
            return Greeting(side, data);
        }
        int p = 0;
        while (true)
        {
            if (side.InBody)
            {
                int n = (int)Math.Min(side.Remaining, data.Length - p);
                if (side.Capturing)
                {
                    int keep = Math.Min(n, CaptureLimit - side.Captured);
                    data.Slice(p, keep).CopyTo(side.Capture.AsSpan(side.Captured));
                    side.Captured += keep;
                }
                p += n;
                side.Remaining -= n;
                if (side.Remaining > 0)
                {
                    return ParseResult.NeedMoreData(p);
                }
                if (EndOfBody(kind, side, p, context.NowNs) is { } ended)
                {
                    return ended;
                }
            }
            if (p == data.Length)
            {
                return ParseResult.NeedMoreData(p);
            }
            if (!ZmtpWire.TryReadHeader(data[p..], out byte flags, out long size, out int headerLength)
                || ((flags & ZmtpWire.Command) != 0 && side.InMessage))
            {
                // The bad byte is refused at the start of a call, where Invalid can say so.
                return p == 0 ? ParseResult.Invalid : ParseResult.NeedMoreData(p);
            }
            if (headerLength == 0)
            {
                return ParseResult.NeedMoreData(p);
            }
            if ((flags & ZmtpWire.Command) != 0)
            {
                if (size <= MaxCommand)
                {
                    return Command(kind, side, data[p..], headerLength, (int)size, p == 0 ? context.StartNs : context.NowNs, context.NowNs, p);
                }
                // Too long to hold: only its name is read (a CURVE MESSAGE carrying a large frame is counted), the
                // rest skipped as it arrives.
                var rest = data[(p + headerLength)..];
                int nameEnd = rest.IsEmpty ? 1 : 1 + rest[0];
                if (rest.Length < nameEnd)
                {
                    return ParseResult.NeedMoreData(p);
                }
                side.SkippedMessage = ZmtpWire.CommandOf(rest[..nameEnd], out _) == ZmtpCommand.Message;
                side.SkippingCommand = true;
                side.SkippedSize = size - nameEnd;
                side.StartNs = p == 0 ? context.StartNs : context.NowNs;
                side.InBody = true;
                side.Remaining = size;
                side.Capturing = false;
                p += headerLength;
                continue;
            }
            if (!side.InMessage)
            {
                side.InMessage = true;
                side.StartNs = p == 0 ? context.StartNs : context.NowNs;
                side.Frames = 0;
                side.Bytes = 0;
                side.Captured = 0;
                side.CaptureDone = false;
            }
            p += headerLength;
            side.Frames++;
            side.Bytes += size;
            side.FrameMore = (flags & ZmtpWire.More) != 0;
            side.Remaining = size;
            side.InBody = size > 0;
            side.Capturing = size > 0 && !side.CaptureDone;
            if (size == 0 && !side.FrameMore)
            {
                return EndMessage(kind, side, p, context.NowNs);
            }
        }
    }

    /// <summary>
    /// A frame body (or long command) has been skipped to its end: the result when that ends a message or command,
    /// null when the message goes on.
    /// </summary>
    private ParseResult? EndOfBody(MessageKind kind, Side side, int consumed, long nowNs)
    {
        side.InBody = false;
        if (side.SkippingCommand)
        {
            side.SkippingCommand = false;
            return SkippedCommand(kind, side, consumed, nowNs);
        }
        if (side.Capturing)
        {
            side.Capturing = false;
            side.CaptureDone = true;
        }
        return side.FrameMore ? null : EndMessage(kind, side, consumed, nowNs);
    }

    /// <summary>The 64-byte greeting, read whole: its version and mechanism. ZMTP 1.0 and 2.0 peers are not read.</summary>
    private ParseResult Greeting(Side side, ReadOnlySpan<byte> data)
    {
        var probe = ZmtpProtocol.Probe(data, false, 0, 0);
        if (probe == Detection.No)
        {
            return ParseResult.Invalid;
        }
        if (data.Length < ZmtpWire.GreetingLength)
        {
            return ParseResult.NeedMoreData();
        }
        side.Greeted = true;
        side.Minor = data[ZmtpWire.MinorOffset];
        _mechanism ??= ZmtpWire.Mechanism(data.Slice(ZmtpWire.MechanismOffset, ZmtpWire.MechanismLength));
        return ParseResult.Ignored(ZmtpWire.GreetingLength);
    }

    /// <summary>A command read whole from <paramref name="frame"/> (its header, then its body), <paramref name="before"/> bytes into the input.</summary>
    private ParseResult Command(MessageKind kind, Side side, ReadOnlySpan<byte> frame, int headerLength, int size, long startNs, long nowNs, int before)
    {
        if (frame.Length - headerLength < size)
        {
            return ParseResult.NeedMoreData(before);
        }
        bool reported = OnCommand(kind, side, frame.Slice(headerLength, size), startNs, nowNs);
        int consumed = before + headerLength + size;
        return reported ? ParseResult.Success(consumed) : ParseResult.Ignored(consumed);
    }

    private ParseResult SkippedCommand(MessageKind kind, Side side, int consumed, long nowNs)
    {
        if (!side.SkippedMessage)
        {
            return ParseResult.Ignored(consumed);
        }
        Report(kind, "encrypted", side.StartNs, nowNs, 1, side.SkippedSize);
        return ParseResult.Success(consumed);
    }

    private bool OnCommand(MessageKind kind, Side side, ReadOnlySpan<byte> body, long startNs, long nowNs)
    {
        var peer = _sides[(int)Other(kind)];
        var command = ZmtpWire.CommandOf(body, out int dataStart);
        var args = body[dataStart..];
        switch (command)
        {
            case ZmtpCommand.Ready or ZmtpCommand.Initiate:
                // Only NULL and PLAIN send their metadata in clear; CURVE's (and GSSAPI's) is a box.
                if (_mechanism is "NULL" or "PLAIN" or null)
                {
                    ReadMetadata(side, args);
                }
                sink.OnMessage(Message(kind, command == ZmtpCommand.Ready ? "ready" : "initiate", startNs, nowNs, identity: side.Identity));
                return true;
            case ZmtpCommand.Hello:
                string? user = null;
                if (_mechanism == "PLAIN" && !args.IsEmpty && args[0] < args.Length)
                {
                    // Username-size, username; the password after it is never read.
                    user = ZmtpWire.Printable(args.Slice(1, args[0]));
                }
                sink.OnMessage(Message(kind, "hello", startNs, nowNs, user: user));
                return true;
            case ZmtpCommand.Welcome:
                Report(kind, "welcome", startNs, nowNs, 0, 0);
                return true;
            case ZmtpCommand.Error:
                var reason = args.IsEmpty ? args : args[1..][..Math.Min(args[0], args.Length - 1)];
                sink.OnMessage(Message(kind, "error", startNs, nowNs, error: ZmtpWire.Printable(reason)));
                return true;
            case ZmtpCommand.Subscribe or ZmtpCommand.Cancel:
                ReportSubscription(kind, command == ZmtpCommand.Subscribe, args, startNs, nowNs);
                return true;
            case ZmtpCommand.Ping:
                if (side.Pings.Count >= MaxPending)
                {
                    ReportPing(kind, side.Pings.Dequeue(), null);
                }
                side.Pings.Enqueue(startNs);
                return false;
            case ZmtpCommand.Pong:
                if (peer.Pings.TryDequeue(out long pingNs))
                {
                    ReportPing(Other(kind), pingNs, nowNs);
                }
                else
                {
                    Report(kind, "pong", startNs, nowNs, 0, args.Length);
                }
                return true;
            case ZmtpCommand.Message:
                Report(kind, "encrypted", startNs, nowNs, 1, args.Length);
                return true;
            default:
                Report(kind, "command", startNs, nowNs, 0, body.Length);
                return true;
        }
    }

    /// <summary>Socket-Type and Identity from a READY's (or PLAIN INITIATE's) properties.</summary>
    private static void ReadMetadata(Side side, ReadOnlySpan<byte> metadata)
    {
        if (ZmtpWire.TryFindProperty(metadata, "Socket-Type"u8, out var type))
        {
            side.SocketType = ZmtpWire.SocketType(type);
        }
        if (ZmtpWire.TryFindProperty(metadata, "Identity"u8, out var identity))
        {
            side.Identity = ZmtpWire.Printable(identity);
        }
    }

    /// <summary>A message ends: a 3.0 subscription, a reply to the other side's request, a request, or one-way.</summary>
    private ParseResult EndMessage(MessageKind kind, Side side, int consumed, long nowNs)
    {
        side.InMessage = false;
        side.Capturing = false;
        var peer = _sides[(int)Other(kind)];
        var first = side.Capture.AsSpan(0, side.Captured);
        if (side.Frames == 1 && side.Captured > 0 && first[0] <= 1 && side.SocketType is "SUB" or "XSUB")
        {
            // ZMTP 3.0 subscribes with a message: 1 (or 0 to cancel) then the topic.
            ReportSubscription(kind, first[0] == 1, first[1..], side.StartNs, nowNs);
            return ParseResult.Success(consumed);
        }
        string? preview = options.Previews && side.Captured > 0 ? ZmtpWire.Printable(first[..Math.Min(first.Length, PreviewBytes)]) : null;
        if (peer.Pending.TryDequeue(out var request))
        {
            sink.OnMessage(Message(Other(kind), "message", request.StartNs, nowNs, request.Frames, request.Bytes,
                preview: request.Preview, request: true, reply: Reply(side.Frames, side.Bytes)));
            return ParseResult.Success(consumed);
        }
        if (side.Asks(peer))
        {
            if (side.Pending.Count >= MaxPending)
            {
                ReportUnanswered(kind, side.Pending.Dequeue());
            }
            side.Pending.Enqueue(new Pending { StartNs = side.StartNs, Frames = side.Frames, Bytes = side.Bytes, Preview = preview });
            return ParseResult.Success(consumed);
        }
        sink.OnMessage(Message(kind, "message", side.StartNs, nowNs, side.Frames, side.Bytes, preview: preview));
        return ParseResult.Success(consumed);
    }

    private void ReportSubscription(MessageKind kind, bool subscribe, ReadOnlySpan<byte> topic, long startNs, long nowNs) =>
        sink.OnMessage(Message(kind, subscribe ? "subscribe" : "cancel", startNs, nowNs,
            topic: ZmtpWire.Printable(topic[..Math.Min(topic.Length, CaptureLimit)])));

    private void ReportPing(MessageKind kind, long startNs, long? pongNs) =>
        sink.OnMessage(Message(kind, "ping", startNs, pongNs ?? startNs, answered: pongNs is not null));

    private void ReportUnanswered(MessageKind kind, in Pending request) =>
        sink.OnMessage(Message(kind, "message", request.StartNs, request.StartNs, request.Frames, request.Bytes,
            preview: request.Preview, request: true));

    private void Report(MessageKind kind, string what, long startNs, long endNs, int frames, long bytes) =>
        sink.OnMessage(Message(kind, what, startNs, endNs, frames, bytes));

    private static MessageKind Other(MessageKind kind) => kind == MessageKind.Request ? MessageKind.Response : MessageKind.Request;

    /// <summary>A message of <paramref name="kind"/>'s sender with the connection's facts filled in.</summary>
    private ZmtpMessage Message(
        MessageKind kind, string what, long startNs, long endNs, int frames = 0, long bytes = 0, string? preview = null,
        bool request = false, ZmtpReply? reply = null, bool answered = false, string? topic = null,
        string? identity = null, string? user = null, string? error = null)
    {
        var side = _sides[(int)kind];
        var peer = _sides[(int)Other(kind)];
        return Refillable.Next(_reuse, ref _message, NewMessage).Fill(startNs, endNs, what, side.SocketType, peer.SocketType, _mechanism,
            Version(side.Minor, peer.Minor), frames, bytes, reply, request, answered, topic, identity, user, error, preview);
    }

    // Fill sets the times as every other field.
    private static readonly Func<ZmtpMessage> NewMessage = static () => new() { StartNs = 0, EndNs = 0 };

    /// <summary>The reply of these sizes: the last one when the same, as a REP answers alike again and again (replies are never changed).</summary>
    private ZmtpReply Reply(int frames, long bytes) =>
        _lastReply is { } last && last.Frames == frames && last.Bytes == bytes ? last : _lastReply = new ZmtpReply(frames, bytes);

    private static string? Version(int a, int b)
    {
        int minor = a < 0 ? b : b < 0 ? a : Math.Min(a, b);
        return minor switch
        {
            < 0 => null,
            0 => "3.0",
            1 => "3.1",
            _ => "3." + minor,
        };
    }

    /// <summary>
    /// A greeting's signature, or else the first position where frames plausibly start (see
    /// <see cref="ZmtpWire.IsFrameStart"/>); the partial message before it is dropped.
    /// </summary>
    public int FindFrameBoundary(MessageKind kind, ReadOnlySpan<byte> data)
    {
        var side = _sides[(int)kind];
        side.ResetFrames();
        if (!side.Greeted)
        {
            for (int i = data.IndexOf(ZmtpWire.SignatureStart); i >= 0 && i <= data.Length - ZmtpWire.SignatureLength; i++)
            {
                if (data[i] == ZmtpWire.SignatureStart && ZmtpProtocol.Probe(data[i..], false, 0, 0) != Detection.No)
                {
                    return i;
                }
            }
            // Joined after the greeting (--proto forced it): frames from here on.
            side.Greeted = true;
        }
        for (int i = 0; i < data.Length; i++)
        {
            if (ZmtpWire.IsFrameStart(data, i))
            {
                return i;
            }
        }
        return -1;
    }

    public bool OnGap(MessageKind kind, long bytes, long nowNs)
    {
        var side = _sides[(int)kind];
        if (side.InBody && bytes <= side.Remaining)
        {
            // Inside a frame body being skipped: only its bytes are lost (and a preview's).
            side.Remaining -= bytes;
            side.Capturing = false;
            side.CaptureDone = true;
            if (side.Remaining == 0)
            {
                // The gap ends where the frame does: the message (or command) is complete now, not at the next
                // Parse, which would have no byte of it to consume.
                EndOfBody(kind, side, 0, nowNs);
            }
            return true;
        }
        side.ResetFrames();
        side.Greeted = true;
        // A message or reply may have been lost: which reply answers which request is no longer known.
        Flush(nowNs);
        return false;
    }

    public void OnClose(long nowNs) => Flush(nowNs);

    /// <summary>Requests and PINGs still waiting are reported unanswered.</summary>
    private void Flush(long nowNs)
    {
        _ = nowNs;
        for (int k = 0; k < 2; k++)
        {
            var side = _sides[k];
            while (side.Pending.TryDequeue(out var request))
            {
                ReportUnanswered((MessageKind)k, request);
            }
            while (side.Pings.TryDequeue(out long pingNs))
            {
                ReportPing((MessageKind)k, pingNs, null);
            }
        }
    }
}
