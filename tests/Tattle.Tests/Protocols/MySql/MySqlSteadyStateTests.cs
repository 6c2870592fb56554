using Tattle.Protocols.Common;
using Tattle.Protocols.MySql;
using Tattle.Protocols.Postgres;
using Tattle.Protocols.Sql;
using Tattle.Tests.Protocols.Support;
using Tattle.Tests.Support;

namespace Tattle.Tests.Protocols.MySql;

/// <summary>A connection that repeats its commands, as a pool or an ORM does: what each one costs, and that it is right.</summary>
public sealed class MySqlSteadyStateTests
{
    [Fact]
    public void AClientRepeatingItsQuery_AllocatesNothingPerCommand()
    {
        // mariadb against MariaDB 10.11: greeting, login, OK; then `select 1`, its result set, COM_QUIT.
        var chunks = RecordedConnection.Load("mysql", "select1").Chunks();
        var mysql = new SteadyState(MySqlProtocol.Info);
        foreach (var (kind, bytes) in chunks.Take(3))
        {
            mysql.Feed(kind, bytes);
        }
        var (query, answer) = (chunks[3], chunks[4]);
        Assert.Equal((MessageKind.Request, MessageKind.Response), (query.Kind, answer.Kind));

        long allocated = Allocations.InSteadyState(_ =>
        {
            mysql.Feed(query.Kind, query.Bytes);
            mysql.Feed(answer.Kind, answer.Bytes);
        }, out int commands);

        Assert.Equal(commands, mysql.Count);
        var last = Assert.IsType<MySqlExchange>(mysql.Last);
        Assert.Equal(("select 1", 1L, null, true), (last.Query, last.Rows, last.Error, last.Answered));
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void EveryCaptureGivesTheSameExchanges_RefilledOrKept()
    {
        foreach (string name in new[] { "select1", "error", "script", "ping", "passwords" })
        {
            RecordedConnection.Load("mysql", name).AssertSameRefilledOrKept(MySqlProtocol.Info);
        }
    }

    [Fact]
    public void AMySqlRecord_IsRefilledFromTheSameSpare_AndAPostgresOneIsNotTakenForIt()
    {
        var mysql = new MySqlExchange { StartNs = 10, EndNs = 30, Query = "select 1", Rows = 1, Database = "shop", Server = "8.0.36", Answered = true };
        var ping = new MySqlExchange { StartNs = 40, EndNs = 50, Command = "COM_PING", Tag = "OK", Answered = true };
        var spare = ping.ToRecord(new FixedMessageContext());
        var r = RecordRefill.AssertEqualsNew<SqlRecord>(mysql, spare);
        Assert.Equal(("mysql", "select 1", null, "8.0.36"), (r.System, r.Query, r.Command, r.Server));

        var postgres = new PostgresExchange { StartNs = 10, EndNs = 30, Query = "select 1", Answered = true };
        var own = postgres.ToRecord(new FixedMessageContext(spare: r));
        Assert.NotSame(r, own);
        Assert.Equal("postgresql", Assert.IsType<SqlRecord>(own).System);
    }
}
