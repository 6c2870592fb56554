using System.Text;

namespace Tattle.Sandbox;

/// <summary>
/// The sandbox's nftables table, loaded atomically with `nft -f -` and deleted whole: source NAT out of the
/// host, DNAT to a loopback resolver, and the filter that refuses (and records in the set <c>blocked</c>) what an
/// allowlist or --offline does not let through. Nothing outside this table is touched.
/// </summary>
public static class NftRules
{
    /// <summary>The dynamic set of refused destinations: address . protocol . port, with a packet counter each.</summary>
    public const string BlockedSet = "blocked";

    public static string Build(SandboxPlan plan)
    {
        string veth = $"\"{plan.HostVeth}\"";
        var s = new StringBuilder();
        s.Append($"table ip {plan.NftTable} {{\n");
        if (plan.Nat)
        {
            s.Append("  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n");
            s.Append($"    ip saddr {plan.Subnet} oifname != {veth} masquerade\n  }}\n");
        }
        if (plan.DnatResolver is { } resolver)
        {
            s.Append("  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n");
            s.Append($"    iifname {veth} ip daddr {plan.HostAddress} meta l4proto {{ tcp, udp }} th dport 53 dnat to {resolver}\n  }}\n");
        }
        if (plan.Filters)
        {
            s.Append($"  set {BlockedSet} {{\n    type ipv4_addr . inet_proto . inet_service; flags dynamic; counter; size 65535;\n  }}\n");
            s.Append("  chain forward {\n    type filter hook forward priority filter; policy accept;\n");
            if (!plan.Request.Offline)
            {
                // The resolver the sandbox was given is always allowed, or no allowed name could be looked up.
                s.Append($"    iifname {veth} ip daddr {plan.Nameserver} meta l4proto {{ tcp, udp }} th dport 53 accept\n");
            }
            AppendAllowed(s, veth, plan.Request.Allow);
            AppendRefuse(s, veth);
            // The host itself (its services on the veth address) is a destination like any other; DNS is let in
            // because the fake responder or the DNAT to the host's resolver answers there.
            s.Append("  chain input {\n    type filter hook input priority filter; policy accept;\n");
            s.Append($"    iifname {veth} ct state established,related accept\n");
            s.Append($"    iifname {veth} meta l4proto {{ tcp, udp }} th dport 53 accept\n");
            // An allowed address that is the host's own (a registry or proxy on its LAN address) is delivered here,
            // not forwarded.
            AppendAllowed(s, veth, plan.Request.Allow);
            AppendRefuse(s, veth);
        }
        s.Append("}\n");
        return s.ToString();
    }

    private static void AppendAllowed(StringBuilder s, string veth, IReadOnlyList<AllowRule>? allow)
    {
        foreach (var rule in allow ?? [])
        {
            foreach (var network in rule.Networks)
            {
                string port = rule.Port is { } p ? $" meta l4proto {{ tcp, udp }} th dport {p}" : "";
                s.Append($"    iifname {veth} ip daddr {network}{port} accept\n");
            }
        }
    }

    // TCP gets a reset and the rest an ICMP error, so a refused connect fails at once instead of timing out.
    private static void AppendRefuse(StringBuilder s, string veth)
    {
        s.Append($"    iifname {veth} meta l4proto {{ tcp, udp }} add @{BlockedSet} {{ ip daddr . meta l4proto . th dport }}\n");
        s.Append($"    iifname {veth} meta l4proto tcp reject with tcp reset\n");
        s.Append($"    iifname {veth} reject with icmp type admin-prohibited\n  }}\n");
    }
}
