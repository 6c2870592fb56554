using System.Net;
using System.Net.Sockets;
using System.Text;
using Tattle.Records;
using Tattle.Sandbox;

namespace Tattle.Report;

/// <summary>The firewall formats a policy becomes.</summary>
public enum RuleFormat
{
    Nft,
    Iptables,
    K8s,
}

/// <summary>
/// A policy as egress firewall rules. Firewalls match addresses, not names: a name becomes the addresses it
/// resolved to (the trace's DNS answers, or the host's resolver for a policy file), each rule says which name it
/// stands for, and a name with no address (a <c>*.suffix</c>, a name that did not resolve) is left out with a
/// warning, except in CiliumNetworkPolicy, which matches names itself (toFQDNs).
/// </summary>
public sealed class FirewallRules(Policy policy, Func<string, IReadOnlyList<IPAddress>> addressesOf, IReadOnlyCollection<string> resolvers)
{
    /// <summary>The nft table's name (family inet): one table of its own, deleted with `nft delete table inet tattle_egress`.</summary>
    public const string NftTable = "tattle_egress";

    /// <summary>The iptables chain the rules go in, jumped to from OUTPUT.</summary>
    public const string IptablesChain = "TATTLE-EGRESS";

    /// <summary>What could not be expressed: a line each, for stderr.</summary>
    public List<string> Warnings { get; } = [];

    public string Render(RuleFormat format) => format switch
    {
        RuleFormat.Nft => Nft(),
        RuleFormat.Iptables => Iptables(),
        _ => Kubernetes(),
    };

    /// <summary>One accepted destination: addresses, transport, ports, whose traffic, and the entry it came from.</summary>
    private sealed record Allowed(IReadOnlyList<IPNetwork> Networks, string? Proto, IReadOnlyList<int> Ports, uint? Uid, string? Cgroup, string Comment);

    private List<Allowed> Expand()
    {
        var list = new List<Allowed>();
        foreach (var rule in policy.Allow)
        {
            IReadOnlyList<IPNetwork> networks;
            if (rule.Network is { } n)
            {
                networks = [n];
            }
            else if (rule.Host!.StartsWith("*.", StringComparison.Ordinal))
            {
                Warnings.Add($"{rule.Spec}: a *.suffix has no addresses to put in a firewall rule; left out");
                continue;
            }
            else
            {
                networks = addressesOf(rule.Host).Select(a => new IPNetwork(a, a.AddressFamily == AddressFamily.InterNetwork ? 32 : 128)).ToList();
                if (networks.Count == 0)
                {
                    Warnings.Add($"{rule.Spec}: {rule.Host} has no known address; left out");
                    continue;
                }
            }
            uint? uid = null;
            if (rule.User is { } user)
            {
                if (!Tattle.Capture.Proc.UserNames.Default.TryResolve(user, out uint u))
                {
                    Warnings.Add($"{rule.Spec}: no user {user} on this host; left out");
                    continue;
                }
                uid = u;
            }
            if (rule.Program is not null)
            {
                Warnings.Add($"{rule.Spec}: a firewall cannot tell programs apart; the rule allows its address and port to every program");
            }
            list.Add(new Allowed(networks, rule.Proto, rule.Ports, uid, rule.Cgroup?.TrimStart('/'), rule.Host ?? rule.Network!.Value.ToString()));
        }
        if (policy.Allow.Count(r => r.App is not null) is int apps and > 0)
        {
            Warnings.Add($"{Plural.Count(apps, "rule", "rules")} name an application protocol (app:), which firewalls do not see: their address and port are allowed whatever the protocol");
        }
        return list;
    }

