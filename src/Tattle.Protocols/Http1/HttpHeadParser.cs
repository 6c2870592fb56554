using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;
using static Tattle.Protocols.Http1.HttpSyntax;

namespace Tattle.Protocols.Http1;

/// <summary>
/// Receives the parts of a head as the parser walks it (Kestrel's IHttpRequestLineHandler/IHttpHeadersHandler
/// shape). The spans point into the input and live only for the call: a handler that reports copies them, one
/// that counts does nothing and allocates nothing.
/// </summary>
internal interface IHttpHeadHandler
{
    void OnRequestLine(ReadOnlySpan<byte> method, ReadOnlySpan<byte> target, int minorVersion);

    void OnStatusLine(int minorVersion, int status, ReadOnlySpan<byte> reason);

    /// <summary>A field, its value trimmed of OWS; a value that was obs-folded still holds its CRLF + whitespace.</summary>
    void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value);
}

/// <summary>What the fields say about where the body ends (RFC 9112 section 6), gathered while walking them.</summary>
internal struct HeadFraming
{
    /// <summary>-1 when no Content-Length field was sent.</summary>
    public long ContentLength;

    public bool HasTransferEncoding;

    /// <summary>chunked is the final transfer coding (RFC 9112 section 6.3, rules 3 and 4).</summary>
    public bool Chunked;

    public static HeadFraming None => new() { ContentLength = -1 };
}

/// <summary>Where a head's end was looked for; <see cref="HttpHeadParser.FindHeadEnd"/> resumes from it.</summary>
internal enum HeadSearch : byte
{
    Complete,
    Incomplete,
    TooLong,
}

/// <summary>
/// The HTTP/1 head grammar (RFC 9112 sections 2–5) over spans: find where a head ends, then walk the complete
/// head once through a handler. No state lives here; no allocation happens here.
/// </summary>
internal static class HttpHeadParser
{
    /// <summary>Content-Length values up to 18 digits: anything longer cannot be honest and would overflow.</summary>
    private const int MaxContentLengthDigits = 18;

    /// <summary>
    /// Looks for the empty line that ends a head (RFC 9112 section 2.1), accepting a bare LF as a line end
    /// (section 2.2). <paramref name="searchFrom"/> is where the previous call stopped, so that a head arriving
    /// in pieces is scanned once; pass 0 for a new head.
    /// </summary>
    public static HeadSearch FindHeadEnd(ReadOnlySpan<byte> data, ref int searchFrom, out int headLength)
    {
        headLength = 0;
        int limit = Math.Min(data.Length, MaxHeadBytes);
        int i = Math.Min(searchFrom, limit);
        ref byte start = ref MemoryMarshal.GetReference(data);
        // Sixteen bytes at a time, every LF of a block from one comparison: a search call per line (ten for nginx's
        // response head) spent more on each call's set-up than on the bytes, and was the parse's largest cost.
        var lfs = Vector128.Create(LF);
        for (; i + Vector128<byte>.Count <= limit; i += Vector128<byte>.Count)
        {
            uint mask = Vector128.Equals(Vector128.LoadUnsafe(ref start, (nuint)i), lfs).ExtractMostSignificantBits();
            for (; mask != 0; mask &= mask - 1)
            {
                if (AfterLf(data, i + BitOperations.TrailingZeroCount(mask), limit, ref searchFrom, out headLength) is { } found)
                {
                    return found;
                }
            }
        }
        for (; i < limit; i++)
        {
            if (data[i] == LF && AfterLf(data, i, limit, ref searchFrom, out headLength) is { } found)
            {
                return found;
            }
        }
        searchFrom = limit;
        return Unfinished(data);
    }

    private static HeadSearch Unfinished(ReadOnlySpan<byte> data) =>
        data.Length >= MaxHeadBytes ? HeadSearch.TooLong : HeadSearch.Incomplete;

    /// <summary>
    /// What the line after the LF at <paramref name="lf"/> decides: the head ends there (Complete, its length out),
    /// it has not arrived far enough to tell (the search resumes at this LF), or nothing (null: another line).
    /// </summary>
    private static HeadSearch? AfterLf(ReadOnlySpan<byte> data, int lf, int limit, ref int searchFrom, out int headLength)
    {
        headLength = 0;
        int next = lf + 1;
        if (next >= limit || (data[next] == CR && next + 1 >= limit))
        {
            searchFrom = lf;
            return Unfinished(data);
        }
        if (data[next] == LF)
        {
            headLength = next + 1;
            return HeadSearch.Complete;
        }
        if (data[next] == CR && data[next + 1] == LF)
        {
            headLength = next + 2;
            return HeadSearch.Complete;
        }
        return null;
    }

