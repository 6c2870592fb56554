using System.Buffers;

namespace Tattle.Protocols.Http1;

/// <summary>The bytes and character classes of HTTP/1 syntax, and the start-line checks the probe shares.</summary>
internal static class HttpSyntax
{
    public const byte CR = (byte)'\r';
    public const byte LF = (byte)'\n';
    public const byte SP = (byte)' ';
    public const byte HTAB = (byte)'\t';
    public const byte Colon = (byte)':';
    public const byte Semicolon = (byte)';';
    public const byte Comma = (byte)',';
    public const byte Zero = (byte)'0';
    public const byte Nine = (byte)'9';

    /// <summary>A head (start line, fields, empty line) longer than this is refused, as servers refuse it.</summary>
    public const int MaxHeadBytes = 64 * 1024;

    public const int MaxHeaders = 200;

    /// <summary>Longest method token the probe believes in when the method is not a registered one.</summary>
    public const int MaxUnknownMethod = 20;

    /// <summary>Longest request-target the probe waits for when the method is not a registered one.</summary>
    public const int MaxProbedTarget = 8 * 1024;

    /// <summary>tchar, RFC 9110 section 5.6.2.</summary>
    public static readonly SearchValues<byte> TokenChars =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    /// <summary>Bytes a request-target cannot hold: whitespace, controls, DEL (RFC 9112 section 3.2); obs-text passes.</summary>
    public static readonly SearchValues<byte> TargetForbidden = SearchValues.Create(
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
            30, 31, 32, 127]);

    /// <summary>Bytes a field value or reason phrase cannot hold: CR, LF, NUL (RFC 9110 section 5.5).</summary>
    public static readonly SearchValues<byte> ValueForbidden = SearchValues.Create([0, CR, LF]);

    /// <summary>The prefix every HTTP/1 version shares (RFC 9112 section 2.3).</summary>
    public static ReadOnlySpan<byte> VersionPrefix => "HTTP/1."u8;

    /// <summary>The registered methods (RFC 9110 section 9, RFC 5789), each with its SP: their targets may be long.</summary>
    private static readonly byte[][] KnownMethods =
    [
        "GET "u8.ToArray(), "POST "u8.ToArray(), "PUT "u8.ToArray(), "DELETE "u8.ToArray(), "HEAD "u8.ToArray(),
        "OPTIONS "u8.ToArray(), "PATCH "u8.ToArray(), "CONNECT "u8.ToArray(), "TRACE "u8.ToArray(),
    ];

    public static bool IsToken(ReadOnlySpan<byte> s) => !s.IsEmpty && s.IndexOfAnyExcept(TokenChars) < 0;

    public static bool IsDigit(byte b) => (uint)(b - Zero) <= 9;

    public static bool IsOws(byte b) => b is SP or HTAB;

    /// <summary>"HTTP/1.x" with x a digit (RFC 9112 section 2.3); a later minor is read as 1.1 would be.</summary>
    public static bool TryParseVersion(ReadOnlySpan<byte> s, out int minor)
    {
        minor = 0;
        if (s.Length != VersionPrefix.Length + 1 || !s.StartsWith(VersionPrefix) || !IsDigit(s[^1]))
        {
            return false;
        }
        minor = s[^1] - Zero;
        return true;
    }

    /// <summary>
    /// Whether the bytes open a response: a status line's "HTTP/1.0 NNN" or "HTTP/1.1 NNN" (RFC 9112 section 4).
    /// The version alone is not enough: a text protocol's line may start with it.
    /// </summary>
    public static Detection3 DetectResponse(ReadOnlySpan<byte> data)
    {
        var version = MatchVersion(data);
        if (version != Detection3.Yes)
        {
            return version;
        }
        if (data[VersionPrefix.Length] is not ((byte)'0' or (byte)'1'))
        {
            return Detection3.No; // no server sends another minor version
        }
        var rest = data[(VersionPrefix.Length + 1)..];
        if (rest.IsEmpty)
        {
            return Detection3.Maybe;
        }
        if (rest[0] != SP)
        {
            return Detection3.No;
        }
        var status = rest[1..];
        for (int i = 0; i < 3; i++)
        {
            if (i >= status.Length)
            {
                return Detection3.Maybe;
            }
            if (!IsDigit(status[i]))
            {
                return Detection3.No;
            }
        }
        return Detection3.Yes;
    }

    /// <summary>
    /// Whether the bytes open a request: a whole request line, method SP target SP "HTTP/1.x" and its line end
    /// (RFC 9112 section 3). A method alone is not enough: Redis inline commands ("GET foo") and other text
    /// protocols start with the same words. A registered method may carry a target as long as a head; another
    /// token, only <see cref="MaxProbedTarget"/>, so text that merely starts with a word is given up sooner.
    /// </summary>
    public static Detection3 DetectRequest(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return Detection3.Maybe;
        }
        int methodEnd = data.IndexOfAnyExcept(TokenChars);
        if (methodEnd < 0)
        {
            return data.Length <= MaxUnknownMethod ? Detection3.Maybe : Detection3.No;
        }
        if (methodEnd == 0 || methodEnd > MaxUnknownMethod || data[methodEnd] != SP)
        {
            return Detection3.No;
        }
        int maxTarget = IsKnownMethod(data[..(methodEnd + 1)]) ? MaxHeadBytes : MaxProbedTarget;

        var rest = data[(methodEnd + 1)..];
        int targetEnd = rest.IndexOfAny(TargetForbidden);
        if (targetEnd < 0)
        {
            return rest.Length <= maxTarget ? Detection3.Maybe : Detection3.No;
        }
        if (targetEnd == 0 || rest[targetEnd] != SP)
        {
            return Detection3.No;
        }

        var version = rest[(targetEnd + 1)..];
        var found = MatchVersion(version);
        if (found != Detection3.Yes)
        {
            return found;
        }
        var end = version[(VersionPrefix.Length + 1)..];
        return end.IsEmpty ? Detection3.Maybe : end[0] is CR or LF ? Detection3.Yes : Detection3.No;
    }

    /// <summary>Whether the bytes start with "HTTP/1.x", x a digit; Maybe while they are a prefix of it.</summary>
    private static Detection3 MatchVersion(ReadOnlySpan<byte> data)
    {
        ReadOnlySpan<byte> prefix = VersionPrefix;
        int n = Math.Min(data.Length, prefix.Length);
        if (!data[..n].SequenceEqual(prefix[..n]))
        {
            return Detection3.No;
        }
        if (data.Length <= prefix.Length)
        {
            return Detection3.Maybe;
        }
        return IsDigit(data[prefix.Length]) ? Detection3.Yes : Detection3.No;
    }

    private static bool IsKnownMethod(ReadOnlySpan<byte> methodAndSpace)
    {
        foreach (byte[] method in KnownMethods)
        {
            if (methodAndSpace.SequenceEqual(method))
            {
                return true;
            }
        }
        return false;
    }
}

/// <summary>A yes/no answer that may still be waiting for bytes.</summary>
internal enum Detection3 : byte
{
    No,
    Maybe,
    Yes,
}
