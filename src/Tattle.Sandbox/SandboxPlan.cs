using System.Net;

namespace Tattle.Sandbox;

/// <summary>What the user asked of the sandbox's network, before any name or subnet is chosen.</summary>
public sealed record SandboxRequest
{
    /// <summary>--offline: no NAT; the fake DNS answers and every connect is refused and recorded.</summary>
    public bool Offline { get; init; }

    /// <summary>--dns ADDR; null for the host's resolver.</summary>
    public IPAddress? Dns { get; init; }

    /// <summary>--subnet CIDR; null to choose a free /30.</summary>
    public Ipv4Cidr? Subnet { get; init; }

    /// <summary>--allow/--policy; null when everything is allowed.</summary>
    public IReadOnlyList<AllowRule>? Allow { get; init; }
}

/// <summary>Everything one sandbox creates, named: the namespace, the veth, the addresses, the nft table, DNS.</summary>
public sealed record SandboxPlan
{
    /// <summary>The interface name inside the namespace.</summary>
    public const string InsideInterface = "eth0";

    public required string Id { get; init; }

    public required Ipv4Cidr Subnet { get; init; }

    public required SandboxRequest Request { get; init; }

    /// <summary>Where DNS queries from inside go: the address in the sandbox's resolv.conf.</summary>
    public required IPAddress Nameserver { get; init; }

    /// <summary>A loopback resolver of the host that the sandbox reaches through the veth's host address (DNAT).</summary>
    public IPAddress? DnatResolver { get; init; }

    /// <summary>The search/domain/options lines copied from the host's resolv.conf.</summary>
    public IReadOnlyList<string> ResolverLines { get; init; } = [];

    public string Netns => $"tattle-{Id}";

    /// <summary>The host end of the veth (15 characters at most: "tsb" + pid up to 7 digits + "-" + n).</summary>
    public string HostVeth => $"tsb{Id}";

    public string NftTable => $"tattle_{Id.Replace('-', '_')}";

    /// <summary>/etc/netns/NAME: `ip netns exec` bind-mounts its files over /etc's.</summary>
    public string EtcDir => $"/etc/netns/{Netns}";

    public IPAddress HostAddress => Subnet.Host(1);

    public IPAddress SandboxAddress => Subnet.Host(2);

    /// <summary>NAT out of the host (not --offline): needs IP forwarding.</summary>
    public bool Nat => !Request.Offline;

    /// <summary>Traffic outside an allowlist, and in --offline all of it, is refused and recorded.</summary>
    public bool Filters => Request.Offline || Request.Allow is not null;

    /// <summary>The sandbox's /etc/resolv.conf.</summary>
    public string ResolvConf() =>
        string.Join('\n', [$"# tattle sandbox {Netns}", $"nameserver {Nameserver}", .. ResolverLines]) + "\n";

    /// <summary>
    /// Decides where the sandbox's DNS goes: the fake responder on the veth's host address (--offline), --dns or
    /// the host's first IPv4 resolver directly, or, when that one is on loopback (127.0.0.53), the veth's host
    /// address forwarded to it by DNAT: a namespace cannot reach the host's loopback otherwise.
    /// </summary>
    public static SandboxPlan Create(string id, Ipv4Cidr subnet, SandboxRequest request, ResolverConfig host)
    {
        var plan = new SandboxPlan { Id = id, Subnet = subnet, Request = request, Nameserver = subnet.Host(1), ResolverLines = host.OtherLines };
        if (request.Offline)
        {
            return plan;
        }
        var resolver = request.Dns ?? host.FirstIpv4
            ?? throw new SandboxException("the host has no IPv4 resolver in /etc/resolv.conf: give the sandbox one with --dns ADDR");
        return IPAddress.IsLoopback(resolver) ? plan with { DnatResolver = resolver } : plan with { Nameserver = resolver };
    }
}
