using Tattle.Protocols.Common;
using Tattle.Protocols.Http2;
using Tattle.Records;

namespace Tattle.Protocols.Http;

/// <summary>An HTTP/2 stream's record, filled from its exchange (here, beside the parser that makes it).</summary>
public sealed partial record HttpRecord
{
    /// <summary>
    /// Sets every field, so that a record made for an earlier message of the connection (an h2c connection's HTTP/1
    /// upgrade included) is this stream's once it returns; those no HTTP/2 stream shows go back to their defaults.
    /// </summary>
    internal HttpRecord Fill(in MessageHeader header, Http2Exchange exchange, IMessageContext context)
    {
        bool answered = exchange.Status is not null || exchange.Grpc?.StatusCode is not null;
        Refill(in header, exchange.Method is not null && answered ? IMessageContext.Latency(exchange.StartNs, exchange.EndNs) : null);
        _method = exchange.Method;
        _path = exchange.Path;
        _host = exchange.Authority;
        _version = "2";
        _status = exchange.Status;
        _reqBytes = exchange.Method is null && exchange.RequestBytes == 0 ? null : exchange.RequestBytes;
        _respBytes = exchange.Status is null && exchange.ResponseBytes == 0 ? null : exchange.ResponseBytes;
        _reqHeaders = exchange.Method is null && exchange.RequestHeaders.Count == 0 ? null : exchange.RequestHeaders;
        _respHeaders = exchange.Status is null && exchange.ResponseHeaders.Count == 0 ? null : exchange.ResponseHeaders;
        _reqBody = exchange.RequestBody;
        _respBody = exchange.ResponseBody;
        _reqContentEncoding = exchange.RequestContentEncoding;
        _respContentEncoding = exchange.ResponseContentEncoding;
        _upgrade = null;
        _interim = exchange.Interim;
        _unseenBytes = exchange.UnseenBytes;
        _trailers = exchange.Trailers.Count > 0 ? exchange.Trailers : null;
        _truncated = exchange.Truncated;
        _tls = context.Tls;
        _sni = context.Tls ? context.Sni : null;
        _tlsSession = context.TlsSession;
        _stream = exchange.StreamId;
        _error = exchange.Error;
        _headersIncomplete = exchange.HeadersIncomplete;
        _promisedBy = exchange.PromisedBy;
        _grpc = exchange.Grpc;
        _inKernel = false;
        return this;
    }
}
