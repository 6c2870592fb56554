using System.Net;
using System.Net.Sockets;
using Tattle.Output.Otlp;
using static Tattle.Tests.Otlp.OtlpTraceEncoderTests;

namespace Tattle.Tests.Otlp;

/// <summary>OtlpSpanExporter against the in-process OtlpReceiver, over gRPC (h2c) and http/protobuf.</summary>
public sealed class OtlpSpanExporterTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private OtlpReceiver _receiver = null!;

    public static TheoryData<OtlpProtocol> Protocols => [OtlpProtocol.Grpc, OtlpProtocol.HttpProtobuf];

    public async Task InitializeAsync() => _receiver = await OtlpReceiver.StartAsync();

    public async Task DisposeAsync() => await _receiver.DisposeAsync();

    private OtlpExporterOptions Options(OtlpProtocol protocol) => new()
    {
        Endpoint = protocol == OtlpProtocol.Grpc ? _receiver.GrpcEndpoint : _receiver.HttpEndpoint,
        Protocol = protocol,
        MaxBatchSize = 10,
        ScheduledDelay = TimeSpan.FromMilliseconds(100),
        Timeout = TimeSpan.FromSeconds(5),
    };

    private static OtlpSpan Numbered(OtlpResource resource, int i) => Span(resource, $"span {i}") with
    {
        SpanId = BitConverter.GetBytes((long)i + 1),
        Attributes = [new("i", i), new("peer", $"10.0.0.{i % 256}")],
    };

    [Theory]
    [MemberData(nameof(Protocols))]
    public void SpansEnqueued_AllArrive_WithTheirAttributesAndResources(OtlpProtocol protocol)
    {
        var curl = Process(100, "/usr/bin/curl");
        var python = Process(200, "/usr/bin/python3");
        using var exporter = new OtlpSpanExporter(Options(protocol) with { Headers = [new("x-tenant", "t1")] });

        for (int i = 0; i < 35; i++)
        {
            Assert.True(exporter.TryEnqueue(Numbered(i % 2 == 0 ? curl : python, i)));
        }
        var spans = _receiver.WaitForSpans(35, Wait);

        Assert.Equal(35, spans.Count);
        Assert.Equal(Enumerable.Range(0, 35).Select(i => (long)i), spans.Select(s => (long)s.Attributes["i"]).Order());
        Assert.All(spans, s => Assert.Equal($"10.0.0.{s.Attributes["i"]}", s.Attributes["peer"]));
        Assert.All(spans, s => Assert.Equal($"span {s.Attributes["i"]}", s.Name));
        var resources = _receiver.ResourceSpans();
        Assert.All(resources, r => Assert.All(r.Spans, s => Assert.Equal((long)s.Attributes["i"] % 2 == 0 ? 100L : 200L, r.Resource["process.pid"])));
        var requests = _receiver.Requests;
        Assert.All(requests, r => Assert.Equal(protocol == OtlpProtocol.Grpc ? OtlpReceiver.TracesGrpcPath : OtlpReceiver.TracesHttpPath, r.Path));
        Assert.All(requests, r => Assert.Equal(protocol == OtlpProtocol.Grpc ? "application/grpc" : "application/x-protobuf", r.ContentType));
        Assert.All(requests, r => Assert.Equal("t1", r.Headers["x-tenant"]));
        // gRPC: h2c with prior knowledge (the receiver's gRPC port speaks nothing else) and te: trailers.
        Assert.All(requests, r => Assert.Equal(protocol == OtlpProtocol.Grpc ? "HTTP/2" : "HTTP/1.1", r.HttpVersion));
        Assert.All(requests, r => Assert.Equal(protocol == OtlpProtocol.Grpc ? "trailers" : null, r.Headers.GetValueOrDefault("te")));
        // Batches of at most MaxBatchSize spans.
        Assert.All(requests, r => Assert.InRange(OtlpTraceDecoder.Spans(r.Body).Count, 1, 10));
        Assert.True(exporter.Flush(Wait));
        Assert.Equal(35, exporter.Exported);
        Assert.Equal(0, exporter.FailedBatches + exporter.FailedSpans + exporter.Dropped);
        Assert.Null(exporter.LastError);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void Dispose_SendsThePartialBatch_BeforeTheScheduledDelay(OtlpProtocol protocol)
    {
        var exporter = new OtlpSpanExporter(Options(protocol) with { MaxBatchSize = 100, ScheduledDelay = TimeSpan.FromMinutes(10) });
        Enqueue(exporter, 3);

        exporter.Dispose();

        Assert.Equal(3, _receiver.Spans().Count);
        Assert.Equal(3, exporter.Exported);
        Assert.False(exporter.TryEnqueue(Numbered(Process(1, "/bin/sh"), 9)));
        Assert.Equal(1, exporter.Dropped);
    }

    [Fact]
    public void Flush_SendsWhatIsQueued_AndReturnsTrue()
    {
        using var exporter = new OtlpSpanExporter(Options(OtlpProtocol.Grpc) with { MaxBatchSize = 100, ScheduledDelay = TimeSpan.FromMinutes(10) });
        Enqueue(exporter, 1);

        Assert.True(exporter.Flush(Wait));

        Assert.Single(_receiver.Spans());
        Assert.Equal(1, exporter.Exported);
        Assert.True(exporter.Flush(TimeSpan.Zero));
        Assert.True(exporter.Flush(Timeout.InfiniteTimeSpan));
    }

    [Fact]
    public void QueueFull_TryEnqueueReturnsFalse_AndCountsTheDrop()
    {
        // A batch that never fills and a delay that never passes: nothing leaves the queue until the flush.
        using var exporter = new OtlpSpanExporter(Options(OtlpProtocol.HttpProtobuf) with
        {
            MaxQueueSize = 5,
            MaxBatchSize = 100,
            ScheduledDelay = TimeSpan.FromMinutes(10),
        });
        var process = Process(1, "/bin/sh");

        var accepted = Enumerable.Range(0, 8).Select(i => exporter.TryEnqueue(Numbered(process, i))).ToList();

        Assert.Equal([true, true, true, true, true, false, false, false], accepted);
        Assert.Equal(3, exporter.Dropped);
        Assert.True(exporter.Flush(Wait));
        Assert.Equal(5, exporter.Exported);
        Assert.True(exporter.TryEnqueue(Numbered(process, 8)));
    }

    [Fact]
    public void AnInvalidSpan_IsDroppedWithItsReason()
    {
        using var exporter = new OtlpSpanExporter(Options(OtlpProtocol.HttpProtobuf));

        Assert.False(exporter.TryEnqueue(Span(Process(1, "/bin/sh")) with { SpanId = new byte[8] }));

        Assert.Equal(1, exporter.Dropped);
        Assert.Equal("span 'GET /users' dropped: span id must be 8 bytes, not all zero", exporter.LastError);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void ReceiverDown_CountsFailedBatches_AndThrowsNothing(OtlpProtocol protocol)
    {
        var exporter = new OtlpSpanExporter(Options(protocol) with { Endpoint = new Uri($"http://127.0.0.1:{ClosedPort()}") });
        Enqueue(exporter, 25);

        Assert.True(exporter.Flush(Wait));
        exporter.Dispose();

        Assert.InRange(exporter.FailedBatches, 3, 25);
        Assert.Equal(25, exporter.FailedSpans);
        Assert.Equal(0, exporter.Exported);
        Assert.Contains("Connection refused", exporter.LastError);
    }

    [Fact]
    public void GrpcErrorStatus_IsAFailedBatch_WithItsMessage()
    {
        _receiver.GrpcStatus = 14;
        _receiver.GrpcMessage = "collector overloaded: 100% full";
        using var exporter = new OtlpSpanExporter(Options(OtlpProtocol.Grpc));
        Enqueue(exporter, 1);

        Assert.True(exporter.Flush(Wait));

        Assert.Single(_receiver.Requests);
        Assert.Equal(1, exporter.FailedBatches);
        Assert.Equal(1, exporter.FailedSpans);
        Assert.Equal(0, exporter.Exported);
        Assert.Equal("gRPC status 14: collector overloaded: 100% full", exporter.LastError);
    }

    [Theory]
    [InlineData(503, 2)]
    [InlineData(429, 2)]
    [InlineData(400, 1)]
    public void HttpErrorStatus_IsAFailedBatch_RetriedOnceWhenRetryable(int status, int requests)
    {
        _receiver.HttpStatus = status;
        using var exporter = new OtlpSpanExporter(Options(OtlpProtocol.HttpProtobuf));
        Enqueue(exporter, 1);

        Assert.True(exporter.Flush(Wait));

        Assert.Equal(requests, _receiver.Requests.Count);
        Assert.Equal(1, exporter.FailedBatches);
        Assert.StartsWith($"HTTP {status} ", exporter.LastError);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void PartialSuccess_CountsTheRejectedSpans_WithTheCollectorsMessage(OtlpProtocol protocol)
    {
        _receiver.RejectedSpans = 2;
        _receiver.RejectMessage = "2 spans too old";
        using var exporter = new OtlpSpanExporter(Options(protocol));
        Enqueue(exporter, 5);

        Assert.True(exporter.Flush(Wait));

        Assert.Equal(3, exporter.Exported);
        Assert.Equal(2, exporter.FailedSpans);
        Assert.Equal(0, exporter.FailedBatches);
        Assert.Equal("collector rejected 2 of 5 spans: 2 spans too old", exporter.LastError);
    }

    [Theory]
    [MemberData(nameof(Protocols))]
    public void ACollectorThatDoesNotAnswer_FailsTheBatchAtTheTimeout_AndDisposeIsBounded(OtlpProtocol protocol)
    {
        _receiver.Delay = TimeSpan.FromSeconds(30);
        var exporter = new OtlpSpanExporter(Options(protocol) with { Timeout = TimeSpan.FromMilliseconds(500) });
        Enqueue(exporter, 1);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        exporter.Dispose();

        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.Equal(1, exporter.FailedBatches + exporter.Dropped);
        Assert.Equal(0, exporter.Exported);
    }

    [Fact]
    public void ManyThreadsEnqueueing_EverySpanIsExportedOrDropped()
    {
        using var exporter = new OtlpSpanExporter(Options(OtlpProtocol.Grpc) with { MaxQueueSize = 500, MaxBatchSize = 50 });
        var processes = Enumerable.Range(0, 20).Select(i => Process(1000 + i, $"/usr/bin/p{i}")).ToArray();
        long accepted = 0;

        Parallel.For(0, 4000, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            if (exporter.TryEnqueue(Numbered(processes[i % processes.Length], i)))
            {
                Interlocked.Increment(ref accepted);
            }
        });
        Assert.True(exporter.Flush(Wait));

        Assert.Equal(accepted, exporter.Exported);
        Assert.Equal(4000, exporter.Exported + exporter.Dropped);
        var spans = _receiver.Spans();
        Assert.Equal(accepted, spans.Count);
        Assert.Equal(spans.Count, spans.Select(s => s.Attributes["i"]).Distinct().Count());
        Assert.All(_receiver.ResourceSpans(), r => Assert.All(r.Spans, s =>
            Assert.Equal(1000L + (long)s.Attributes["i"] % 20, r.Resource["process.pid"])));
    }

    [Theory]
    [InlineData("http://collector:4318", OtlpProtocol.HttpProtobuf, "http://collector:4318/v1/traces")]
    [InlineData("http://collector:4318/", OtlpProtocol.HttpProtobuf, "http://collector:4318/v1/traces")]
    [InlineData("https://collector/otlp/v1/traces", OtlpProtocol.HttpProtobuf, "https://collector/otlp/v1/traces")]
    [InlineData("https://collector/otlp", OtlpProtocol.HttpProtobuf, "https://collector/otlp/v1/traces")]
    [InlineData("http://collector:4317", OtlpProtocol.Grpc, "http://collector:4317/opentelemetry.proto.collector.trace.v1.TraceService/Export")]
    public void Endpoint_NamesTheSignalPath(string endpoint, OtlpProtocol protocol, string uri)
    {
        using var exporter = new OtlpSpanExporter(new OtlpExporterOptions { Endpoint = new Uri(endpoint), Protocol = protocol });

        Assert.Equal(uri, exporter.Uri.ToString());
    }

    /// <summary>Spans 0 to count-1 of one process.</summary>
    private static void Enqueue(OtlpSpanExporter exporter, int count)
    {
        var process = Process(1, "/bin/sh");
        for (int i = 0; i < count; i++)
        {
            exporter.TryEnqueue(Numbered(process, i));
        }
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
