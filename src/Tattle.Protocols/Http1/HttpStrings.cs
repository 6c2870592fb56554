using System.Text;
using System.Text.Unicode;

namespace Tattle.Protocols.Http1;

/// <summary>What a header name means to the parser besides being reported.</summary>
internal enum HeaderRole : byte
{
    None,
    Host,
    ContentEncoding,
    Upgrade,

    /// <summary>Its value is replaced when redacting.</summary>
    Secret,

    /// <summary>Its value is a URL whose secrets are replaced when redacting.</summary>
    Url,
}

/// <summary>
/// Turns head bytes into strings. Methods, versions, common reason phrases and common header names come from
/// tables, so a typical head allocates strings only for its target and values.
/// </summary>
internal static class HttpStrings
{
    private static readonly string[] Methods = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE"];

    private static readonly (int Status, string Reason)[] Reasons =
    [
        (100, "Continue"), (101, "Switching Protocols"), (200, "OK"), (201, "Created"), (202, "Accepted"),
        (204, "No Content"), (206, "Partial Content"), (301, "Moved Permanently"), (302, "Found"),
        (303, "See Other"), (304, "Not Modified"), (307, "Temporary Redirect"), (308, "Permanent Redirect"),
        (400, "Bad Request"), (401, "Unauthorized"), (403, "Forbidden"), (404, "Not Found"),
        (405, "Method Not Allowed"), (429, "Too Many Requests"), (500, "Internal Server Error"),
        (502, "Bad Gateway"), (503, "Service Unavailable"), (504, "Gateway Timeout"),
    ];

    private static readonly string[] CommonHeaders =
    [
        "Host", "User-Agent", "Accept", "Accept-Encoding", "Accept-Language", "Accept-Ranges", "Connection",
        "Content-Type", "Content-Length", "Content-Encoding", "Transfer-Encoding", "Cache-Control", "Pragma", "Date",
        "Server", "Last-Modified", "ETag", "Expires", "Vary", "Location", "Referer", "Origin", "Cookie", "Set-Cookie",
        "Authorization", "If-Modified-Since", "If-None-Match", "Upgrade", "Expect", "Keep-Alive", "Trailer", "TE",
        "X-Forwarded-For", "X-Forwarded-Proto", "X-Request-Id", "Age", "Via", "Allow", "Range", "Content-Range",
        "Access-Control-Allow-Origin", "Strict-Transport-Security", "Sec-Fetch-Mode", "Sec-Fetch-Site", "Priority",
    ];

    private readonly record struct Known(byte[] Bytes, string Name, HeaderRole Role);

    /// <summary>Known header names by length, each in its usual spelling and in lower case.</summary>
    private static readonly Known[][] HeadersByLength = BuildHeaderTable();

    private static Known[][] BuildHeaderTable()
    {
        var all = new List<Known>();
        foreach (string name in CommonHeaders)
        {
            foreach (string spelling in (string[])[name, name.ToLowerInvariant()])
            {
                if (!all.Exists(k => k.Name == spelling))
                {
                    all.Add(new Known(Encoding.ASCII.GetBytes(spelling), spelling, RoleOf(spelling)));
                }
            }
        }
        int longest = all.Max(k => k.Bytes.Length);
        var table = new Known[longest + 1][];
        for (int length = 0; length <= longest; length++)
        {
            table[length] = [.. all.Where(k => k.Bytes.Length == length)];
        }
        return table;
    }

    public static string Method(ReadOnlySpan<byte> method)
    {
        foreach (string known in Methods)
        {
            if (EqualsAscii(method, known))
            {
                return known;
            }
        }
        return Decode(method);
    }

    public static string Version(int minor) => minor switch
    {
        0 => "HTTP/1.0",
        1 => "HTTP/1.1",
        _ => "HTTP/1." + (char)('0' + minor),
    };

    public static string Reason(int status, ReadOnlySpan<byte> reason)
    {
        if (reason.IsEmpty)
        {
            return "";
        }
        foreach (var (code, text) in Reasons)
        {
            if (code == status && EqualsAscii(reason, text))
            {
                return text;
            }
        }
        return Decode(reason);
    }

