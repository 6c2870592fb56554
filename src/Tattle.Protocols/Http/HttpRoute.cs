namespace Tattle.Protocols.Http;

/// <summary>
/// A request-target as a route (--stats): the path without its query, with identifiers folded to `{id}` so that
/// `/users/123` and `/users/456` count together. Identifiers are segments of digits, UUIDs, and hex strings of 16
/// characters or more that hold a digit (object ids, hashes); a route table needs bounded keys, not exact paths.
/// </summary>
public static class HttpRoute
{
    public const string Id = "{id}";

    // --stats asks for every request's route, and keep-alive clients repeat their targets, whose strings are then
    // shared (HttpStrings.Recent): the last templates made are found again by reference, without splitting the path
    // again or making the template's string again (an identifier or a query string made one per request).
    [ThreadStatic]
    private static (string Target, string Template)[]? t_recent;

    public static string? Template(string? target)
    {
        if (target is null)
        {
            return null;
        }
        var recent = t_recent ??= new (string, string)[16];
        ref var slot = ref recent[(target.Length ^ (target.Length > 0 ? target[^1] : 0)) & 15];
        if (ReferenceEquals(slot.Target, target))
        {
            return slot.Template;
        }
        string template = Make(target);
        slot = (target, template);
        return template;
    }

    private static string Make(string target)
    {
        var path = target.AsSpan();
        // The absolute form (a proxy's request) names the authority first: RFC 9112 section 3.2.2.
        int scheme = path.IndexOf("://", StringComparison.Ordinal);
        if (scheme > 0 && path[..scheme].IndexOf('/') < 0)
        {
            var rest = path[(scheme + 3)..];
            int slash = rest.IndexOf('/');
            path = slash < 0 ? "/" : rest[slash..];
        }
        int end = path.IndexOfAny('?', '#');
        if (end >= 0)
        {
            path = path[..end];
        }
        if (!HasIdentifier(path))
        {
            return path.Length == target.Length ? target : path.ToString();
        }
        var b = new System.Text.StringBuilder(path.Length);
        foreach (var range in path.Split('/'))
        {
            if (range.Start.Value > 0)
            {
                b.Append('/');
            }
            var segment = path[range];
            b.Append(IsIdentifier(segment) ? Id : segment);
        }
        return b.ToString();
    }

    private static bool HasIdentifier(ReadOnlySpan<char> path)
    {
        foreach (var range in path.Split('/'))
        {
            if (IsIdentifier(path[range]))
            {
                return true;
            }
        }
        return false;
    }

    private static bool IsIdentifier(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty)
        {
            return false;
        }
        if (!s.ContainsAnyExceptInRange('0', '9'))
        {
            return true;
        }
        if (s.Length == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-')
        {
            return !s.ContainsAnyExcept("0123456789abcdefABCDEF-");
        }
        return s.Length >= 16 && s.ContainsAnyInRange('0', '9') && !s.ContainsAnyExcept("0123456789abcdefABCDEF");
    }
}
