using Tattle.Protocols.Common;
using Tattle.Protocols.Sql;
using Tattle.Records;

namespace Tattle.Protocols.Postgres;

/// <summary>
/// One statement sent and what answered it: a simple Query (all its statements, until ReadyForQuery), or an
/// extended-protocol Execute (its portal's statement text), until CommandComplete, an error or a suspension.
/// Also a NotificationResponse, or an error answering the startup, with no query.
/// </summary>
public sealed record PostgresExchange : ProtocolMessage
{
    /// <summary>The SQL text as sent; null for a startup error or a notification.</summary>
    public string? Query { get; internal set; }

    /// <summary>Parameters bound (extended protocol).</summary>
    public int Params { get; internal set; }

    /// <summary>Their values as text (binary ones as \x hex, SQL NULL as null); only when redaction is off.</summary>
    public IReadOnlyList<string?>? ParamValues { get; internal set; }

    /// <summary>The row count the tag gives ("SELECT 3"), or the DataRows counted when the tag has none.</summary>
    public long? Rows { get; internal set; }

    /// <summary>The last CommandComplete tag; null without one (error, no answer).</summary>
    public string? Tag { get; internal set; }

    public SqlError? Error { get; internal set; }

    /// <summary>COPY: "in" or "out", with the CopyData bytes that crossed.</summary>
    public string? Copy { get; internal set; }

    public long CopyBytes { get; internal set; }

    /// <summary>A NotificationResponse: "channel: payload".</summary>
    public string? Notification { get; internal set; }

    public string? Database { get; internal set; }

    public string? User { get; internal set; }

    public string? Application { get; internal set; }

    /// <summary>Whether an answer ended it (ReadyForQuery, CommandComplete, an error).</summary>
    public bool Answered { get; internal set; }

    /// <summary>
    /// Sets every field of a statement's exchange: a new one, or the one the parser refills for a sink that consumes
    /// each message at once (<see cref="IMessageSink.ConsumesAtOnce"/>).
    /// </summary>
    internal PostgresExchange Fill(long startNs, long endNs, string? query, int parameters, IReadOnlyList<string?>? values, long? rows,
        string? tag, SqlError? error, string? copy, long copyBytes, string? database, string? user, string? application, bool answered)
    {
        Retime(startNs, endNs);
        (Query, Params, ParamValues, Rows, Tag, Error) = (query, parameters, values, rows, tag, error);
        (Copy, CopyBytes, Notification) = (copy, copyBytes, null);
        (Database, User, Application, Answered) = (database, user, application, answered);
        return this;
    }

    public override MessageRecord ToRecord(IMessageContext context)
    {
        var r = SqlRecord.For(context, StartNs, PostgresProtocol.Info.Name, Answered ? IMessageContext.Latency(StartNs, EndNs) : null);
        (r.Query, r.Params, r.ParamValues, r.Rows, r.Tag, r.Error) = (Query, Params, ParamValues, Rows, Tag, Error);
        (r.Copy, r.CopyBytes, r.Notification) = (Copy, CopyBytes, Notification);
        (r.Database, r.User, r.Application) = (Database, User, Application);
        return r;
    }
}
