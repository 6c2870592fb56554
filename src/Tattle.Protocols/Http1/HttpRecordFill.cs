using Tattle.Protocols.Common;
using Tattle.Protocols.Http1;
using Tattle.Records;

namespace Tattle.Protocols.Http;

/// <summary>An HTTP/1 exchange's record, filled from its request and response (here, beside the parser that makes them).</summary>
public sealed partial record HttpRecord
{
    /// <summary>
    /// Sets every field, so that a record made for an earlier message of the connection (an h2c connection's last
    /// HTTP/2 stream included) is this exchange's once it returns; those no HTTP/1 exchange shows go back to their
    /// defaults.
    /// </summary>
    internal HttpRecord Fill(in MessageHeader header, HttpExchange exchange, IMessageContext context)
    {
        var req = exchange.Request;
        var resp = exchange.Response;
        Refill(in header, req is not null && resp is not null ? IMessageContext.Latency(exchange.StartNs, exchange.EndNs) : null);
        Refilled.Set(ref _method, req?.Method);
        Refilled.Set(ref _path, req?.Target);
        Refilled.Set(ref _host, req?.Host);
        Refilled.Set(ref _version, (req ?? (HttpMessageInfo?)resp)?.Version);
        _status = resp?.Status;
        _reqBytes = req is null ? null : req.HeadBytes + req.BodyBytes;
        _respBytes = resp is null ? null : resp.HeadBytes + resp.BodyBytes;
        // The message's own arrays: a record shares them instead of copying each field.
        Refilled.Set(ref _reqHeaders, req?.Headers);
        Refilled.Set(ref _respHeaders, resp?.Headers);
        Refilled.Set(ref _reqBody, req?.Body ?? default);
        Refilled.Set(ref _respBody, resp?.Body ?? default);
        Refilled.Set(ref _reqContentEncoding, req?.ContentEncoding);
        Refilled.Set(ref _respContentEncoding, resp?.ContentEncoding);
        Refilled.Set(ref _upgrade, exchange.Upgrade);
        Refilled.Set(ref _interim, exchange.Interim);
        _unseenBytes = (req?.UnseenBytes ?? 0) + (resp?.UnseenBytes ?? 0);
        Refilled.Set(ref _trailers, (req?.Trailers.Count ?? 0) + (resp?.Trailers.Count ?? 0) > 0
            ? [.. req?.Trailers ?? [], .. resp?.Trailers ?? []] : null);
        _truncated = (req?.Truncated ?? false) || (resp?.Truncated ?? false);
        _tls = context.Tls;
        Refilled.Set(ref _sni, context.Tls ? context.Sni : null);
        Refilled.Set(ref _tlsSession, context.TlsSession);
        _stream = null;
        Refilled.Set(ref _error, null);
        _headersIncomplete = false;
        _promisedBy = null;
        Refilled.Set(ref _grpc, null);
        _inKernel = false;
        return this;
    }
}
