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

    /// <summary>Words that make a header or query parameter secret wherever they appear in its name.</summary>
    private static readonly string[] SecretWords = ["token", "secret", "password", "key"];

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
        return false;
    }

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
            return url;
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
        return sb.ToString();
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
