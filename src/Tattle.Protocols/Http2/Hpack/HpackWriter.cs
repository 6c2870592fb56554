using System.Text;

namespace Tattle.Protocols.Http2.Hpack;

/// <summary>
/// Writes the field representations of RFC 7541 §6: Tattle only decodes, but tests and benchmarks build their
/// blocks with it, so they share one encoder rather than hand-written hex.
/// </summary>
internal static class HpackWriter
{
    /// <summary>An integer with an N-bit prefix (§5.1); <paramref name="flags"/> fills the bits above it.</summary>
    public static void Integer(List<byte> into, int prefixBits, byte flags, int value)
    {
        int max = (1 << prefixBits) - 1;
        if (value < max)
        {
            into.Add((byte)(flags | value));
            return;
        }
        into.Add((byte)(flags | max));
        value -= max;
        while (value >= 128)
        {
            into.Add((byte)(0x80 | (value & 0x7F)));
            value >>= 7;
        }
        into.Add((byte)value);
    }

    /// <summary>A string literal (§5.2), its characters taken as Latin-1 bytes.</summary>
    public static void String(List<byte> into, string text, bool huffman)
    {
        byte[] raw = Encoding.Latin1.GetBytes(text);
        if (!huffman)
        {
            Integer(into, 7, 0, raw.Length);
            into.AddRange(raw);
            return;
        }
        var encoded = new byte[HpackHuffman.EncodedLength(raw)];
        HpackHuffman.Encode(raw, encoded);
        Integer(into, 7, 0x80, encoded.Length);
        into.AddRange(encoded);
    }

    /// <summary>An indexed field (§6.1).</summary>
    public static void Indexed(List<byte> into, int index) => Integer(into, 7, 0x80, index);

    /// <summary>
    /// A literal field (§6.2): <paramref name="kind"/> 0x40 adds it to the table, 0x00 does not, 0x10 marks it never
    /// indexed. <paramref name="name"/> is written only when <paramref name="nameIndex"/> is 0.
    /// </summary>
    public static void Literal(List<byte> into, byte kind, int nameIndex, string? name, string value, bool huffman = false)
    {
        Integer(into, kind == 0x40 ? 6 : 4, kind, nameIndex);
        if (nameIndex == 0)
        {
            String(into, name ?? "", huffman);
        }
        String(into, value, huffman);
    }

    /// <summary>A dynamic table size update (§6.3).</summary>
    public static void SizeUpdate(List<byte> into, int size) => Integer(into, 5, 0x20, size);
}
