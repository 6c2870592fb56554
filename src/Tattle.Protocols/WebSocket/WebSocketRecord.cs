using System.Globalization;
using System.Text.Json;
using Tattle.Records;
using Tattle.Records.Json;
using Tattle.Records.Live;

namespace Tattle.Protocols.WebSocket;

/// <summary>A WebSocket message or control frame.</summary>
public sealed record WebSocketRecord : MessageRecord
{
    public WebSocketRecord()
    {
    }

    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    public WebSocketRecord(in MessageHeader header)
        : base(in header)
    {
    }

    public override string Type => "websocket";

    public string Opcode { get; internal set; } = "";

    /// <summary>client or server: who sent the message.</summary>
    public string Sender { get; internal set; } = "";

    public int Frames { get; internal set; }

    public long Bytes { get; internal set; }

    public bool Masked { get; internal set; }

    public bool Compressed { get; internal set; }

    public int? CloseCode { get; internal set; }

    public string? CloseReason { get; internal set; }

    public string? Preview { get; internal set; }

    /// <summary>Sets every field from the message: a new record, or the connection's last one refilled.</summary>
    internal WebSocketRecord Fill(in MessageHeader header, WebSocketMessage message)
    {
        Refill(in header, message.PingLatencyMs);
        (Opcode, Sender, Frames, Bytes, Masked, Compressed) = (message.Opcode, message.Sender, message.Frames, message.Bytes, message.Masked, message.Compressed);
        (CloseCode, CloseReason, Preview) = (message.CloseCode, message.CloseReason, message.Preview);
        return this;
    }

    /// <summary>Messages go one way: none is a request the summary waits an answer for.</summary>
    public override bool IsRequest => false;

    public override void WriteFields(Utf8JsonWriter w)
    {
        RecurringStrings.Write(w, Names.Opcode, Opcode);
        RecurringStrings.Write(w, Names.Sender, Sender);
        w.WriteNumber(Names.Frames, Frames);
        w.WriteNumber(Names.Bytes, Bytes);
        w.WriteBoolean(Names.Masked, Masked);
        w.WriteBoolean(Names.Compressed, Compressed);
        if (CloseCode is { } code)
        {
            w.WriteNumber(Names.CloseCode, code);
        }
        else
        {
            w.WriteNull(Names.CloseCode);
        }
        w.WriteString(Names.CloseReason, CloseReason);
        if (Preview is not null)
        {
            w.WriteString(Names.Preview, Preview);
        }
    }

    /// <summary>"ws text 1 frame 12 B ->", "ws <- close 1000 "bye"", "ws <- pong 0.3 ms".</summary>
    public override void Describe(LiveLine line)
    {
        bool outgoing = Sender == Role;
        line.Word(LiveStyle.Cyan, "ws").Space();
        if (!outgoing)
        {
            line.Word("<-").Space();
        }
        line.Word(Opcode == "close" ? LiveStyle.Yellow : LiveStyle.Green, Opcode);
        if (CloseCode is { } code)
        {
            line.Space().Text(code.ToString(CultureInfo.InvariantCulture));
            if (!string.IsNullOrEmpty(CloseReason))
            {
                line.Space().Text("\"" + CloseReason + "\"");
            }
        }
        else if (Opcode is "text" or "binary")
        {
            line.Space().Word(Plural.Count(Frames, "frame", "frames")).Space().Bytes((ulong)Bytes);
            if (Compressed)
            {
                line.Space().Word(LiveStyle.Grey, "deflate");
            }
            if (Preview is not null)
            {
                line.Space().Text(LiveStyle.Grey, Preview);
            }
        }
        if (outgoing)
        {
            line.Space().Word("->");
        }
        line.Ms(LatencyMs).Conn(Conn);
    }

    private static class Names
    {
        public static readonly JsonEncodedText Bytes = JsonEncodedText.Encode("bytes");
        public static readonly JsonEncodedText CloseCode = JsonEncodedText.Encode("close_code");
        public static readonly JsonEncodedText CloseReason = JsonEncodedText.Encode("close_reason");
        public static readonly JsonEncodedText Compressed = JsonEncodedText.Encode("compressed");
        public static readonly JsonEncodedText Frames = JsonEncodedText.Encode("frames");
        public static readonly JsonEncodedText Masked = JsonEncodedText.Encode("masked");
        public static readonly JsonEncodedText Opcode = JsonEncodedText.Encode("opcode");
        public static readonly JsonEncodedText Preview = JsonEncodedText.Encode("preview");
        public static readonly JsonEncodedText Sender = JsonEncodedText.Encode("sender");
    }
}
