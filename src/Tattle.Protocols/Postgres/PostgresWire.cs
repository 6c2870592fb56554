using System.Buffers.Binary;
using System.Text;

namespace Tattle.Protocols.Postgres;

/// <summary>Reads the protocol's fields (Int16, Int32, String = NUL-terminated UTF-8) without throwing on short input.</summary>
internal ref struct PostgresWire(ReadOnlySpan<byte> body)
{
    private ReadOnlySpan<byte> _rest = body;

    /// <summary>A read ran past the end of the message or found no terminator.</summary>
    public bool Failed { get; private set; }

    public int Int16()
    {
        if (_rest.Length < 2)
        {
            Failed = true;
            return 0;
        }
        int v = BinaryPrimitives.ReadInt16BigEndian(_rest);
        _rest = _rest[2..];
        return v;
    }

    public int Int32()
    {
        if (_rest.Length < 4)
        {
            Failed = true;
            return 0;
        }
        int v = BinaryPrimitives.ReadInt32BigEndian(_rest);
        _rest = _rest[4..];
        return v;
    }

    /// <summary>A NUL-terminated string's bytes, without the NUL; empty (and Failed) when there is no NUL.</summary>
    public ReadOnlySpan<byte> CStringBytes()
    {
        int end = _rest.IndexOf((byte)0);
        if (end < 0)
        {
            Failed = true;
            return default;
        }
        var s = _rest[..end];
        _rest = _rest[(end + 1)..];
        return s;
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

    /// <summary>The next <paramref name="n"/> bytes (n = -1 is SQL NULL and gives an empty span).</summary>
    public ReadOnlySpan<byte> Bytes(int n)
    {
        if (n < 0)
        {
            return [];
        }
        if (_rest.Length < n)
        {
            Failed = true;
            return [];
        }
        var v = _rest[..n];
        _rest = _rest[n..];
        return v;
    }

    public readonly bool AtEnd => _rest.IsEmpty;

    /// <summary>Message types a backend sends (protocol §55.7).</summary>
    public static bool IsBackendType(byte t) => t is (byte)'R' or (byte)'K' or (byte)'2' or (byte)'3' or (byte)'C'
        or (byte)'d' or (byte)'c' or (byte)'G' or (byte)'H' or (byte)'W' or (byte)'D' or (byte)'I' or (byte)'E'
        or (byte)'V' or (byte)'v' or (byte)'n' or (byte)'N' or (byte)'A' or (byte)'t' or (byte)'S' or (byte)'1'
        or (byte)'s' or (byte)'Z' or (byte)'T';

    /// <summary>Typed message types a frontend sends.</summary>
    public static bool IsFrontendType(byte t) => t is (byte)'B' or (byte)'C' or (byte)'d' or (byte)'c' or (byte)'f'
        or (byte)'D' or (byte)'E' or (byte)'H' or (byte)'F' or (byte)'P' or (byte)'p' or (byte)'Q' or (byte)'S'
        or (byte)'X';
}
