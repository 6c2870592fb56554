using System.Buffers.Binary;
using System.Text;

namespace Tattle.Tests.Protocols.Tls;

/// <summary>Builds TLS records and hellos for the cases real clients do not send on demand (GREASE, odd splits).</summary>
internal static class TlsWire
{
    public const byte Handshake = 22;
    public const byte ApplicationData = 23;

    public static byte[] Record(byte type, byte[] fragment, ushort version = 0x0303) =>
        [type, (byte)(version >> 8), (byte)version, (byte)(fragment.Length >> 8), (byte)fragment.Length, .. fragment];

    /// <summary>A handshake message: type, 24-bit length, body (RFC 8446 §4).</summary>
    public static byte[] Message(byte type, byte[] body) =>
        [type, (byte)(body.Length >> 16), (byte)(body.Length >> 8), (byte)body.Length, .. body];

    public static byte[] ClientHello(string? sni = null, string[]? alpn = null, ushort[]? versions = null, ushort legacy = 0x0303)
    {
        var extensions = new List<byte>();
        if (sni is not null)
        {
            byte[] host = Encoding.ASCII.GetBytes(sni);
            extensions.AddRange(Extension(0, Vector16([0, .. Vector16(host)])));
        }
        if (alpn is not null)
        {
            extensions.AddRange(Extension(16, Vector16([.. alpn.SelectMany(p => Vector8(Encoding.ASCII.GetBytes(p)))])));
        }
        if (versions is not null)
        {
            extensions.AddRange(Extension(43, Vector8([.. versions.SelectMany(U16)])));
        }
        byte[] body = [.. U16(legacy), .. new byte[32], 0, .. Vector16([0x13, 0x01]), 1, 0, .. Vector16([.. extensions])];
        return Message(1, body);
    }

    public static byte[] ServerHello(ushort cipher, ushort? version = null, string? alpn = null, ushort legacy = 0x0303)
    {
        var extensions = new List<byte>();
        if (version is { } v)
        {
            extensions.AddRange(Extension(43, U16(v)));
        }
        if (alpn is not null)
        {
            extensions.AddRange(Extension(16, Vector16(Vector8(Encoding.ASCII.GetBytes(alpn)))));
        }
        byte[] body = [.. U16(legacy), .. Enumerable.Repeat((byte)7, 32), 0, .. U16(cipher), 0, .. Vector16([.. extensions])];
        return Message(2, body);
    }

    public static byte[] Extension(ushort type, byte[] data) => [.. U16(type), .. Vector16(data)];

    public static byte[] Vector8(byte[] data) => [(byte)data.Length, .. data];

    public static byte[] Vector16(byte[] data) => [.. U16((ushort)data.Length), .. data];

    public static byte[] U16(ushort v) => [(byte)(v >> 8), (byte)v];

    /// <summary>The records at the front of a captured stream, each with its header.</summary>
    public static List<byte[]> Records(byte[] stream, int count)
    {
        var records = new List<byte[]>();
        for (int p = 0; p + 5 <= stream.Length && records.Count < count;)
        {
            int length = 5 + BinaryPrimitives.ReadUInt16BigEndian(stream.AsSpan(p + 3));
            records.Add(stream[p..(p + length)]);
            p += length;
        }
        return records;
    }

    /// <summary>The handshake message carried by the leading handshake records of a stream, reassembled.</summary>
    public static byte[] FirstMessage(byte[] stream)
    {
        var fragments = new List<byte>();
        foreach (byte[] record in Records(stream, 8))
        {
            if (record[0] != Handshake)
            {
                break;
            }
            fragments.AddRange(record.AsSpan(5).ToArray());
            if (fragments.Count >= 4 && fragments.Count >= 4 + ((fragments[1] << 16) | (fragments[2] << 8) | fragments[3]))
            {
                break;
            }
        }
        int length = 4 + ((fragments[1] << 16) | (fragments[2] << 8) | fragments[3]);
        return [.. fragments.Take(length)];
    }
}
