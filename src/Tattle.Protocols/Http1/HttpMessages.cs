using Tattle.Protocols.Common;
using Tattle.Protocols.Http;
using Tattle.Records;

namespace Tattle.Protocols.Http1;

/// <summary>
/// The parts of a request or response head and body that records show. Only the parser sets them: for a sink that
/// consumes each message at once (<see cref="IMessageSink.ConsumesAtOnce"/>) it refills the same objects.
/// </summary>
public abstract record HttpMessageInfo
{
    /// <summary>"HTTP/1.1" or "HTTP/1.0".</summary>
    public string Version { get; internal set; } = "";

    public IReadOnlyList<HttpHeader> Headers { get; internal set; } = [];

    /// <summary>Bytes of the head (start line + headers + the empty line).</summary>
    public long HeadBytes { get; internal set; }

    /// <summary>Bytes of the body as sent on the wire (chunked framing included).</summary>
    public long BodyBytes { get; internal set; }

    /// <summary>Up to the body limit, the body's first bytes (de-chunked); empty by default.</summary>
    public ReadOnlyMemory<byte> Body { get; internal set; }

    /// <summary>The Content-Encoding header, if any ("gzip").</summary>
    public string? ContentEncoding { get; internal set; }

    /// <summary>Transfer-Encoding: chunked.</summary>
    public bool Chunked { get; internal set; }

    /// <summary>Part of the body was never seen (a gap inside it: lost events, snap length, sendfile).</summary>
    public long UnseenBytes { get; internal set; }

    /// <summary>The trailer fields of a chunked body (RFC 9112 section 7.1.2), redacted like headers.</summary>
    public IReadOnlyList<HttpHeader> Trailers { get; internal set; } = [];

    /// <summary>The message's end was never seen: the connection closed, or a gap hid where its body ended.</summary>
    public bool Truncated { get; internal set; }

    public long StartNs { get; internal set; }

    public long EndNs { get; internal set; }
}

/// <summary>An HTTP/1.x request.</summary>
public sealed record HttpRequest : HttpMessageInfo
{
    public string Method { get; internal set; } = "";

    /// <summary>The request-target as sent, query string included (secrets redacted when redaction is on).</summary>
    public string Target { get; internal set; } = "";

    /// <summary>The Host header (or the authority of an absolute-form target).</summary>
    public string? Host { get; internal set; }
}

/// <summary>An HTTP/1.x response.</summary>
public sealed record HttpResponse : HttpMessageInfo
{
    public int Status { get; internal set; }

    public string Reason { get; internal set; } = "";

    /// <summary>The body was delimited by the connection's close (no length, not chunked).</summary>
    public bool EndedAtClose { get; internal set; }
}

/// <summary>
/// A request paired with its response. Either side may be missing: a request the connection closed before
/// answering, or a response whose request was sent before tracing began.
/// </summary>
public sealed record HttpExchange : ProtocolMessage
{
    public HttpRequest? Request { get; internal set; }

    public HttpResponse? Response { get; internal set; }

    /// <summary>The protocol switched to after 101 (the Upgrade header: "websocket", "h2c"); parsing stops there.</summary>
    public string? Upgrade { get; internal set; }

    /// <summary>Interim 1xx responses (100 Continue) that preceded the final one.</summary>
    public IReadOnlyList<int> Interim { get; internal set; } = [];

    /// <summary>Refills an exchange the parser reuses; its request and response are the parser's too.</summary>
    internal HttpExchange Refill(long startNs, long endNs, HttpRequest? request, HttpResponse? response, string? upgrade, IReadOnlyList<int> interim)
    {
        Retime(startNs, endNs);
        Request = request;
        Response = response;
        Upgrade = upgrade;
        Interim = interim;
        return this;
    }

    public override MessageRecord ToRecord(IMessageContext context)
    {
        if (Request?.Host is { Length: > 0 } host)
        {
            context.NameServer(host, HostSource.Http);
        }
        var header = context.Header(StartNs);
        return HttpRecord.ToFill(context, in header).Fill(in header, this, context);
    }
}
