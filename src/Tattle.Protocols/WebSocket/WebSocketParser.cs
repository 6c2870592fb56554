using System.Buffers.Binary;
using System.Text;
using Tattle.Protocols.Common;

namespace Tattle.Protocols.WebSocket;

/// <summary>
/// Reads the frames of both directions of a WebSocket connection (RFC 6455) and reports whole messages (frames up
/// to FIN) and control frames. Payloads are skipped by count; only a text message's first bytes (a --data preview)
/// and a close frame's code and reason are read.
/// </summary>
public sealed class WebSocketParser(ParserOptions options, IMessageSink sink) : IProtocolParser
{
    /// <summary>Bytes of a text message's start kept for its preview.</summary>
    private const int PreviewBytes = 64;

    /// <summary>RFC 6455 section 5.5: control frames carry 125 bytes at most.</summary>
    private const int MaxControl = 125;

    private readonly Side[] _sides = [new(), new()];

    /// <summary>The sink is done with each message when it returns: the parser refills <see cref="_message"/>.</summary>
    private readonly bool _reuse = sink.ConsumesAtOnce;

    private WebSocketMessage? _message;

    public string Name => WebSocketProtocol.Name;

    /// <summary>One direction's reading state.</summary>
    private sealed class Side
    {
        /// <summary>Payload bytes of the current data frame still to skip.</summary>
        public long Remaining;

        /// <summary>Position in the current frame's payload (for the mask).</summary>
        public long Position;
        public bool Fin;
        public uint Mask;
        public bool MaskedFrame;

        /// <summary>A data message is in progress (its first frame was read, FIN not yet).</summary>
        public bool InMessage;
        public byte Opcode;
        public int Frames;
        public long Bytes;
        public bool Masked;
        public bool Compressed;
        public long StartNs;
        public readonly byte[] Preview = new byte[PreviewBytes];
        public int PreviewLength;

        /// <summary>When this side's last ping started (0: none waiting for a pong).</summary>
        public long PingNs;

        public void Reset()
        {
            (Remaining, Position, Fin, InMessage, Frames, Bytes, PreviewLength) = (0, 0, false, false, 0, 0, 0);
        }
    }

    public ParseResult Parse(MessageKind kind, ReadOnlySpan<byte> data, in StreamContext context)
    {
        var side = _sides[(int)kind];
        if (side.Remaining > 0)
        {
            int skipped = SkipPayload(side, data);
            if (side.Remaining > 0)
            {
                return ParseResult.NeedMoreData(skipped);
            }
            return EndOfFrame(kind, side, context.NowNs) ? ParseResult.Success(skipped) : ParseResult.Ignored(skipped);
        }
        if (data.Length < 2)
        {
            return ParseResult.NeedMoreData();
        }
        byte b0 = data[0], b1 = data[1];
        int opcode = b0 & 0x0F;
        bool fin = (b0 & 0x80) != 0, rsv1 = (b0 & 0x40) != 0, masked = (b1 & 0x80) != 0;
        bool control = opcode >= 8;
        // RSV2 and RSV3 belong to no extension in use; opcodes 3-7 and 11-15 are reserved (section 5.2).
        if ((b0 & 0x30) != 0 || opcode is (> 2 and < 8) or > 10
            || (control && (!fin || (b1 & 0x7F) > MaxControl))
            || (opcode == 0 && !side.InMessage) || (opcode is 1 or 2 && side.InMessage))
        {
            return ParseResult.Invalid;
        }
        int header = 2;
        long length = b1 & 0x7F;
        if (length == 126)
        {
            if (data.Length < 4)
            {
                return ParseResult.NeedMoreData();
            }
            length = BinaryPrimitives.ReadUInt16BigEndian(data[2..]);
            header = 4;
        }
        else if (length == 127)
        {
            if (data.Length < 10)
            {
                return ParseResult.NeedMoreData();
            }
            ulong wide = BinaryPrimitives.ReadUInt64BigEndian(data[2..]);
            if (wide > long.MaxValue)
            {
                return ParseResult.Invalid;
            }
            length = (long)wide;
            header = 10;
        }
        uint mask = 0;
        if (masked)
        {
            if (data.Length < header + 4)
            {
                return ParseResult.NeedMoreData();
            }
            mask = BinaryPrimitives.ReadUInt32BigEndian(data[header..]);
            header += 4;
        }
        if (control)
        {
            if (data.Length < header + length)
            {
                return ParseResult.NeedMoreData();
            }
            Control(kind, opcode, data.Slice(header, (int)length), masked, mask, context);
            return ParseResult.Success(header + (int)length);
        }
        if (opcode != 0)
        {
            side.InMessage = true;
            (side.Opcode, side.Frames, side.Bytes, side.Masked, side.Compressed) = ((byte)opcode, 0, 0, masked, rsv1);
            (side.StartNs, side.PreviewLength) = (context.StartNs, 0);
        }
        side.Frames++;
        side.Bytes += length;
        (side.Remaining, side.Position, side.Fin, side.Mask, side.MaskedFrame) = (length, 0, fin, mask, masked);
        int consumed = header + SkipPayload(side, data[header..]);
        if (side.Remaining > 0)
        {
            return ParseResult.NeedMoreData(consumed);
        }
        return EndOfFrame(kind, side, context.NowNs) ? ParseResult.Success(consumed) : ParseResult.Ignored(consumed);
    }

