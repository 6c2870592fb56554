using System.Buffers.Binary;
using System.Text;
using Tattle.Protocols.Common;
using Tattle.Protocols.Postgres;
using Tattle.Tests.Protocols.Support;

namespace Tattle.Tests.Protocols.Postgres;

/// <summary>
/// A stretch of the frontend's messages lost: what was sent before it keeps its answers, what it swallowed is
/// absorbed up to a ReadyForQuery, and what follows pairs as usual.
/// </summary>
public sealed class PostgresGapTests
{
    private static readonly byte[] Sync = Message('S');

    private static readonly byte[] Ready = Message('Z', "I"u8.ToArray());

    private static readonly byte[] DivisionByZero = [.. Message('E', C("SERROR"), C("C22012"), C("Mdivision by zero"), [0]), .. Ready];

    private static byte[] Message(char type, params byte[][] fields)
    {
        byte[] body = [.. fields.SelectMany(f => f)];
        var m = new byte[5 + body.Length];
        m[0] = (byte)type;
        BinaryPrimitives.WriteInt32BigEndian(m.AsSpan(1), 4 + body.Length);
        body.CopyTo(m, 5);
        return m;
    }

    private static byte[] C(string s) => Encoding.UTF8.GetBytes(s + "\0");

    private static byte[] Query(string sql) => Message('Q', C(sql));

    /// <summary>Parse, Bind and Execute of the unnamed statement and portal.</summary>
    private static byte[] Statement(string sql) =>
        [.. Message('P', C(""), C(sql), [0, 0]), .. Message('B', C(""), C(""), [0, 0, 0, 0, 0, 0]), .. Message('E', C(""), [0, 0, 0, 0])];

    private static byte[] Done(string tag) => [.. Message('C', C(tag)), .. Ready];

    /// <summary>ParseComplete, BindComplete and CommandComplete: the answer to <see cref="Statement"/>.</summary>
    private static byte[] Answer(string tag) => [.. Message('1'), .. Message('2'), .. Message('C', C(tag))];

    private static List<(string? Query, string? Tag, string? Error, bool Answered)> Outcome(StreamFeeder feeder) =>
        [.. feeder.Messages.Cast<PostgresExchange>().Select(x => (x.Query, x.Tag, x.Error?.Code, x.Answered))];

    /// <summary>Sends <paramref name="before"/>, loses the first <paramref name="lost"/> bytes of what follows, sends the rest.</summary>
    private static void SendAcrossAHole(StreamFeeder feeder, byte[] before, byte[] after, int lost, long ns)
    {
        feeder.Feed(MessageKind.Request, before, ns, ns);
        Assert.False(feeder.Gap(MessageKind.Request, lost, ns + 1));
        feeder.Feed(MessageKind.Request, after.AsSpan(lost), ns + 2, ns + 2);
    }

    [Fact]
    public void PipelinedQueriesBeforeAndAfterALostOneKeepTheirAnswers()
    {
        var feeder = new StreamFeeder(PostgresProtocol.Info);
        byte[] lost = Query("select 2");
        SendAcrossAHole(feeder, [.. Query("select 1"), .. lost[..3]], [.. lost[3..], .. Query("select 3")], lost.Length - 3, 10);
        feeder.Feed(MessageKind.Response, [.. Done("SELECT 1"), .. Done("SELECT 2"), .. Done("SELECT 3")], 20, 20);
        feeder.Close(30);
        Assert.Equal([("select 1", "SELECT 1", null, true), ("select 3", "SELECT 3", null, true)], Outcome(feeder));
    }

    [Fact]
    public void AnErrorAnsweringALostStatementIsReportedWithoutAQuery()
    {
        var feeder = new StreamFeeder(PostgresProtocol.Info);
        byte[] lost = Query("select 1 / 0");
        SendAcrossAHole(feeder, [.. Query("select 1"), .. lost[..3]], [.. lost[3..], .. Query("select 3")], lost.Length - 3, 10);
        feeder.Feed(MessageKind.Response, [.. Done("SELECT 1"), .. DivisionByZero, .. Done("SELECT 3")], 20, 20);
        feeder.Close(30);
        Assert.Equal(
            [("select 1", "SELECT 1", null, true), (null, null, "22012", true), ("select 3", "SELECT 3", null, true)],
            Outcome(feeder));
    }

    [Fact]
    public void AClientWaitingForEachAnswerIsInStepWhenTheGapIsToldLate()
    {
        // The tracker tells a gap when the bytes after it arrive: the lost Queries were answered in between.
        var feeder = new StreamFeeder(PostgresProtocol.Info);
        feeder.Feed(MessageKind.Request, Query("select 1"), 10, 10);
        feeder.Feed(MessageKind.Response, Done("SELECT 1"), 20, 20);
        feeder.Feed(MessageKind.Response, Done("SELECT 2"), 40, 40);
        feeder.Feed(MessageKind.Response, Done("SELECT 3"), 45, 45);
        Assert.False(feeder.Gap(MessageKind.Request, 40, 50));
        feeder.Feed(MessageKind.Request, Query("select 4"), 50, 50);
        feeder.Feed(MessageKind.Response, Done("SELECT 4"), 60, 60);
        Assert.Equal([("select 1", "SELECT 1", null, true), ("select 4", "SELECT 4", null, true)], Outcome(feeder));
    }

    [Fact]
    public void AClientWaitingForEachAnswerIsInStepAfterTwoLostCycles()
    {
        // Told at once: the answers of both lost Queries began before the next Query was sent, so neither is its.
        var feeder = new StreamFeeder(PostgresProtocol.Info);
        byte[] lost = Query("select 2");
        feeder.Feed(MessageKind.Request, Query("select 1"), 10, 10);
        feeder.Feed(MessageKind.Response, Done("SELECT 1"), 20, 20);
        feeder.Feed(MessageKind.Request, lost[..3], 30, 30);
        Assert.False(feeder.Gap(MessageKind.Request, 40, 31));
        feeder.Feed(MessageKind.Response, Done("SELECT 2"), 40, 40);
        feeder.Feed(MessageKind.Response, Done("SELECT 3"), 45, 45);
        feeder.Feed(MessageKind.Request, Query("select 4"), 50, 50);
        feeder.Feed(MessageKind.Response, Done("SELECT 4"), 60, 60);
        Assert.Equal([("select 1", "SELECT 1", null, true), ("select 4", "SELECT 4", null, true)], Outcome(feeder));
    }

    [Fact]
    public void AHoleInsideABatchBeforeItsSyncEndsWithTheBatch()
    {
        // Three statements up to one Sync, the second lost: one ReadyForQuery ends the lost one and the third,
        // whose answer cannot be told from the lost one's; the next batch pairs as usual.
        var feeder = new StreamFeeder(PostgresProtocol.Info);
        byte[] lost = Statement("select 2");
        SendAcrossAHole(feeder, [.. Statement("select 1"), .. lost[..3]], [.. lost[3..], .. Statement("select 3"), .. Sync], lost.Length - 3, 10);
        feeder.Feed(MessageKind.Response, [.. Answer("SELECT 1"), .. Answer("SELECT 2"), .. Answer("SELECT 3"), .. Ready], 20, 20);
        feeder.Feed(MessageKind.Request, [.. Statement("select 4"), .. Sync], 30, 30);
        feeder.Feed(MessageKind.Response, [.. Answer("SELECT 4"), .. Ready], 40, 40);
        feeder.Close(50);
        Assert.Equal(
            [("select 1", "SELECT 1", null, true), ("select 3", null, null, false), ("select 4", "SELECT 4", null, true)],
            Outcome(feeder));
    }
}
