using System.Globalization;
using System.Text.Json;
using Tattle.Protocols.Common;
using Tattle.Records;
using Tattle.Records.Json;
using Tattle.Records.Live;

namespace Tattle.Protocols.Redis;

/// <summary>A Redis command with its reply, or a message the server pushed.</summary>
public sealed record RedisRecord : MessageRecord
{
    public RedisRecord()
    {
    }

    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    public RedisRecord(in MessageHeader header)
        : base(in header)
    {
    }

    public override string Type => "redis";

    public string Command { get; internal set; } = "";

    public string? Key { get; internal set; }

    public long Args { get; internal set; }

    public RedisReply? Reply { get; internal set; }

    public string? Error { get; internal set; }

    /// <summary>The server sent it unasked (pub/sub message, RESP3 push): Command is the push's kind.</summary>
    public bool Push { get; internal set; }

    public override bool IsRequest => !Push;

    /// <summary>Sets every field from the exchange: a new record, or the connection's last one refilled.</summary>
    internal RedisRecord Fill(in MessageHeader header, RedisExchange exchange)
    {
        Refill(in header, exchange.Reply is not null && !exchange.IsPush ? IMessageContext.Latency(exchange.StartNs, exchange.EndNs) : null);
        Command = exchange.Command;
        Key = exchange.Key;
        Args = exchange.Args;
        Reply = exchange.Reply;
        Error = exchange.Error;
        Push = exchange.IsPush;
        return this;
    }

    public override void WriteFields(Utf8JsonWriter w)
    {
        RecurringStrings.Write(w, Names.Command, Command);
        w.WriteString(Names.Key, Key);
        w.WriteNumber(Names.Args, Args);
        if (Reply is { } reply)
        {
            w.WriteStartObject(Names.Reply);
            w.WriteString(JsonNames.Type, TypeName(reply.Type));
            if (reply.Size is { } size)
            {
                w.WriteNumber(Names.Size, size);
            }
            if (reply.Integer is { } n)
            {
                w.WriteNumber(Names.Value, n);
            }
            else if (reply.Text is { } text)
            {
                RecurringStrings.Write(w, Names.Value, text);
            }
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull(Names.Reply);
        }
        w.WriteString(JsonNames.Error, Error);
        if (Push)
        {
            w.WriteBoolean(Names.Push, true);
        }
    }

    // The error's first word is its kind (ERR, WRONGTYPE, NOAUTH): the rest may quote user data.
    public override string? ErrorType => !Push && Error is { } e ? e.Split(' ', 2)[0] : null;

    /// <summary>"redis GET user:1 -> bulk 12 B 0.30 ms", "redis SET k -> status OK", "redis push message news".</summary>
    public override bool WriteExchange(IExchangeWriter w)
    {
        if (Push)
        {
            return false;
        }
        string command = Command.Length == 0 ? "unknown" : Command;
        w.Describe(ExchangeKind.Database, "redis", command);
        w.Attribute("db.system.name", "redis");
        w.Attribute("db.operation.name", command);
        w.Outcome(Error is not null ? "error" : Reply is null ? "none" : "ok", ErrorType);
        return true;
    }

    public override void Describe(LiveLine line)
    {
        line.Word(LiveStyle.Cyan, "redis").Space();
        if (Push)
        {
            line.Word("push ").Text(Command);
            if (Key is not null)
            {
                line.Space().Text(Key);
            }
            line.Conn(Conn);
            return;
        }
        line.Text(Command);
        if (Key is not null)
        {
            line.Space().Text(Key);
        }
        line.Space().Arrow(Role).Space();
        if (Reply is not { } reply)
        {
            line.Word(LiveStyle.Grey, "(no reply)");
        }
        else if (Error is not null)
        {
            line.Word(LiveStyle.Red, "error").Space().Text(LiveStyle.Red, Error);
        }
        else
        {
            line.Word(LiveStyle.Green, TypeName(reply.Type));
            if (reply.Integer is { } n)
            {
                line.Space().Text(n.ToString(CultureInfo.InvariantCulture));
            }
            else if (reply.Text is { } text)
            {
                line.Space().Text(text);
            }
            else if (reply.Size is { } size)
            {
                if (reply.Type is RespType.Bulk or RespType.Verbatim)
                {
                    line.Space().Bytes((ulong)size);
                }
                else
                {
                    line.Space().Text(size.ToString(CultureInfo.InvariantCulture));
                }
            }
        }
        line.Ms(LatencyMs).Conn(Conn);
    }

    /// <summary>The reply type's name in records.</summary>
    public static string TypeName(RespType type) => type switch
    {
        RespType.Status => "status",
        RespType.Error or RespType.BulkError => "error",
        RespType.Integer => "integer",
        RespType.Bulk => "bulk",
        RespType.Array => "array",
        RespType.Null => "null",
        RespType.Map => "map",
        RespType.Set => "set",
        RespType.Double => "double",
        RespType.Bool => "bool",
        RespType.Verbatim => "verbatim",
        RespType.BigNumber => "bignum",
        RespType.Push => "push",
        _ => "unknown",
    };

    private static class Names
    {
        public static readonly JsonEncodedText Args = JsonEncodedText.Encode("args");
        public static readonly JsonEncodedText Command = JsonEncodedText.Encode("command");
        public static readonly JsonEncodedText Key = JsonEncodedText.Encode("key");
        public static readonly JsonEncodedText Push = JsonEncodedText.Encode("push");
        public static readonly JsonEncodedText Reply = JsonEncodedText.Encode("reply");
        public static readonly JsonEncodedText Size = JsonEncodedText.Encode("size");
        public static readonly JsonEncodedText Value = JsonEncodedText.Encode("value");
    }
}
