using System.Buffers.Binary;
using System.Text;
using Tattle.Protocols.Common;
using Tattle.Protocols.Postgres;
using Tattle.Protocols.Sql;
using Tattle.Tests.Protocols.Support;
using Tattle.Tests.Support;

namespace Tattle.Tests.Protocols.Postgres;

/// <summary>A connection that repeats its statements, as a pool or an ORM does: what each one costs, and that it is right.</summary>
public sealed class PostgresSteadyStateTests
{
    /// <summary>A backend or frontend message: its type, its length (itself included) and its body (protocol 3.0).</summary>
    private static byte[] Message(char type, string body)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(body);
        byte[] message = new byte[5 + bytes.Length];
        message[0] = (byte)type;
        BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(1), 4 + bytes.Length);
        bytes.CopyTo(message, 5);
        return message;
    }

    private static byte[] Concat(params byte[][] messages) => [.. messages.SelectMany(m => m)];

    private static readonly byte[] Ready = Message('Z', "I");

    // A startup as psql sends it (protocol 3.0) and the server's AuthenticationOk.
    private static readonly byte[] Startup = [0, 0, 0, 41, 0, 3, 0, 0, .. "user\0postgres\0database\0postgres\0\0"u8];
    private static readonly byte[] AuthenticationOk = Concat([(byte)'R', 0, 0, 0, 8, 0, 0, 0, 0], Ready);

    /// <summary>A simple Query and its answer: one row when it returns rows, its tag, ReadyForQuery.</summary>
    private static (byte[] Query, byte[] Answer) Simple(string sql, string tag, bool row = true) =>
        (Message('Q', sql + "\0"), Concat(row ? Message('D', "\0\u0001\0\0\0\u00011") : [], Message('C', tag + "\0"), Ready));

    [Fact]
    public void AClientRepeatingItsStatements_AllocatesNothingPerStatement()
    {
        var pg = new SteadyState(PostgresProtocol.Info);
        pg.Feed(MessageKind.Request, Startup);
        pg.Feed(MessageKind.Response, AuthenticationOk);
        // Parse of a named statement, then Bind (one text parameter), Execute and Sync for each run of it.
        pg.Feed(MessageKind.Request, Concat(Message('P', "plus_one\0select $1::int + 1 as n\0\0\0"), Message('S', "")));
        pg.Feed(MessageKind.Response, Concat(Message('1', ""), Ready));
        byte[] execute = Concat(Message('B', "\0plus_one\0\0\0\0\u0001\0\0\0\u00017\0\0"), Message('E', "\0\0\0\0\0"), Message('S', ""));
        byte[] executed = Concat(Message('2', ""), Message('D', "\0\u0001\0\0\0\u00018"), Message('C', "SELECT 1\0"), Ready);
        var (query, answer) = Simple("select 1", "SELECT 1");

        long allocated = Allocations.InSteadyState(Statement, out int statements);

        Assert.Equal(statements, pg.Count);
        var last = Assert.IsType<PostgresExchange>(pg.Last);
        Assert.Equal(
            (statements - 1) % 2 == 0 ? ("select 1", 0, "SELECT 1", 1L) : ("select $1::int + 1 as n", 1, "SELECT 1", 1L),
            (last.Query, last.Params, last.Tag, last.Rows));
        Assert.Equal(0, allocated);

        void Statement(int i)
        {
            pg.Feed(MessageKind.Request, i % 2 == 0 ? query : execute);
            pg.Feed(MessageKind.Response, i % 2 == 0 ? answer : executed);
        }
    }

    [Fact]
    public void ARepeatedStatement_IsRedactedEachTime_AndADifferentOneIsReadAnew()
    {
        var feeder = new StreamFeeder(PostgresProtocol.Info);
        var (alter, altered) = Simple("alter user app password 'hunter2'", "ALTER ROLE", row: false);
        var (select, selected) = Simple("select 2", "SELECT 1");
        feeder.Feed(MessageKind.Request, Concat(alter, alter, select), 0, 10);
        feeder.Feed(MessageKind.Response, Concat(altered, altered, selected), 20, 30);

        var x = feeder.Messages.Cast<PostgresExchange>().ToList();
        Assert.Equal(["alter user app password 'REDACTED'", "alter user app password 'REDACTED'", "select 2"], x.Select(m => m.Query));
        Assert.Same(x[0].Query, x[1].Query); // the same text again: its string and redaction reused
        Assert.Equal(["ALTER ROLE", "ALTER ROLE", "SELECT 1"], x.Select(m => m.Tag));
        Assert.Equal([null, null, 1L], x.Select(m => m.Rows));
    }

    [Fact]
    public void ARefilledRecord_IsTheRecordANewOneWouldBe()
    {
        var feeder = new StreamFeeder(PostgresProtocol.Info);
        var (select, selected) = Simple("select 1", "SELECT 1");
        feeder.Feed(MessageKind.Request, Concat(Message('Q', "selec 1\0"), select), 0, 10);
        feeder.Feed(MessageKind.Response, Concat(Message('E', "SERROR\0C42601\0Msyntax error at or near \"selec\"\0\0"), Ready, selected), 20, 30);
        var x = feeder.Messages.Cast<PostgresExchange>().ToList();

        var r = RecordRefill.AssertEqualsNew<SqlRecord>(x[0], x[1].ToRecord(new FixedMessageContext()));
        Assert.Equal(("selec 1", "42601", null), (r.Query, r.Error!.Code, r.Tag));
        RecordRefill.AssertEqualsNew<SqlRecord>(x[1], r);
    }
}
