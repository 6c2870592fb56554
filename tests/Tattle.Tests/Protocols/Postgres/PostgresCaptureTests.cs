using System.Text;
using Tattle.Protocols.Common;
using Tattle.Protocols.Postgres;
using Tattle.Protocols.Sql;
using Tattle.Protocols.Tls;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.Postgres;

/// <summary>Real connections (psql against PostgreSQL 15; see testdata/postgres/capture.py) replayed through the parser.</summary>
public sealed class PostgresCaptureTests(ITestOutputHelper output)
{
    private static RecordedConnection Load(string name) => RecordedConnection.Load("postgres", name);

    private List<PostgresExchange> Run(string name, ParserOptions? options = null, Random? random = null)
    {
        var feeder = Load(name).Replay(PostgresProtocol.Info, options, random);
        Assert.Equal(0, feeder.Dropped(MessageKind.Request));
        Assert.Equal(0, feeder.Dropped(MessageKind.Response));
        var messages = feeder.Messages.Cast<PostgresExchange>().ToList();
        foreach (var m in messages)
        {
            output.WriteLine($"{m.Query} -> {m.Tag} rows={m.Rows} error={m.Error} copy={m.Copy} {m.CopyBytes} notify={m.Notification}");
        }
        return messages;
    }

    [Fact]
    public void SelectOneGivesItsTagRowAndStartupNames()
    {
        var x = Assert.Single(Run("select1"));
        Assert.Equal(("select 1", "SELECT 1", 1L, true), (x.Query, x.Tag, x.Rows, x.Answered));
        Assert.Equal(("postgres", "postgres", "tattle-test"), (x.User, x.Database, x.Application));
        Assert.Null(x.Error);
        Assert.True(x.EndNs > x.StartNs);
    }

    [Fact]
    public void ProbeClaimsTheStartupAsRequestsAndTheBackendMidWayAsResponses()
    {
        var c = Load("select1");
        Assert.Equal(Detection.Request, PostgresProtocol.Probe(c.Requests, false, 0, 40000));
        Assert.Equal(Detection.NeedMoreData, PostgresProtocol.Probe(c.Requests.AsSpan(0, 3), false, 0, 40000));
        Assert.Equal(Detection.Request, PostgresProtocol.Probe(Load("ssl").Requests.AsSpan(0, 8), false, 0, 40000));
        // The server's answers after its authentication: RowDescription, DataRow, CommandComplete, ReadyForQuery.
        int query = c.Responses.AsSpan().IndexOf("T\0\0\0"u8);
        Assert.Equal(Detection.Response, PostgresProtocol.Probe(c.Responses.AsSpan(query), false, 5432, 40000));
        Assert.Equal(Detection.No, PostgresProtocol.Probe("GET / HTTP/1.1\r\n\r\n"u8, false, 0, 5432));
        Assert.Equal(Detection.No, PostgresProtocol.Probe([0x16, 3, 1, 0, 0x40, 1], false, 0, 5432));
        Assert.Equal(Detection.No, PostgresProtocol.Probe(c.Requests, true, 0, 5432));
    }

    [Fact]
    public void EveryPrefixNeedsMoreDataAndReportsNothingEarly()
    {
        var c = Load("select1");
        for (int cut = 0; cut < c.Responses.Length; cut++)
        {
            var feeder = new StreamFeeder(PostgresProtocol.Info);
            feeder.Feed(MessageKind.Request, c.Requests, 1, 2);
            int before = feeder.Statuses.Count;
            feeder.Feed(MessageKind.Response, c.Responses.AsSpan(0, cut), 3, 4);
            Assert.Empty(feeder.Messages);
            var statuses = feeder.Statuses.Skip(before).ToList();
            Assert.DoesNotContain(ParseStatus.Invalid, statuses);
            Assert.DoesNotContain(ParseStatus.EndOfStream, statuses);
            // The feeder stops calling once a whole message used up the input; a cut inside one needs more.
            Assert.True(statuses.Count == 0 || statuses[^1] is ParseStatus.NeedMoreData or ParseStatus.Success or ParseStatus.Ignored);
        }
        var all = new StreamFeeder(PostgresProtocol.Info);
        all.Feed(MessageKind.Request, c.Requests, 1, 2);
        all.Feed(MessageKind.Response, c.Responses, 3, 4);
        Assert.Single(all.Messages);
    }

