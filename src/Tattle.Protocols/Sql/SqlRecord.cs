using System.Text;
using System.Text.Json;
using Tattle.Protocols.Common;
using Tattle.Records;
using Tattle.Records.Live;

namespace Tattle.Protocols.Sql;

/// <summary>
/// An error answering a statement: its SQLSTATE code ("42P01") and message; MySQL also numbers its errors (1064).
/// </summary>
public sealed record SqlError(string Code, string Message)
{
    /// <summary>MySQL's error number; PostgreSQL has none.</summary>
    public int? Number { get; init; }
}

/// <summary>A SQL statement with its outcome (type <c>sql</c>), as records show it, whichever database spoke.</summary>
public sealed record SqlRecord : MessageRecord
{
    /// <summary>Query text the live line shows; the record keeps all of it.</summary>
    private const int LiveQueryChars = 80;

    public SqlRecord()
    {
    }

    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    public SqlRecord(in MessageHeader header, string system)
        : base(in header)
    {
        System = system;
    }

    public override string Type => "sql";

    /// <summary>Which protocol spoke: "postgresql", "mysql".</summary>
    public required string System { get; init; }

    public string? Query { get; internal set; }

    public int Params { get; internal set; }

    public IReadOnlyList<string?>? ParamValues { get; internal set; }

    public long? Rows { get; internal set; }

    public string? Tag { get; internal set; }

    public SqlError? Error { get; internal set; }

    public string? Copy { get; internal set; }

    public long CopyBytes { get; internal set; }

    public string? Notification { get; internal set; }

    public string? Database { get; internal set; }

    public string? User { get; internal set; }

    /// <summary>The client's application_name (PostgreSQL's StartupMessage, MySQL's program_name attribute).</summary>
    public string? Application { get; internal set; }

    /// <summary>MySQL: the command when it is not a statement (COM_PING, COM_INIT_DB…); written only when set.</summary>
    public string? Command { get; internal set; }

    /// <summary>MySQL: the server's version from its greeting; written only when seen.</summary>
    public string? Server { get; internal set; }

    /// <summary>MySQL: the connection switched to the compressed protocol, which is not read; written only when true.</summary>
    public bool Compressed { get; internal set; }

    /// <summary>
    /// The record of a statement: the connection's last one with every field cleared when the sinks are done with it
    /// (<see cref="IMessageContext.SpareRecord"/>) and the same database spoke, else a new one. The caller sets the
    /// fields its protocol has.
    /// </summary>
    internal static SqlRecord For(IMessageContext context, long startNs, string system, double? latencyMs)
    {
        var header = context.Header(startNs);
        if (context.SpareRecord is SqlRecord spare && spare.System == system)
        {
            spare.Refill(in header, latencyMs);
            (spare.Query, spare.Params, spare.ParamValues, spare.Rows, spare.Tag, spare.Error) = (null, 0, null, null, null, null);
            (spare.Copy, spare.CopyBytes, spare.Notification) = (null, 0, null);
            (spare.Database, spare.User, spare.Application, spare.Command, spare.Server, spare.Compressed) = (null, null, null, null, null, false);
            return spare;
        }
        return new SqlRecord(in header, system) { LatencyMs = latencyMs };
    }

    /// <summary>The mark of a compressed connection answers nothing.</summary>
    public override bool IsRequest => !Compressed;

    public override void WriteFields(Utf8JsonWriter w)
    {
        w.WriteString(Names.System, System);
        w.WriteString(Names.Query, Query);
        w.WriteNumber(Names.Params, Params);
        if (ParamValues is null)
        {
            w.WriteNull(Names.ParamValues);
        }
        else
        {
            w.WriteStartArray(Names.ParamValues);
            foreach (string? v in ParamValues)
            {
                w.WriteStringValue(v);
            }
            w.WriteEndArray();
        }
        if (Rows is { } rows)
        {
            w.WriteNumber(Names.Rows, rows);
        }
        else
        {
            w.WriteNull(Names.Rows);
        }
        w.WriteString(Names.Tag, Tag);
        if (Error is null)
        {
            w.WriteNull(Names.Error);
        }
        else
        {
            w.WriteStartObject(Names.Error);
            w.WriteString(Names.Code, Error.Code);
            w.WriteString(Names.Message, Error.Message);
            if (Error.Number is { } number)
            {
                w.WriteNumber(Names.Number, number);
            }
            w.WriteEndObject();
        }
        w.WriteString(Names.Copy, Copy);
        w.WriteNumber(Names.CopyBytes, CopyBytes);
        w.WriteString(Names.Notification, Notification);
        w.WriteString(Names.Database, Database);
        w.WriteString(Names.User, User);
        w.WriteString(Names.Application, Application);
        // Written only when set, so PostgreSQL's records keep their shape.
        if (Command is not null)
        {
            w.WriteString(Names.Command, Command);
        }
        if (Server is not null)
        {
            w.WriteString(Names.Server, Server);
        }
        if (Compressed)
        {
            w.WriteBoolean(Names.Compressed, true);
        }
    }

    public override string? ErrorType => Error?.Code;

