using System.Text;

namespace Tattle.Protocols.Http2;

/// <summary>
/// Counts gRPC's length-prefixed messages (a compressed-flag byte, a 4-byte big-endian length, the message) in
/// the DATA of one side of a stream, across DATA frame boundaries, without keeping the messages.
/// </summary>
internal struct GrpcMessageCounter
{
    private const int PrefixSize = 5;

    private int _prefixRead;
    private uint _length;
    private long _remaining;

    public int Messages;
    public long MessageBytes;
    public bool Compressed;

    /// <summary>Bytes of the side were lost: where the next prefix starts is unknown, so counting stops.</summary>
    public bool Lost;

    public void Add(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty && !Lost)
        {
            if (_remaining > 0)
            {
                int skip = (int)Math.Min(_remaining, data.Length);
                _remaining -= skip;
                data = data[skip..];
                continue;
            }
            if (_prefixRead == 0)
            {
                // A message starts: it counts from its first byte, so one cut short by the stream's end counts too.
                Messages++;
                Compressed |= data[0] == 1;
                _length = 0;
            }
            else
            {
                _length = (_length << 8) | data[0];
            }
            data = data[1..];
            if (++_prefixRead == PrefixSize)
            {
                _prefixRead = 0;
                _remaining = _length;
                MessageBytes += _length;
            }
        }
    }
}

/// <summary>gRPC's names and texts (doc/statuscodes.md and PROTOCOL-HTTP2.md in grpc/grpc).</summary>
internal static class GrpcText
{
    private static readonly string[] StatusNames =
    [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
        "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
        "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    ];

    public static bool IsGrpcContentType(string? contentType) =>
        contentType is not null && contentType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase);

    /// <summary>The status name of a code in 0..16, else null (codes outside are not gRPC's).</summary>
    public static string? StatusName(int code) => code >= 0 && code < StatusNames.Length ? StatusNames[code] : null;

    /// <summary>"/package.Service/Method" split in two; the whole path as the service when it has another shape.</summary>
    public static (string Service, string Method) SplitPath(string? path)
    {
        if (path is null)
        {
            return ("", "");
        }
        // A client calls the same methods again, and a repeated path is the same string (HttpStrings.Target): the
        // last one split on this thread is split once.
        if (t_lastSplit is { } last && ReferenceEquals(last.Path, path))
        {
            return (last.Service, last.Method);
        }
        var (service, method) = Split(path);
        t_lastSplit = new SplitPathText(path, service, method);
        return (service, method);
    }

    [ThreadStatic]
    private static SplitPathText? t_lastSplit;

    private sealed record SplitPathText(string Path, string Service, string Method);

    private static (string Service, string Method) Split(string path)
    {
        var p = path.AsSpan();
        int query = p.IndexOf('?');
        if (query >= 0)
        {
            p = p[..query];
        }
        int slash = p.LastIndexOf('/');
        if (p.Length > 0 && p[0] == '/' && slash > 0)
        {
            return (p[1..slash].ToString(), p[(slash + 1)..].ToString());
        }
        return (p.ToString(), "");
    }

    /// <summary>
    /// grpc-message is percent-encoded UTF-8; a malformed escape is kept as it is, as the gRPC spec asks of
    /// receivers.
    /// </summary>
    public static string PercentDecode(string text)
    {
        if (!text.Contains('%'))
        {
            return text;
        }
        var bytes = new List<byte>(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '%' && i + 2 < text.Length
                && byte.TryParse(text.AsSpan(i + 1, 2), System.Globalization.NumberStyles.HexNumber, null, out byte b))
            {
                bytes.Add(b);
                i += 2;
                continue;
            }
            if (text[i] < 0x80)
            {
                bytes.Add((byte)text[i]);
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(text.Substring(i, 1)));
            }
        }
        return Encoding.UTF8.GetString([.. bytes]);
    }
}
