using System.Buffers.Binary;
using System.Globalization;
using System.Net;

namespace Tattle.Sandbox;

/// <summary>A route of the host's main table: where a sandbox subnet must not land.</summary>
public sealed record HostRoute(string Interface, Ipv4Cidr Destination);

/// <summary>Reads what the host's network looks like: its IPv4 routes and its resolvers.</summary>
public static class HostNetwork
{
    /// <summary>The IPv4 routes of /proc/net/route (our network namespace's main table).</summary>
    public static IReadOnlyList<HostRoute> Routes() => ParseRoutes(File.ReadAllText("/proc/net/route"));

    /// <summary>
    /// Parses /proc/net/route: a header line, then one route per line with tab-separated hex fields; Destination
    /// and Mask are the address bytes in memory order, which on little-endian x86_64 read back reversed.
    /// </summary>
    public static IReadOnlyList<HostRoute> ParseRoutes(string text)
    {
        var routes = new List<HostRoute>();
        foreach (var line in text.Split('\n').Skip(1))
        {
            var f = line.Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 8
                || !uint.TryParse(f[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint destination)
                || !uint.TryParse(f[7], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out uint mask))
            {
                continue;
            }
            routes.Add(new HostRoute(f[0], Ipv4Cidr.FromMask(
                BinaryPrimitives.ReverseEndianness(destination), BinaryPrimitives.ReverseEndianness(mask))));
        }
        return routes;
    }

    /// <summary>The host's /etc/resolv.conf.</summary>
    public static ResolverConfig Resolver() =>
        ParseResolvConf(File.Exists("/etc/resolv.conf") ? File.ReadAllText("/etc/resolv.conf") : "");

    /// <summary>Takes the nameserver addresses and the search/domain/options lines (kept for the sandbox's copy).</summary>
    public static ResolverConfig ParseResolvConf(string text)
    {
        var servers = new List<IPAddress>();
        var other = new List<string>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            var f = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length >= 2 && f[0] == "nameserver" && IPAddress.TryParse(f[1].Split('%')[0], out var address))
            {
                servers.Add(address);
            }
            else if (f.Length >= 2 && f[0] is "search" or "domain" or "options")
            {
                other.Add(line);
            }
        }
        return new ResolverConfig(servers, other);
    }
}

/// <summary>The resolvers of a resolv.conf, and its lines other than nameservers.</summary>
public sealed record ResolverConfig(IReadOnlyList<IPAddress> Nameservers, IReadOnlyList<string> OtherLines)
{
    /// <summary>The first IPv4 resolver: the sandbox has no IPv6 route, so an IPv6 one could not be reached.</summary>
    public IPAddress? FirstIpv4 => Nameservers.FirstOrDefault(a => Ipv4Cidr.TryToUInt(a, out _));
}
