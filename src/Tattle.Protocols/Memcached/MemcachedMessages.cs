using Tattle.Protocols.Common;
using Tattle.Records;

namespace Tattle.Protocols.Memcached;

/// <summary>A memcached command with its reply (paired in order, quiet meta commands with care: see README.md).</summary>
public sealed record MemcachedExchange : ProtocolMessage
{
    /// <summary>The command word as sent ("get", "ms"); "binary" for a connection speaking the binary protocol.</summary>
    public string Command { get; internal set; } = "";

    /// <summary>The first key; null for commands without one.</summary>
    public string? Key { get; internal set; }

    /// <summary>Keys the command names (a multi-key get: all of them).</summary>
    public int Keys { get; internal set; }

    /// <summary>Retrievals: keys found and keys missed; null for other commands or without a reply.</summary>
    public int? Hits { get; internal set; }

    public int? Misses { get; internal set; }

    /// <summary>The client flags stored (storage) or returned (the first value of a retrieval).</summary>
    public long? Flags { get; internal set; }

    /// <summary>Data bytes: the block stored, or the values returned.</summary>
    public long? Bytes { get; internal set; }

    /// <summary>The reply's word ("STORED", "END", "HD", "EN"), incr/decr's new value; null without a reply.</summary>
    public string? Result { get; internal set; }

    /// <summary>The text after ERROR, CLIENT_ERROR or SERVER_ERROR.</summary>
    public string? Error { get; internal set; }

    /// <summary>
    /// The command asked for no reply (<c>noreply</c>), or was quiet and its silence was never explained: nothing
    /// answered it, by design.
    /// </summary>
    public bool NoReply { get; internal set; }

    /// <summary>A quiet meta command whose result is what its silence means (no reply line came for it).</summary>
    public bool Quiet { get; internal set; }

    /// <summary>
    /// Sets every field: a new exchange, or the one the parser refills for a sink that consumes each message at once
    /// (<see cref="IMessageSink.ConsumesAtOnce"/>).
    /// </summary>
    internal MemcachedExchange Fill(long startNs, long endNs, string command, string? key, int keys, int? hits, int? misses,
        long? flags, long? bytes, string? result, string? error, bool noReply, bool quiet)
    {
        Retime(startNs, endNs);
        (Command, Key, Keys, Hits, Misses) = (command, key, keys, hits, misses);
        (Flags, Bytes, Result, Error, NoReply, Quiet) = (flags, bytes, result, error, noReply, quiet);
        return this;
    }

    public override MessageRecord ToRecord(IMessageContext context)
    {
        var header = context.Header(StartNs);
        // The connection's last record when the sinks are done with it (IMessageContext.SpareRecord), else a new one.
        return (context.SpareRecord as MemcachedRecord ?? new MemcachedRecord(in header)).Fill(in header, this);
    }
}
