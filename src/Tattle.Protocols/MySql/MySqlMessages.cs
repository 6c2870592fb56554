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
    public string? Query { get; init; }

    /// <summary>Parameters of the prepared statement an execution ran.</summary>
    public int Params { get; init; }

    /// <summary>Rows of the result sets, or the rows an OK says were affected.</summary>
    public long? Rows { get; init; }

    /// <summary>"OK" when an OK packet answered (no result set); null for a result set, an error or no answer.</summary>
    public string? Tag { get; init; }

    public SqlError? Error { get; init; }

    /// <summary>The command's name when it is not COM_QUERY or COM_STMT_EXECUTE.</summary>
    public string? Command { get; init; }

    public string? Database { get; init; }

    public string? User { get; init; }

    /// <summary>The client's program_name connection attribute.</summary>
    public string? Application { get; init; }

    /// <summary>The server's version from its greeting.</summary>
    public string? Server { get; init; }

    public bool Compressed { get; init; }

    /// <summary>Whether an answer ended it (OK, ERR, the end of the last result set).</summary>
    public bool Answered { get; init; }

    public override MessageRecord ToRecord(IMessageContext context)
    {
        var r = SqlRecord.For(context, StartNs, MySqlProtocol.Info.Name, Answered ? IMessageContext.Latency(StartNs, EndNs) : null);
        (r.Query, r.Params, r.Rows, r.Tag, r.Error, r.Command) = (Query, Params, Rows, Tag, Error, Command);
        (r.Database, r.User, r.Application, r.Server, r.Compressed) = (Database, User, Application, Server, Compressed);
        return r;
    }
}
