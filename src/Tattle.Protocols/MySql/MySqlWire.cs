using System.Buffers.Binary;
using System.Text;

namespace Tattle.Protocols.MySql;

/// <summary>
/// Reads a packet's fields (little-endian integers, length-encoded integers, NUL-terminated and length-encoded
/// strings) without throwing on short input.
/// </summary>
internal ref struct MySqlWire(ReadOnlySpan<byte> payload)
{
    private ReadOnlySpan<byte> _rest = payload;

    /// <summary>A read ran past the end of the packet or found no terminator.</summary>
    public bool Failed { get; private set; }

    public readonly bool AtEnd => _rest.IsEmpty;

    public int Int8() => Take(1) is [var b] ? b : 0;

    public int Int16() => Take(2) is { Length: 2 } s ? BinaryPrimitives.ReadUInt16LittleEndian(s) : 0;

    public uint Int32() => Take(4) is { Length: 4 } s ? BinaryPrimitives.ReadUInt32LittleEndian(s) : 0;

    /// <summary>A length-encoded integer: one byte below 0xFB, else 0xFC/0xFD/0xFE and 2, 3 or 8 bytes.</summary>
    public ulong LengthEncoded()
    {
        int first = Int8();
        return first switch
        {
            < 0xFB => (ulong)first,
            0xFC => (ulong)Int16(),
            0xFD => Take(3) is { Length: 3 } s ? s[0] | (ulong)s[1] << 8 | (ulong)s[2] << 16 : 0,
            0xFE => Take(8) is { Length: 8 } s ? BinaryPrimitives.ReadUInt64LittleEndian(s) : 0,
            _ => Fail(),
        };
    }

    public string CString()
    {
        int end = _rest.IndexOf((byte)0);
        if (end < 0)
        {
            Failed = true;
            return "";
        }
        string s = Encoding.UTF8.GetString(_rest[..end]);
        _rest = _rest[(end + 1)..];
        return s;
    }

    /// <summary>A string whose length-encoded length comes first.</summary>
    public string LengthEncodedString()
    {
        ulong n = LengthEncoded();
        return n > (ulong)_rest.Length ? Fail("") : Encoding.UTF8.GetString(Take((int)n));
    }

    /// <summary>Steps over <paramref name="n"/> bytes without looking at them (authentication data).</summary>
    public void Skip(ulong n)
    {
        if (n > (ulong)_rest.Length)
        {
            Failed = true;
            _rest = [];
            return;
        }
        _rest = _rest[(int)n..];
    }

    /// <summary>Steps over a NUL-terminated field without decoding it.</summary>
    public void SkipCString()
    {
        int end = _rest.IndexOf((byte)0);
        if (end < 0)
        {
            Failed = true;
            _rest = [];
            return;
        }
        _rest = _rest[(end + 1)..];
    }

    /// <summary>The rest of the packet as text (an ERR's message, a command's argument).</summary>
    public string Rest()
    {
        string s = Encoding.UTF8.GetString(_rest);
        _rest = [];
        return s;
    }

    /// <summary>The next <paramref name="n"/> bytes, or an empty span (and <see cref="Failed"/>) when fewer remain.</summary>
    public ReadOnlySpan<byte> Take(int n)
    {
        if (_rest.Length < n)
        {
            Failed = true;
            _rest = [];
            return [];
        }
        var v = _rest[..n];
        _rest = _rest[n..];
        return v;
    }

    private ulong Fail()
    {
        Failed = true;
        return 0;
    }

    private T Fail<T>(T value)
    {
        Failed = true;
        return value;
    }
}
