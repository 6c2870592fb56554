using System.Buffers.Binary;

namespace Tattle.Protocols.Tls;

/// <summary>What the first bytes of an input say about a TLS record there.</summary>
internal enum TlsRecordCheck : byte
{
    /// <summary>A whole, plausible header.</summary>
    Plausible,

    /// <summary>Fewer than 5 bytes, plausible as far as they go.</summary>
    Partial,

    /// <summary>Not a record header.</summary>
    Invalid,
}

/// <summary>The 5-byte header of a TLS record (RFC 8446 §5.1, RFC 5246 §6.2.1).</summary>
internal readonly record struct TlsRecordHeader(byte Type, int Length)
{
    public const int Size = 5;

    // RFC 5246 §6.2.3: TLSCiphertext may exceed the 2^14 plaintext limit by 2048 bytes.
    public const int MaxLength = (1 << 14) + 2048;

    public const byte ChangeCipherSpec = 20;
    public const byte Alert = 21;
    public const byte Handshake = 22;
    public const byte ApplicationData = 23;

    /// <summary>
    /// Checks the header at the front of <paramref name="data"/>: a content type of 20-23, a version 3.0-3.4 (the
    /// record layer's legacy_record_version; TLS 1.3 keeps 0x0303), a length within the limit and, for
    /// handshake records, not zero (RFC 8446 §5.1).
    /// </summary>
    public static TlsRecordCheck Check(ReadOnlySpan<byte> data, out TlsRecordHeader header)
    {
        header = default;
        if (data.IsEmpty)
        {
            return TlsRecordCheck.Partial;
        }
        byte type = data[0];
        if (type is < ChangeCipherSpec or > ApplicationData
            || (data.Length > 1 && data[1] != 3)
            || (data.Length > 2 && data[2] > 4))
        {
            return TlsRecordCheck.Invalid;
        }
        if (data.Length < Size)
        {
            return TlsRecordCheck.Partial;
        }
        int length = BinaryPrimitives.ReadUInt16BigEndian(data[3..]);
        if (length > MaxLength || (length == 0 && type == Handshake))
        {
            return TlsRecordCheck.Invalid;
        }
        header = new TlsRecordHeader(type, length);
        return TlsRecordCheck.Plausible;
    }

    /// <summary>The first offset where a plausible record header (or the start of one, at the end) stands, or -1.</summary>
    public static int FindBoundary(ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            if (Check(data[i..], out _) != TlsRecordCheck.Invalid)
            {
                return i;
            }
        }
        return -1;
    }
}
