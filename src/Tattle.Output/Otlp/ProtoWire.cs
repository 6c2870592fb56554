using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;

namespace Tattle.Output.Otlp;

/// <summary>
/// Protobuf's wire format written into a buffer sized beforehand: varints, fixed64 and length-delimited fields, and
/// the sizes they take. Only what a Span and its attributes use.
/// </summary>
internal ref struct ProtoWire(Span<byte> buffer)
{
    public const int Varint = 0, Fixed64 = 1, LengthDelimited = 2;

    private readonly Span<byte> _buffer = buffer;

    public int Position { get; private set; }

    public static int VarintSize(ulong value) => (BitOperations.Log2(value | 1) / 7) + 1;

    public static int TagSize(int field) => VarintSize((uint)field << 3);

    /// <summary>A length-delimited field (bytes, a string's UTF-8, a nested message) of <paramref name="length"/> bytes.</summary>
    public static int FieldSize(int field, int length) => TagSize(field) + VarintSize((uint)length) + length;

    /// <summary>A varint field: int64, an enum (an int32, sign-extended as protobuf does) or a bool.</summary>
    public static int VarintFieldSize(int field, long value) => TagSize(field) + VarintSize((ulong)value);

    public static int Fixed64FieldSize(int field) => TagSize(field) + 8;

    // Most varints of a span are tags and short lengths: one byte, inlined; the loop only for the rest.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteVarint(ulong value)
    {
        if (value < 0x80)
        {
            _buffer[Position++] = (byte)value;
            return;
        }
        WriteLongVarint(value);
    }

    private void WriteLongVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _buffer[Position++] = (byte)(value | 0x80);
            value >>= 7;
        }
        _buffer[Position++] = (byte)value;
    }

    public void Tag(int field, int wireType) => WriteVarint(((uint)field << 3) | (uint)wireType);

    /// <summary>The tag and length of a length-delimited field whose <paramref name="length"/> bytes come next.</summary>
    public void Header(int field, int length)
    {
        Tag(field, LengthDelimited);
        WriteVarint((uint)length);
    }

    public void Bytes(int field, ReadOnlySpan<byte> bytes)
    {
        Header(field, bytes.Length);
        bytes.CopyTo(_buffer[Position..]);
        Position += bytes.Length;
    }

    /// <summary><paramref name="text"/> as UTF-8, whose length the caller found with <see cref="Encoding.GetByteCount(string)"/>.</summary>
    public void String(int field, string text, int utf8Length)
    {
        Header(field, utf8Length);
        Position += Encoding.UTF8.GetBytes(text, _buffer.Slice(Position, utf8Length));
    }

    /// <summary><paramref name="text"/> from its kept UTF-8 when there is one, else transcoded.</summary>
    public void String(int field, string text, byte[]? utf8, int utf8Length)
    {
        if (utf8 is null)
        {
            String(field, text, utf8Length);
        }
        else
        {
            Bytes(field, utf8);
        }
    }

    public void VarintField(int field, long value)
    {
        Tag(field, Varint);
        WriteVarint((ulong)value);
    }

    public void Fixed64Field(int field, ulong value)
    {
        Tag(field, Fixed64);
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer[Position..], value);
        Position += 8;
    }
}