    public override bool WriteExchange(IExchangeWriter w)
    {
        if (!IsRequest)
        {
            return false;
        }
        // The statement's text is left out: literals in it may be secrets (semantic conventions ask for sanitising).
        string operation = Tag is { Length: > 0 } tag ? FirstWord(tag) : Query is { Length: > 0 } q ? FirstWord(q).ToUpperInvariant() : Command ?? "query";
        w.Describe(ExchangeKind.Database, System, operation);
        w.Attribute("db.system.name", System);
        w.Attribute("db.operation.name", operation);
        if (Database is { } database)
        {
            w.Attribute("db.namespace", database);
        }
        w.Outcome(Error is null ? (LatencyMs is null ? "none" : "ok") : "error", ErrorType);
        if (Error is { } error)
        {
            w.Attribute("db.response.status_code", error.Code);
        }
        return true;
    }

    private static string FirstWord(string text)
    {
        var t = text.AsSpan().TrimStart();
        int end = t.IndexOfAny(' ', '\n', '\t');
        return (end < 0 ? t : t[..end]).ToString();
    }

    /// <summary>
    /// <c>sql select 1 -> SELECT 1 (1 row) 0.40 ms</c>; without a tag (MySQL's result sets) <c>-> 1 row</c>; an error
    /// gives its number (MySQL) or SQLSTATE and its message.
    /// </summary>
    public override void Describe(LiveLine line)
    {
        line.Word(LiveStyle.Cyan, "sql").Space();
        if (Notification is not null)
        {
            line.Text("NOTIFY ").Text(Notification).Conn(Conn);
            return;
        }
        if (Compressed)
        {
            line.Text("(compressed protocol: not read)").Conn(Conn);
            return;
        }
        string what = Query is null ? Command ?? "(startup)" : Command is null ? OneLine(Query) : Command + " " + OneLine(Query);
        line.Text(what).Space().Arrow(Role).Space();
        if (Error is not null)
        {
            string code = Error.Number is { } number ? "ERR " + number : "ERROR " + Error.Code;
            line.Text(LiveStyle.Red, code).Space().Text(Error.Message);
        }
        else if (Tag is null && LatencyMs is not null && Rows is { } counted)
        {
            line.Word(counted == 1 ? "1 row" : $"{counted} rows");
        }
        else if (Tag is null)
        {
            line.Word(LiveStyle.Grey, "(no response)");
        }
        else
        {
            line.Text(Tag);
            if (Rows is { } rows)
            {
                line.Space().Word(rows == 1 ? "(1 row)" : $"({rows} rows)");
            }
            if (Copy is not null)
            {
                line.Space().Word($"(copy {Copy}").Space().Bytes((ulong)Math.Max(0, CopyBytes)).Word(")");
            }
        }
        line.Ms(LatencyMs).Conn(Conn);
    }

    /// <summary>Whitespace runs as one space, cut to <see cref="LiveQueryChars"/>: a live line stays one line.</summary>
    private static string OneLine(string sql)
    {
        var b = new StringBuilder(Math.Min(sql.Length, LiveQueryChars + 1));
        bool space = false;
        foreach (char c in sql.AsSpan().Trim())
        {
            if (char.IsWhiteSpace(c))
            {
                space = true;
                continue;
            }
            if (space)
            {
                b.Append(' ');
                space = false;
            }
            if (b.Length >= LiveQueryChars)
            {
                return b.Append('…').ToString();
            }
            b.Append(c);
        }
        return b.ToString();
    }

    private static class Names
    {
        public static readonly JsonEncodedText Application = JsonEncodedText.Encode("application");
        public static readonly JsonEncodedText Code = JsonEncodedText.Encode("code");
        public static readonly JsonEncodedText Command = JsonEncodedText.Encode("command");
        public static readonly JsonEncodedText Compressed = JsonEncodedText.Encode("compressed");
        public static readonly JsonEncodedText Copy = JsonEncodedText.Encode("copy");
        public static readonly JsonEncodedText CopyBytes = JsonEncodedText.Encode("copy_bytes");
        public static readonly JsonEncodedText Database = JsonEncodedText.Encode("database");
        public static readonly JsonEncodedText Error = JsonEncodedText.Encode("error");
        public static readonly JsonEncodedText Message = JsonEncodedText.Encode("message");
        public static readonly JsonEncodedText Number = JsonEncodedText.Encode("number");
        public static readonly JsonEncodedText Notification = JsonEncodedText.Encode("notification");
        public static readonly JsonEncodedText ParamValues = JsonEncodedText.Encode("param_values");
        public static readonly JsonEncodedText Params = JsonEncodedText.Encode("params");
        public static readonly JsonEncodedText Query = JsonEncodedText.Encode("query");
        public static readonly JsonEncodedText Rows = JsonEncodedText.Encode("rows");
        public static readonly JsonEncodedText Server = JsonEncodedText.Encode("server");
        public static readonly JsonEncodedText System = JsonEncodedText.Encode("system");
        public static readonly JsonEncodedText Tag = JsonEncodedText.Encode("tag");
        public static readonly JsonEncodedText User = JsonEncodedText.Encode("user");
    }
}
