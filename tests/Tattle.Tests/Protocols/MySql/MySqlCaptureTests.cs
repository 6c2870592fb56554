using System.Text;
using Tattle.Protocols.Common;
using Tattle.Protocols.MySql;
using Tattle.Protocols.Sql;
using Tattle.Protocols.Tls;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.MySql;

/// <summary>
/// Real connections (the mariadb client, mariadb-admin and MySqlConnector against MariaDB 10.11; see
/// testdata/mysql/capture.py) replayed through the parser.
/// </summary>
public sealed class MySqlCaptureTests(ITestOutputHelper output)
{
    private static readonly string[] All = ["select1", "error", "syntax", "script", "big_rows", "ping", "bad_password", "old_eof", "connector", "passwords"];

    private static RecordedConnection Load(string name) => RecordedConnection.Load("mysql", name);

    private List<MySqlExchange> Run(string name, Random? random = null, ParserOptions? options = null)
    {
        var feeder = Load(name).Replay(MySqlProtocol.Info, options, random);
        Assert.Equal(0, feeder.Dropped(MessageKind.Request));
        Assert.Equal(0, feeder.Dropped(MessageKind.Response));
        var messages = feeder.Messages.Cast<MySqlExchange>().ToList();
        if (random is null)
        {
            foreach (var m in messages)
            {
                output.WriteLine(Summary(m));
            }
        }
        return messages;
    }

    private static string Summary(MySqlExchange m) =>
        $"{m.Command}|{m.Query}|{m.Tag}|{m.Rows}|{m.Params}|{m.Error?.Number} {m.Error?.Code} {m.Error?.Message}|{m.Database}|{m.User}|{m.Application}|{m.Answered}|{m.Compressed}";

    [Fact]
    public void SelectOneGivesItsRowAndTheLogin()
    {
        var x = Assert.Single(Run("select1"), m => m.Query == "select 1");
        Assert.Equal((1L, (string?)null, true), (x.Rows, x.Tag, x.Answered));
        Assert.Equal(("tattle", "mysql"), (x.User, x.Application));
        Assert.StartsWith("10.11.", x.Server);
        Assert.Contains("MariaDB", x.Server);
        Assert.Null(x.Error);
        Assert.True(x.EndNs > x.StartNs);
    }

    [Theory]
    [MemberData(nameof(Captures))]
    public void RandomSplitsGiveTheSameMessages(string name)
    {
        string whole = string.Join("\n", Run(name).Select(Summary));
        Assert.NotEmpty(whole);
        for (int seed = 0; seed < 20; seed++)
        {
            Assert.Equal(whole, string.Join("\n", Run(name, new Random(seed)).Select(Summary)));
        }
    }

    public static TheoryData<string> Captures() => [.. All];

    [Fact]
    public void ProbeClaimsTheGreetingAsResponsesAndAQueryOnPort3306AsRequests()
    {
        var c = Load("select1");
        Assert.Equal(Detection.Response, MySqlProtocol.Probe(c.Responses, false, 40000, 3306));
        Assert.Equal(Detection.Response, MySqlProtocol.Probe(c.Responses, false, 40000, 9999));
        Assert.Equal(Detection.NeedMoreData, MySqlProtocol.Probe(c.Responses.AsSpan(0, 3), false, 0, 40000));
        Assert.Equal(Detection.NeedMoreData, MySqlProtocol.Probe(c.Responses.AsSpan(0, 12), false, 0, 40000));
        byte[] query = [9, 0, 0, 0, 3, .. "select 1"u8];
        Assert.Equal(Detection.Request, MySqlProtocol.Probe(query, false, 40000, 3306));
        Assert.Equal(Detection.No, MySqlProtocol.Probe(query, false, 40000, 9999));
        Assert.Equal(Detection.No, MySqlProtocol.Probe("GET / HTTP/1.1\r\n\r\n"u8, false, 0, 3306));
        Assert.Equal(Detection.No, MySqlProtocol.Probe([0x16, 3, 1, 0, 0x40, 1], false, 0, 3306));
        Assert.Equal(Detection.No, MySqlProtocol.Probe(c.Responses, true, 0, 3306));
        Assert.Same(MySqlProtocol.Info, Tattle.Protocols.ProtocolCatalog.Default.Detect(c.Responses, false, 40000, 3306).Protocol);
    }

