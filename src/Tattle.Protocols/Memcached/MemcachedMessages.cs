using Tattle.Protocols.Common;
using Tattle.Records;

namespace Tattle.Protocols.Memcached;

/// <summary>A memcached command with its reply (paired in order, quiet meta commands with care: see README.md).</summary>
public sealed record MemcachedExchange : ProtocolMessage
{
    /// <summary>The command word as sent ("get", "ms"); "binary" for a connection speaking the binary protocol.</summary>
    public required string Command { get; init; }

    /// <summary>The first key; null for commands without one.</summary>
    public string? Key { get; init; }

    /// <summary>Keys the command names (a multi-key get: all of them).</summary>
    public int Keys { get; init; }

    /// <summary>Retrievals: keys found and keys missed; null for other commands or without a reply.</summary>
    public int? Hits { get; init; }

    public int? Misses { get; init; }

    /// <summary>The client flags stored (storage) or returned (the first value of a retrieval).</summary>
    public long? Flags { get; init; }

    /// <summary>Data bytes: the block stored, or the values returned.</summary>
    public long? Bytes { get; init; }

    /// <summary>The reply's word ("STORED", "END", "HD", "EN"), incr/decr's new value; null without a reply.</summary>
    public string? Result { get; init; }

    /// <summary>The text after ERROR, CLIENT_ERROR or SERVER_ERROR.</summary>
    public string? Error { get; init; }

    /// <summary>
    /// The command asked for no reply (<c>noreply</c>), or was quiet and its silence was never explained: nothing
    /// answered it, by design.
    /// </summary>
    public bool NoReply { get; init; }

    /// <summary>A quiet meta command whose result is what its silence means (no reply line came for it).</summary>
    public bool Quiet { get; init; }

    public override MessageRecord ToRecord(IMessageContext context) => new MemcachedRecord(context.Header(StartNs))
    {
        LatencyMs = Result is not null ? IMessageContext.Latency(StartNs, EndNs) : null,
        Command = Command,
        Key = Key,
        Keys = Keys,
        Hits = Hits,
        Misses = Misses,
        Flags = Flags,
        Bytes = Bytes,
        Result = Result,
        Error = Error,
        NoReply = NoReply,
        Quiet = Quiet,
    };
}
