using System.Text;
using BenchmarkDotNet.Attributes;
using Tattle.Protocols.Common;
using Tattle.Protocols.Redis;

namespace Tattle.Bench.Protocols;

/// <summary>
/// Redis parse cost per exchange: a GET as redis-cli sends it and its 12-byte bulk reply, paired into one
/// <see cref="RedisExchange"/>; the probe. Target: 1 M exchanges/s per core, nothing allocated in steady state.
/// </summary>
[MemoryDiagnoser]
public class RedisBenchmarks
{
    private static readonly byte[] Get = Encoding.ASCII.GetBytes("*2\r\n$3\r\nGET\r\n$6\r\nuser:1\r\n");
    private static readonly byte[] Bulk = Encoding.ASCII.GetBytes("$12\r\nhello world!\r\n");

    private readonly DiscardSink _sink = new();
    private IProtocolParser _parser = null!;
    private long _now;

    [GlobalSetup]
    public void Setup() => _parser = RedisProtocol.Info.Create(ParserOptions.Default, _sink);

    /// <summary>One command and its reply: two Parse calls, one exchange reported.</summary>
    [Benchmark(Baseline = true)]
    public ParseResult GetThenBulk()
    {
        _now += 1000;
        _parser.Parse(MessageKind.Request, Get, new StreamContext(_now, _now));
        return _parser.Parse(MessageKind.Response, Bulk, new StreamContext(_now + 500, _now + 500));
    }

    [Benchmark]
    public Detection Probe() => RedisProtocol.Info.Probe(Get, false, 40000, 6379);
}
