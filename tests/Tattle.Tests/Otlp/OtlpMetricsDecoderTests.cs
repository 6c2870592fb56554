using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Tattle.Tests.Support;

namespace Tattle.Tests.Otlp;

/// <summary>
/// OtlpMetricsDecoder on bytes protoc encodes from a minimal schema written from the OTLP field numbers (an
/// oracle independent of the decoder), and the receiver's metrics endpoints over both protocols.
/// </summary>
public sealed class OtlpMetricsDecoderTests(ITestOutputHelper output)
{
    // The fields the decoder reads, plus ResourceMetrics.schema_url (3), which it must skip.
    private const string Schema = """
        syntax = "proto3";
        package t;
        message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; } }
        message KeyValue { string key = 1; AnyValue value = 2; }
        message Resource { repeated KeyValue attributes = 1; }
        message Scope { string name = 1; string version = 2; }
        message NumberDataPoint { repeated KeyValue attributes = 7; fixed64 time_unix_nano = 3; oneof value { double as_double = 4; sfixed64 as_int = 6; } }
        message HistogramDataPoint {
          repeated KeyValue attributes = 9; fixed64 time_unix_nano = 3; fixed64 count = 4; optional double sum = 5;
          repeated fixed64 bucket_counts = 6; repeated double explicit_bounds = 7;
        }
        message Gauge { repeated NumberDataPoint data_points = 1; }
        message Sum { repeated NumberDataPoint data_points = 1; int32 aggregation_temporality = 2; bool is_monotonic = 3; }
        message Histogram { repeated HistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
        message Metric { string name = 1; string description = 2; string unit = 3; oneof data { Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9; } }
        message ScopeMetrics { Scope scope = 1; repeated Metric metrics = 2; }
        message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; string schema_url = 3; }
        message Request { repeated ResourceMetrics resource_metrics = 1; }
        """;

    private const string Message = """
        resource_metrics {
          schema_url: "https://opentelemetry.io/schemas/1.26.0"
          scope_metrics {
            scope { name: "tattle" version: "1" }
            metrics {
              name: "tattle.connections" description: "connections opened" unit: "{connection}"
              sum {
                aggregation_temporality: 2 is_monotonic: true
                data_points { attributes { key: "proto" value { string_value: "tcp" } } time_unix_nano: 1000 as_int: -7 }
                data_points { attributes { key: "proto" value { string_value: "udp" } } time_unix_nano: 1000 as_int: 12 }
              }
            }
            metrics { name: "tattle.queue.fill" gauge { data_points { as_double: 0.25 } } }
            metrics {
              name: "http.client.request.duration" unit: "s"
              histogram {
                aggregation_temporality: 1
                data_points {
                  attributes { key: "http.response.status_code" value { int_value: 200 } }
                  count: 6 sum: 1.5 bucket_counts: [1, 2, 3] explicit_bounds: [0.1, 0.5]
                }
              }
            }
          }
          resource { attributes { key: "service.name" value { string_value: "tattle-agent" } } }
        }
        """;

    [SkippableFact]
    public void ProtocEncodedMetrics_DecodeToNamesKindsAndPoints()
    {
        Requires.Program(output, "protoc");

        var metrics = OtlpMetricsDecoder.Metrics(Encode());

        Assert.Equal(["tattle.connections", "tattle.queue.fill", "http.client.request.duration"], metrics.Select(m => m.Name));
        Assert.All(metrics, m => Assert.Equal("tattle-agent", m.Resource["service.name"]));
        Assert.All(metrics, m => Assert.Equal("tattle", m.Scope));
        var sum = metrics[0];
        Assert.Equal((DecodedMetricKind.Sum, 2, true, "{connection}", "connections opened"), (sum.Kind, sum.Temporality, sum.IsMonotonic, sum.Unit, sum.Description));
        Assert.Equal([("tcp", -7L), ("udp", 12L)], sum.Points.Select(p => ((string)p.Attributes["proto"], p.AsInt!.Value)));
        Assert.Equal(1000UL, sum.Points[0].TimeUnixNs);
        var gauge = metrics[1];
        Assert.Equal(DecodedMetricKind.Gauge, gauge.Kind);
        Assert.Equal(0.25, Assert.Single(gauge.Points).Value);
        var histogram = metrics[2];
        Assert.Equal((DecodedMetricKind.Histogram, 1, "s"), (histogram.Kind, histogram.Temporality, histogram.Unit));
        var point = Assert.Single(histogram.Points);
        Assert.Equal(200L, point.Attributes["http.response.status_code"]);
        Assert.Equal((6UL, 1.5), (point.Count, point.Sum!.Value));
        Assert.Equal([1UL, 2UL, 3UL], point.BucketCounts);
        Assert.Equal([0.1, 0.5], point.ExplicitBounds);
    }

    [SkippableFact]
    public async Task Receiver_TakesMetricsOverBothProtocols()
    {
        Requires.Program(output, "protoc");
        byte[] request = Encode();
        await using var receiver = await OtlpReceiver.StartAsync();
        using var client = new HttpClient();

        var http = new ByteArrayContent(request);
        http.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        var httpResponse = await client.PostAsync(new Uri(receiver.HttpEndpoint, OtlpReceiver.MetricsHttpPath), http);
        var framed = new byte[5 + request.Length];
        BinaryPrimitives.WriteInt32BigEndian(framed.AsSpan(1), request.Length);
        request.CopyTo(framed, 5);
        var grpc = new HttpRequestMessage(HttpMethod.Post, new Uri(receiver.GrpcEndpoint, OtlpReceiver.MetricsGrpcPath))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(framed),
        };
        grpc.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        var grpcResponse = await client.SendAsync(grpc);
        await grpcResponse.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, httpResponse.StatusCode);
        Assert.Equal("0", grpcResponse.TrailingHeaders.GetValues("grpc-status").Single());
        Assert.Equal([OtlpReceiver.MetricsHttpPath, OtlpReceiver.MetricsGrpcPath], receiver.Requests.Select(r => r.Path));
        Assert.All(receiver.Requests, r => Assert.Equal(request, r.Body));
        Assert.Equal(6, receiver.Metrics().Count);
    }

    [Fact]
    public void Garbage_IsAFalseReturn()
    {
        Assert.False(OtlpMetricsDecoder.TryDecode([0x0a, 0x05, 0x12, 0x09], out _, out var error));
        Assert.NotNull(error);
    }

    /// <summary>protoc --encode of <see cref="Message"/> with <see cref="Schema"/>.</summary>
    private static byte[] Encode()
    {
        var dir = Directory.CreateTempSubdirectory("tattle-otlp-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "m.proto"), Schema);
            var psi = new ProcessStartInfo("protoc", ["-I", dir, "--encode=t.Request", "m.proto"])
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = dir,
            };
            using var protoc = Process.Start(psi)!;
            var stderr = protoc.StandardError.ReadToEndAsync();
            using var bytes = new MemoryStream();
            var stdout = protoc.StandardOutput.BaseStream.CopyToAsync(bytes);
            protoc.StandardInput.Write(Message);
            protoc.StandardInput.Close();
            stdout.Wait();
            protoc.WaitForExit();
            Assert.True(protoc.ExitCode == 0, $"protoc --encode: {stderr.Result}");
            return bytes.ToArray();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
