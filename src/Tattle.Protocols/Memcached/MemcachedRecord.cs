using System.Text.Json;
using Tattle.Protocols.Common;
using Tattle.Records;
using Tattle.Records.Json;
using Tattle.Records.Live;

namespace Tattle.Protocols.Memcached;

/// <summary>A memcached command with its reply.</summary>
public sealed record MemcachedRecord : MessageRecord
{
    public MemcachedRecord()
    {
    }

    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    public MemcachedRecord(in MessageHeader header)
        : base(in header)
    {
    }

    public override string Type => "memcached";

    public string Command { get; internal set; } = "";

    public string? Key { get; internal set; }

    public int Keys { get; internal set; }

    public int? Hits { get; internal set; }

    public int? Misses { get; internal set; }

    public long? Flags { get; internal set; }

    public long? Bytes { get; internal set; }

    public string? Result { get; internal set; }

    public string? Error { get; internal set; }

    /// <summary>No reply was asked for: the summary does not count it as an unanswered request.</summary>
    public bool NoReply { get; internal set; }

    public bool Quiet { get; internal set; }

    /// <summary>Sets every field from the exchange: a new record, or the connection's last one refilled.</summary>
    internal MemcachedRecord Fill(in MessageHeader header, MemcachedExchange exchange)
    {
        Refill(in header, exchange.Result is not null ? IMessageContext.Latency(exchange.StartNs, exchange.EndNs) : null);
        (Command, Key, Keys, Hits, Misses) = (exchange.Command, exchange.Key, exchange.Keys, exchange.Hits, exchange.Misses);
        (Flags, Bytes, Result, Error) = (exchange.Flags, exchange.Bytes, exchange.Result, exchange.Error);
        (NoReply, Quiet) = (exchange.NoReply, exchange.Quiet);
        return this;
    }

    public override bool IsRequest => !NoReply && Command != "quit" && Command != "binary";

    public override void WriteFields(Utf8JsonWriter w)
    {
        RecurringStrings.Write(w, Names.Command, Command);
        w.WriteString(Names.Key, Key);
        w.WriteNumber(Names.Keys, Keys);
        WriteNumber(w, Names.Hits, Hits);
        WriteNumber(w, Names.Misses, Misses);
        WriteNumber(w, Names.Flags, Flags);
        WriteNumber(w, Names.Bytes, Bytes);
        if (Result is null)
        {
            w.WriteNull(Names.Result);
        }
        else
        {
            RecurringStrings.Write(w, Names.Result, Result);
        }
        w.WriteString(JsonNames.Error, Error);
        if (NoReply)
        {
            w.WriteBoolean(Names.NoReply, true);
        }
        if (Quiet)
        {
            w.WriteBoolean(Names.Quiet, true);
        }
    }

    private static void WriteNumber(Utf8JsonWriter w, JsonEncodedText name, long? value)
    {
        if (value is { } n)
        {
            w.WriteNumber(name, n);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    public override string? ErrorType => IsRequest && Error is { } error ? error.Split(' ', 2)[0] : null;

    public override bool WriteExchange(IExchangeWriter w)
    {
        if (!IsRequest)
        {
            return false;
        }
        w.Describe(ExchangeKind.Database, "memcached", Command);
        w.Attribute("db.system.name", "memcached");
        w.Attribute("db.operation.name", Command);
        w.Outcome(Error is not null ? "error" : Result is null && LatencyMs is null ? "none" : "ok", ErrorType);
        return true;
    }

    /// <summary>"memcached get user:1 -> hit 12 B 0.2 ms", "memcached set k 5 B -> STORED", "memcached ms k (noreply)".</summary>
    public override void Describe(LiveLine line)
    {
        line.Word(LiveStyle.Cyan, "memcached").Space().Text(Command);
        if (Key is not null)
        {
            line.Space().Text(Key);
            if (Keys > 1)
            {
                line.Word($" +{Keys - 1}");
            }
        }
        if (Hits is null && Bytes is { } stored)
        {
            line.Space().Bytes((ulong)stored);
        }
        if (NoReply)
        {
            line.Space().Word(LiveStyle.Grey, "(noreply)").Conn(Conn);
            return;
        }
        line.Space().Arrow(Role).Space();
        if (Result is null)
        {
            line.Word(LiveStyle.Grey, "(no reply)");
        }
        else if (Error is not null || Result.EndsWith("ERROR", StringComparison.Ordinal))
        {
            line.Word(LiveStyle.Red, Result);
            if (!string.IsNullOrEmpty(Error))
            {
                line.Space().Text(LiveStyle.Red, Error);
            }
        }
        else if (Hits is { } hits && Misses is { } misses)
        {
            if (Keys <= 1)
            {
                line.Word(hits > 0 ? LiveStyle.Green : LiveStyle.Yellow, hits > 0 ? "hit" : "miss");
            }
            else
            {
                line.Word(LiveStyle.Green, Plural.Count(hits, "hit", "hits")).Space().Word(LiveStyle.Yellow, Plural.Count(misses, "miss", "misses"));
            }
            if (Bytes is { } bytes && hits > 0)
            {
                line.Space().Bytes((ulong)bytes);
            }
        }
        else
        {
            line.Word(LiveStyle.Green, Result);
        }
        line.Ms(LatencyMs).Conn(Conn);
    }

    private static class Names
    {
        public static readonly JsonEncodedText Bytes = JsonEncodedText.Encode("bytes");
        public static readonly JsonEncodedText Command = JsonEncodedText.Encode("command");
        public static readonly JsonEncodedText Flags = JsonEncodedText.Encode("flags");
        public static readonly JsonEncodedText Hits = JsonEncodedText.Encode("hits");
        public static readonly JsonEncodedText Key = JsonEncodedText.Encode("key");
        public static readonly JsonEncodedText Keys = JsonEncodedText.Encode("keys");
        public static readonly JsonEncodedText Misses = JsonEncodedText.Encode("misses");
        public static readonly JsonEncodedText NoReply = JsonEncodedText.Encode("noreply");
        public static readonly JsonEncodedText Quiet = JsonEncodedText.Encode("quiet");
        public static readonly JsonEncodedText Result = JsonEncodedText.Encode("result");
    }
}
