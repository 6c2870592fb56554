using System.Runtime.InteropServices;
using Tattle.Protocols.Http;
using Tattle.Protocols.Http1;
using Tattle.Protocols.Http2.Hpack;

namespace Tattle.Protocols.Http2;

/// <summary>What a header block is to the stream it belongs to.</summary>
internal enum BlockRole : byte
{
    /// <summary>The client's request headers (or, after them, its trailers).</summary>
    Request,

    /// <summary>A server's block: an interim or final response, or trailers, told apart by :status.</summary>
    Response,

    /// <summary>A PUSH_PROMISE's block: the request headers of the promised stream.</summary>
    Promise,
}

/// <summary>
/// Receives one decoded header block and files it on its stream: pseudo-headers into the stream's fields
/// (RFC 9113 section 8.3), the other fields as strings, redacted like HTTP/1's (<see cref="HttpStrings.FieldValue"/>).
/// A block whose stream is not followed is still decoded, to keep the HPACK table in step, and dropped here.
/// </summary>
internal sealed class Http2HeaderCollector(bool redact) : IHpackHeaderSink
{
    private Http2Stream? _stream;
    private BlockRole _role;
    private readonly List<HttpHeader> _fields = new(12);
    private int? _status;

    /// <summary>The block held a pseudo-header: it is a request's or response's head, not trailers.</summary>
    private bool _pseudo;

    /// <summary>The block named an entry never seen: what it lacks may have been a pseudo-header.</summary>
    private bool _unknown;

    /// <summary>
    /// The fields the last request (or promise) and the last response head were handed. A keep-alive peer sends the
    /// same fields again and again (a client's user-agent and accept, a server's content-type), which HPACK's
    /// dynamic table turns into the same strings: a block equal to the last one of its kind is handed the same
    /// array, never changed once handed, as HTTP/1's remembered blocks are.
    /// </summary>
    private HttpHeader[]? _lastRequest;

    private HttpHeader[]? _lastResponse;

    /// <summary>The last trailer section handed: a gRPC server's grpc-status, the same from call to call.</summary>
    private HttpHeader[]? _lastTrailers;

    public void Begin(Http2Stream? stream, BlockRole role)
    {
        _stream = stream;
        _role = role;
        _status = null;
        _pseudo = _unknown = false;
        _fields.Clear();
    }

    public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, int staticIndex)
    {
        if (_stream is null || name.IsEmpty)
        {
            return;
        }
        if (name[0] == (byte)':')
        {
            _pseudo = true;
            OnPseudoHeader(_stream, name, value);
            return;
        }
        string nameText = HttpStrings.HeaderName(name, out var role);
        string valueText = HttpStrings.FieldValue(value, role, redact);
        bool request = _role != BlockRole.Response;
        if (role == HeaderRole.ContentEncoding)
        {
            _stream.Half(request).ContentEncoding = valueText;
        }
        else if (nameText == "content-type" && (request || _stream.ContentType is null))
        {
            _stream.ContentType = valueText;
        }
        else if (!request && nameText is "grpc-status" or "grpc-message")
        {
            if (nameText == "grpc-status")
            {
                _stream.GrpcStatus = valueText;
            }
            else
            {
                _stream.GrpcMessage = valueText;
            }
        }
        _fields.Add(new HttpHeader(nameText, valueText));
    }

    public void OnUnknownHeader(ReadOnlySpan<byte> value, bool nameOnly)
    {
        // The field named an entry added before tracing saw the connection: it is left out, never guessed.
        _unknown = true;
        if (_stream is not null)
        {
            _stream.HeadersIncomplete = true;
        }
    }

    /// <summary>The block is over: its fields go where the block's role and :status say.</summary>
    public void End()
    {
        var s = _stream;
        if (s is null)
        {
            return;
        }
        _stream = null;
        if (!_pseudo && !_unknown)
        {
            // Trailers carry no pseudo-header (RFC 9113 section 8.1); a head always does. Told apart this way, a
            // trailer section whose head came before tracing began is still filed as trailers.
            AddTrailers(s);
            return;
        }
        if (_role != BlockRole.Response)
        {
            Hand(ref s.RequestHeaders, s);
            return;
        }
        if (s.ResponseHeaders is null && _status is >= 100 and < 200)
        {
            // Interim responses precede the final one and answer nothing by themselves (RFC 9110 section 15.2).
            (s.Interim ??= []).Add(_status.Value);
            _fields.Clear();
            return;
        }
        if (s.ResponseHeaders is null && (_status is not null || s.HeadersIncomplete))
        {
            s.Status = _status;
        }
        Hand(ref s.ResponseHeaders, s);
    }

    /// <summary>The fields become <paramref name="target"/>, or, if it was set by an earlier block, trailers.</summary>
    private void Hand(ref HttpHeader[]? target, Http2Stream s)
    {
        if (target is not null)
        {
            AddTrailers(s);
            return;
        }
        target = Handed(ref _role == BlockRole.Response ? ref _lastResponse : ref _lastRequest);
        _fields.Clear();
    }

    /// <summary>The fields become the stream's trailers, after any it had: a new array then, never a handed one changed.</summary>
    private void AddTrailers(Http2Stream s)
    {
        s.Trailers = s.Trailers is { } earlier ? [.. earlier, .. _fields] : Handed(ref _lastTrailers);
        _fields.Clear();
    }

    private HttpHeader[] Handed(ref HttpHeader[]? last)
    {
        if (last is { } previous && previous.AsSpan().SequenceEqual(CollectionsMarshal.AsSpan(_fields)))
        {
            return previous;
        }
        return last = _fields.Count == 0 ? [] : [.. _fields];
    }

    private void OnPseudoHeader(Http2Stream s, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (_role == BlockRole.Response)
        {
            if (name.SequenceEqual(":status"u8) && value.Length == 3
                && int.TryParse(value, System.Globalization.NumberStyles.None, null, out int status))
            {
                _status = status;
            }
            return;
        }
        if (name.SequenceEqual(":method"u8))
        {
            s.Method = HttpStrings.Method(value);
        }
        else if (name.SequenceEqual(":path"u8))
        {
            // Shared with the last path read on this thread, redaction included: a client repeats its paths.
            s.Path = HttpStrings.Target(value, redact).Text;
        }
        else if (name.SequenceEqual(":authority"u8))
        {
            // One string for a repeated authority, as for HTTP/1's Host: the JSON run cache matches it by instance.
            s.Authority = HttpStrings.Recent(value);
        }
        else if (name.SequenceEqual(":scheme"u8))
        {
            s.Scheme = value.SequenceEqual("http"u8) ? "http" : value.SequenceEqual("https"u8) ? "https" : HttpStrings.Decode(value);
        }
    }
}
