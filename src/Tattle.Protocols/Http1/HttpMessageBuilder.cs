using Tattle.Protocols.Http;
using Tattle.Records;

namespace Tattle.Protocols.Http1;

/// <summary>The message being read on one side of a connection, until it completes and becomes a record.</summary>
internal sealed class MessageDraft
{
    public string Version = "";
    public string Method = "";
    public string Target = "";
    public string Reason = "";
    public int Status;
    public string? Host;
    public bool HostFromTarget;
    public string? ContentEncoding;
    public string? Upgrade;
    public bool Chunked;
    public long HeadBytes;
    public long StartNs;
    public readonly List<HttpHeader> Headers = new(12);
    public List<HttpHeader>? Trailers;

    /// <summary>
    /// The previous message's headers on this side of the connection. A keep-alive peer repeats most of them byte
    /// for byte (Server, Content-Type, ETag...), and a value equal to the one at the same position reuses its string.
    /// </summary>
    public HttpHeader[]? Previous;

    /// <summary>The headers handed to the last request or response made, in an array of their exact count.</summary>
    private HttpHeader[]? _handed;

    /// <summary>
    /// The last field block parsed on this side, with what it made (from the side's second message on: a
    /// connection that carries one exchange, 10 000 of them held open, keeps nothing).
    /// </summary>
    private RememberedBlock? _remembered;

    /// <summary>This message's block was the remembered one: its array is handed again.</summary>
    private HttpHeader[]? _reused;

    /// <summary>A message of this side was handed before: the connection is kept alive, and blocks are remembered.</summary>
    private bool _handedBefore;

    /// <summary>Takes the remembered block's fields when <paramref name="block"/> is the same bytes.</summary>
    public bool TryReuseFields(ReadOnlySpan<byte> block, out HeadFraming framing)
    {
        if (_remembered is not { Fields: { } fields } r || !r.Matches(block))
        {
            framing = HeadFraming.None;
            return false;
        }
        framing = r.Framing;
        // An absolute-form target names the host, and wins over the Host field (as OnHeader does).
        if (!HostFromTarget)
        {
            Refilled.Set(ref Host, r.Host);
        }
        Refilled.Set(ref ContentEncoding, r.ContentEncoding);
        Refilled.Set(ref Upgrade, r.Upgrade);
        _reused = fields;
        return true;
    }

    /// <summary>Remembers a block just parsed into this draft; its array is kept when the message is handed.</summary>
    public void RememberFields(ReadOnlySpan<byte> block, in HeadFraming framing)
    {
        // The Host a target named is not the block's: such a block is not remembered.
        if (!_handedBefore || HostFromTarget || block.Length > RememberedBlock.MostBytes)
        {
            _remembered?.Forget();
            return;
        }
        (_remembered ??= new RememberedBlock()).Remember(block, framing, Host, ContentEncoding, Upgrade);
    }

    /// <summary>
    /// Forgets a message. <see cref="Headers"/> is reused: a message takes a copy of its exact size, so a head costs
    /// one small array instead of a list and its spare capacity.
    /// </summary>
    public void Reset(bool listsHandedOver)
    {
        Version = Method = Target = Reason = "";
        Status = 0;
        Host = ContentEncoding = Upgrade = null;
        HostFromTarget = Chunked = false;
        HeadBytes = StartNs = 0;
        if (listsHandedOver)
        {
            Previous = _handed;
            _handedBefore = true;
        }
        _handed = null;
        _reused = null;
        _remembered?.MessageEnded();
        Headers.Clear();
        Trailers = null;
    }

    private HttpHeader[] Hand()
    {
        if (_reused is { } reused)
        {
            return _handed = reused; // arrays are never changed once handed: two messages can share one
        }
        _handed = Headers.Count == 0 ? [] : [.. Headers];
        _remembered?.Handed(_handed);
        return _handed;
    }

    /// <summary>Fills <paramref name="into"/> (a new request, or one the parser reuses) with the message read.</summary>
    public HttpRequest FillRequest(HttpRequest into, in HttpBodyReader body, long endNs, bool truncated)
    {
        into.Method = Method;
        into.Target = Target;
        into.Host = Host;
        Fill(into, body, endNs, truncated);
        return into;
    }

    /// <summary>Fills <paramref name="into"/> (a new response, or one the parser reuses) with the message read.</summary>
    public HttpResponse FillResponse(HttpResponse into, in HttpBodyReader body, long endNs, bool truncated, bool endedAtClose)
    {
        into.Status = Status;
        into.Reason = Reason;
        into.EndedAtClose = endedAtClose;
        Fill(into, body, endNs, truncated);
        return into;
    }

    private void Fill(HttpMessageInfo into, in HttpBodyReader body, long endNs, bool truncated)
    {
        into.Version = Version;
        into.Headers = Hand();
        into.Trailers = (IReadOnlyList<HttpHeader>?)Trailers ?? [];
        into.HeadBytes = HeadBytes;
        into.BodyBytes = body.WireBytes;
        into.Body = body.Captured;
        into.ContentEncoding = ContentEncoding;
        into.Chunked = Chunked;
        into.UnseenBytes = body.UnseenBytes;
        into.Truncated = truncated;
        into.StartNs = StartNs;
        into.EndNs = endNs;
    }
}

