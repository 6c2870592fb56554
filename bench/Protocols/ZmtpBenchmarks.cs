using System.Text;
using BenchmarkDotNet.Attributes;
using Tattle.Protocols.Common;
using Tattle.Protocols.Zmtp;

namespace Tattle.Bench.Protocols;

/// <summary>
/// ZMTP parse cost per message on a connection past its handshake (NULL mechanism): a 2-frame DEALER message
/// (topic, 32-byte body) reported one-way; a REQ's request and the REP's reply paired into one message; the probe.
/// Target: 1 M messages/s per core, nothing allocated beyond the reported message.
/// </summary>
[MemoryDiagnoser]
public class ZmtpBenchmarks
{
    private static readonly byte[] TwoFrames = Message("orders", "{\"id\":42,\"qty\":3,\"sku\":\"A-1001\"}");
    private static readonly byte[] Request = Message("", "hello");
    private static readonly byte[] Reply = Message("", "world");
    private static readonly byte[] Greeting = Start("REQ");

    private readonly DiscardSink _sink = new();
    private IProtocolParser _oneWay = null!;
    private IProtocolParser _reqRep = null!;
    private long _now;

    /// <summary>Frames with MORE on all but the last; every one short (1-byte size).</summary>
    private static byte[] Message(params string[] frames) =>
        [.. frames.SelectMany((f, i) => (byte[])[(byte)(i < frames.Length - 1 ? 1 : 0), (byte)f.Length, .. Encoding.ASCII.GetBytes(f)])];

    /// <summary>The greeting and a READY naming <paramref name="socketType"/>: the start of one direction.</summary>
    private static byte[] Start(string socketType)
    {
        var greeting = new byte[64];
        greeting[0] = 0xFF;
        greeting[9] = 0x7F;
        greeting[10] = 3;
        greeting[11] = 1;
        "NULL"u8.CopyTo(greeting.AsSpan(12));
        byte[] metadata = [11, .. "Socket-Type"u8, 0, 0, 0, (byte)socketType.Length, .. Encoding.ASCII.GetBytes(socketType)];
        byte[] body = [5, .. "READY"u8, .. metadata];
        return [.. greeting, 4, (byte)body.Length, .. body];
    }

    private static IProtocolParser Connected(DiscardSink sink, string requester, string responder)
    {
        var parser = ZmtpProtocol.Info.Create(ParserOptions.Default, sink);
        foreach (var (kind, bytes) in new[] { (MessageKind.Request, Start(requester)), (MessageKind.Response, Start(responder)) })
        {
            var span = bytes.AsSpan();
            while (!span.IsEmpty)
            {
                var r = parser.Parse(kind, span, new StreamContext(1, 1));
                span = span[r.Consumed..];
            }
        }
        return parser;
    }

    [GlobalSetup]
    public void Setup()
    {
        _oneWay = Connected(_sink, "DEALER", "ROUTER");
        _reqRep = Connected(_sink, "REQ", "REP");
        int before = _sink.Count;
        TwoFrameMessage();
        if (_sink.Count != before + 1)
        {
            throw new InvalidOperationException("the 2-frame message was not reported");
        }
    }

    /// <summary>One 2-frame message: one Parse call, one message reported.</summary>
    [Benchmark(Baseline = true)]
    public ParseResult TwoFrameMessage()
    {
        _now += 1000;
        return _oneWay.Parse(MessageKind.Request, TwoFrames, new StreamContext(_now, _now));
    }

    /// <summary>A request and its reply: two Parse calls, one message reported with the reply.</summary>
    [Benchmark]
    public ParseResult RequestThenReply()
    {
        _now += 1000;
        _reqRep.Parse(MessageKind.Request, Request, new StreamContext(_now, _now));
        return _reqRep.Parse(MessageKind.Response, Reply, new StreamContext(_now + 500, _now + 500));
    }

    [Benchmark]
    public Detection Probe() => ZmtpProtocol.Info.Probe(Greeting, false, 40000, 5555);
}
