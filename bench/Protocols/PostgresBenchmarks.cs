using BenchmarkDotNet.Attributes;
using Tattle.Protocols.Common;
using Tattle.Protocols.Postgres;

namespace Tattle.Bench.Protocols;

/// <summary>
/// PostgreSQL parse cost per statement, on bytes psql and PostgreSQL 15 exchanged (tests/Tattle.Tests/testdata/postgres):
/// a simple Query `select 1` and its RowDescription, DataRow, CommandComplete and ReadyForQuery; an Execute of the
/// named statement `plus_one` (Bind, Execute, Sync; BindComplete, DataRow, CommandComplete, ReadyForQuery). Target:
/// 1 M statements/s per core, nothing allocated beyond the reported statement.
/// </summary>
[MemoryDiagnoser]
public class PostgresBenchmarks
{
    private static readonly byte[] Startup = [0, 0, 0, 41, 0, 3, 0, 0, .. "user\0postgres\0database\0postgres\0\0"u8];
    private static readonly byte[] AuthenticationOk = [(byte)'R', 0, 0, 0, 8, 0, 0, 0, 0, (byte)'Z', 0, 0, 0, 5, (byte)'I'];

    private static readonly byte[] Query = [(byte)'Q', 0, 0, 0, 13, .. "select 1\0"u8];
    private static readonly byte[] QueryAnswer =
    [
        (byte)'T', 0, 0, 0, 33, 0, 1, .. "?column?\0"u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 23, 0, 4, 0xff, 0xff, 0xff, 0xff, 0, 0,
        (byte)'D', 0, 0, 0, 11, 0, 1, 0, 0, 0, 1, (byte)'1',
        (byte)'C', 0, 0, 0, 13, .. "SELECT 1\0"u8,
        (byte)'Z', 0, 0, 0, 5, (byte)'I',
    ];

    private static readonly byte[] Prepare = [(byte)'P', 0, 0, 0, 39, .. "plus_one\0select $1::int + 1 as n\0"u8, 0, 0, (byte)'S', 0, 0, 0, 4];
    private static readonly byte[] Prepared = [(byte)'1', 0, 0, 0, 4, (byte)'Z', 0, 0, 0, 5, (byte)'I'];
    private static readonly byte[] Execute =
    [
        (byte)'B', 0, 0, 0, 25, 0, .. "plus_one\0"u8, 0, 0, 0, 1, 0, 0, 0, 1, (byte)'7', 0, 0,
        (byte)'E', 0, 0, 0, 9, 0, 0, 0, 0, 0,
        (byte)'S', 0, 0, 0, 4,
    ];
    private static readonly byte[] ExecuteAnswer =
    [
        (byte)'2', 0, 0, 0, 4,
        (byte)'D', 0, 0, 0, 11, 0, 1, 0, 0, 0, 1, (byte)'8',
        (byte)'C', 0, 0, 0, 13, .. "SELECT 1\0"u8,
        (byte)'Z', 0, 0, 0, 5, (byte)'I',
    ];

    private readonly DiscardSink _sink = new();
    private IProtocolParser _parser = null!;
    private long _now;

    [GlobalSetup]
    public void Setup()
    {
        _parser = PostgresProtocol.Info.Create(ParserOptions.Default, _sink);
        Exchange(Startup, AuthenticationOk);
        Exchange(Prepare, Prepared);
        SimpleQuery();
        PreparedExecute();
        if (_sink.Count != 2)
        {
            throw new InvalidOperationException($"expected 2 statements reported, got {_sink.Count}");
        }
    }

    /// <summary>One simple Query and its answer: one statement reported.</summary>
    [Benchmark(Baseline = true)]
    public ParseResult SimpleQuery() => Exchange(Query, QueryAnswer);

    /// <summary>An Execute of a named statement (its SQL found by name) and its answer: one statement reported.</summary>
    [Benchmark]
    public ParseResult PreparedExecute() => Exchange(Execute, ExecuteAnswer);

    [Benchmark]
    public Detection Probe() => PostgresProtocol.Info.Probe(Startup, false, 40000, 5432);

    // Each direction's bytes arrive in one read, as psql's do, and are parsed to the end.
    private ParseResult Exchange(byte[] request, byte[] response)
    {
        _now += 1000;
        Drain(MessageKind.Request, request, _now);
        return Drain(MessageKind.Response, response, _now + 500);
    }

    private ParseResult Drain(MessageKind kind, ReadOnlySpan<byte> data, long now)
    {
        ParseResult result = default;
        while (!data.IsEmpty)
        {
            result = _parser.Parse(kind, data, new StreamContext(now, now));
            if (result.Consumed <= 0)
            {
                throw new InvalidOperationException($"{kind}: {result.Status} with {data.Length} bytes left");
            }
            data = data[result.Consumed..];
        }
        return result;
    }
}
