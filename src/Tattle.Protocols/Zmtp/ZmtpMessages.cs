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
    public required string Kind { get; init; }

    /// <summary>The sender's socket type, from its READY (or PLAIN's INITIATE); null until seen.</summary>
    public string? SocketType { get; init; }

    /// <summary>The receiver's socket type.</summary>
    public string? PeerSocketType { get; init; }

    public string? Mechanism { get; init; }

    /// <summary>"3.0" or "3.1": the lower of the greetings' versions, as the peers agree on it.</summary>
    public string? Version { get; init; }

    public int Frames { get; init; }

    /// <summary>Payload bytes of the frames (command bodies for commands), headers excluded.</summary>
    public long Bytes { get; init; }

    /// <summary>A request's reply; null when unanswered or one-way.</summary>
    public ZmtpReply? Reply { get; init; }

    /// <summary>REQ/REP traffic, which waits for an answer: counted as a request whether answered or not.</summary>
    public bool IsRequest { get; init; }

    /// <summary>A PING answered by its PONG: the latency is the heartbeat's round trip.</summary>
    public bool Answered { get; init; }

    public string? Topic { get; init; }

    public string? Identity { get; init; }

    /// <summary>PLAIN's username; its password is never read.</summary>
    public string? User { get; init; }

    public string? Error { get; init; }

    /// <summary>The first non-empty frame's first bytes, printable; only with previews on (--data).</summary>
    public string? Preview { get; init; }

    public override MessageRecord ToRecord(IMessageContext context) => new ZmtpRecord(context.Header(StartNs))
    {
        LatencyMs = Reply is not null || Answered ? IMessageContext.Latency(StartNs, EndNs) : null,
        Kind = Kind,
        SocketType = SocketType,
        PeerSocketType = PeerSocketType,
        Mechanism = Mechanism,
        Version = Version,
        Frames = Frames,
        Bytes = Bytes,
        Reply = Reply,
        Request = IsRequest,
        Topic = Topic,
        Identity = Identity,
        User = User,
        Error = Error,
        Preview = Preview,
    };
}
