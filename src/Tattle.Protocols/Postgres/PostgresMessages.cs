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
    public string? Query { get; init; }

    /// <summary>Parameters bound (extended protocol).</summary>
    public int Params { get; init; }

    /// <summary>Their values as text (binary ones as \x hex, SQL NULL as null); only when redaction is off.</summary>
    public IReadOnlyList<string?>? ParamValues { get; init; }

    /// <summary>The row count the tag gives ("SELECT 3"), or the DataRows counted when the tag has none.</summary>
    public long? Rows { get; init; }

    /// <summary>The last CommandComplete tag; null without one (error, no answer).</summary>
    public string? Tag { get; init; }

    public SqlError? Error { get; init; }

    /// <summary>COPY: "in" or "out", with the CopyData bytes that crossed.</summary>
    public string? Copy { get; init; }

    public long CopyBytes { get; init; }

    /// <summary>A NotificationResponse: "channel: payload".</summary>
    public string? Notification { get; init; }

    public string? Database { get; init; }

    public string? User { get; init; }

    public string? Application { get; init; }

    /// <summary>Whether an answer ended it (ReadyForQuery, CommandComplete, an error).</summary>
    public bool Answered { get; init; }

    public override MessageRecord ToRecord(IMessageContext context) => new SqlRecord(context.Header(StartNs), PostgresProtocol.Info.Name)
    {
        LatencyMs = Answered ? IMessageContext.Latency(StartNs, EndNs) : null,
        Query = Query,
        Params = Params,
        ParamValues = ParamValues,
        Rows = Rows,
        Tag = Tag,
        Error = Error,
        Copy = Copy,
        CopyBytes = CopyBytes,
        Notification = Notification,
        Database = Database,
        User = User,
        Application = Application,
    };
}