    private string Nft()
    {
        var text = new StringBuilder();
        text.AppendLine("# tattle: egress allowed by the policy, everything else dropped (nft -f FILE; nft delete table inet " + NftTable + ")");
        text.AppendLine($"table inet {NftTable} {{");
        text.AppendLine("\tchain output {");
        text.AppendLine("\t\ttype filter hook output priority filter; policy accept;");
        text.AppendLine("\t\tct state established,related accept");
        if (policy.Loopback)
        {
            text.AppendLine("\t\toifname \"lo\" accept");
        }
        foreach (var r in ResolverRules())
        {
            text.AppendLine($"\t\t{Family(r)} daddr {r.Network.BaseAddress} meta l4proto {{ tcp, udp }} th dport 53 accept comment \"resolver\"");
        }
        foreach (var a in Expand())
        {
            string who = (a.Uid is { } uid ? $"meta skuid {uid} " : "") + (a.Cgroup is { } cg ? $"socket cgroupv2 level {cg.Count(c => c == '/') + 1} \"{cg}\" " : "");
            foreach (var net in a.Networks)
            {
                string dst = $"{(net.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? "ip" : "ip6")} daddr {Net(net)}";
                string ports = a.Ports.Count == 0 ? "" : a.Ports.Count == 1 ? $" th dport {a.Ports[0]}" : $" th dport {{ {string.Join(", ", a.Ports)} }}";
                string proto = a.Proto is { } p ? $" meta l4proto {p}" : a.Ports.Count > 0 ? " meta l4proto { tcp, udp }" : "";
                text.AppendLine($"\t\t{who}{dst}{proto}{ports} accept comment \"{Comment(a.Comment)}\"");
            }
        }
        text.AppendLine("\t\tcounter drop comment \"not in the policy\"");
        text.AppendLine("\t}");
        text.AppendLine("}");
        return text.ToString();
    }

    private string Iptables()
    {
        var text = new StringBuilder();
        text.AppendLine("# tattle: egress allowed by the policy (IPv4), everything else dropped; iptables-restore --noflush FILE");
        text.AppendLine("*filter");
        text.AppendLine($":{IptablesChain} - [0:0]");
        text.AppendLine($"-A OUTPUT -j {IptablesChain}");
        text.AppendLine($"-A {IptablesChain} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT");
        if (policy.Loopback)
        {
            text.AppendLine($"-A {IptablesChain} -o lo -j ACCEPT");
        }
        foreach (var r in ResolverRules().Where(r => r.Network.BaseAddress.AddressFamily == AddressFamily.InterNetwork))
        {
            foreach (var proto in (string[])["udp", "tcp"])
            {
                text.AppendLine($"-A {IptablesChain} -d {Net(r.Network)} -p {proto} -m {proto} --dport 53 -m comment --comment \"resolver\" -j ACCEPT");
            }
        }
        foreach (var a in Expand())
        {
            string who = (a.Uid is { } uid ? $" -m owner --uid-owner {uid}" : "") + (a.Cgroup is { } cg ? $" -m cgroup --path \"{cg}\"" : "");
            foreach (var net in a.Networks.Where(n => n.BaseAddress.AddressFamily == AddressFamily.InterNetwork))
            {
                // A port needs a transport in iptables: without one in the policy, a rule for each.
                var protos = a.Proto is { } p ? [p] : a.Ports.Count > 0 ? ["tcp", "udp"] : new[] { (string?)null };
                foreach (var proto in protos)
                {
                    string ports = a.Ports.Count == 0 ? "" : a.Ports.Count == 1 ? $" -m {proto} --dport {a.Ports[0]}"
                        : $" -m multiport --dports {string.Join(",", a.Ports)}";
                    text.AppendLine($"-A {IptablesChain}{who} -d {Net(net)}{(proto is null ? "" : $" -p {proto}")}{ports} -m comment --comment \"{Comment(a.Comment)}\" -j ACCEPT");
                }
            }
            if (a.Networks.Any(n => n.BaseAddress.AddressFamily != AddressFamily.InterNetwork))
            {
                Warnings.Add($"{a.Comment}: IPv6 addresses go in ip6tables rules, which are not written");
            }
        }
        text.AppendLine($"-A {IptablesChain} -j DROP");
        text.AppendLine("COMMIT");
        return text.ToString();
    }

