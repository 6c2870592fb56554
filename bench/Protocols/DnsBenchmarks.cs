using BenchmarkDotNet.Attributes;
using Tattle.Protocols.Common;
using Tattle.Protocols.Dns;

namespace Tattle.Bench.Protocols;

/// <summary>
/// DNS parse cost per message, on dig/dnsmasq bytes (tests/Tattle.Tests/testdata/dns): a query (the fast path),
/// responses of 1 and 3 answers, a paired exchange, the probe. Target: 1 M messages/s per core.
/// </summary>
[MemoryDiagnoser]
public class DnsBenchmarks
{
    // udp-cname: alias.example.test A -> CNAME alias2 -> CNAME www -> A 10.1.2.4, with EDNS; dig's query for it.
    private static readonly byte[] Query = Convert.FromHexString(
        "a40b0120000100000000000105616c696173076578616d706c650474657374000001000100002904d000000000000c000a0008c2ea432bf59e39d3");
    private static readonly byte[] Response3 = Convert.FromHexString(
        "a40b8580000100030000000105616c696173076578616d706c6504746573740000010001c00c000500010000012c001506616c6961733207" +
        "6578616d706c65047465737400c030000500010000012c001203777777076578616d706c65047465737400c051000100010000012c00040a" +
        "01020400002904d0000000000000");
    // udp-a: addr.example.test A 10.1.2.3.
    private static readonly byte[] Response1 = Convert.FromHexString(
        "ee58858000010001000000010461646472076578616d706c6504746573740000010001c00c000100010000012c00040a01020300002904d0000000000000");

    private readonly DiscardSink _sink = new();
    private IProtocolParser _parser = null!;
    private long _now;

    [GlobalSetup]
    public void Setup() => _parser = DnsProtocol.Info.Create(ParserOptions.Default, _sink);

    private ParseResult Datagram(MessageKind kind, byte[] message)
    {
        _now += 1000;
        return _parser.Parse(kind, message, new StreamContext(_now, _now, Datagram: true, Peer: "127.0.0.53:53"));
    }

    /// <summary>A response with three answers (two CNAMEs and an A), reported alone: the whole read, every string.</summary>
    [Benchmark(Baseline = true)]
    public ParseResult ResponseThreeAnswers() => Datagram(MessageKind.Response, Response3);

    [Benchmark]
    public ParseResult ResponseOneAnswer() => Datagram(MessageKind.Response, Response1);

    /// <summary>A query and its response, paired: two messages, one <see cref="DnsExchange"/>.</summary>
    [Benchmark(OperationsPerInvoke = 2)]
    public ParseResult QueryThenResponse()
    {
        Datagram(MessageKind.Request, Query);
        return Datagram(MessageKind.Response, Response3);
    }

    /// <summary>The strict probe (no port hint): the whole datagram is walked, nothing allocated.</summary>
    [Benchmark]
    public Detection ProbeStrict() => DnsProtocol.Info.Probe(Response3, true, 40000, 40001);
}
