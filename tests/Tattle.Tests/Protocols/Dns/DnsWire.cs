using System.Buffers.Binary;
using System.Text;

namespace Tattle.Tests.Protocols.Dns;

/// <summary>Builds small DNS messages for the cases no real program sends on demand (id collisions, bad pointers).</summary>
internal static class DnsWire
{
    public const ushort A = 1;
    public const ushort Aaaa = 28;

    /// <summary>A name in wire form, uncompressed.</summary>
    public static byte[] Name(string name)
    {
        var bytes = new List<byte>();
        foreach (string label in name.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            bytes.Add((byte)label.Length);
            bytes.AddRange(Encoding.ASCII.GetBytes(label));
        }
        bytes.Add(0);
        return [.. bytes];
    }

    public static byte[] Header(ushort id, ushort flags, int qd, int an, int ns = 0, int ar = 0)
    {
        var h = new byte[12];
        BinaryPrimitives.WriteUInt16BigEndian(h, id);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(2), flags);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(4), (ushort)qd);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(6), (ushort)an);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(8), (ushort)ns);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(10), (ushort)ar);
        return h;
    }

    /// <summary>TYPE, CLASS IN (the 4 bytes after a question's name).</summary>
    public static byte[] TypeClass(ushort type) => [(byte)(type >> 8), (byte)type, 0, 1];

    /// <summary>TYPE, CLASS IN, TTL, RDLENGTH and RDATA (the bytes after a record's owner name).</summary>
    public static byte[] Record(ushort type, uint ttl, byte[] rdata)
    {
        var r = new byte[10 + rdata.Length];
        BinaryPrimitives.WriteUInt16BigEndian(r, type);
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(2), 1);
        BinaryPrimitives.WriteUInt32BigEndian(r.AsSpan(4), ttl);
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(8), (ushort)rdata.Length);
        rdata.CopyTo(r, 10);
        return r;
    }

    /// <summary>A standard query with recursion desired.</summary>
    public static byte[] Query(ushort id, string name, ushort type = A) =>
        [.. Header(id, 0x0100, 1, 0), .. Name(name), .. TypeClass(type)];

    /// <summary>A response whose answers are A records owned by the question's name (a pointer to offset 12).</summary>
    public static byte[] Response(ushort id, string name, ushort type = A, int rcode = 0, params string[] addresses)
    {
        var m = new List<byte>([.. Header(id, (ushort)(0x8180 | rcode), 1, addresses.Length), .. Name(name), .. TypeClass(type)]);
        foreach (string address in addresses)
        {
            m.AddRange([0xC0, 12, .. Record(A, 60, System.Net.IPAddress.Parse(address).GetAddressBytes())]);
        }
        return [.. m];
    }

    /// <summary>A response with one answer of <paramref name="type"/> whose RDATA is <paramref name="rdata"/>.</summary>
    public static byte[] ResponseWith(ushort type, byte[] rdata, string name = "x.test") =>
        [.. Header(7, 0x8180, 1, 1), .. Name(name), .. TypeClass(type), 0xC0, 12, .. Record(type, 60, rdata)];

    /// <summary>The 2-byte length prefix of DNS over TCP (RFC 1035 §4.2.2).</summary>
    public static byte[] Tcp(byte[] message) => [(byte)(message.Length >> 8), (byte)message.Length, .. message];

    public static ushort Id(ReadOnlySpan<byte> message) => BinaryPrimitives.ReadUInt16BigEndian(message);
}