    /// <summary>A header name as sent, and its role (names are case-insensitive, RFC 9110 section 5.1).</summary>
    public static string HeaderName(ReadOnlySpan<byte> name, out HeaderRole role)
    {
        if (name.Length < HeadersByLength.Length)
        {
            foreach (var known in HeadersByLength[name.Length])
            {
                if (name.SequenceEqual(known.Bytes))
                {
                    role = known.Role;
                    return known.Name;
                }
            }
        }
        // Any other name a peer sends is sent again (gRPC's grpc-status, an API's x-request-id): shared, not
        // decoded anew for each message.
        string text = Recent(name);
        role = RoleOf(text);
        return text;
    }

    /// <summary>
    /// Whether a name can be Host, Content-Encoding or Upgrade, the fields read when no header is kept (--stats): by
    /// length and first letter, so the others are dropped without a lookup.
    /// </summary>
    public static bool MayBeKeptWithoutHeaders(ReadOnlySpan<byte> name) => name.Length switch
    {
        4 => (name[0] | 0x20) == 'h',
        7 => (name[0] | 0x20) == 'u',
        16 => (name[0] | 0x20) == 'c',
        _ => false,
    };

    private static HeaderRole RoleOf(string name)
    {
        if (name.Equals("Host", StringComparison.OrdinalIgnoreCase))
        {
            return HeaderRole.Host;
        }
        if (name.Equals("Content-Encoding", StringComparison.OrdinalIgnoreCase))
        {
            return HeaderRole.ContentEncoding;
        }
        if (name.Equals("Upgrade", StringComparison.OrdinalIgnoreCase))
        {
            return HeaderRole.Upgrade;
        }
        if (HttpRedactor.IsSecretHeader(name))
        {
            return HeaderRole.Secret;
        }
        return HttpRedactor.IsUrlHeader(name) ? HeaderRole.Url : HeaderRole.None;
    }

    /// <summary>
    /// A field value as text: an obs-fold becomes one SP (RFC 9112 section 5.2). Bytes are read as UTF-8 when
    /// they are valid UTF-8 (what clients send in practice), else as ISO-8859-1 (RFC 9110 section 5.5's obs-text).
    /// </summary>
    public static string Value(ReadOnlySpan<byte> value)
    {
        string text = Recent(value);
        return value.IndexOf(HttpSyntax.LF) < 0 ? text : Unfold(text);
    }

    /// <summary>
    /// <see cref="Decode"/>, with a short text's string shared with the last one decoded from the same ASCII bytes on
    /// this thread. Servers send the same Server, Content-Type, ETag and Date on every connection, and clients the
    /// same paths; one string for all of them is one allocation fewer each, and the same instance lets the JSON
    /// writer reuse its encoded form (a per-connection copy evicted it from that cache at every record).
    /// </summary>
    public static string Recent(ReadOnlySpan<byte> bytes) => Recent(bytes, out _);

    /// <summary>
    /// UTF-8 text, as protocols that are not HTTP decode it (Redis keys and replies, PostgreSQL tags): ASCII shared
    /// as <see cref="Recent(ReadOnlySpan{byte})"/> shares it, since a client sends the same keys again and a server
    /// answers the same "OK"; anything else made anew, its invalid sequences replaced rather than read as Latin-1.
    /// </summary>
    public static string RecentUtf8(ReadOnlySpan<byte> bytes) => Ascii.IsValid(bytes) ? Recent(bytes) : Encoding.UTF8.GetString(bytes);