    [Theory]
    [InlineData("select1")]
    [InlineData("error")]
    [InlineData("multi")]
    [InlineData("script")]
    [InlineData("extended")]
    [InlineData("big_rows")]
    [InlineData("notify")]
    [InlineData("passwords")]
    public void RandomSplitsGiveTheSameMessages(string name)
    {
        string Summary(IEnumerable<PostgresExchange> xs) =>
            string.Join("\n", xs.Select(x => $"{x.Query}|{x.Tag}|{x.Rows}|{x.Error}|{x.Copy}|{x.CopyBytes}|{x.Notification}"));
        string whole = Summary(Run(name));
        for (int seed = 0; seed < 20; seed++)
        {
            Assert.Equal(whole, Summary(Run(name, random: new Random(seed))));
        }
    }

    [Fact]
    public void ErrorGivesSqlStateAndMessage()
    {
        var x = Assert.Single(Run("error"));
        Assert.Equal("select * from no_such_table", x.Query);
        Assert.Equal(new SqlError("42P01", "relation \"no_such_table\" does not exist"), x.Error);
        Assert.Null(x.Tag);
    }

    [Fact]
    public void OneQueryOfTwoStatementsIsOneRecordWithTheLastTagAndAllRows()
    {
        var x = Assert.Single(Run("multi"));
        Assert.Equal(("select 1; select 2, 3", "SELECT 1", 2L), (x.Query, x.Tag, x.Rows));
    }

    [Fact]
    public void ScriptGivesEveryStatementWithTagRowsAndCopySizes()
    {
        var x = Run("script");
        Assert.Equal(
            ["CREATE TABLE", "INSERT 0 3", "SELECT 3", "UPDATE 1", "COPY 2", "COPY 5", "SELECT 1", "DELETE 5", "DROP TABLE"],
            x.Select(e => e.Tag));
        Assert.Equal([null, 3L, 3L, 1L, 2L, 5L, 1L, 5L, null], x.Select(e => e.Rows));
        // Two 7-byte lines and the end marker psql sends as data too: backslash, dot, newline.
        Assert.Equal(("in", 17L), (x[4].Copy, x[4].CopyBytes));
        Assert.Equal("out", x[5].Copy);
        Assert.True(x[5].CopyBytes > 20);
        Assert.StartsWith("copy t from stdin", x[4].Query);
    }

    [Fact]
    public void ExtendedProtocolTiesExecutesToTheirNamedStatementsSQL()
    {
        var x = Run("extended", new ParserOptions { Redact = false });
        Assert.Equal(
            [("select $1::int + 1 as n", "SELECT 1", 1), ("select $1::int + 1 as n", "SELECT 1", 1), ("select generate_series(1, 3)", "SELECT 3", 0), ("select 1 / 0", null, 0)],
            x.Select(e => (e.Query, e.Tag, e.Params)));
        Assert.Equal(["7"], x[0].ParamValues!);
        Assert.Equal(["41"], x[1].ParamValues!);
        Assert.Equal("22012", x[3].Error!.Code);
        // The Execute after the error never ran: the backend skipped it up to Sync.
        Assert.Equal(4, x.Count);
    }

    [Fact]
    public void ParameterValuesAreKeptOnlyWithoutRedaction()
    {
        Assert.All(Run("extended"), x => Assert.Null(x.ParamValues));
    }

    [Fact]
    public void ThePasswordIsNeverRecorded()
    {
        var c = Load("scram");
        var x = Assert.Single(Run("scram", new ParserOptions { Redact = false }));
        Assert.Equal(("select current_user", "scram"), (x.Query, x.User));
        string all = string.Join("\n", Run("scram", new ParserOptions { Redact = false }).Select(m => m.ToString()));
        Assert.DoesNotContain("hunter2", all);
        Assert.DoesNotContain("SCRAM", all);
        Assert.Contains("SCRAM-SHA-256", Encoding.ASCII.GetString(c.Requests));
    }