    /// <summary>Walks a complete request head (as <see cref="FindHeadEnd"/> delimited it).</summary>
    public static bool TryParseRequest<T>(ReadOnlySpan<byte> head, ref T handler, out HeadFraming framing)
        where T : struct, IHttpHeadHandler
    {
        framing = HeadFraming.None;
        return TryParseStartLine(head, request: true, ref handler, out int fields)
            && TryParseFields(head[fields..], ref handler, ref framing);
    }

    /// <summary>
    /// Walks a head's start line alone (a request line, or a status line); <paramref name="fieldsStart"/> is where
    /// its field block begins, for <see cref="TryParseFields"/>.
    /// </summary>
    public static bool TryParseStartLine<T>(ReadOnlySpan<byte> head, bool request, ref T handler, out int fieldsStart)
        where T : struct, IHttpHeadHandler
    {
        int lf = head.IndexOf(LF);
        fieldsStart = lf + 1;
        return lf >= 0 && (request ? TryParseRequestLine(TrimCr(head[..lf]), ref handler) : TryParseStatusLine(TrimCr(head[..lf]), ref handler));
    }

    /// <summary>Walks a complete response head (as <see cref="FindHeadEnd"/> delimited it).</summary>
    public static bool TryParseResponse<T>(ReadOnlySpan<byte> head, ref T handler, out HeadFraming framing)
        where T : struct, IHttpHeadHandler
    {
        framing = HeadFraming.None;
        return TryParseStartLine(head, request: false, ref handler, out int fields)
            && TryParseFields(head[fields..], ref handler, ref framing);
    }

    /// <summary>request-line = method SP request-target SP HTTP-version (RFC 9112 section 3), one SP each.</summary>
    private static bool TryParseRequestLine<T>(ReadOnlySpan<byte> line, ref T handler) where T : struct, IHttpHeadHandler
    {
        int methodEnd = line.IndexOf(SP);
        if (methodEnd <= 0 || !IsToken(line[..methodEnd]))
        {
            return false;
        }
        var rest = line[(methodEnd + 1)..];
        int targetEnd = rest.IndexOf(SP);
        if (targetEnd <= 0)
        {
            return false;
        }
        var target = rest[..targetEnd];
        if (target.IndexOfAny(TargetForbidden) >= 0 || !TryParseVersion(rest[(targetEnd + 1)..], out int minor))
        {
            return false;
        }
        handler.OnRequestLine(line[..methodEnd], target, minor);
        return true;
    }

    /// <summary>
    /// status-line = HTTP-version SP status-code SP [reason-phrase] (RFC 9112 section 4). The SP before an empty
    /// reason is often left out by servers; that is accepted.
    /// </summary>
    private static bool TryParseStatusLine<T>(ReadOnlySpan<byte> line, ref T handler) where T : struct, IHttpHeadHandler
    {
        const int versionLength = 8;
        if (line.Length < versionLength + 4 || line[versionLength] != SP
            || !TryParseVersion(line[..versionLength], out int minor))
        {
            return false;
        }
        var code = line.Slice(versionLength + 1, 3);
        if (!IsDigit(code[0]) || !IsDigit(code[1]) || !IsDigit(code[2]) || code[0] == Zero)
        {
            return false;
        }
        int status = ((code[0] - Zero) * 100) + ((code[1] - Zero) * 10) + (code[2] - Zero);
        var reason = line[(versionLength + 4)..];
        if (!reason.IsEmpty)
        {
            if (reason[0] != SP)
            {
                return false;
            }
            reason = reason[1..];
            if (reason.IndexOfAny(ValueForbidden) >= 0)
            {
                return false;
            }
        }
        handler.OnStatusLine(minor, status, reason);
        return true;
    }

