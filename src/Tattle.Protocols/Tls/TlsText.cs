namespace Tattle.Protocols.Tls;

/// <summary>Bytes from a hello as text: names should be ASCII, and what is not is shown as \xHH, never trusted.</summary>
internal static class TlsText
{
    /// <summary>An ALPN protocol id; the common ones without a new string.</summary>
    public static string Protocol(ReadOnlySpan<byte> id)
    {
        if (id.SequenceEqual("h2"u8))
        {
            return "h2";
        }
        if (id.SequenceEqual("http/1.1"u8))
        {
            return "http/1.1";
        }
        if (id.SequenceEqual("h3"u8))
        {
            return "h3";
        }
        if (id.SequenceEqual("http/1.0"u8))
        {
            return "http/1.0";
        }
        return Printable(id);
    }

    /// <summary>Printable ASCII as is, a backslash doubled, any other byte as \xHH.</summary>
    public static string Printable(ReadOnlySpan<byte> bytes)
    {
        int length = 0;
        foreach (byte b in bytes)
        {
            length += b is >= 0x20 and < 0x7F ? (b == '\\' ? 2 : 1) : 4;
        }
        if (length == bytes.Length)
        {
            return string.Create(length, bytes, static (text, b) =>
            {
                for (int i = 0; i < b.Length; i++)
                {
                    text[i] = (char)b[i];
                }
            });
        }
        Span<char> buffer = length <= 1024 ? stackalloc char[length] : new char[length];
        int n = 0;
        foreach (byte b in bytes)
        {
            if (b is >= 0x20 and < 0x7F && b != '\\')
            {
                buffer[n++] = (char)b;
            }
            else if (b == '\\')
            {
                buffer[n++] = '\\';
                buffer[n++] = '\\';
            }
            else
            {
                buffer[n++] = '\\';
                buffer[n++] = 'x';
                buffer[n++] = "0123456789abcdef"[b >> 4];
                buffer[n++] = "0123456789abcdef"[b & 0xF];
            }
        }
        return new string(buffer);
    }
}
