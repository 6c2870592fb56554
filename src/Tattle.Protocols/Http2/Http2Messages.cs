using Tattle.Protocols.Common;
using Tattle.Protocols.Http;
using Tattle.Protocols.Http1;
using Tattle.Records;

namespace Tattle.Protocols.Http2;

/// <summary>
/// One HTTP/2 stream: the request and its response, paired by stream id (RFC 9113 section 5). Either side may be
/// missing or partial: a stream opened before tracing began, a stream cut by the connection's end.
/// </summary>
public sealed record Http2Exchange : ProtocolMessage
{
    public required int StreamId { get; init; }

    /// <summary>The :method pseudo-header (null when the request was never seen, or its field not decodable).</summary>
    public string? Method { get; init; }

    /// <summary>The :path pseudo-header, secrets in its query replaced when redacting.</summary>
    public string? Path { get; init; }

    public string? Authority { get; init; }

    public string? Scheme { get; init; }

    /// <summary>The final response's :status.</summary>
    public int? Status { get; init; }

    /// <summary>The request's fields, pseudo-headers left out (they are the properties above).</summary>
    public IReadOnlyList<HttpHeader> RequestHeaders { get; init; } = [];

    /// <summary>The final response's fields, pseudo-headers left out.</summary>
    public IReadOnlyList<HttpHeader> ResponseHeaders { get; init; } = [];

    /// <summary>Trailer fields: a header block after the data of either side (request trailers first).</summary>
    public IReadOnlyList<HttpHeader> Trailers { get; init; } = [];

    /// <summary>Frame payload bytes (HEADERS, CONTINUATION, DATA; padding included) the client sent on the stream.</summary>
    public long RequestBytes { get; init; }

    /// <summary>Frame payload bytes (HEADERS, CONTINUATION, DATA; padding included) the server sent on the stream.</summary>
    public long ResponseBytes { get; init; }

    /// <summary>Up to the body limit, the request's DATA (padding removed).</summary>
    public ReadOnlyMemory<byte> RequestBody { get; init; }

    /// <summary>Up to the body limit, the response's DATA (padding removed).</summary>
    public ReadOnlyMemory<byte> ResponseBody { get; init; }

    public string? RequestContentEncoding { get; init; }

    public string? ResponseContentEncoding { get; init; }

    /// <summary>Interim 1xx statuses (103 Early Hints, 100 Continue) that came before the final response.</summary>
    public IReadOnlyList<int> Interim { get; init; } = [];

    /// <summary>The RST_STREAM or GOAWAY that ended the stream, if one did.</summary>
    public Http2StreamError? Error { get; init; }

    /// <summary>
    /// A header block referred to a dynamic-table entry never seen (tracing began mid-connection, bytes were lost)
    /// or could not be read: the fields it carried are missing, never guessed.
    /// </summary>
    public bool HeadersIncomplete { get; init; }

    /// <summary>A pushed stream (RFC 9113 section 8.4): the stream whose PUSH_PROMISE announced it.</summary>
    public int? PromisedBy { get; init; }

    /// <summary>Payload bytes of the stream's DATA frames that were never seen (a gap inside a frame).</summary>
    public long UnseenBytes { get; init; }

    /// <summary>The stream's end was never seen: the connection closed, or the stream table overflowed.</summary>
    public bool Truncated { get; init; }

    /// <summary>What the stream says as a gRPC call, when its content-type is application/grpc.</summary>
    public GrpcCall? Grpc { get; init; }

