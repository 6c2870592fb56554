using System.Buffers.Binary;

namespace Tattle.Protocols.Tls;

/// <summary>
/// Reads the big-endian integers and length-prefixed vectors of the TLS presentation language (RFC 8446 §3.4);
/// every read checks the bytes are there and says false if not, so a hostile length is never trusted.
/// </summary>
internal ref struct TlsReader(ReadOnlySpan<byte> data)
{
    private ReadOnlySpan<byte> _rest = data;

    public readonly bool IsEmpty => _rest.IsEmpty;

    public bool TryU8(out int value)
    {
        value = 0;
        if (_rest.IsEmpty)
        {
            return false;
        }
        value = _rest[0];
        _rest = _rest[1..];
        return true;
    }

    public bool TryU16(out int value)
    {
        value = 0;
        if (_rest.Length < 2)
        {
            return false;
        }
        value = BinaryPrimitives.ReadUInt16BigEndian(_rest);
        _rest = _rest[2..];
        return true;
    }

    public bool TryBytes(int count, out ReadOnlySpan<byte> bytes)
    {
        bytes = default;
        if ((uint)count > (uint)_rest.Length)
        {
            return false;
        }
        bytes = _rest[..count];
        _rest = _rest[count..];
        return true;
    }

    /// <summary>A vector with a 1-byte length (<c>opaque x&lt;0..2^8-1&gt;</c>).</summary>
    public bool TryVector8(out ReadOnlySpan<byte> bytes)
    {
        bytes = default;
        return TryU8(out int length) && TryBytes(length, out bytes);
    }

    /// <summary>A vector with a 2-byte length (<c>opaque x&lt;0..2^16-1&gt;</c>).</summary>
    public bool TryVector16(out ReadOnlySpan<byte> bytes)
    {
        bytes = default;
        return TryU16(out int length) && TryBytes(length, out bytes);
    }

    /// <summary>An extension: 2-byte type, then its data as a 2-byte-length vector (RFC 8446 §4.2).</summary>
    public bool TryExtension(out int type, out ReadOnlySpan<byte> data)
    {
        data = default;
        return TryU16(out type) && TryVector16(out data);
    }
}
