using System.Text;

namespace Tattle.Protocols.Http2.Hpack;

/// <summary>
/// The static table of RFC 7541 Appendix A. Indices a sink receives are canonical: the first entry with that name
/// (":method" is always 2, ":status" always 8), so a caller recognises a name by one number.
/// </summary>
public static class HpackStaticTable
{
    /// <summary>Number of entries; dynamic indices start after it.</summary>
    public const int Count = 61;

    /// <summary>Canonical indices of the names a caller most often looks for.</summary>
    public const int Authority = 1, Method = 2, Path = 4, Scheme = 6, Status = 8, ContentLength = 28,
        ContentType = 31, Cookie = 32, Host = 38, Location = 46, SetCookie = 55, UserAgent = 58;

    private static readonly (string Name, string Value)[] Entries =
    [
        ("", ""),
        (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
        (":scheme", "http"), (":scheme", "https"), (":status", "200"), (":status", "204"), (":status", "206"),
        (":status", "304"), (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
        ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""), ("accept", ""),
        ("access-control-allow-origin", ""), ("age", ""), ("allow", ""), ("authorization", ""),
        ("cache-control", ""), ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""),
        ("content-length", ""), ("content-location", ""), ("content-range", ""), ("content-type", ""),
        ("cookie", ""), ("date", ""), ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""),
        ("if-match", ""), ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""),
        ("if-unmodified-since", ""), ("last-modified", ""), ("link", ""), ("location", ""), ("max-forwards", ""),
        ("proxy-authenticate", ""), ("proxy-authorization", ""), ("range", ""), ("referer", ""), ("refresh", ""),
        ("retry-after", ""), ("server", ""), ("set-cookie", ""), ("strict-transport-security", ""),
        ("transfer-encoding", ""), ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
    ];

    private static readonly byte[][] Names = [.. Entries.Select(e => Encoding.ASCII.GetBytes(e.Name))];
    private static readonly byte[][] Values = [.. Entries.Select(e => Encoding.ASCII.GetBytes(e.Value))];
    private static readonly byte[] Canonical = new byte[Count + 1];

    static HpackStaticTable()
    {
        for (int i = 1; i <= Count; i++)
        {
            Canonical[i] = (byte)(i > 1 && Entries[i - 1].Name == Entries[i].Name ? Canonical[i - 1] : i);
        }
    }

    /// <summary>The name of entry <paramref name="index"/> (1..61).</summary>
    public static ReadOnlySpan<byte> Name(int index) => Names[index];

    /// <summary>The value of entry <paramref name="index"/> (1..61); empty for name-only entries.</summary>
    public static ReadOnlySpan<byte> Value(int index) => Values[index];

    /// <summary>The first index whose name is the name of entry <paramref name="index"/>.</summary>
    public static int CanonicalIndex(int index) => Canonical[index];

    /// <summary>The canonical index of <paramref name="name"/>, or 0 when no entry has that name.</summary>
    public static int Find(ReadOnlySpan<byte> name)
    {
        // The longest static name is 27 bytes; most literal names are not in the table and stop here.
        if (name.Length is < 3 or > 27)
        {
            return 0;
        }
        for (int i = 1; i <= Count; i++)
        {
            if (Names[i].Length == name.Length && Canonical[i] == i && name.SequenceEqual(Names[i]))
            {
                return i;
            }
        }
        return 0;
    }
}
