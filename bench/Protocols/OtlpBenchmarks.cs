using BenchmarkDotNet.Attributes;
using Tattle.Output.Otlp;

namespace Tattle.Bench.Protocols;

/// <summary>
/// The agent's span per exchange, encoded for OTLP: a batch of the spans nginx's exchanges make (a server span with
/// the attributes the agent gives an HTTP/1 exchange), its time per span. Every span is encoded when it is queued, so
/// this is the agent's cost per traced request for its spans, the HTTP export aside.
/// </summary>
[MemoryDiagnoser]
public class OtlpBenchmarks
{
    private const int Spans = 64;
    private OtlpSpan[] _batch = null!;

    [GlobalSetup]
    public void Setup()
    {
        var nginx = new OtlpResource(
        [
            new("process.pid", 4242L),
            new("process.executable.name", "nginx"),
            new("process.executable.path", "/usr/sbin/nginx"),
            new("process.command_line", "nginx: worker process"),
            new("host.name", "node-7"),
        ]);
        // The same string instances span after span, as a keep-alive connection's records give them.
        string conn = "c1f3a9", method = "GET", path = "/index.html", version = "1.1", host = "127.0.0.1:18090", client = "127.0.0.1";
        _batch = [.. Enumerable.Range(0, Spans).Select(i => new OtlpSpan
        {
            TraceId = OtlpTraceIds.NewTraceId(),
            SpanId = OtlpTraceIds.NewSpanId(),
            Name = "GET",
            Kind = OtlpSpanKind.Server,
            StartUnixNs = 1_764_460_800_123_456_789 + (i * 25_000L),
            EndUnixNs = 1_764_460_800_123_456_789 + (i * 25_000L) + 41_000,
            Attributes =
            [
                new("http.request.method", method),
                new("http.response.status_code", 200L),
                new("url.path", path),
                new("network.protocol.version", version),
                new("http.request.header.host", host),
                new("client.address", client),
                new("client.port", 40_000L + i),
                new("server.port", 18090L),
                new("network.protocol.name", "http"),
                new("tattle.conn", conn),
            ],
            Resource = nginx,
        })];
    }

    /// <summary>64 spans of one process into one ExportTraceServiceRequest; the time is per span.</summary>
    [Benchmark(OperationsPerInvoke = Spans)]
    public int EncodeServerSpans() => OtlpTraceEncoder.Encode(_batch, "tattle", "1.0.0").Length;
}
