using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Tattle.Sandbox;

/// <summary>One --allow entry: HOST or CIDR, optionally a port (TCP and UDP). Names are resolved into Networks.</summary>
public sealed record AllowRule(string Spec, IReadOnlyList<Ipv4Cidr> Networks, int? Port)
{
    /// <summary>
    /// Parses HOST|CIDR[:PORT]; a HOST name is resolved here, once, with <paramref name="resolve"/> (the host's
    /// resolver): connections to addresses it gets later (a CDN's rotation) are blocked and reported.
    /// </summary>
    public static AllowRule Parse(string spec, Func<string, IPAddress[]> resolve)
    {
        string text = spec.Trim();
        if (text.Length == 0)
        {
            throw new SandboxException("--allow: empty entry (expected HOST, CIDR, HOST:PORT or CIDR:PORT)");
        }
        if (text.Count(c => c == ':') > 1 || text.StartsWith('['))
        {
            throw new SandboxException($"--allow {spec}: IPv6 is not supported (the sandbox has IPv4 only)");
        }
        int? port = null;
        int colon = text.LastIndexOf(':');
        if (colon >= 0)
        {
            if (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p is < 1 or > 65535)
            {
                throw new SandboxException($"--allow {spec}: the port must be a number from 1 to 65535");
            }
            port = p;
            text = text[..colon];
        }
        if (Ipv4Cidr.TryParse(text, out var cidr, lenient: true))
        {
            return new AllowRule(spec, [cidr], port);
        }
        if (text.Contains('/') || !IsHostName(text))
        {
            throw new SandboxException($"--allow {spec}: not a host name, an IPv4 address or an IPv4 CIDR");
        }
        IPAddress[] addresses;
        try
        {
            addresses = resolve(text);
        }
        catch (SocketException e)
        {
            throw new SandboxException($"--allow {spec}: cannot resolve {text}: {e.Message}");
        }
        var networks = addresses.Select(a => Ipv4Cidr.TryToUInt(a, out uint v) ? new Ipv4Cidr(v, 32) : (Ipv4Cidr?)null)
            .OfType<Ipv4Cidr>().Distinct().ToList();
        if (networks.Count == 0)
        {
            throw new SandboxException($"--allow {spec}: {text} has no IPv4 address");
        }
        return new AllowRule(spec, networks, port);
    }

    private static bool IsHostName(string text) =>
        text.Length is > 0 and <= 253 && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_')
        && !text.All(c => char.IsAsciiDigit(c) || c == '.');
}
