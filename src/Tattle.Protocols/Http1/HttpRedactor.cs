using System.Text;

namespace Tattle.Protocols.Http1;

/// <summary>Replaces secrets in HTTP headers and URLs with <see cref="Redacted"/> before they reach a record.</summary>
public static class HttpRedactor
{
    public const string Redacted = "REDACTED";

    /// <summary>Headers that carry credentials or session state by definition (RFC 9110 section 11, RFC 6265).</summary>
    private static readonly string[] SecretHeaders = ["Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key"];

    /// <summary>Headers whose value is a URL, which may carry credentials or secret query parameters.</summary>
    private static readonly string[] UrlHeaders = ["Location", "Content-Location", "Referer"];

    /// <summary>Words that make a header or query parameter secret wherever they appear in its name (X-Amz-Signature, sessionid).</summary>
    private static readonly string[] SecretWords = ["token", "secret", "password", "passwd", "key", "session", "credential", "signature"];

    /// <summary>
    /// Short words that make a name secret only as a whole part of it ("sig", "X-Auth-User", "db_pwd"), since inside
    /// other words they are common ("design", "author").
    /// </summary>
    private static readonly string[] SecretParts = ["sig", "pwd", "auth", "pass"];

    /// <summary>Whether a header's value is replaced (case-insensitive; "X-Auth-Token", "Api-Key" and the like).</summary>
    public static bool IsSecretHeader(ReadOnlySpan<char> name)
    {
        foreach (string header in SecretHeaders)
        {
            if (name.Equals(header, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return HasSecretWord(name);
    }

    /// <summary>Whether a header's value is a URL that <see cref="RedactUrl"/> should see.</summary>
    public static bool IsUrlHeader(ReadOnlySpan<char> name)
    {
        foreach (string header in UrlHeaders)
        {
            if (name.Equals(header, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Whether a query parameter's value is replaced.</summary>
    public static bool IsSecretParameter(ReadOnlySpan<char> name) => HasSecretWord(name);

    private static bool HasSecretWord(ReadOnlySpan<char> name)
    {
        foreach (string word in SecretWords)
        {
            if (name.Contains(word, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        foreach (var range in name.SplitAny(NameSeparators))
        {
            foreach (string part in SecretParts)
            {
                if (name[range].Equals(part, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }
        return false;
    }

    private static readonly System.Buffers.SearchValues<char> NameSeparators = System.Buffers.SearchValues.Create("-_. ");

    /// <summary>
    /// A URL or request-target with its userinfo ("user:pass@") replaced by "REDACTED@" and the values of secret
    /// query parameters by "REDACTED". Returns <paramref name="url"/> itself when there is nothing to replace.
    /// </summary>
    public static string RedactUrl(string url)
    {
        int query = url.IndexOf('?');
        var beforeQuery = query < 0 ? url.AsSpan() : url.AsSpan(0, query);
        bool userInfo = TryFindAuthority(beforeQuery, out int authorityStart, out int authorityEnd)
            && beforeQuery[authorityStart..authorityEnd].Contains('@');
        if (!userInfo && (query < 0 || !QueryHasSecret(url.AsSpan(query + 1))))
        {
            return RedactCredentials(url);
        }

        var sb = new StringBuilder(url.Length + Redacted.Length);
        if (userInfo)
        {
            int at = beforeQuery[authorityStart..authorityEnd].LastIndexOf('@');
            sb.Append(beforeQuery[..authorityStart]).Append(Redacted).Append(beforeQuery[(authorityStart + at)..]);
        }
        else
        {
            sb.Append(beforeQuery);
        }
        if (query >= 0)
        {
            sb.Append('?');
            AppendQuery(sb, url.AsSpan(query + 1));
        }
        return RedactCredentials(sb.ToString());
    }

    /// <summary>
    /// <paramref name="text"/> with the credentials recognisable by their form replaced, wherever they are: JSON
    /// Web Tokens (eyJ….….…) and the token after "Bearer " or "Basic " (an Authorization header inside a script, a
    /// token in an unexpected header or query value). Returns <paramref name="text"/> itself when there is none.
    /// </summary>
    public static string RedactCredentials(string text)
    {
        if (!MayHoldCredential(text))
        {
            return text;
        }
        System.Text.StringBuilder? sb = null;
        int copied = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (!TryFindCredential(text, i, out int start, out int end))
            {
                continue;
            }
            sb ??= new System.Text.StringBuilder(text.Length);
            sb.Append(text, copied, start - copied).Append(Redacted);
            copied = end;
            i = end - 1;
        }
        return sb is null ? text : sb.Append(text, copied, text.Length - copied).ToString();
    }

    /// <summary>A cheap test, false for almost every value: only text that passes it is scanned.</summary>
    /// <remarks>One pass for the three words (every request target takes it: three case-insensitive searches were 2 %
    /// of tattle's CPU under load). "eyJ" matched in any case only lets a few more values reach the exact scan.</remarks>
    public static bool MayHoldCredential(ReadOnlySpan<char> text) => text.ContainsAny(CredentialWords);

    private static readonly System.Buffers.SearchValues<string> CredentialWords =
        System.Buffers.SearchValues.Create(["eyJ", "bearer", "basic"], StringComparison.OrdinalIgnoreCase);

    /// <summary>The same test on a header value's bytes, before any string is made of them.</summary>
    public static bool MayHoldCredential(ReadOnlySpan<byte> value) =>
        value.IndexOf("eyJ"u8) >= 0 || ContainsIgnoreCase(value, "bearer"u8) || ContainsIgnoreCase(value, "basic"u8);

    private static bool ContainsIgnoreCase(ReadOnlySpan<byte> value, ReadOnlySpan<byte> lower)
    {
        byte upper = (byte)(lower[0] - 32);
        int i = 0;
        while (i + lower.Length <= value.Length)
        {
            int k = value[i..].IndexOfAny(lower[0], upper);
            if (k < 0 || i + k + lower.Length > value.Length)
            {
                return false;
            }
            i += k;
            if (System.Text.Ascii.EqualsIgnoreCase(value.Slice(i, lower.Length), lower))
            {
                return true;
            }
            i++;
        }
        return false;
    }

    /// <summary>A credential starting at <paramref name="i"/>: the span to replace (the token, not the scheme).</summary>
    private static bool TryFindCredential(string text, int i, out int start, out int end)
    {
        start = end = 0;
        if (i > 0 && IsTokenChar(text[i - 1]))
        {
            return false; // inside a word
        }
        var rest = text.AsSpan(i);
        if (rest.StartsWith("eyJ", StringComparison.Ordinal))
        {
            // header.payload.signature, each base64url; the signature is empty for "alg": "none".
            int a = Base64UrlRun(rest);
            if (a < 10 || a >= rest.Length || rest[a] != '.')
            {
                return false;
            }
            int b = Base64UrlRun(rest[(a + 1)..]);
            if (b < 2 || a + 1 + b >= rest.Length || rest[a + 1 + b] != '.')
            {
                return false;
            }
            int c = Base64UrlRun(rest[(a + 2 + b)..]);
            (start, end) = (i, i + a + 2 + b + c);
            return true;
        }
        int scheme = rest.StartsWith("bearer", StringComparison.OrdinalIgnoreCase) ? 6
            : rest.StartsWith("basic", StringComparison.OrdinalIgnoreCase) ? 5 : 0;
        if (scheme == 0)
        {
            return false;
        }
        int p = scheme;
        while (p < rest.Length && rest[p] is ' ' or '\t')
        {
            p++;
        }
        int t = p;
        while (t < rest.Length && (char.IsAsciiLetterOrDigit(rest[t]) || rest[t] is '-' or '.' or '_' or '~' or '+' or '/'))
        {
            t++;
        }
        int token = t;
        while (t < rest.Length && rest[t] == '=')
        {
            t++;
        }
        // RFC 6750's b64token after at least one blank; "realm=" before a quote is a challenge's parameter, not a token.
        if (p == scheme || token == p || (t > token && t < rest.Length && rest[t] == '"')
            || rest[p..t].SequenceEqual(Redacted))
        {
            return false;
        }
        (start, end) = (i + p, i + t);
        return true;
    }

    private static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_';

    private static int Base64UrlRun(ReadOnlySpan<char> s)
    {
        int n = 0;
        while (n < s.Length && (char.IsAsciiLetterOrDigit(s[n]) || s[n] is '-' or '_'))
        {
            n++;
        }
        return n;
    }

    /// <summary>
    /// The authority of an absolute URL ("scheme://authority/..."; RFC 3986 section 3.2), as offsets; false for
    /// origin-form targets ("/path") and anything without "://".
    /// </summary>
    internal static bool TryFindAuthority(ReadOnlySpan<char> url, out int start, out int end)
    {
        start = end = 0;
        int scheme = url.IndexOf("://", StringComparison.Ordinal);
        if (scheme <= 0 || url[..scheme].ContainsAnyExcept(SchemeChars))
        {
            return false;
        }
        start = scheme + 3;
        int stop = url[start..].IndexOfAny('/', '?', '#');
        end = stop < 0 ? url.Length : start + stop;
        return true;
    }

    /// <summary>The host[:port] of an absolute URL, without userinfo; null when the URL is not absolute.</summary>
    internal static string? HostOf(string url)
    {
        if (!TryFindAuthority(url, out int start, out int end))
        {
            return null;
        }
        var authority = url.AsSpan(start, end - start);
        int at = authority.LastIndexOf('@');
        return at < 0 ? authority.ToString() : authority[(at + 1)..].ToString();
    }

    private static readonly System.Buffers.SearchValues<char> SchemeChars =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");

    private static bool QueryHasSecret(ReadOnlySpan<char> query)
    {
        foreach (var range in query.Split('&'))
        {
            var pair = query[range];
            int eq = pair.IndexOf('=');
            if (eq > 0 && IsSecretParameter(pair[..eq]))
            {
                return true;
            }
        }
        return false;
    }

    private static void AppendQuery(StringBuilder sb, ReadOnlySpan<char> query)
    {
        bool first = true;
        foreach (var range in query.Split('&'))
        {
            if (!first)
            {
                sb.Append('&');
            }
            first = false;
            var pair = query[range];
            int eq = pair.IndexOf('=');
            if (eq > 0 && IsSecretParameter(pair[..eq]))
            {
                sb.Append(pair[..(eq + 1)]).Append(Redacted);
            }
            else
            {
                sb.Append(pair);
            }
        }
    }
}
