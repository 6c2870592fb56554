using Tattle.Protocols.Common;
using Tattle.Records;

namespace Tattle.Protocols.Zmtp;

/// <summary>The frames and payload bytes of the message that answered a request.</summary>
public sealed record ZmtpReply(int Frames, long Bytes);

/// <summary>
/// One ZMTP message or command as its sender sent it: a multipart message (with its reply when the sender is a
/// REQ, or its receiver a REP), a subscription, a heartbeat (PING with its PONG), a handshake command, an error.
/// </summary>
public sealed record ZmtpMessage : ProtocolMessage
{
    /// <summary>message, subscribe, cancel, ping, pong, ready, initiate, hello, welcome, error, encrypted, command.</summary>
    public string Kind { get; internal set; } = "message";

    /// <summary>The sender's socket type, from its READY (or PLAIN's INITIATE); null until seen.</summary>
    public string? SocketType { get; internal set; }

    /// <summary>The receiver's socket type.</summary>
    public string? PeerSocketType { get; internal set; }

    public string? Mechanism { get; internal set; }

    /// <summary>"3.0" or "3.1": the lower of the greetings' versions, as the peers agree on it.</summary>
    public string? Version { get; internal set; }

    public int Frames { get; internal set; }

    /// <summary>Payload bytes of the frames (command bodies for commands), headers excluded.</summary>
    public long Bytes { get; internal set; }

    /// <summary>A request's reply; null when unanswered or one-way.</summary>
    public ZmtpReply? Reply { get; internal set; }

    /// <summary>REQ/REP traffic, which waits for an answer: counted as a request whether answered or not.</summary>
    public bool IsRequest { get; internal set; }

    /// <summary>A PING answered by its PONG: the latency is the heartbeat's round trip.</summary>
    public bool Answered { get; internal set; }

    public string? Topic { get; internal set; }

    public string? Identity { get; internal set; }

    /// <summary>PLAIN's username; its password is never read.</summary>
    public string? User { get; internal set; }

    public string? Error { get; internal set; }

    /// <summary>The first non-empty frame's first bytes, printable; only with previews on (--data).</summary>
    public string? Preview { get; internal set; }

    /// <summary>
    /// Sets every field: a new message, or the one the parser refills for a sink that consumes each message at once
    /// (<see cref="IMessageSink.ConsumesAtOnce"/>).
    /// </summary>
    internal ZmtpMessage Fill(long startNs, long endNs, string kind, string? socketType, string? peerSocketType, string? mechanism,
        string? version, int frames, long bytes, ZmtpReply? reply, bool isRequest, bool answered, string? topic, string? identity,
        string? user, string? error, string? preview)
    {
        Retime(startNs, endNs);
        (Kind, SocketType, PeerSocketType, Mechanism, Version) = (kind, socketType, peerSocketType, mechanism, version);
        (Frames, Bytes, Reply, IsRequest, Answered) = (frames, bytes, reply, isRequest, answered);
        (Topic, Identity, User, Error, Preview) = (topic, identity, user, error, preview);
        return this;
    }

    public override MessageRecord ToRecord(IMessageContext context)
    {
        var header = context.Header(StartNs);
        // The connection's last record when the sinks are done with it (IMessageContext.SpareRecord), else a new one.
        return (context.SpareRecord as ZmtpRecord ?? new ZmtpRecord(in header)).Fill(in header, this);
    }
}