    /// <summary>
    /// <see cref="Recent(ReadOnlySpan{byte})"/>, and the slot that holds its string (-1 when none does). A slot is
    /// picked from the bytes, so the same texts land in the same slots in every process, and a pair of slots serves
    /// each hash: two texts that share one, such as two paths a client takes in turn, both stay instead of evicting
    /// each other at every message.
    /// </summary>
    private static string Recent(ReadOnlySpan<byte> bytes, out int index)
    {
        index = -1;
        if (bytes.Length is 0 or > LongestRecent)
        {
            return Decode(bytes);
        }
        var slots = t_recent ??= new RecentText[RecentSlots];
        int pair = (((bytes.Length * 31) + (bytes[0] * 7) + (bytes[bytes.Length >> 1] * 13) + (bytes[^1] * 3)) & (RecentSlots / 2 - 1)) << 1;
        if (slots[pair].Text is { } first && EqualsAscii(bytes, first))
        {
            index = pair;
            return first;
        }
        if (slots[pair + 1].Text is { } second && EqualsAscii(bytes, second))
        {
            index = pair + 1;
            return second;
        }
        string text = Decode(bytes);
        if (Ascii.IsValid(bytes))
        {
            // The newer text takes the pair's first slot and the one it held moves to the second, with its target.
            slots[pair + 1] = slots[pair];
            slots[pair] = new RecentText(text, null);
            index = pair;
        }
        return text;
    }

    /// <summary>
    /// A request-target as records show it (redacted when asked) and the host an absolute-form target names. A target
    /// read on this thread is kept beside its string in <see cref="Recent(ReadOnlySpan{byte})"/>'s slot: a client
    /// repeats its paths, often a few of them in turn, and a repeat is then one comparison instead of the redactor's
    /// scans, which cost 3 % of tattle's CPU under load when every request took them, and a new object.
    /// </summary>
    public static RequestTarget Target(ReadOnlySpan<byte> bytes, bool redact)
    {
        string text = Recent(bytes, out int index);
        if (t_lastTarget is { } last && ReferenceEquals(last.Raw, text) && last.Redacted == redact)
        {
            return last; // the same path again (a load generator, a health check): no slot to look in
        }
        if (index >= 0 && t_recent![index].Target is { } kept && kept.Redacted == redact)
        {
            t_lastTarget = kept;
            return kept;
        }
        var read = new RequestTarget(text, redact ? HttpRedactor.RedactUrl(text) : text, HttpRedactor.HostOf(text), redact);
        if (index >= 0)
        {
            t_recent![index] = new RecentText(text, read);
        }
        t_lastTarget = read;
        return read;
    }

    [ThreadStatic]
    private static RequestTarget? t_lastTarget;

    private const int RecentSlots = 256;
    private const int LongestRecent = 96;

    [ThreadStatic]
    private static RecentText[]? t_recent;

    /// <summary>A text decoded on this thread, and the request-target read from it when it was one.</summary>
    private readonly record struct RecentText(string? Text, RequestTarget? Target);

    /// <summary>
    /// A field value as records show it: when redacting, a secret field's value replaced, a URL's secrets
    /// replaced, and a token in any other field looked for only when a cheap scan of the bytes finds its mark.
    /// </summary>
    public static string FieldValue(ReadOnlySpan<byte> value, HeaderRole role, bool redact) => (redact, role) switch
    {
        (true, HeaderRole.Secret) => HttpRedactor.Redacted,
        (true, HeaderRole.Url) => HttpRedactor.RedactUrl(Value(value)),
        (true, _) when HttpRedactor.MayHoldCredential(value) => HttpRedactor.RedactCredentials(Value(value)),
        _ => Value(value),
    };

    public static string Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return "";
        }
        if (Ascii.IsValid(bytes) || !Utf8.IsValid(bytes))
        {
            return Encoding.Latin1.GetString(bytes);
        }
        return Encoding.UTF8.GetString(bytes);
    }

    private static string Unfold(string text)
    {
        var sb = new StringBuilder(text.Length);
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (c is '\r' or '\n')
            {
                while (i < text.Length && text[i] is '\r' or '\n' or ' ' or '\t')
                {
                    i++;
                }
                sb.Append(' ');
                continue;
            }
            sb.Append(c);
            i++;
        }
        return sb.ToString();
    }

    /// <summary>The bytes are ASCII and spell text exactly (so decoding them would give text).</summary>
    public static bool EqualsAscii(ReadOnlySpan<byte> bytes, string text) => Ascii.Equals(bytes, text);
}

/// <summary>A request-target read once: as sent, as records show it, and the host an absolute form names.</summary>
internal sealed record RequestTarget(string Raw, string Text, string? Host, bool Redacted);