    private string Kubernetes()
    {
        var expanded = Expand();
        var text = new StringBuilder();
        text.AppendLine("# tattle: the policy's egress as a NetworkPolicy (addresses) and a CiliumNetworkPolicy (names, toFQDNs)");
        text.AppendLine("apiVersion: networking.k8s.io/v1");
        text.AppendLine("kind: NetworkPolicy");
        text.AppendLine("metadata:");
        text.AppendLine("  name: tattle-egress");
        text.AppendLine("spec:");
        text.AppendLine("  podSelector: {}");
        text.AppendLine("  policyTypes:");
        text.AppendLine("    - Egress");
        text.AppendLine(expanded.Count == 0 && !policy.Resolvers ? "  egress: []" : "  egress:");
        if (policy.Resolvers)
        {
            // In a cluster the resolver is the cluster's DNS, not this host's resolv.conf: DNS to anywhere.
            text.AppendLine("    - ports:");
            text.AppendLine("        - protocol: UDP\n          port: 53\n        - protocol: TCP\n          port: 53");
        }
        foreach (var a in expanded)
        {
            text.AppendLine($"    # {Comment(a.Comment)}");
            text.AppendLine("    - to:");
            foreach (var net in a.Networks)
            {
                text.AppendLine($"        - ipBlock:\n            cidr: {net}");
            }
            K8sPorts(text, a.Proto, a.Ports, "      ");
        }
        var named = policy.Allow.Where(r => r.Host is not null).ToList();
        if (named.Count > 0)
        {
            text.AppendLine("---");
            text.AppendLine("apiVersion: cilium.io/v2");
            text.AppendLine("kind: CiliumNetworkPolicy");
            text.AppendLine("metadata:");
            text.AppendLine("  name: tattle-egress-fqdn");
            text.AppendLine("spec:");
            text.AppendLine("  endpointSelector: {}");
            text.AppendLine("  egress:");
            // toFQDNs learns addresses from the DNS answers Cilium's proxy sees: DNS must go through it.
            text.AppendLine("    - toEndpoints:\n        - matchLabels:\n            k8s:io.kubernetes.pod.namespace: kube-system\n            k8s:k8s-app: kube-dns");
            text.AppendLine("      toPorts:\n        - ports:\n            - port: \"53\"\n              protocol: ANY\n          rules:\n            dns:\n              - matchPattern: \"*\"");
            foreach (var rule in named)
            {
                string match = rule.Host!.StartsWith("*.", StringComparison.Ordinal) ? "matchPattern" : "matchName";
                text.AppendLine($"    - toFQDNs:\n        - {match}: \"{rule.Host}\"");
                if (rule.Ports.Count > 0)
                {
                    text.AppendLine("      toPorts:\n        - ports:");
                    foreach (var port in rule.Ports)
                    {
                        text.AppendLine($"            - port: \"{port}\"\n              protocol: {(rule.Proto ?? "any").ToUpperInvariant()}");
                    }
                }
            }
        }
        return text.ToString();
    }

    private static void K8sPorts(StringBuilder text, string? proto, IReadOnlyList<int> ports, string indent)
    {
        if (ports.Count == 0 && proto is null)
        {
            return;
        }
        text.AppendLine($"{indent}ports:");
        var protos = proto is { } p ? [p] : new[] { "tcp", "udp" };
        foreach (var pr in protos)
        {
            if (ports.Count == 0)
            {
                text.AppendLine($"{indent}  - protocol: {pr.ToUpperInvariant()}");
            }
            foreach (var port in ports)
            {
                text.AppendLine($"{indent}  - protocol: {pr.ToUpperInvariant()}\n{indent}    port: {port}");
            }
        }
    }

    private IEnumerable<(IPNetwork Network, string Name)> ResolverRules() => policy.Resolvers
        ? resolvers.Select(r => IPAddress.Parse(r)).Select(a => (new IPNetwork(a, a.AddressFamily == AddressFamily.InterNetwork ? 32 : 128), a.ToString()))
        : [];

    private static string Family((IPNetwork Network, string Name) r) => r.Network.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? "ip" : "ip6";

    private static string Net(IPNetwork n) =>
        n.PrefixLength == (n.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? 32 : 128) ? n.BaseAddress.ToString() : n.ToString();

    /// <summary>Comments are quoted strings in nft and iptables: no quotes or backslashes from a policy's text, and short.</summary>
    private static string Comment(string text)
    {
        var clean = new string(text.Where(c => c >= ' ' && c is not '"' and not '\\' and < (char)127).ToArray());
        return clean.Length > 120 ? clean[..120] : clean;
    }

    /// <summary>
    /// Addresses for names from the trace's DNS answers (the inventory), falling back to nothing: a rule from a
    /// trace allows what the run used.
    /// </summary>
    public static Func<string, IReadOnlyList<IPAddress>> FromInventory(Inventory inv) => name =>
        inv.AddressesOf(name).Concat(inv.Endpoints.Where(e => e.Names.Contains(name) && e.Addr is not null).Select(e => e.Addr!))
            .Distinct().Select(IPAddress.Parse).ToList();

    /// <summary>Addresses for names from the host's resolver now: rules from a policy file.</summary>
    public static Func<string, IReadOnlyList<IPAddress>> FromResolver(Action<string> warn) => name =>
    {
        try
        {
            return Dns.GetHostAddresses(name);
        }
        catch (SocketException e)
        {
            warn($"{name}: cannot resolve: {e.Message}");
            return [];
        }
    };
}
