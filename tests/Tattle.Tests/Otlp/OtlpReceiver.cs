using System.Buffers.Binary;
using System.Net;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Tattle.Tests.Otlp;

/// <summary>
/// One request the receiver took: its path, HTTP version (HTTP/2, HTTP/1.1), content type, headers (lower-case
/// names) and body (a gRPC body without its 5-byte prefix).
/// </summary>
public sealed record OtlpReceivedRequest(
    string Path, string HttpVersion, string ContentType, bool Grpc, byte[] Body, IReadOnlyDictionary<string, string> Headers);

/// <summary>
/// An in-process OTLP collector on 127.0.0.1: gRPC over h2c on <see cref="GrpcEndpoint"/> and http/protobuf on
/// <see cref="HttpEndpoint"/>, for traces and metrics. It records every request and answers success, or what
/// <see cref="GrpcStatus"/> and <see cref="HttpStatus"/> say.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable, IDisposable
{
    public const string TracesGrpcPath = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    public const string MetricsGrpcPath = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
    public const string TracesHttpPath = "/v1/traces";
    public const string MetricsHttpPath = "/v1/metrics";

    private readonly WebApplication _app;
    private readonly List<OtlpReceivedRequest> _requests = [];
    private readonly ListenOptions[] _listen = new ListenOptions[2];

    private OtlpReceiver(WebApplication app) => _app = app;

    /// <summary>gRPC status answered to gRPC requests (0: OK).</summary>
    public int GrpcStatus { get; set; }

    /// <summary>grpc-message sent with a non-zero <see cref="GrpcStatus"/>.</summary>
    public string GrpcMessage { get; set; } = "";

    /// <summary>HTTP status answered to http/protobuf requests.</summary>
    public int HttpStatus { get; set; } = 200;

    /// <summary>How long the receiver holds each request before it answers.</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>When above 0, a successful answer is a partial success rejecting this many spans.</summary>
    public long RejectedSpans { get; set; }

    /// <summary>The partial success's error_message.</summary>
    public string RejectMessage { get; set; } = "";

    /// <summary>h2c with prior knowledge: http://127.0.0.1:PORT.</summary>
    public Uri GrpcEndpoint => Endpoint(0);

    /// <summary>HTTP/1.1: http://127.0.0.1:PORT.</summary>
    public Uri HttpEndpoint => Endpoint(1);

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var listen = new ListenOptions[2];
        builder.WebHost.ConfigureKestrel(k =>
        {
            // A cleartext endpoint takes h2c prior knowledge only when it speaks nothing but HTTP/2.
            k.Listen(IPAddress.Loopback, 0, o => { o.Protocols = HttpProtocols.Http2; listen[0] = o; });
            k.Listen(IPAddress.Loopback, 0, o => { o.Protocols = HttpProtocols.Http1; listen[1] = o; });
        });
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.Run(receiver.HandleAsync);
        await app.StartAsync();
        listen.CopyTo(receiver._listen, 0);
        return receiver;
    }

    /// <summary>Every request so far.</summary>
    public IReadOnlyList<OtlpReceivedRequest> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>The spans of every trace request so far, in arrival order.</summary>
    public List<DecodedSpan> Spans() => [.. TraceRequests().SelectMany(r => OtlpTraceDecoder.Spans(r.Body))];

    /// <summary>The resources of every trace request so far.</summary>
    public List<DecodedResourceSpans> ResourceSpans() =>
        [.. TraceRequests().SelectMany(r => OtlpTraceDecoder.TryDecode(r.Body, out var rs, out var e) ? rs : throw new InvalidDataException(e))];

    /// <summary>Waits until <paramref name="count"/> spans have arrived; returns all that arrived (fewer on timeout).</summary>
    public List<DecodedSpan> WaitForSpans(int count, TimeSpan timeout) => WaitFor(() => Spans(), s => s.Count >= count, timeout);

    /// <summary>Waits until <paramref name="count"/> requests have arrived; returns all that arrived.</summary>
    public IReadOnlyList<OtlpReceivedRequest> WaitForRequests(int count, TimeSpan timeout) => WaitFor(() => Requests, r => r.Count >= count, timeout);

    /// <summary>The metrics of every metrics request so far.</summary>
    public List<DecodedMetric> Metrics() =>
        [.. Requests.Where(r => r.Path is MetricsGrpcPath or MetricsHttpPath).SelectMany(r => OtlpMetricsDecoder.Metrics(r.Body))];

    private IEnumerable<OtlpReceivedRequest> TraceRequests() => Requests.Where(r => r.Path is TracesGrpcPath or TracesHttpPath);

    private T WaitFor<T>(Func<T> get, Func<T, bool> done, TimeSpan timeout)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        lock (_requests)
        {
            while (true)
            {
                var value = get();
                long left = deadline - Environment.TickCount64;
                if (done(value) || left <= 0)
                {
                    return value;
                }
                Monitor.Wait(_requests, TimeSpan.FromMilliseconds(left));
            }
        }
    }

    private Uri Endpoint(int i) => new($"http://127.0.0.1:{_listen[i].IPEndPoint!.Port}");

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        string path = request.Path.Value ?? "";
        bool grpc = request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true;
        if (request.Method != "POST" || path is not (TracesGrpcPath or MetricsGrpcPath or TracesHttpPath or MetricsHttpPath))
        {
            response.StatusCode = 404;
            return;
        }
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer);
        byte[] body = buffer.ToArray();
        if (grpc)
        {
            body = body.Length >= 5 ? body[5..(5 + BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(1)))] : [];
        }
        var headers = request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        lock (_requests)
        {
            _requests.Add(new OtlpReceivedRequest(path, request.Protocol, request.ContentType ?? "", grpc, body, headers));
            Monitor.PulseAll(_requests);
        }

        if (Delay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(Delay, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        if (grpc)
        {
            response.StatusCode = 200;
            response.ContentType = "application/grpc";
            if (GrpcStatus != 0)
            {
                // Trailers-only: the status in the one HEADERS frame, no body.
                response.Headers["grpc-status"] = GrpcStatus.ToString();
                response.Headers["grpc-message"] = Uri.EscapeDataString(GrpcMessage);
                return;
            }
            byte[] answer = ExportResponse();
            var framed = new byte[5 + answer.Length];
            BinaryPrimitives.WriteInt32BigEndian(framed.AsSpan(1), answer.Length);
            answer.CopyTo(framed, 5);
            await response.Body.WriteAsync(framed);
            response.AppendTrailer("grpc-status", "0");
            return;
        }
        response.StatusCode = HttpStatus;
        response.ContentType = "application/x-protobuf";
        if (HttpStatus is >= 200 and < 300)
        {
            await response.Body.WriteAsync(ExportResponse());
        }
        if (HttpStatus is 429 or 503)
        {
            // Retry at once: the tests count retries, not seconds.
            response.Headers.RetryAfter = "0";
        }
    }

    /// <summary>
    /// Export*ServiceResponse{1 partial_success{1 rejected, 2 error_message}}: empty unless <see cref="RejectedSpans"/>
    /// is set.
    /// </summary>
    private byte[] ExportResponse()
    {
        if (RejectedSpans <= 0)
        {
            return [];
        }
        int inner = CodedOutputStream.ComputeTagSize(1) + CodedOutputStream.ComputeInt64Size(RejectedSpans)
            + CodedOutputStream.ComputeTagSize(2) + CodedOutputStream.ComputeStringSize(RejectMessage);
        var bytes = new byte[CodedOutputStream.ComputeTagSize(1) + CodedOutputStream.ComputeLengthSize(inner) + inner];
        var output = new CodedOutputStream(bytes);
        output.WriteTag(1, WireFormat.WireType.LengthDelimited);
        output.WriteLength(inner);
        output.WriteTag(1, WireFormat.WireType.Varint);
        output.WriteInt64(RejectedSpans);
        output.WriteTag(2, WireFormat.WireType.LengthDelimited);
        output.WriteString(RejectMessage);
        output.Flush();
        return bytes;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
