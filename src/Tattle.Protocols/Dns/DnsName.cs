using System.Runtime.CompilerServices;
using Tattle.Protocols.Http1;

namespace Tattle.Protocols.Dns;

/// <summary>Reads domain names in wire form, following compression pointers with bounds (RFC 1035 §3.1, §4.1.4).</summary>
internal static class DnsName
{
    /// <summary>The name is malformed: a bad label type, a forward or self pointer, or longer than 255 bytes.</summary>
    public const int Malformed = -1;

    /// <summary>The name runs past the end of the bytes given.</summary>
    public const int Cut = -2;

    /// <summary>Characters the longest name can take as text: 255 wire bytes, each at most "\DDD".</summary>
    public const int MaxTextLength = 1024;

    // RFC 1035 §2.3.4: 255 bytes for the whole name in wire form, 63 for a label (the 0x40/0x80 label types of
    // RFC 6891 §5 are not in use, so a length byte of 64..191 is malformed).
    private const int MaxWireLength = 255;

    // Every pointer must go strictly below the start of the part being read, so jumps always terminate; the cap
    // is a second guard (a 255-byte name has at most 127 labels).
    private const int MaxJumps = 128;

    /// <summary>
    /// Walks the name at <paramref name="pos"/> of <paramref name="message"/> (which starts at the DNS header, so
    /// pointer offsets index it) and returns the offset just past the name where it was written (after the
    /// first pointer, if any), or <see cref="Malformed"/> or <see cref="Cut"/>. When <paramref name="text"/> is not
    /// empty (at least <see cref="MaxTextLength"/> long) the name is written to it in presentation form
    /// (RFC 1035 §5.1), without the trailing dot; the root is ".".
    /// </summary>
    public static int Read(ReadOnlySpan<byte> message, int pos, Span<byte> text, out int textLength)
    {
        textLength = 0;
        bool write = !text.IsEmpty;
        int end = -1;
        int p = pos;
        int lowest = pos;
        int wire = 1;
        int jumps = 0;
        while (true)
        {
            if ((uint)p >= (uint)message.Length)
            {
                return Cut;
            }
            int len = message[p];
            if (len == 0)
            {
                if (end < 0)
                {
                    end = p + 1;
                }
                break;
            }
            if ((len & 0xC0) == 0xC0)
            {
                if (p + 1 >= message.Length)
                {
                    return Cut;
                }
                int target = ((len & 0x3F) << 8) | message[p + 1];
                if (end < 0)
                {
                    end = p + 2;
                }
                // A pointer names a prior occurrence (RFC 1035 §4.1.4): never the header, never forward or itself.
                if (target < DnsHeader.Size || target >= lowest || ++jumps > MaxJumps)
                {
                    return Malformed;
                }
                p = lowest = target;
                continue;
            }
            if (len > 63)
            {
                return Malformed;
            }
            wire += 1 + len;
            if (wire > MaxWireLength)
            {
                return Malformed;
            }
            if (p + 1 + len > message.Length)
            {
                return Cut;
            }
            if (write)
            {
                if (textLength > 0)
                {
                    text[textLength++] = (byte)'.';
                }
                textLength += WriteLabel(message.Slice(p + 1, len), text[textLength..]);
            }
            p += 1 + len;
        }
        if (write && textLength == 0)
        {
            text[textLength++] = (byte)'.';
        }
        return end;
    }

    /// <summary>The offset just past the name at <paramref name="pos"/>, or <see cref="Malformed"/> / <see cref="Cut"/>.</summary>
    public static int Skip(ReadOnlySpan<byte> message, int pos) => Read(message, pos, [], out _);

    /// <summary>
    /// Reads the name at <paramref name="pos"/> as text; null if malformed or cut. A program asks for the same names
    /// again and again, so the string is the one last made from the same text on this thread when there is one.
    /// </summary>
    // Only the bytes Read writes are read back: zeroing 1 KiB of stack per name would cost more than the read.
    [SkipLocalsInit]
    public static string? ReadString(ReadOnlySpan<byte> message, int pos, out int end)
    {
        Span<byte> text = stackalloc byte[MaxTextLength];
        end = Read(message, pos, text, out int length);
        return end < 0 ? null : HttpStrings.Recent(text[..length]);
    }

    /// <summary>Writes a label in presentation form, which is ASCII whatever the label holds (RFC 1035 §5.1).</summary>
    private static int WriteLabel(ReadOnlySpan<byte> label, Span<byte> text)
    {
        int n = 0;
        foreach (byte b in label)
        {
            if (b is > 0x20 and < 0x7F && b != '.' && b != '\\')
            {
                text[n++] = b;
            }
            else if (b is (byte)'.' or (byte)'\\')
            {
                text[n++] = (byte)'\\';
                text[n++] = b;
            }
            else
            {
                // RFC 1035 §5.1: \DDD for a byte with no printable form.
                text[n++] = (byte)'\\';
                text[n++] = (byte)('0' + b / 100);
                text[n++] = (byte)('0' + b / 10 % 10);
                text[n++] = (byte)('0' + b % 10);
            }
        }
        return n;
    }
}
