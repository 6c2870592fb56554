using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;

namespace Tattle.Output.Otlp;

/// <summary>The outcome of one export request: spans the collector took, or why it did not.</summary>
internal readonly record struct OtlpSendResult(bool Ok, string? Error, long Rejected = 0)
{
    public static OtlpSendResult Failed(string error) => new(false, error);
}

/// <summary>
/// Posts encoded ExportTraceServiceRequests with <see cref="HttpClient"/>: OTLP/HTTP (protobuf body, 2xx) or
/// OTLP/gRPC (HTTP/2, a length-prefixed message, grpc-status in the trailers). Never throws for the network or
/// the collector's answer: it returns what happened.
/// </summary>
internal sealed class OtlpTraceSender : IDisposable
{
    private const string GrpcPath = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    private const string HttpPath = "/v1/traces";
    // One retry of a throttled request, after the wait the collector asks for but never longer than this.
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan DefaultRetryDelay = TimeSpan.FromMilliseconds(200);

    private readonly HttpClient _client;
    private readonly OtlpExporterOptions _options;

    public OtlpTraceSender(OtlpExporterOptions options)
    {
        _options = options;
        Uri = TracesUri(options.Endpoint, options.Protocol);
        _client = new HttpClient(new SocketsHttpHandler { ConnectTimeout = options.Timeout })
        {
            // Each send has a token that ends at the options' Timeout, retry included.
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
        };
    }

    public Uri Uri { get; }

    /// <summary>The URI a protocol posts to, from an endpoint given as a base or, for http/protobuf, as the full path.</summary>
    public static Uri TracesUri(Uri endpoint, OtlpProtocol protocol)
    {
        string path = endpoint.AbsolutePath.TrimEnd('/');
        string full = protocol == OtlpProtocol.Grpc ? path + GrpcPath
            : path.EndsWith(HttpPath, StringComparison.Ordinal) ? path
            : path + HttpPath;
        return new UriBuilder(endpoint) { Path = full }.Uri;
    }

    /// <summary>gRPC: the request given to <see cref="SendAsync"/> is already framed as a gRPC message.</summary>
    public bool WantsGrpcFrame => _options.Protocol == OtlpProtocol.Grpc;

    /// <summary>
    /// Posts one ExportTraceServiceRequest: <paramref name="request"/> is its protobuf bytes, after the gRPC message
    /// header when <see cref="WantsGrpcFrame"/>.
    /// </summary>
    public async Task<OtlpSendResult> SendAsync(ArraySegment<byte> request, CancellationToken cancel)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(_options.Timeout);
        try
        {
            return _options.Protocol == OtlpProtocol.Grpc
                ? await SendGrpcAsync(request, timeout.Token).ConfigureAwait(false)
                : await SendHttpAsync(request, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            return OtlpSendResult.Failed($"no answer from {Uri} within {_options.Timeout.TotalSeconds:0.###} s");
        }
        catch (OperationCanceledException)
        {
            return OtlpSendResult.Failed("exporter stopped");
        }
        catch (HttpRequestException e)
        {
            return OtlpSendResult.Failed($"{Uri}: {Innermost(e)}");
        }
    }

    private async Task<OtlpSendResult> SendHttpAsync(ArraySegment<byte> request, CancellationToken cancel)
    {
        for (int attempt = 0; ; attempt++)
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, Uri) { Content = new ByteArrayContent(request.Array!, request.Offset, request.Count) };
            message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
            AddHeaders(message);
            using var response = await _client.SendAsync(message, cancel).ConfigureAwait(false);
            byte[] body = await response.Content.ReadAsByteArrayAsync(cancel).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                var (rejected, why) = OtlpResponses.PartialSuccess(body, 0, body.Length);
                return new OtlpSendResult(true, why, rejected);
            }
            if (attempt == 0 && Retryable(response.StatusCode))
            {
                await Task.Delay(RetryDelay(response), cancel).ConfigureAwait(false);
                continue;
            }
            string? detail = OtlpResponses.StatusMessage(body);
            return OtlpSendResult.Failed($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}{(detail is null ? "" : ": " + detail)}");
        }
    }

    private async Task<OtlpSendResult> SendGrpcAsync(ArraySegment<byte> framed, CancellationToken cancel)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, Uri)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(framed.Array!, framed.Offset, framed.Count),
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        message.Headers.TryAddWithoutValidation("te", "trailers");
        AddHeaders(message);
        using var response = await _client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancel).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return OtlpSendResult.Failed($"HTTP {(int)response.StatusCode} {response.ReasonPhrase} (gRPC wants 200)");
        }
        // Trailers arrive after the body; a trailers-only answer carries grpc-status in its headers.
        byte[] body = await response.Content.ReadAsByteArrayAsync(cancel).ConfigureAwait(false);
        string? status = Header(response.TrailingHeaders, "grpc-status") ?? Header(response.Headers, "grpc-status");
        if (status is null)
        {
            return OtlpSendResult.Failed("gRPC answer without grpc-status");
        }
        if (status != "0")
        {
            string? why = Header(response.TrailingHeaders, "grpc-message") ?? Header(response.Headers, "grpc-message");
            return OtlpSendResult.Failed($"gRPC status {status}{(why is null ? "" : ": " + Uri.UnescapeDataString(why))}");
        }
        const int header = OtlpTraceEncoder.GrpcHeaderBytes;
        if (body.Length >= header && BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(1)) is var length && length >= 0 && length <= body.Length - header)
        {
            var (rejected, why) = OtlpResponses.PartialSuccess(body, header, length);
            return new OtlpSendResult(true, why, rejected);
        }
        return new OtlpSendResult(true, null);
    }

    private void AddHeaders(HttpRequestMessage message)
    {
        foreach (var (name, value) in _options.Headers)
        {
            message.Headers.TryAddWithoutValidation(name, value);
        }
    }

    private static bool Retryable(HttpStatusCode code) =>
        code is HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    private static TimeSpan RetryDelay(HttpResponseMessage response)
    {
        var retryAfter = response.Headers.RetryAfter;
        var wait = retryAfter?.Delta ?? (retryAfter?.Date is { } date ? date - DateTimeOffset.UtcNow : DefaultRetryDelay);
        return wait < TimeSpan.Zero ? TimeSpan.Zero : wait > MaxRetryDelay ? MaxRetryDelay : wait;
    }

    private static string? Header(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static string Innermost(Exception e)
    {
        while (e.InnerException is { } inner)
        {
            e = inner;
        }
        return e.Message;
    }

    public void Dispose() => _client.Dispose();
}