/// <summary>
/// A side's last field block, byte for byte, with what it made: a keep-alive peer sends the same block again and
/// again (wrk's Host; nginx's nine response fields, whose Date changes once a second), and a block equal to it takes
/// the same fields, framing and array without being walked again.
/// </summary>
internal sealed class RememberedBlock
{
    /// <summary>Blocks longer than this are parsed every time (and not copied).</summary>
    public const int MostBytes = 2048;

    private byte[] _bytes = [];
    private int _length;
    private bool _awaitsHand;

    public HeadFraming Framing;
    public string? Host;
    public string? ContentEncoding;
    public string? Upgrade;

    /// <summary>The array the block's message was handed (null until then: nothing to reuse).</summary>
    public HttpHeader[]? Fields;

    public bool Matches(ReadOnlySpan<byte> block) => block.SequenceEqual(_bytes.AsSpan(0, _length));

    public void Remember(ReadOnlySpan<byte> block, in HeadFraming framing, string? host, string? contentEncoding, string? upgrade)
    {
        if (_bytes.Length < block.Length)
        {
            _bytes = new byte[block.Length];
        }
        block.CopyTo(_bytes);
        _length = block.Length;
        (Framing, Host, ContentEncoding, Upgrade) = (framing, host, contentEncoding, upgrade);
        Fields = null;
        _awaitsHand = true;
    }

    public void Forget()
    {
        Fields = null;
        _awaitsHand = false;
    }

    /// <summary>The remembered block's message was handed this array.</summary>
    public void Handed(HttpHeader[] fields)
    {
        if (_awaitsHand)
        {
            Fields = fields;
            _awaitsHand = false;
        }
    }

    /// <summary>The message ended, handed or not (an interim response is not): a block still waiting is not kept.</summary>
    public void MessageEnded() => _awaitsHand = false;
}

/// <summary>The head handler that reports: copies each part into the draft as a string, redacting on the way.</summary>
internal struct HttpMessageBuilder(MessageDraft draft, bool redact, bool trailers = false, bool headers = true) : IHttpHeadHandler
{
    public readonly void OnRequestLine(ReadOnlySpan<byte> method, ReadOnlySpan<byte> target, int minorVersion)
    {
        Refilled.Set(ref draft.Method, HttpStrings.Method(method));
        Refilled.Set(ref draft.Version, HttpStrings.Version(minorVersion));
        var read = HttpStrings.Target(target, redact);
        // An absolute-form target names the host, and wins over the Host field (RFC 9112 section 3.2.2).
        Refilled.Set(ref draft.Host, read.Host);
        draft.HostFromTarget = read.Host is not null;
        Refilled.Set(ref draft.Target, read.Text);
    }

    public readonly void OnStatusLine(int minorVersion, int status, ReadOnlySpan<byte> reason)
    {
        Refilled.Set(ref draft.Version, HttpStrings.Version(minorVersion));
        draft.Status = status;
        Refilled.Set(ref draft.Reason, HttpStrings.Reason(status, reason));
    }

    public readonly void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (!headers && !HttpStrings.MayBeKeptWithoutHeaders(name))
        {
            return; // --stats: the field is neither kept nor needed to read the message
        }
        string nameText = HttpStrings.HeaderName(name, out var role);
        if (!headers && role is not (HeaderRole.Host or HeaderRole.ContentEncoding or HeaderRole.Upgrade))
        {
            return;
        }
        // Bytes equal to the previous message's value were checked then.
        string valueText = (redact && role is HeaderRole.Secret or HeaderRole.Url ? null : RepeatedValue(nameText, value))
            ?? HttpStrings.FieldValue(value, role, redact);
        if (trailers)
        {
            (draft.Trailers ??= []).Add(new HttpHeader(nameText, valueText));
            return;
        }
        switch (role)
        {
            case HeaderRole.Host when !draft.HostFromTarget:
                draft.Host ??= valueText;
                break;
            case HeaderRole.ContentEncoding:
                draft.ContentEncoding = valueText;
                break;
            case HeaderRole.Upgrade:
                draft.Upgrade = valueText;
                break;
        }
        draft.Headers.Add(new HttpHeader(nameText, valueText));
    }

    /// <summary>The previous message's string for this header when the bytes are the same ASCII text.</summary>
    private readonly string? RepeatedValue(string name, ReadOnlySpan<byte> value)
    {
        if (trailers || draft.Previous is not { } previous || draft.Headers.Count >= previous.Length)
        {
            return null;
        }
        var before = previous[draft.Headers.Count];
        return ReferenceEquals(before.Name, name) && HttpStrings.EqualsAscii(value, before.Value) ? before.Value : null;
    }
}

/// <summary>The head handler that keeps nothing: the count-only path (benchmarks, trailer sections not reported).</summary>
internal readonly struct NullHeadHandler : IHttpHeadHandler
{
    public void OnRequestLine(ReadOnlySpan<byte> method, ReadOnlySpan<byte> target, int minorVersion)
    {
    }

    public void OnStatusLine(int minorVersion, int status, ReadOnlySpan<byte> reason)
    {
    }

    public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
    }
}
