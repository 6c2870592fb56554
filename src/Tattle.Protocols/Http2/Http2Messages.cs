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
    public int StreamId { get; internal set; }

    /// <summary>The :method pseudo-header (null when the request was never seen, or its field not decodable).</summary>
    public string? Method { get; internal set; }

    /// <summary>The :path pseudo-header, secrets in its query replaced when redacting.</summary>
    public string? Path { get; internal set; }

    public string? Authority { get; internal set; }

    public string? Scheme { get; internal set; }

    /// <summary>The final response's :status.</summary>
    public int? Status { get; internal set; }

    /// <summary>The request's fields, pseudo-headers left out (they are the properties above).</summary>
    public IReadOnlyList<HttpHeader> RequestHeaders { get; internal set; } = [];

    /// <summary>The final response's fields, pseudo-headers left out.</summary>
    public IReadOnlyList<HttpHeader> ResponseHeaders { get; internal set; } = [];

    /// <summary>Trailer fields: a header block after the data of either side (request trailers first).</summary>
    public IReadOnlyList<HttpHeader> Trailers { get; internal set; } = [];

    /// <summary>Frame payload bytes (HEADERS, CONTINUATION, DATA; padding included) the client sent on the stream.</summary>
    public long RequestBytes { get; internal set; }

    /// <summary>Frame payload bytes (HEADERS, CONTINUATION, DATA; padding included) the server sent on the stream.</summary>
    public long ResponseBytes { get; internal set; }

    /// <summary>Up to the body limit, the request's DATA (padding removed).</summary>
    public ReadOnlyMemory<byte> RequestBody { get; internal set; }

    /// <summary>Up to the body limit, the response's DATA (padding removed).</summary>
    public ReadOnlyMemory<byte> ResponseBody { get; internal set; }

    public string? RequestContentEncoding { get; internal set; }

    public string? ResponseContentEncoding { get; internal set; }

    /// <summary>Interim 1xx statuses (103 Early Hints, 100 Continue) that came before the final response.</summary>
    public IReadOnlyList<int> Interim { get; internal set; } = [];

    /// <summary>The RST_STREAM or GOAWAY that ended the stream, if one did.</summary>
    public Http2StreamError? Error { get; internal set; }

    /// <summary>
    /// A header block referred to a dynamic-table entry never seen (tracing began mid-connection, bytes were lost)
    /// or could not be read: the fields it carried are missing, never guessed.
    /// </summary>
    public bool HeadersIncomplete { get; internal set; }

    /// <summary>A pushed stream (RFC 9113 section 8.4): the stream whose PUSH_PROMISE announced it.</summary>
    public int? PromisedBy { get; internal set; }

    /// <summary>Payload bytes of the stream's DATA frames that were never seen (a gap inside a frame).</summary>
    public long UnseenBytes { get; internal set; }

    /// <summary>The stream's end was never seen: the connection closed, or the stream table overflowed.</summary>
    public bool Truncated { get; internal set; }

    /// <summary>What the stream says as a gRPC call, when its content-type is application/grpc.</summary>
    public GrpcCall? Grpc { get; internal set; }

    /// <summary>
    /// Sets every field from the stream that ended: a new exchange, or the one the parser refills for a sink that
    /// consumes each message at once (<see cref="IMessageSink.ConsumesAtOnce"/>).
    /// </summary>
    internal Http2Exchange Fill(Http2Stream stream, bool truncated)
    {
        Retime(stream.StartNs, stream.EndNs);
        StreamId = stream.Id;
        Method = stream.Method;
        Path = stream.Path;
        Authority = stream.Authority;
        Scheme = stream.Scheme;
        Status = stream.Status;
        RequestHeaders = stream.RequestHeaders ?? [];
        ResponseHeaders = stream.ResponseHeaders ?? [];
        Trailers = stream.Trailers ?? [];
        RequestBytes = stream.Request.Bytes;
        ResponseBytes = stream.Response.Bytes;
        RequestBody = stream.Request.Body;
        ResponseBody = stream.Response.Body;
        RequestContentEncoding = stream.Request.ContentEncoding;
        ResponseContentEncoding = stream.Response.ContentEncoding;
        Interim = (IReadOnlyList<int>?)stream.Interim ?? [];
        Error = stream.Error;
        HeadersIncomplete = stream.HeadersIncomplete;
        PromisedBy = stream.PromisedBy;
        UnseenBytes = stream.UnseenBytes;
        Truncated = truncated;
        Grpc = stream.IsGrpc ? stream.ToGrpcCall(Grpc) : null;
        return this;
    }

    public override MessageRecord ToRecord(IMessageContext context)
    {
        if (Authority is { Length: > 0 } authority)
        {
            context.NameServer(authority, HostSource.Http);
        }
        var header = context.Header(StartNs);
        return HttpRecord.ToFill(context, in header).Fill(in header, this, context);
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
