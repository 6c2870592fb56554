using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Tattle.Capture.Events;

/// <summary>An IPv4/IPv6 address and port (or only a family, for Unix sockets) without allocating.</summary>
public readonly record struct NetAddress(ushort Family, ushort Port, UInt128 Address)
{
    public const ushort AfUnix = 1;
    public const ushort AfInet = 2;
    public const ushort AfInet6 = 10;

    public bool IsInet => Family is AfInet or AfInet6;

    /// <summary>True when no address was known (family 0) or it is the unspecified address with port 0.</summary>
    public bool IsEmpty => Family == 0 || (IsInet && Port == 0 && Address == UInt128.Zero);

    /// <summary>Reads family, port and 16 address bytes as laid out in struct tattle_addr.</summary>
    public static NetAddress FromNative(ushort family, ushort port, ReadOnlySpan<byte> addr16) =>
        new(family, port, BinaryPrimitives.ReadUInt128BigEndian(addr16));

    public static NetAddress FromEndPoint(IPEndPoint ep)
    {
        Span<byte> bytes = stackalloc byte[16];
        bytes.Clear();
        ep.Address.TryWriteBytes(bytes, out _);
        return new NetAddress(ep.AddressFamily == AddressFamily.InterNetworkV6 ? AfInet6 : AfInet, (ushort)ep.Port,
            BinaryPrimitives.ReadUInt128BigEndian(bytes));
    }

    public IPAddress? ToIPAddress()
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes, Address);
        return Family switch
        {
            AfInet => new IPAddress(bytes[..4]),
            AfInet6 => new IPAddress(bytes),
            _ => null,
        };
    }

    /// <summary>The address alone, as text ("127.0.0.1", "::1"), or null for non-IP families.</summary>
    public string? AddressText() => ToIPAddress()?.ToString();

    public override string ToString() => Family switch
    {
        AfInet => $"{AddressText()}:{Port}",
        AfInet6 => $"[{AddressText()}]:{Port}",
        AfUnix => "unix",
        _ => "-",
    };
}
