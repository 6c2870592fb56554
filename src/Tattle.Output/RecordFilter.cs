using System.Net;
using Tattle.Records;

namespace Tattle.Output;

/// <summary>
/// What --port, --host and --app keep: an endpoint matches when its port is one of Ports (local or remote), its
/// address lies in one of the networks or its host name is one of the names (or a subdomain of one), and a
/// connection's application protocol is one of Apps. Each option given must match; values of one option are
/// alternatives.
/// </summary>
public sealed record RecordFilter
{
    public IReadOnlySet<int> Ports { get; init; } = new HashSet<int>();

    public IReadOnlyList<IPNetwork> Networks { get; init; } = [];

    /// <summary>Host names, lower case, without a trailing dot.</summary>
    public IReadOnlyList<string> HostNames { get; init; } = [];

    /// <summary>Application protocols: http, dns, tls (the record types' first word).</summary>
    public IReadOnlySet<string> Apps { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    public bool IsEmpty => Ports.Count == 0 && Networks.Count == 0 && HostNames.Count == 0 && Apps.Count == 0;

    private bool FiltersHosts => Networks.Count > 0 || HostNames.Count > 0;

    /// <summary>--port or --host was given: endpoints, not only protocols, decide.</summary>
    public bool FiltersEndpoints => Ports.Count > 0 || FiltersHosts;

    /// <summary>Parses NAME, an address or a CIDR; returns an error message, or null.</summary>
    public static string? ParseHost(string spec, out IPNetwork? network, out string? name)
    {
        network = null;
        name = null;
        string s = spec.Trim();
        if (IPNetwork.TryParse(s, out var net))
        {
            network = net;
            return null;
        }
        if (IPAddress.TryParse(s, out var addr))
        {
            network = new IPNetwork(addr, addr.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            return null;
        }
        if (s.Contains('/', StringComparison.Ordinal))
        {
            return $"--host: '{spec}' is not a network (ADDRESS/PREFIX, e.g. 10.0.0.0/8)";
        }
        s = s.TrimEnd('.').ToLowerInvariant();
        if (s.Length == 0 || s.Length > 253 || !s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_'))
        {
            return $"--host expects a host name, an address or ADDRESS/PREFIX, got '{spec}'";
        }
        name = s;
        return null;
    }

    /// <summary>The endpoints of one connection (either may be null) pass --port and --host.</summary>
    public bool MatchesEndpoints(Endpoint? local, Endpoint? remote)
    {
        if (Ports.Count > 0 && !(MatchesPort(local) || MatchesPort(remote)))
        {
            return false;
        }
        return !FiltersHosts || MatchesHost(local) || MatchesHost(remote);
    }

    public bool MatchesApp(string app) => Apps.Count == 0 || Apps.Contains(app);

    private bool MatchesPort(Endpoint? e) => e?.Port is { } port && Ports.Contains(port);

    private bool MatchesHost(Endpoint? e)
    {
        if (e is null)
        {
            return false;
        }
        if (e.Addr is not null && Networks.Count > 0 && IPAddress.TryParse(e.Addr, out var addr))
        {
            // A v4 peer of a dual-stack socket shows as ::ffff:a.b.c.d; a v4 network must still match it.
            var plain = addr.IsIPv4MappedToIPv6 ? addr.MapToIPv4() : addr;
            if (Networks.Any(n => n.Contains(plain)))
            {
                return true;
            }
        }
        if (e.Host is { } host && HostNames.Count > 0)
        {
            string h = host.TrimEnd('.');
            return HostNames.Any(n => h.Equals(n, StringComparison.OrdinalIgnoreCase)
                || (h.Length > n.Length && h.EndsWith(n, StringComparison.OrdinalIgnoreCase) && h[h.Length - n.Length - 1] == '.'));
        }
        return false;
    }
}