    public override MessageRecord ToRecord(IMessageContext context)
    {
        if (Authority is { Length: > 0 } authority)
        {
            context.NameServer(authority);
        }
        bool answered = Status is not null || Grpc?.StatusCode is not null;
        return new HttpRecord(context.Header(StartNs))
        {
            LatencyMs = Method is not null && answered ? IMessageContext.Latency(StartNs, EndNs) : null,
            Method = Method,
            Path = Path,
            Host = Authority,
            Version = "2",
            Stream = StreamId,
            Status = Status,
            ReqBytes = Method is null && RequestBytes == 0 ? null : RequestBytes,
            RespBytes = Status is null && ResponseBytes == 0 ? null : ResponseBytes,
            ReqHeaders = Method is null && RequestHeaders.Count == 0 ? null : RequestHeaders,
            RespHeaders = Status is null && ResponseHeaders.Count == 0 ? null : ResponseHeaders,
            ReqBody = RequestBody,
            RespBody = ResponseBody,
            ReqContentEncoding = RequestContentEncoding,
            RespContentEncoding = ResponseContentEncoding,
            Interim = Interim,
            UnseenBytes = UnseenBytes,
            Trailers = Trailers.Count > 0 ? Trailers : null,
            Truncated = Truncated,
            Error = Error,
            HeadersIncomplete = HeadersIncomplete,
            PromisedBy = PromisedBy,
            Grpc = Grpc,
            Tls = context.Tls,
            Sni = context.Tls ? context.Sni : null,
            TlsSession = context.TlsSession,
        };
    }
}

/// <summary>The frame that ended a stream with an error code (RFC 9113 section 7).</summary>
/// <param name="Frame">"RST_STREAM" or "GOAWAY".</param>
/// <param name="Code">The error code as sent.</param>
/// <param name="Name">The code's name ("CANCEL"), or its number in hex for codes RFC 9113 does not define.</param>
/// <param name="By">"client" or "server": who sent the frame.</param>
public sealed record Http2StreamError(string Frame, uint Code, string Name, string By);

/// <summary>A gRPC call carried by one stream (gRPC over HTTP/2, PROTOCOL-HTTP2.md in grpc/grpc).</summary>
public sealed record GrpcCall
{
    /// <summary>From :path "/package.Service/Method": "package.Service".</summary>
    public required string Service { get; init; }

    public required string Method { get; init; }

    /// <summary>grpc-status from the trailers or a trailers-only response; null when the stream ended without it.</summary>
    public int? StatusCode { get; init; }

    /// <summary>The status code's name ("OK", "NOT_FOUND"); null without a status.</summary>
    public string? StatusName { get; init; }

    /// <summary>grpc-message, percent-decoded.</summary>
    public string? Message { get; init; }

    /// <summary>Length-prefixed messages the client sent (a message cut by the stream's end counts).</summary>
    public int RequestMessages { get; init; }

    public int ResponseMessages { get; init; }

    /// <summary>The messages' bytes as their prefixes declare them (the 5-byte prefixes left out).</summary>
    public long RequestMessageBytes { get; init; }

    public long ResponseMessageBytes { get; init; }

    /// <summary>A message of either side had its compressed flag set (grpc-encoding says how).</summary>
    public bool Compressed { get; init; }
}

/// <summary>Connection-level frames an HTTP/2 parser has seen, both directions together.</summary>
public sealed class Http2ConnectionCounters
{
    /// <summary>SETTINGS frames, acknowledgements included.</summary>
    public long Settings { get; internal set; }

    /// <summary>PING frames, acknowledgements included.</summary>
    public long Pings { get; internal set; }

    public long WindowUpdates { get; internal set; }

    public long Priorities { get; internal set; }

    public long GoAways { get; internal set; }

    /// <summary>Frames of types RFC 9113 does not define, ignored as section 5.5 says.</summary>
    public long UnknownFrames { get; internal set; }

    /// <summary>Streams reported early (truncated) because the stream table was full.</summary>
    public long EvictedStreams { get; internal set; }

    /// <summary>Streams reported, complete or not.</summary>
    public long Streams { get; internal set; }
}

/// <summary>An HTTP/2 connection's frames that belong to no stream, counted when the connection ends.</summary>
public sealed record Http2ConnectionSummary : ProtocolMessage
{
    public required Http2ConnectionCounters Counters { get; init; }

    public override MessageRecord ToRecord(IMessageContext context) =>
        new Http2ConnectionRecord(context.Header(StartNs))
        {
            Streams = Counters.Streams,
            Settings = Counters.Settings,
            Pings = Counters.Pings,
            WindowUpdates = Counters.WindowUpdates,
            Priorities = Counters.Priorities,
            GoAways = Counters.GoAways,
            UnknownFrames = Counters.UnknownFrames,
            EvictedStreams = Counters.EvictedStreams,
            DurationMs = IMessageContext.Latency(StartNs, EndNs),
            Tls = context.Tls,
        };
}
