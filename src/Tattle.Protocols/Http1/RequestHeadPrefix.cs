using System.Text;

namespace Tattle.Protocols.Http1;

/// <summary>
/// The request line and Host of the first bytes of an HTTP/1 request head, all that is kept of it where the head is
/// read in the kernel (--http-in-kernel): "GET /users/1?x=2 HTTP/1.1\r\nHost: a\r\n…".
/// </summary>
public static class RequestHeadPrefix
{
    /// <summary>Ends a target the bytes cut.</summary>
    public const string Cut = "…";

    /// <summary>
    /// The request line and Host of a head's first bytes (zeros after them are ignored), or null for bytes that do
    /// not begin with a method and a space. A target cut by the end of the bytes ends in "…"; the version and Host
    /// are null unless their line ends inside them.
    /// </summary>
    public static RequestHeadFields? Parse(ReadOnlySpan<byte> head, bool redact)
    {
        head = head.TrimEnd((byte)0);
        int space = head.IndexOf((byte)' ');
        // A method is a token (RFC 9110 section 5.6.2): "HTTP/1.1" is not one.
        if (space <= 0 || !HttpSyntax.IsToken(head[..space]))
        {
            return null;
        }
        var method = HttpStrings.Method(head[..space]);
        var rest = head[(space + 1)..];
        int end = rest.IndexOfAny((byte)' ', (byte)'\r', (byte)'\n');
        var target = Encoding.Latin1.GetString(end < 0 ? rest : rest[..end]);
        if (redact)
        {
            target = HttpRedactor.RedactUrl(target);
        }
        if (end < 0)
        {
            return new RequestHeadFields(method, target + Cut, null, null);
        }
        string? version = null;
        var line = rest[end..];
        int lineEnd = line.IndexOf("\r\n"u8);
        if (lineEnd > 1 && line[0] == HttpSyntax.SP && HttpSyntax.TryParseVersion(line[1..lineEnd], out int minor))
        {
            version = HttpStrings.Version(minor);
        }
        return new RequestHeadFields(method, target, version, lineEnd < 0 ? null : HostOf(line[(lineEnd + 2)..]));
    }

    /// <summary>The Host field among the header lines, when its line ends inside them (RFC 9112 section 3.2).</summary>
    private static string? HostOf(ReadOnlySpan<byte> lines)
    {
        while (lines.Length > 0)
        {
            int eol = lines.IndexOf("\r\n"u8);
            if (eol <= 0)
            {
                return null; // the head's end, or a line the bytes cut
            }
            var field = lines[..eol];
            int colon = field.IndexOf((byte)':');
            if (colon == 4 && Ascii.EqualsIgnoreCase(field[..4], "Host"u8))
            {
                return Encoding.Latin1.GetString(field[5..].Trim(" \t"u8));
            }
            lines = lines[(eol + 2)..];
        }
        return null;
    }
}

/// <summary>What the first bytes of a request head say: its method, its target (redacted), version and Host.</summary>
public sealed record RequestHeadFields(string Method, string Target, string? Version, string? Host);
