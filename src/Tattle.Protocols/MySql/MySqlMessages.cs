using Tattle.Protocols.Common;
using Tattle.Protocols.Sql;
using Tattle.Records;

namespace Tattle.Protocols.MySql;

/// <summary>
/// One command and what answered it: a COM_QUERY (all its result sets), a COM_STMT_EXECUTE (its prepared SQL), a
/// failed COM_STMT_PREPARE, or another command (COM_PING, COM_INIT_DB…); also a login the server refused, and the
/// mark of a connection that switched to the compressed protocol.
/// </summary>
public sealed record MySqlExchange : ProtocolMessage
{
    /// <summary>The SQL text as sent (COM_QUERY, COM_STMT_PREPARE) or prepared (COM_STMT_EXECUTE); null otherwise.</summary>
    public string? Query { get; internal set; }

    /// <summary>Parameters of the prepared statement an execution ran.</summary>
    public int Params { get; internal set; }

    /// <summary>Rows of the result sets, or the rows an OK says were affected.</summary>
    public long? Rows { get; internal set; }

    /// <summary>"OK" when an OK packet answered (no result set); null for a result set, an error or no answer.</summary>
    public string? Tag { get; internal set; }

    public SqlError? Error { get; internal set; }

    /// <summary>The command's name when it is not COM_QUERY or COM_STMT_EXECUTE.</summary>
    public string? Command { get; internal set; }

    public string? Database { get; internal set; }

    public string? User { get; internal set; }

    /// <summary>The client's program_name connection attribute.</summary>
    public string? Application { get; internal set; }

    /// <summary>The server's version from its greeting.</summary>
    public string? Server { get; internal set; }

    public bool Compressed { get; internal set; }

    /// <summary>Whether an answer ended it (OK, ERR, the end of the last result set).</summary>
    public bool Answered { get; internal set; }

    /// <summary>
    /// Sets every field of a command's exchange: a new one, or the one the parser refills for a sink that consumes each
    /// message at once (<see cref="IMessageSink.ConsumesAtOnce"/>).
    /// </summary>
    internal MySqlExchange Fill(long startNs, long endNs, string? query, int parameters, long? rows, string? tag, SqlError? error,
        string? command, bool answered, string? database, string? user, string? application, string? server)
    {
        Retime(startNs, endNs);
        (Query, Params, Rows, Tag, Error, Command, Answered) = (query, parameters, rows, tag, error, command, answered);
        (Database, User, Application, Server, Compressed) = (database, user, application, server, false);
        return this;
    }

    public override MessageRecord ToRecord(IMessageContext context)
    {
        var r = SqlRecord.For(context, StartNs, MySqlProtocol.Info.Name, Answered ? IMessageContext.Latency(StartNs, EndNs) : null);
        (r.Query, r.Params, r.Rows, r.Tag, r.Error, r.Command) = (Query, Params, Rows, Tag, Error, Command);
        (r.Database, r.User, r.Application, r.Server, r.Compressed) = (Database, User, Application, Server, Compressed);
        return r;
    }
}
