using System.Text;
using Tattle.Protocols.Http2.Hpack;

namespace Tattle.Tests.Protocols.Http2.Hpack;

/// <summary>Records what a decoder reports as "name: value" lines ("?" for what it could not know).</summary>
internal sealed class RecordingSink : IHpackHeaderSink
{
    public List<string> Fields { get; } = [];
    public List<int> StaticIndices { get; } = [];

    public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, int staticIndex)
    {
        Fields.Add($"{Encoding.Latin1.GetString(name)}: {Encoding.Latin1.GetString(value)}");
        StaticIndices.Add(staticIndex);
    }

    public void OnUnknownHeader(ReadOnlySpan<byte> value, bool nameOnly)
    {
        Fields.Add(nameOnly ? $"?: {Encoding.Latin1.GetString(value)}" : "?");
        StaticIndices.Add(0);
    }
}

/// <summary>Builds header blocks: hex as the RFC prints it, and the field representations of §6.</summary>
internal static class HpackWire
{
    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

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

    /// <summary>A literal field (§6.2): kind 0x40 adds to the table, 0x00 does not, 0x10 is never indexed.</summary>
    public static void Literal(List<byte> into, byte kind, int nameIndex, string? name, string value, bool huffman = false)
    {
        Integer(into, kind == 0x40 ? 6 : 4, kind, nameIndex);
        if (nameIndex == 0)
        {
            String(into, name!, huffman);
        }
        String(into, value, huffman);
    }

    /// <summary>A dynamic table size update (§6.3).</summary>
    public static void SizeUpdate(List<byte> into, int size) => Integer(into, 5, 0x20, size);
}