    /// <summary>Skips payload bytes, unmasking the few a preview keeps.</summary>
    private int SkipPayload(Side side, ReadOnlySpan<byte> data)
    {
        int n = (int)Math.Min(side.Remaining, data.Length);
        if (options.Previews && side.Opcode == 1 && !side.Compressed && side.PreviewLength < PreviewBytes)
        {
            int take = Math.Min(n, PreviewBytes - side.PreviewLength);
            Unmask(data[..take], side.Preview.AsSpan(side.PreviewLength), side.MaskedFrame, side.Mask, side.Position);
            side.PreviewLength += take;
        }
        side.Remaining -= n;
        side.Position += n;
        return n;
    }

    private static void Unmask(ReadOnlySpan<byte> from, Span<byte> to, bool masked, uint mask, long position)
    {
        for (int i = 0; i < from.Length; i++)
        {
            int shift = 24 - (8 * (int)((position + i) & 3));
            to[i] = masked ? (byte)(from[i] ^ (byte)(mask >> shift)) : from[i];
        }
    }

    /// <summary>A data frame's payload ended: the message is reported if the frame had FIN.</summary>
    private bool EndOfFrame(MessageKind kind, Side side, long nowNs)
    {
        if (!side.Fin)
        {
            return false;
        }
        side.InMessage = false;
        string? preview = side.PreviewLength > 0 ? Printable(side.Preview.AsSpan(0, side.PreviewLength), side.Bytes > side.PreviewLength) : null;
        sink.OnMessage(Message().Fill(side.StartNs, nowNs, side.Opcode == 1 ? "text" : "binary", Sender(kind), side.Frames, side.Bytes,
            side.Masked, side.Compressed, closeCode: null, closeReason: null, preview, pingLatencyMs: null));
        return true;
    }

    private void Control(MessageKind kind, int opcode, ReadOnlySpan<byte> payload, bool masked, uint mask, in StreamContext context)
    {
        int? code = null;
        string? reason = null;
        double? latency = null;
        var other = _sides[1 - (int)kind];
        if (opcode == 8 && payload.Length >= 2)
        {
            Span<byte> clear = stackalloc byte[payload.Length];
            Unmask(payload, clear, masked, mask, 0);
            code = BinaryPrimitives.ReadUInt16BigEndian(clear);
            reason = Printable(clear[2..], cut: false);
        }
        else if (opcode == 9)
        {
            _sides[(int)kind].PingNs = context.StartNs;
        }
        else if (opcode == 10 && other.PingNs != 0)
        {
            latency = IMessageContext.Latency(other.PingNs, context.NowNs);
            other.PingNs = 0;
        }
        sink.OnMessage(Message().Fill(context.StartNs, context.NowNs, opcode switch { 8 => "close", 9 => "ping", _ => "pong" }, Sender(kind),
            frames: 1, payload.Length, masked, compressed: false, code, reason, preview: null, latency));
    }

    private WebSocketMessage Message() => Refillable.Next(_reuse, ref _message, NewMessage);

    // Fill sets the times as every other field.
    private static readonly Func<WebSocketMessage> NewMessage = static () => new() { StartNs = 0, EndNs = 0 };

    private static string Sender(MessageKind kind) => kind == MessageKind.Request ? "client" : "server";

    /// <summary>UTF-8 text with control characters shown as '.', an incomplete last character dropped, "…" when cut.</summary>
    private static string Printable(ReadOnlySpan<byte> bytes, bool cut)
    {
        var text = new StringBuilder(Encoding.UTF8.GetString(bytes));
        if (cut && text.Length > 0 && text[^1] == '\uFFFD')
        {
            text.Length--;
        }
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsControl(text[i]))
            {
                text[i] = '.';
            }
        }
        return cut ? text.Append('…').ToString() : text.ToString();
    }

    /// <summary>A frame header that fits the direction: a final text, binary or close frame, masked from clients only.</summary>
    public int FindFrameBoundary(MessageKind kind, ReadOnlySpan<byte> data)
    {
        bool masked = kind == MessageKind.Request;
        for (int i = 0; i + 1 < data.Length; i++)
        {
            if (data[i] is 0x81 or 0x82 or 0xC1 or 0xC2 or 0x88 && ((data[i + 1] & 0x80) != 0) == masked)
            {
                return i;
            }
        }
        return -1;
    }

    public bool OnGap(MessageKind kind, long bytes, long nowNs)
    {
        var side = _sides[(int)kind];
        if (side.Remaining >= bytes && bytes > 0)
        {
            // The lost bytes fall inside a payload being skipped anyway.
            side.Remaining -= bytes;
            side.Position += bytes;
            if (side.Remaining == 0)
            {
                EndOfFrame(kind, side, nowNs);
            }
            return true;
        }
        side.Reset();
        return false;
    }

    public void OnClose(long nowNs)
    {
    }
}
