using System.Buffers.Binary;

namespace Tattle.Protocols.Http2.Hpack;

/// <summary>The Huffman code of RFC 7541 Appendix B: table-driven decoding, and encoding for tests and tools.</summary>
internal static class HpackHuffman
{
    /// <summary>The symbol that may only appear as padding: in a string it is an error (§5.2).</summary>
    public const int Eos = 256;

    /// <summary>Code lengths of symbols 0..256 from Appendix B.</summary>
    /// <remarks>
    /// The code is canonical (codes of one length are consecutive, in symbol order, each length continuing the
    /// previous one), so the lengths alone define it; a test checks the derived codes against entries of the RFC.
    /// </remarks>
    private static ReadOnlySpan<byte> Lengths =>
    [
        13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
        28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
        6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
        5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
        13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
        7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
        15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
        6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
        20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
        24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
        22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
        21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
        26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
        19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
        20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
        26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
        30,
    ];

    private const int PrimaryBits = 9;
    private const int MaxLength = 30;

    /// <summary>Codes of up to <see cref="PrimaryBits"/> bits, indexed by the next 9 bits: symbol | length &lt;&lt; 9.</summary>
    /// <remarks>Every printable header byte except a few rare ones has a code of 9 bits or less: one lookup each.</remarks>
    private static readonly ushort[] Primary = new ushort[1 << PrimaryBits];

    // Canonical decoding of the longer codes: per length, the first code, how many there are, and where their
    // symbols start in Sorted.
    private static readonly int[] FirstCode = new int[MaxLength + 1];
    private static readonly int[] CountOfLength = new int[MaxLength + 1];
    private static readonly int[] SortedStart = new int[MaxLength + 1];
    private static readonly short[] Sorted = new short[257];

    /// <summary>The code of each symbol, right-aligned.</summary>
    internal static readonly uint[] Codes = new uint[257];

    static HpackHuffman()
    {
        var lengths = Lengths;
        int next = 0;
        for (int length = 1; length <= MaxLength; length++)
        {
            SortedStart[length] = next;
            for (int symbol = 0; symbol < lengths.Length; symbol++)
            {
                if (lengths[symbol] == length)
                {
                    Sorted[next++] = (short)symbol;
                }
            }
            CountOfLength[length] = next - SortedStart[length];
        }
        uint code = 0;
        int previous = lengths[Sorted[0]];
        for (int i = 0; i < Sorted.Length; i++)
        {
            int symbol = Sorted[i];
            int length = lengths[symbol];
            code <<= length - previous;
            previous = length;
            if (i == SortedStart[length])
            {
                FirstCode[length] = (int)code;
            }
            Codes[symbol] = code++;
            if (length <= PrimaryBits)
            {
                int shift = PrimaryBits - length;
                for (int fill = 0; fill < 1 << shift; fill++)
                {
                    Primary[((int)Codes[symbol] << shift) | fill] = (ushort)(symbol | (length << PrimaryBits));
                }
            }
        }
    }

    /// <summary>The code length of a symbol in bits.</summary>
    internal static int LengthOf(int symbol) => Lengths[symbol];

    /// <summary>
    /// Decodes <paramref name="source"/> into <paramref name="destination"/>. Returns the decoded length, or -1 when
    /// the string is malformed (EOS inside, padding longer than 7 bits or not all ones) or does not fit.
    /// </summary>
    public static int Decode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        ulong bits = 0;
        int count = 0;
        int read = 0;
        int written = 0;
        ushort[] primary = Primary;

        // While 8 bytes remain: refill in one read, then decode every code the longest one fits behind, with no
        // end-of-input checks. The loop below finishes the last bytes and checks the padding.
        while (source.Length - read >= 8)
        {
            int take = (64 - count) >> 3;
            ulong next = BinaryPrimitives.ReadUInt64BigEndian(source.Slice(read));
            bits = take == 8 ? next : (bits << (take * 8)) | (next >> (64 - (take * 8)));
            read += take;
            count += take * 8;
            while (count >= MaxLength)
            {
                int entry = primary[(int)(bits >> (count - PrimaryBits)) & ((1 << PrimaryBits) - 1)];
                int length = entry >> PrimaryBits;
                int symbol = entry & ((1 << PrimaryBits) - 1);
                if (length == 0)
                {
                    symbol = DecodeLong(bits, count, out length);
                    if (symbol == Eos)
                    {
                        return -1;
                    }
                }
                if ((uint)written >= (uint)destination.Length)
                {
                    return -1;
                }
                destination[written++] = (byte)symbol;
                count -= length;
            }
        }

        while (true)
        {
            while (count <= 56 && read < source.Length)
            {
                bits = (bits << 8) | source[read++];
                count += 8;
            }
            if (count == 0)
            {
                return written;
            }
            int peek = count >= PrimaryBits
                ? (int)(bits >> (count - PrimaryBits)) & ((1 << PrimaryBits) - 1)
                : (int)(bits << (PrimaryBits - count)) & ((1 << PrimaryBits) - 1);
            int entry = primary[peek];
            int length = entry >> PrimaryBits;
            int symbol = entry & ((1 << PrimaryBits) - 1);
            if (length == 0)
            {
                symbol = DecodeLong(bits, count, out length);
            }
            if (symbol < 0 || length > count)
            {
                // Input is exhausted here: what remains must be padding.
                return Padding(bits, count) ? written : -1;
            }
            if (symbol == Eos || written == destination.Length)
            {
                return -1;
            }
            destination[written++] = (byte)symbol;
            count -= length;
        }
    }

    /// <summary>
    /// A code longer than <see cref="PrimaryBits"/> at the top of the <paramref name="count"/> bits held, by
    /// canonical search; -1 when fewer bits are held than it needs.
    /// </summary>
    private static int DecodeLong(ulong bits, int count, out int length)
    {
        for (length = PrimaryBits + 1; length <= MaxLength && length <= count; length++)
        {
            int code = (int)(bits >> (count - length)) & ((1 << length) - 1);
            if ((uint)(code - FirstCode[length]) < (uint)CountOfLength[length])
            {
                return Sorted[SortedStart[length] + code - FirstCode[length]];
            }
        }
        return -1;
    }

    /// <summary>What is left after the last whole symbol must be the most significant bits of EOS: 1 to 7 ones.</summary>
    private static bool Padding(ulong bits, int count)
    {
        ulong mask = (1UL << count) - 1;
        return count <= 7 && (bits & mask) == mask;
    }

    /// <summary>The length in bytes of <paramref name="source"/> once encoded.</summary>
    public static int EncodedLength(ReadOnlySpan<byte> source)
    {
        long total = 0;
        foreach (byte b in source)
        {
            total += Lengths[b];
        }
        return (int)((total + 7) / 8);
    }

    /// <summary>Encodes <paramref name="source"/>, padded with the top bits of EOS; returns the bytes written.</summary>
    public static int Encode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        ulong bits = 0;
        int count = 0;
        int written = 0;
        foreach (byte b in source)
        {
            bits = (bits << Lengths[b]) | Codes[b];
            count += Lengths[b];
            while (count >= 8)
            {
                count -= 8;
                destination[written++] = (byte)(bits >> count);
            }
        }
        if (count > 0)
        {
            destination[written++] = (byte)((bits << (8 - count)) | (0xFFu >> count));
        }
        return written;
    }
}
