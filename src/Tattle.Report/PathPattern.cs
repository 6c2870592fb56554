namespace Tattle.Report;

/// <summary>HTTP paths as routes: the query dropped, ids (numbers, UUIDs, long hex) collapsed to <c>{id}</c>.</summary>
public static class PathPattern
{
    public const string Id = "{id}";

    public static string Collapse(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return "-";
        }
        int query = path.IndexOfAny(['?', '#']);
        string bare = query >= 0 ? path[..query] : path;
        if (!bare.StartsWith('/'))
        {
            return bare.Length > 0 ? bare : "/"; // an absolute-form or authority-form target, or "*"
        }
        var segments = bare.Split('/');
        for (int i = 0; i < segments.Length; i++)
        {
            if (IsId(segments[i]))
            {
                segments[i] = Id;
            }
        }
        return string.Join('/', segments);
    }

    /// <summary>A segment that names one thing among many: digits, a UUID, or 16+ hex digits (hashes, object ids).</summary>
    public static bool IsId(string segment)
    {
        if (segment.Length == 0)
        {
            return false;
        }
        if (segment.All(char.IsAsciiDigit))
        {
            return true;
        }
        if (segment.Length == 36 && Guid.TryParseExact(segment, "D", out _))
        {
            return true;
        }
        return segment.Length >= 16 && segment.All(char.IsAsciiHexDigit) && segment.Any(char.IsAsciiDigit);
    }
}