    [Fact]
    public void PasswordsInStatementsAreRedactedUnlessAsked()
    {
        string[] redacted =
        [
            "alter user scram password 'REDACTED'",
            "alter role scram with encrypted password E'REDACTED' valid until 'infinity'",
            "select 'host=127.0.0.1 password=REDACTED dbname=postgres' as conninfo",
        ];
        var x = Run("passwords");
        Assert.Equal(redacted, x.Select(m => m.Query));
        Assert.Equal(["ALTER ROLE", "ALTER ROLE", "SELECT 1"], x.Select(m => m.Tag));
        Assert.Equal(
            redacted.Select(q => q.Replace("REDACTED", "hunter2-never-recorded", StringComparison.Ordinal)),
            Run("passwords", new ParserOptions { Redact = false }).Select(m => m.Query));
    }

    [Fact]
    public void AStartupErrorIsReportedWithoutAQuery()
    {
        var x = Assert.Single(Run("bad_database"));
        Assert.Null(x.Query);
        Assert.Equal(("3D000", "no_such_db"), (x.Error!.Code, x.Database));
    }

    [Fact]
    public void LargeRowsAreCountedWithoutBeingBuffered()
    {
        var feeder = Load("big_rows").Replay(PostgresProtocol.Info);
        var x = Assert.Single(feeder.Messages.Cast<PostgresExchange>());
        Assert.Equal(("SELECT 3", 3L), (x.Tag, x.Rows));
        Assert.True(feeder.MaxBuffered(MessageKind.Response) < 70_000, $"{feeder.MaxBuffered(MessageKind.Response)} bytes buffered");
    }

    [Fact]
    public void NotificationIsReported()
    {
        var x = Run("notify");
        Assert.Contains(x, m => m.Notification == "ch: hello");
        Assert.Contains(x, m => m.Query == "listen ch; notify ch, 'hello'" && m.Tag == "NOTIFY");
    }

    [Fact]
    public void SslAcceptedHandsTheConnectionToTlsWhichReadsTheHandshake()
    {
        var c = Load("ssl");
        var feeder = c.Replay(PostgresProtocol.Info);
        Assert.True(feeder.Stopped);
        Assert.Equal("tls", feeder.Parser.Switch!.Protocol);
        var tls = Tattle.Protocols.ProtocolCatalog.Default.ForUpgrade("tls");
        Assert.Same(TlsProtocol.Info, tls);
        // What follows the 'S' in both directions is a TLS handshake the taken-over parser reads.
        var next = new StreamFeeder(new ProtocolInfo("tls", TlsProtocol.Probe, (o, s) => tls!.TakeOver!(o, s, feeder.Parser.Switch!)));
        c.Replay(next, from: [8, 1]);
        var handshake = Assert.Single(next.Messages);
        Assert.Equal("TlsHandshake", handshake.GetType().Name);
    }

    [Fact]
    public void TheStartupsReadyForQueryEndsNoStatement()
    {
        // All the client's bytes before any of the server's: the Query waits behind the startup's ReadyForQuery.
        var c = Load("select1");
        var feeder = new StreamFeeder(PostgresProtocol.Info);
        feeder.Feed(MessageKind.Request, c.Requests, 1, 2);
        feeder.Feed(MessageKind.Response, c.Responses, 3, 4);
        var x = Assert.Single(feeder.Messages.Cast<PostgresExchange>());
        Assert.Equal(("select 1", "SELECT 1", 1L), (x.Query, x.Tag, x.Rows));
    }

    [Fact]
    public void SslRefusedContinuesInClearText()
    {
        // The server's 'N' (ssl = off) before the clear startup libpq then sends: the recording of select1 behind it.
        var c = Load("select1");
        var feeder = new StreamFeeder(PostgresProtocol.Info);
        feeder.Feed(MessageKind.Request, [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f], 1, 2);
        feeder.Feed(MessageKind.Response, "N"u8, 3, 4);
        feeder.Feed(MessageKind.Request, c.Requests, 5, 6);
        feeder.Feed(MessageKind.Response, c.Responses, 7, 8);
        var x = Assert.Single(feeder.Messages.Cast<PostgresExchange>());
        Assert.Equal(("select 1", "SELECT 1"), (x.Query, x.Tag));
    }
}
