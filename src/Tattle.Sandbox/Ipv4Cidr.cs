using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Numerics;

namespace Tattle.Sandbox;

/// <summary>An IPv4 network: address (host byte order, host bits cleared) and prefix length.</summary>
public readonly record struct Ipv4Cidr(uint Network, int Prefix)
{
    public uint Mask => Prefix == 0 ? 0 : uint.MaxValue << (32 - Prefix);

    public uint Last => Network | ~Mask;

    /// <summary>The address <paramref name="offset"/> past the network address (1 is the first host).</summary>
    public IPAddress Host(uint offset) => ToAddress(Network + offset);

    public bool Contains(uint address) => (address & Mask) == Network;

    public bool Contains(IPAddress address) => TryToUInt(address, out uint a) && Contains(a);

    public bool Overlaps(Ipv4Cidr other) => Contains(other.Network) || other.Contains(Network);

    public override string ToString() => $"{ToAddress(Network)}/{Prefix}";

    /// <summary>Parses "A.B.C.D/N" or a bare address (/32); the host bits must be clear unless <paramref name="lenient"/>.</summary>
    public static bool TryParse(string text, out Ipv4Cidr cidr, bool lenient = false)
    {
        cidr = default;
        int slash = text.IndexOf('/');
        string addressText = slash < 0 ? text : text[..slash];
        int prefix = 32;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), out prefix) || prefix is < 0 or > 32))
        {
            return false;
        }
        if (!IPAddress.TryParse(addressText, out var address) || !TryToUInt(address, out uint a)
            || addressText.Count(c => c == '.') != 3)
        {
            return false;
        }
        var candidate = new Ipv4Cidr(a & (prefix == 0 ? 0 : uint.MaxValue << (32 - prefix)), prefix);
        if (!lenient && candidate.Network != a)
        {
            return false;
        }
        cidr = candidate;
        return true;
    }

    /// <summary>A network from an address and a netmask (as /proc/net/route gives them).</summary>
    public static Ipv4Cidr FromMask(uint address, uint mask) => new(address & mask, BitOperations.PopCount(mask));

    public static bool TryToUInt(IPAddress address, out uint value)
    {
        value = 0;
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            return false;
        }
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        value = BinaryPrimitives.ReadUInt32BigEndian(bytes);
        return true;
    }

    public static IPAddress ToAddress(uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return new IPAddress(bytes);
    }
}
