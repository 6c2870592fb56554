using System.Buffers.Binary;
using System.Text;
using Tattle.Protocols.Http2;

namespace Tattle.Tests.Protocols.Http2;

/// <summary>
/// HTTP/2 frames and HPACK blocks written by hand for what no capture holds (padding, oversized blocks, unknown
/// frame types, lost bytes). Blocks use literal fields (RFC 7541 section 6.2) and static-table indexes only,
/// unless a test asks for a dynamic-table entry.
/// </summary>
internal static class Http2Wire
{
    public static byte[] Preface => Http2Protocol.Preface.ToArray();

    public static byte[] Frame(byte type, byte flags, int stream, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(5), stream);
        payload.CopyTo(frame.AsSpan(9));
        return frame;
    }

    public static byte[] Frame(FrameType type, byte flags, int stream, ReadOnlySpan<byte> payload) =>
        Frame((byte)type, flags, stream, payload);

    /// <summary>A field as a literal without indexing and a new name: decodable with no table at all.</summary>
    public static byte[] Literal(string name, string value, bool addToTable = false) =>
        [addToTable ? (byte)0x40 : (byte)0x00, .. String(name), .. String(value)];

    /// <summary>An indexed field (RFC 7541 section 6.1): 2 is ":method: GET", 62 the newest dynamic entry.</summary>
    public static byte[] Indexed(int index) => Integer(index, 7, 0x80);

    public static byte[] Block(params byte[][] fields) => [.. fields.SelectMany(f => f)];

    /// <summary>A request block: GET (static 2), scheme http (static 6), then :path and :authority as literals.</summary>
    public static byte[] Request(string path, string authority = "example.test", params (string Name, string Value)[] fields) =>
        Block([Indexed(2), Indexed(6), Literal(":path", path), Literal(":authority", authority), .. fields.Select(f => Literal(f.Name, f.Value))]);

    /// <summary>A response block: :status as a literal naming static entry 8, as encoders write it, then the fields.</summary>
    public static byte[] Response(int status, params (string Name, string Value)[] fields) =>
        Block([[0x08, .. String(status.ToString())], .. fields.Select(f => Literal(f.Name, f.Value))]);

    public static byte[] Headers(int stream, byte[] block, bool endStream, bool endHeaders = true) =>
        Frame(FrameType.Headers, (byte)((endStream ? FrameFlags.EndStream : 0) | (endHeaders ? FrameFlags.EndHeaders : 0)), stream, block);

    public static byte[] Continuation(int stream, byte[] fragment, bool endHeaders) =>
        Frame(FrameType.Continuation, endHeaders ? FrameFlags.EndHeaders : (byte)0, stream, fragment);

    public static byte[] Data(int stream, ReadOnlySpan<byte> data, bool endStream) =>
        Frame(FrameType.Data, endStream ? FrameFlags.EndStream : (byte)0, stream, data);

    public static byte[] Data(int stream, string text, bool endStream) => Data(stream, Encoding.ASCII.GetBytes(text), endStream);

    public static byte[] Settings(params (ushort Id, uint Value)[] values)
    {
        var payload = new byte[6 * values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(6 * i), values[i].Id);
            BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan((6 * i) + 2), values[i].Value);
        }
        return Frame(FrameType.Settings, 0, 0, payload);
    }

    public static byte[] SettingsAck => Frame(FrameType.Settings, FrameFlags.Ack, 0, []);

    public static byte[] RstStream(int stream, uint code) => Frame(FrameType.RstStream, 0, stream, U32(code));

    public static byte[] GoAway(int lastStream, uint code) => Frame(FrameType.GoAway, 0, 0, [.. U32((uint)lastStream), .. U32(code)]);

    public static byte[] Ping(bool ack = false) => Frame(FrameType.Ping, ack ? FrameFlags.Ack : (byte)0, 0, new byte[8]);

    public static byte[] WindowUpdate(int stream, uint increment) => Frame(FrameType.WindowUpdate, 0, stream, U32(increment));

    /// <summary>gRPC length-prefixed messages (flag byte, 4-byte length, the message).</summary>
    public static byte[] GrpcMessages(bool compressed, params byte[][] messages) =>
        [.. messages.SelectMany(m => (byte[])[compressed ? (byte)1 : (byte)0, .. U32((uint)m.Length), .. m])];

    public static byte[] U32(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return bytes;
    }

    private static byte[] String(string text)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(text);
        return [.. Integer(bytes.Length, 7, 0), .. bytes];
    }

    /// <summary>An HPACK integer with an N-bit prefix (RFC 7541 section 5.1).</summary>
    private static byte[] Integer(int value, int prefixBits, byte mask)
    {
        int max = (1 << prefixBits) - 1;
        if (value < max)
        {
            return [(byte)(mask | value)];
        }
        var bytes = new List<byte> { (byte)(mask | max) };
        value -= max;
        while (value >= 128)
        {
            bytes.Add((byte)((value % 128) + 128));
            value /= 128;
        }
        bytes.Add((byte)value);
        return [.. bytes];
    }
}
