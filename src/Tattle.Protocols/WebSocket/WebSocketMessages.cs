using Tattle.Protocols.Common;
using Tattle.Records;

namespace Tattle.Protocols.WebSocket;

/// <summary>A whole WebSocket message (its frames up to FIN) or a control frame, from one side.</summary>
public sealed record WebSocketMessage : ProtocolMessage
{
    /// <summary>text, binary, close, ping or pong.</summary>
    public required string Opcode { get; init; }

    /// <summary>Who sent it: client or server.</summary>
    public required string Sender { get; init; }

    public int Frames { get; init; }

    /// <summary>Payload bytes of all its frames, as sent (compressed when <see cref="Compressed"/>).</summary>
    public long Bytes { get; init; }

    public bool Masked { get; init; }

    /// <summary>permessage-deflate (RSV1 on the first frame).</summary>
    public bool Compressed { get; init; }

    public int? CloseCode { get; init; }

    public string? CloseReason { get; init; }

    /// <summary>The start of a text message, unmasked and printable (only with --data).</summary>
    public string? Preview { get; init; }

    /// <summary>A pong answering a ping of the other side: milliseconds since that ping's first byte.</summary>
    public double? PingLatencyMs { get; init; }

    public override MessageRecord ToRecord(IMessageContext context) => new WebSocketRecord(context.Header(StartNs))
    {
        LatencyMs = PingLatencyMs,
        Opcode = Opcode,
        Sender = Sender,
        Frames = Frames,
        Bytes = Bytes,
        Masked = Masked,
        Compressed = Compressed,
        CloseCode = CloseCode,
        CloseReason = CloseReason,
        Preview = Preview,
    };
}