    /// <summary>
    /// Walks field lines up to and including the empty line that ends them (a head's fields, or a chunked
    /// body's trailer section). obs-fold is tolerated: a line that starts with SP or HTAB continues the previous
    /// value (RFC 9112 section 5.2 lets a recipient replace it with SP, which the reporting handler does).
    /// </summary>
    public static bool TryParseFields<T>(ReadOnlySpan<byte> block, ref T handler, ref HeadFraming framing)
        where T : struct, IHttpHeadHandler
    {
        int pos = 0;
        int count = 0;
        while (pos < block.Length)
        {
            int lf = block[pos..].IndexOf(LF);
            if (lf < 0)
            {
                return false;
            }
            var line = TrimCr(block.Slice(pos, lf));
            if (line.IsEmpty)
            {
                return pos + lf + 1 == block.Length;
            }
            // Whitespace before the first field (RFC 9112 section 2.2) or a fold with nothing to continue.
            if (IsOws(line[0]) || ++count > MaxHeaders)
            {
                return false;
            }
            int colon = line.IndexOf(Colon);
            // No whitespace between name and colon (RFC 9112 section 5.1): the token check refuses it.
            if (colon <= 0 || !IsToken(line[..colon]) || line[(colon + 1)..].IndexOfAny(ValueForbidden) >= 0)
            {
                return false;
            }

            int valueStart = pos + colon + 1;
            int valueEnd = pos + line.Length;
            pos += lf + 1;
            while (pos < block.Length && IsOws(block[pos]))
            {
                lf = block[pos..].IndexOf(LF);
                if (lf < 0)
                {
                    return false;
                }
                var continuation = TrimCr(block.Slice(pos, lf));
                if (continuation.IndexOfAny(ValueForbidden) >= 0)
                {
                    return false;
                }
                valueEnd = pos + continuation.Length;
                pos += lf + 1;
            }

            var name = line[..colon];
            var value = TrimValue(block[valueStart..valueEnd]);
            if (!Observe(name, value, ref framing))
            {
                return false;
            }
            handler.OnHeader(name, value);
        }
        return false;
    }

    private static ReadOnlySpan<byte> TrimCr(ReadOnlySpan<byte> line) =>
        !line.IsEmpty && line[^1] == CR ? line[..^1] : line;

    /// <summary>OWS around a value, and the CR LF of a fold that ended it.</summary>
    private static ReadOnlySpan<byte> TrimValue(ReadOnlySpan<byte> value)
    {
        int start = 0;
        int end = value.Length;
        while (start < end && value[start] is SP or HTAB or CR or LF)
        {
            start++;
        }
        while (end > start && value[end - 1] is SP or HTAB or CR or LF)
        {
            end--;
        }
        return value[start..end];
    }

    /// <summary>Notes the framing fields; false for a Content-Length that cannot be trusted.</summary>
    private static bool Observe(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, ref HeadFraming framing)
    {
        if (name.Length == 14 && Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
        {
            return TryCombineContentLength(value, ref framing.ContentLength);
        }
        if (name.Length == 17 && Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
        {
            if (TryLastCoding(value, out var last))
            {
                framing.HasTransferEncoding = true;
                framing.Chunked = Ascii.EqualsIgnoreCase(last, "chunked"u8);
            }
        }
        return true;
    }

    /// <summary>
    /// Content-Length = 1*DIGIT, possibly repeated as a list or in several fields; all copies must agree
    /// (RFC 9110 section 8.6, RFC 9112 section 6.3 rule 5). Signs, other bytes, and overflow are refused.
    /// </summary>
    internal static bool TryCombineContentLength(ReadOnlySpan<byte> value, ref long contentLength)
    {
        bool any = false;
        while (true)
        {
            int comma = value.IndexOf(Comma);
            var element = TrimValue(comma < 0 ? value : value[..comma]);
            if (!element.IsEmpty)
            {
                if (element.Length > MaxContentLengthDigits || element.IndexOfAnyExceptInRange(Zero, Nine) >= 0)
                {
                    return false;
                }
                long n = 0;
                foreach (byte b in element)
                {
                    n = (n * 10) + (b - Zero);
                }
                if (contentLength >= 0 && contentLength != n)
                {
                    return false;
                }
                contentLength = n;
                any = true;
            }
            if (comma < 0)
            {
                return any;
            }
            value = value[(comma + 1)..];
        }
    }

    /// <summary>The last transfer-coding of a list, parameters dropped (RFC 9112 section 7).</summary>
    private static bool TryLastCoding(ReadOnlySpan<byte> value, out ReadOnlySpan<byte> last)
    {
        last = default;
        bool any = false;
        while (true)
        {
            int comma = value.IndexOf(Comma);
            var element = comma < 0 ? value : value[..comma];
            int semicolon = element.IndexOf(Semicolon);
            element = TrimValue(semicolon < 0 ? element : element[..semicolon]);
            if (!element.IsEmpty)
            {
                last = element;
                any = true;
            }
            if (comma < 0)
            {
                return any;
            }
            value = value[(comma + 1)..];
        }
    }
}
