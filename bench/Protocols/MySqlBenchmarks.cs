using BenchmarkDotNet.Attributes;
using Tattle.Protocols.Common;
using Tattle.Protocols.MySql;

namespace Tattle.Bench.Protocols;

/// <summary>
/// MySQL parse cost per exchange: a COM_QUERY <c>select 1</c> and its one-row result set as MariaDB 10.11 sends it
/// to the mariadb client (column count, definition, EOF, row, EOF: five packets), paired into one
/// <see cref="MySqlExchange"/>; the probe of a greeting. Target: 1 M exchanges/s per core, nothing allocated beyond
/// the exchange.
/// </summary>
[MemoryDiagnoser]
public class MySqlBenchmarks
{
    private static readonly byte[] Greeting = Convert.FromHexString(
        "540000000a31302e31312e31392d4d617269614442000c000000414243444546474800fef72d0200ff8115000000000000" +
        "1d00000049494a4a4b4b4c4c4d4d4e4e006d7973716c5f6e61746976655f70617373776f726400");

    private static readonly byte[] Login = Convert.FromHexString(
        "5200000184a2bf000000000121000000000000000000000000000000000000000000000074617474" +
        "6c65001400000000000000000000000000000000000000006d7973716c5f6e61746976655f70617373776f726400");

    private static readonly byte[] AuthOk = Convert.FromHexString("0700000200000002000000");

    private static readonly byte[] Query = Convert.FromHexString("0900000003" + "73656c6563742031");

    /// <summary>The answer select1.s2c of the tests' captures holds.</summary>
    private static readonly byte[] Answer = Convert.FromHexString(
        "01000001011800000203646566000000013100000c3f000100000003810000000005000003fe000002000200000401310500" +
        "0005fe00000200");

    private readonly DiscardSink _sink = new();
    private IProtocolParser _parser = null!;
    private long _now;

    [GlobalSetup]
    public void Setup()
    {
        _parser = MySqlProtocol.Info.Create(ParserOptions.Default, _sink);
        Feed(MessageKind.Response, Greeting);
        Feed(MessageKind.Request, Login);
        Feed(MessageKind.Response, AuthOk);
    }

    /// <summary>One command and its result set: six Parse calls (one per packet), one exchange reported.</summary>
    [Benchmark(Baseline = true)]
    public int SelectOne()
    {
        _now += 1000;
        Feed(MessageKind.Request, Query);
        return Feed(MessageKind.Response, Answer);
    }

    [Benchmark]
    public Detection Probe() => MySqlProtocol.Info.Probe(Greeting, false, 40000, 3306);

    private int Feed(MessageKind kind, ReadOnlySpan<byte> bytes)
    {
        int calls = 0;
        while (!bytes.IsEmpty)
        {
            var r = _parser.Parse(kind, bytes, new StreamContext(_now, _now + 500));
            if (r.Consumed == 0)
            {
                throw new InvalidOperationException($"{kind}: {r.Status} with {bytes.Length} bytes left");
            }
            bytes = bytes[r.Consumed..];
            calls++;
        }
        return calls;
    }
}
