using Tattle.Protocols.Common;
using Tattle.Records;

namespace Tattle.Protocols.Redis;

/// <summary>A reply as records show it: its RESP type, size, and short value.</summary>
/// <param name="Type">The RESP type (a push for unasked messages).</param>
/// <param name="Size">Bytes of a bulk, elements of an aggregate; null for other types.</param>
/// <param name="Integer">An integer reply's value.</param>
/// <param name="Text">A status, double, boolean or big number as text (64 chars at most).</param>
public sealed record RedisReply(RespType Type, long? Size, long? Integer, string? Text);

/// <summary>
/// A command with its reply (paired in order), or a message the server pushed unasked (pub/sub, RESP3 pushes):
/// then <see cref="IsPush"/> is set and the command is the push's kind ("message").
/// </summary>
public sealed record RedisExchange : ProtocolMessage
{
    /// <summary>Upper-case, with the subcommand of container commands ("CONFIG SET").</summary>
    public required string Command { get; init; }

    /// <summary>The first key (a push: its channel); null when the command has none.</summary>
    public string? Key { get; init; }

    /// <summary>Arguments after the command's name (a push: its elements).</summary>
    public long Args { get; init; }

    /// <summary>Null when no reply was seen.</summary>
    public RedisReply? Reply { get; init; }

    /// <summary>The error the server answered with ("ERR unknown command ...").</summary>
    public string? Error { get; init; }

    public bool IsPush { get; init; }

    public override MessageRecord ToRecord(IMessageContext context) => new RedisRecord(context.Header(StartNs))
    {
        LatencyMs = Reply is not null && !IsPush ? IMessageContext.Latency(StartNs, EndNs) : null,
        Command = Command,
        Key = Key,
        Args = Args,
        Reply = Reply,
        Error = Error,
        Push = IsPush,
    };
}