    [Fact]
    public void EveryPrefixNeedsMoreDataAndReportsNothingEarly()
    {
        var c = Load("select1");
        for (int cut = 0; cut < c.Responses.Length; cut++)
        {
            var feeder = new StreamFeeder(MySqlProtocol.Info);
            feeder.Feed(MessageKind.Request, c.Requests, 1, 2);
            int before = feeder.Statuses.Count;
            feeder.Feed(MessageKind.Response, c.Responses.AsSpan(0, cut), 3, 4);
            Assert.DoesNotContain(feeder.Messages.Cast<MySqlExchange>(), m => m.Query == "select 1" && m.Answered);
            var statuses = feeder.Statuses.Skip(before).ToList();
            Assert.DoesNotContain(ParseStatus.Invalid, statuses);
            Assert.DoesNotContain(ParseStatus.EndOfStream, statuses);
        }
        var all = new StreamFeeder(MySqlProtocol.Info);
        all.Feed(MessageKind.Request, c.Requests, 1, 2);
        all.Feed(MessageKind.Response, c.Responses, 3, 4);
        Assert.Single(all.Messages.Cast<MySqlExchange>(), m => m.Query == "select 1" && m.Rows == 1);
    }

    [Fact]
    public void ResultSetsAreCountedWithAndWithoutDeprecateEof()
    {
        // The mariadb client does not ask for CLIENT_DEPRECATE_EOF (EOF packets end definitions and rows);
        // MySqlConnector does (an OK with the 0xFE header ends the rows, no EOF after the definitions).
        var old = Run("old_eof");
        Assert.Equal([1L, 2L, null, 0L], old.Select(m => m.Rows));
        Assert.Equal([null, null, null, "OK"], old.Select(m => m.Tag));
        Assert.Equal(1146, old[2].Error!.Number);
        var connector = Run("connector");
        Assert.Equal(1L, connector.Single(m => m.Query == "select count(*) from tattle_t").Rows);
    }

    [Fact]
    public void PreparedStatementsReportEachExecutionWithItsSqlAndParameterCount()
    {
        var x = Run("connector").Where(m => m.Query?.Contains('?') == true).ToList();
        Assert.Equal(
            [("insert into tattle_t values (?, ?)", 2, 1L), ("insert into tattle_t values (?, ?)", 2, 1L), ("insert into tattle_t values (?, ?)", 2, 1L)],
            x.Take(3).Select(m => (m.Query, m.Params, m.Rows!.Value)));
        Assert.Equal(new SqlError("23000", "Duplicate entry '1' for key 'PRIMARY'") { Number = 1062 }, x[3].Error);
        Assert.Equal(("select id, name from tattle_t where id >= ? order by id", 1, 2L), (x[4].Query, x[4].Params, x[4].Rows!.Value));
        // Successful preparations are not records of their own; the closes have no answer.
        Assert.DoesNotContain(Run("connector"), m => m.Command is not null);
    }

    [Fact]
    public void ErrorsGiveNumberSqlStateAndMessage()
    {
        var x = Assert.Single(Run("syntax"));
        Assert.Equal(("selec 1", 1064, "42000"), (x.Query, x.Error!.Number, x.Error.Code));
        Assert.StartsWith("You have an error in your SQL syntax", x.Error.Message);
        Assert.Null(x.Tag);
    }

    [Fact]
    public void ScriptGivesEveryStatementAndTheDatabaseSwitch()
    {
        var x = Run("script");
        Assert.Equal([0L, 3L, 3L, 1L, 1L, 0L, 1L, 0L], x.Select(m => m.Rows));
        var use = Assert.Single(x, m => m.Command == "COM_INIT_DB");
        Assert.Equal(("OK", "mysql"), (use.Tag, use.Database));
        Assert.Equal("mysql", x[^1].Database);
        Assert.Equal("test", x[0].Database);
    }

    [Fact]
    public void PingIsACommandAnsweredOk()
    {
        var x = Assert.Single(Run("ping"));
        Assert.Equal(("COM_PING", "OK", (string?)null, "mysqladmin"), (x.Command, x.Tag, x.Query, x.Application));
    }

