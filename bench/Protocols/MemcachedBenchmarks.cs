using System.Text;
using BenchmarkDotNet.Attributes;
using Tattle.Protocols.Common;
using Tattle.Protocols.Memcached;

namespace Tattle.Bench.Protocols;

/// <summary>
/// memcached parse cost per exchange: <c>get user:1</c> and its VALUE reply with a 12-byte value, paired into one
/// <see cref="MemcachedExchange"/>; the probe. Target: 1 M exchanges/s per core, nothing allocated beyond the exchange.
/// </summary>
[MemoryDiagnoser]
public class MemcachedBenchmarks
{
    private static readonly byte[] Get = Encoding.ASCII.GetBytes("get user:1\r\n");
    private static readonly byte[] Value = Encoding.ASCII.GetBytes("VALUE user:1 0 12\r\nhello world!\r\nEND\r\n");

    private readonly DiscardSink _sink = new();
    private IProtocolParser _parser = null!;
    private long _now;

    [GlobalSetup]
    public void Setup() => _parser = MemcachedProtocol.Info.Create(ParserOptions.Default, _sink);

    /// <summary>One command and its reply: the VALUE line with its block, then END; one exchange reported.</summary>
    [Benchmark(Baseline = true)]
    public ParseResult GetThenValue()
    {
        _now += 1000;
        _parser.Parse(MessageKind.Request, Get, new StreamContext(_now, _now));
        var first = _parser.Parse(MessageKind.Response, Value, new StreamContext(_now + 500, _now + 500));
        return _parser.Parse(MessageKind.Response, Value.AsSpan(first.Consumed), new StreamContext(_now + 500, _now + 500));
    }

    [Benchmark]
    public Detection Probe() => MemcachedProtocol.Info.Probe(Get, false, 40000, 11211);
}
