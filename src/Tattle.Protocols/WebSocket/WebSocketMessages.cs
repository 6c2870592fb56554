using Tattle.Protocols.Common;
using Tattle.Records;

namespace Tattle.Protocols.WebSocket;

/// <summary>A whole WebSocket message (its frames up to FIN) or a control frame, from one side.</summary>
public sealed record WebSocketMessage : ProtocolMessage
{
    /// <summary>text, binary, close, ping or pong.</summary>
    public string Opcode { get; internal set; } = "";

    /// <summary>Who sent it: client or server.</summary>
    public string Sender { get; internal set; } = "";

    public int Frames { get; internal set; }

    /// <summary>Payload bytes of all its frames, as sent (compressed when <see cref="Compressed"/>).</summary>
    public long Bytes { get; internal set; }

    public bool Masked { get; internal set; }

    /// <summary>permessage-deflate (RSV1 on the first frame).</summary>
    public bool Compressed { get; internal set; }

    public int? CloseCode { get; internal set; }

    public string? CloseReason { get; internal set; }

    /// <summary>The start of a text message, unmasked and printable (only with --data).</summary>
    public string? Preview { get; internal set; }

    /// <summary>A pong answering a ping of the other side: milliseconds since that ping's first byte.</summary>
    public double? PingLatencyMs { get; internal set; }

    /// <summary>
    /// Sets every field: a new message, or the one the parser refills for a sink that consumes each message at once
    /// (<see cref="IMessageSink.ConsumesAtOnce"/>).
    /// </summary>
    internal WebSocketMessage Fill(long startNs, long endNs, string opcode, string sender, int frames, long bytes, bool masked,
        bool compressed, int? closeCode, string? closeReason, string? preview, double? pingLatencyMs)
    {
        Retime(startNs, endNs);
        (Opcode, Sender, Frames, Bytes, Masked, Compressed) = (opcode, sender, frames, bytes, masked, compressed);
        (CloseCode, CloseReason, Preview, PingLatencyMs) = (closeCode, closeReason, preview, pingLatencyMs);
        return this;
    }

    public override MessageRecord ToRecord(IMessageContext context)
    {
        var header = context.Header(StartNs);
        // The connection's last record when the sinks are done with it (IMessageContext.SpareRecord), else a new one.
        return (context.SpareRecord as WebSocketRecord ?? new WebSocketRecord(in header)).Fill(in header, this);
    }
}
