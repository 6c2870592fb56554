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
    public string Command { get; internal set; } = "";

    /// <summary>The first key (a push: its channel); null when the command has none.</summary>
    public string? Key { get; internal set; }

    /// <summary>Arguments after the command's name (a push: its elements).</summary>
    public long Args { get; internal set; }

    /// <summary>Null when no reply was seen.</summary>
    public RedisReply? Reply { get; internal set; }

    /// <summary>The error the server answered with ("ERR unknown command ...").</summary>
    public string? Error { get; internal set; }

    public bool IsPush { get; internal set; }

    /// <summary>
    /// Sets every field: a new exchange, or the one the parser refills for a sink that consumes each message at once
    /// (<see cref="IMessageSink.ConsumesAtOnce"/>).
    /// </summary>
    internal RedisExchange Fill(long startNs, long endNs, string command, string? key, long args, RedisReply? reply, string? error, bool push)
    {
        Retime(startNs, endNs);
        Command = command;
        Key = key;
        Args = args;
        Reply = reply;
        Error = error;
        IsPush = push;
        return this;
    }

    public override MessageRecord ToRecord(IMessageContext context)
    {
        var header = context.Header(StartNs);
        // The connection's last record when the sinks are done with it (IMessageContext.SpareRecord), else a new one.
        return (context.SpareRecord as RedisRecord ?? new RedisRecord(in header)).Fill(in header, this);
    }
}
