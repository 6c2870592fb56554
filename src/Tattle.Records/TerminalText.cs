using System.Buffers;

namespace Tattle.Records;

/// <summary>
/// Text that traced programs control (names, arguments, paths, headers, file names in captures) made safe for a
/// terminal: a name like <c>x\e]0;…\a</c> must not retitle, recolour or rewrite the screen of the root user
/// reading it. Every such string passes through <see cref="Sanitize"/> on its way to a person.
/// </summary>
public static class TerminalText
{
    // C0 controls, DEL, C1 controls (0x9B is a one-character CSI on many terminals), and the Unicode bidirectional
    // overrides and isolates, which reorder what is shown without being visible themselves.
    private static readonly SearchValues<char> Unsafe = SearchValues.Create(
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000a\u000b\u000c\u000d\u000e\u000f"
        + "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f\u007f"
        + "\u0080\u0081\u0082\u0083\u0084\u0085\u0086\u0087\u0088\u0089\u008a\u008b\u008c\u008d\u008e\u008f"
        + "\u0090\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098\u0099\u009a\u009b\u009c\u009d\u009e\u009f"
        + "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069");

    /// <summary>
    /// <paramref name="text"/> with every control character as <c>\xHH</c> (ESC is <c>\x1b</c>) and every
    /// bidirectional control as <c>\uHHHH</c>; the same string when there is none, so the common case costs a scan.
    /// </summary>
    public static string Sanitize(string? text)
    {
        if (text is null)
        {
            return "";
        }
        int first = text.AsSpan().IndexOfAny(Unsafe);
        if (first < 0)
        {
            return text;
        }
        var sb = new System.Text.StringBuilder(text.Length + 16);
        sb.Append(text.AsSpan(0, first));
        foreach (char c in text.AsSpan(first))
        {
            if (!Unsafe.Contains(c))
            {
                sb.Append(c);
            }
            else if (c < '\u0100')
            {
                sb.Append("\\x").Append(Hex[c >> 4]).Append(Hex[c & 0xF]);
            }
            else
            {
                sb.Append("\\u").Append(Hex[c >> 12]).Append(Hex[(c >> 8) & 0xF]).Append(Hex[(c >> 4) & 0xF]).Append(Hex[c & 0xF]);
            }
        }
        return sb.ToString();
    }

    /// <summary>Whether <paramref name="text"/> holds nothing <see cref="Sanitize"/> would change.</summary>
    public static bool IsSafe(ReadOnlySpan<char> text) => text.IndexOfAny(Unsafe) < 0;

    private const string Hex = "0123456789abcdef";
}