    [Fact]
    public void PasswordsInStatementsAreRedactedUnlessAsked()
    {
        string[] redacted =
        [
            "create user scram@'localhost' identified by 'REDACTED'",
            "set password for scram@'localhost' = password(\"REDACTED\")",
            "alter user scram@'localhost' identified via mysql_native_password using password('REDACTED')",
            "drop user scram@'localhost'",
        ];
        Assert.Equal(redacted, Run("passwords").Where(m => m.Query is not null).Select(m => m.Query));
        Assert.Equal(
            redacted.Select(q => q.Replace("REDACTED", "hunter2-never-recorded", StringComparison.Ordinal)),
            Run("passwords", options: new ParserOptions { Redact = false }).Where(m => m.Query is not null).Select(m => m.Query));
    }

    [Fact]
    public void TheAuthenticationDataIsNeverRecorded()
    {
        var refused = Assert.Single(Run("bad_password"));
        Assert.Equal((1045, "28000", "tattle"), (refused.Error!.Number, refused.Error.Code, refused.User));
        Assert.Null(refused.Query);
        foreach (string name in All)
        {
            var c = Load(name);
            string everything = string.Join("\n", Run(name).Select(m => m.ToRecord(new FixedMessageContext("mariadb")).ToString() + m));
            // The scramble the client sent (20 bytes after the user name) appears nowhere, nor the password.
            int user = c.Requests.AsSpan().IndexOf("tattle\0"u8);
            string scramble = Convert.ToHexString(c.Requests.AsSpan(user + 8, 20));
            Assert.DoesNotContain(scramble, everything, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("hunter2", everything);
            Assert.DoesNotContain(Encoding.Latin1.GetString(c.Requests.AsSpan(user + 8, 20)), everything);
        }
    }

    [Fact]
    public void LargeRowsAreCountedWithoutBeingBuffered()
    {
        var feeder = Load("big_rows").Replay(MySqlProtocol.Info);
        var x = Assert.Single(feeder.Messages.Cast<MySqlExchange>());
        Assert.Equal(3L, x.Rows);
        Assert.True(feeder.MaxBuffered(MessageKind.Response) < 70_000, $"{feeder.MaxBuffered(MessageKind.Response)} bytes buffered");
    }

    [Fact]
    public void PacketsOver16MegabytesContinueInTheNextPacket()
    {
        // A 17 MB row: a 0xFFFFFF-long packet, then the rest in a packet whose sequence id follows; and a query of
        // 16 MB + 10 bytes sent the same way. Neither is buffered; the row is one row.
        var c = Load("select1");
        int greetingEnd = 4 + c.Responses[0];
        var feeder = new StreamFeeder(MySqlProtocol.Info);
        feeder.Feed(MessageKind.Response, c.Responses.AsSpan(0, greetingEnd), 1, 2);
        int login = 4 + c.Requests[0];
        feeder.Feed(MessageKind.Request, c.Requests.AsSpan(0, login), 3, 4);
        feeder.Feed(MessageKind.Response, [7, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0], 5, 6);
        byte[] first = new byte[4 + 0xFFFFFF];
        first[0] = first[1] = first[2] = 0xFF;
        first[4] = 3;
        "select 'y"u8.CopyTo(first.AsSpan(5));
        first.AsSpan(14).Fill((byte)'y');
        byte[] second = [10, 0, 0, 1, .. "yyyyyyy')\n"u8];
        FeedInPieces(feeder, MessageKind.Request, first, 7);
        feeder.Feed(MessageKind.Request, second, 8, 9);
        // The answer: 1 column, its definition, EOF, the long row in two packets, EOF; sequence ids from 2.
        byte[] column = [.. Packet(2, [1]), .. Packet(3, [3, (byte)'d', (byte)'e', (byte)'f', 0, 0, 0, 1, (byte)'y', 0, 0x0C, 0x21, 0, 0, 0, 0, 0xFD, 0, 0, 0, 0, 0]), .. Packet(4, [0xFE, 0, 0, 2, 0])];
        feeder.Feed(MessageKind.Response, column, 10, 11);
        byte[] row = new byte[4 + 0xFFFFFF];
        row[0] = row[1] = row[2] = 0xFF;
        row[3] = 5;
        row[4] = 0xFE;
        FeedInPieces(feeder, MessageKind.Response, row, 12);
        feeder.Feed(MessageKind.Response, [.. Packet(6, new byte[100]), .. Packet(7, [0xFE, 0, 0, 2, 0])], 13, 14);
        var x = Assert.Single(feeder.Messages.Cast<MySqlExchange>(), m => m.Answered);
        Assert.Equal(1L, x.Rows);
        Assert.StartsWith("select 'yyyy", x.Query);
        Assert.EndsWith("…", x.Query);
        Assert.True(x.Query!.Length < 5000);
        Assert.True(feeder.MaxBuffered(MessageKind.Response) < 100_000);
        Assert.True(feeder.MaxBuffered(MessageKind.Request) < 100_000);
        Assert.Equal(0, feeder.Dropped(MessageKind.Response));
    }

    private static void FeedInPieces(StreamFeeder feeder, MessageKind kind, byte[] bytes, long at)
    {
        for (int i = 0; i < bytes.Length; i += 65536)
        {
            feeder.Feed(kind, bytes.AsSpan(i, Math.Min(65536, bytes.Length - i)), at, at);
        }
    }

    private static byte[] Packet(byte seq, byte[] payload) =>
        [(byte)payload.Length, (byte)(payload.Length >> 8), (byte)(payload.Length >> 16), seq, .. payload];

    [Fact]
    public void AGapInTheMiddleResyncsAndTheFollowingCommandsAreRecovered()
    {
        // The script's bytes with a stretch of each direction lost around the third statement.
        var c = Load("script");
        int request = c.Requests.AsSpan().IndexOf("select * from t"u8) - 5;
        var feeder = new StreamFeeder(MySqlProtocol.Info);
        long now = 1;
        int[] offsets = [0, 0];
        int[] gapAt = [request, FirstAnswerAfter(c, request)];
        int[] gapLength = [20, 30];
        foreach (var (kind, length) in c.Recvs)
        {
            int k = (int)kind;
            int start = offsets[k];
            offsets[k] += length;
            var bytes = c.Bytes(kind).AsSpan(start, length);
            if (gapAt[k] >= start && gapAt[k] < start + length)
            {
                int cut = gapAt[k] - start;
                feeder.Feed(kind, bytes[..cut], now, now);
                feeder.Gap(kind, Math.Min(gapLength[k], length - cut), now);
                bytes = bytes[Math.Min(length, cut + gapLength[k])..];
            }
            feeder.Feed(kind, bytes, now, now);
            now += 1000;
        }
        feeder.Close(now);
        var x = feeder.Messages.Cast<MySqlExchange>().ToList();
        foreach (var m in x)
        {
            output.WriteLine(Summary(m));
        }
        Assert.Contains(x, m => m.Query == "update t set name = 'uno' where id = 1" && m.Rows == 1 && m.Answered);
        Assert.Contains(x, m => m.Query == "drop table test.t" && m.Tag == "OK");
        Assert.Equal("create table t (id int, name text)", x[0].Query);
    }

    /// <summary>Where the server's answer to the command at <paramref name="request"/> starts: after the earlier commands' answers.</summary>
    private static int FirstAnswerAfter(RecordedConnection c, int request)
    {
        int sent = 0;
        int received = 0;
        foreach (var (kind, length) in c.Recvs)
        {
            if (kind == MessageKind.Request)
            {
                sent += length;
            }
            else if (sent > request)
            {
                return received + 2;
            }
            else
            {
                received += length;
            }
        }
        return received;
    }

    [Fact]
    public void SslRequestHandsTheConnectionToTlsWhichReadsTheHandshake()
    {
        var c = Load("ssl");
        var feeder = c.Replay(MySqlProtocol.Info);
        Assert.True(feeder.Stopped);
        Assert.Equal("tls", feeder.Parser.Switch!.Protocol);
        var tls = Tattle.Protocols.ProtocolCatalog.Default.ForUpgrade("tls");
        Assert.Same(TlsProtocol.Info, tls);
        // After the greeting and the 36-byte SSLRequest both directions carry a TLS handshake.
        var next = new StreamFeeder(new ProtocolInfo("tls", TlsProtocol.Probe, (o, s) => tls!.TakeOver!(o, s, feeder.Parser.Switch!)));
        c.Replay(next, from: [36, 4 + c.Responses[0]]);
        var handshake = Assert.Single(next.Messages);
        Assert.Equal("TlsHandshake", handshake.GetType().Name);
    }

    [Fact]
    public void TheCompressedProtocolIsMarkedAndNotRead()
    {
        var feeder = Load("compressed").Replay(MySqlProtocol.Info);
        Assert.True(feeder.Stopped);
        var x = Assert.Single(feeder.Messages.Cast<MySqlExchange>());
        Assert.True(x.Compressed);
        Assert.Equal("tattle", x.User);
        Assert.Equal("mysql-compressed", feeder.Parser.Switch!.Protocol);
        // Whichever direction shows it first: all the client's bytes before the server's.
        var c = Load("compressed");
        var early = new StreamFeeder(MySqlProtocol.Info);
        early.Feed(MessageKind.Request, c.Requests, 1, 2);
        Assert.True(Assert.Single(early.Messages.Cast<MySqlExchange>()).Compressed);
    }

    [Fact]
    public void AllTheClientsBytesBeforeTheServersPairTheSame()
    {
        var c = Load("script");
        var feeder = new StreamFeeder(MySqlProtocol.Info);
        feeder.Feed(MessageKind.Request, c.Requests, 1, 2);
        feeder.Feed(MessageKind.Response, c.Responses, 3, 4);
        feeder.Close(5);
        Assert.Equal(Run("script").Select(m => (m.Query, m.Rows, m.Tag)), feeder.Messages.Cast<MySqlExchange>().Select(m => (m.Query, m.Rows, m.Tag)));
    }

    [Fact]
    public void LiveLinesSayRowsOkOrTheErrorNumber()
    {
        string Line(MySqlExchange m)
        {
            var line = new Tattle.Records.Live.LiveLine(color: false);
            m.ToRecord(new FixedMessageContext("mariadb")).Describe(line);
            return line.ToString();
        }
        Assert.StartsWith("sql select 1 -> 1 row ", Line(Run("select1").Single(m => m.Query == "select 1")));
        Assert.StartsWith("sql selec 1 -> ERR 1064 You have an error", Line(Assert.Single(Run("syntax"))));
        Assert.StartsWith("sql update t set name = 'uno' where id = 1 -> OK (1 row) ", Line(Run("script")[3]));
        Assert.StartsWith("sql COM_PING -> OK ", Line(Assert.Single(Run("ping"))));
    }

    [Fact]
    public void AnAnswerOutOfSequenceLeavesItsCommandUnansweredAndTheNextAnswersPairRight()
    {
        // The first answer's column count says sequence id 5 instead of 1.
        var c = Load("old_eof");
        var responses = (byte[])c.Responses.Clone();
        int greeting = 4 + responses[0];
        int authOk = 4 + responses[greeting];
        Assert.Equal(1, responses[greeting + authOk + 3]);
        responses[greeting + authOk + 3] = 5;
        var feeder = new StreamFeeder(MySqlProtocol.Info);
        long now = 1;
        int[] offsets = [0, 0];
        foreach (var (kind, length) in c.Recvs)
        {
            var bytes = kind == MessageKind.Request ? c.Requests : responses;
            feeder.Feed(kind, bytes.AsSpan(offsets[(int)kind], length), now, now);
            offsets[(int)kind] += length;
            now += 1000;
        }
        feeder.Close(now);
        var x = feeder.Messages.Cast<MySqlExchange>().ToList();
        foreach (var m in x)
        {
            output.WriteLine(Summary(m));
        }
        Assert.False(x.Single(m => m.Query == "select 1").Answered);
        Assert.Equal(2L, x.Single(m => m.Query == "select 'a' as x, 2 as y union select 'b', 3").Rows);
        Assert.Equal(1146, x.Single(m => m.Query == "select * from no_such_table").Error!.Number);
        Assert.Equal("OK", x.Single(m => m.Query == "do 1").Tag);
    }
}
