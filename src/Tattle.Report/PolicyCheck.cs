using System.Globalization;
using System.Net;
using System.Text;
using Tattle.Records;
using Tattle.Sandbox;

namespace Tattle.Report;

/// <summary>
/// An endpoint a policy does not allow: who, where, by which name, how many attempts. <paramref name="NameHolds"/>:
/// whether a resolution gave the address any of its names (else only the client named it, and no host rule can match).
/// </summary>
public sealed record Violation(EndpointUse Endpoint, bool NameHolds = true)
{
    public override string ToString()
    {
        var e = Endpoint;
        string name = e.Names.Count == 0 ? "no name"
            : string.Join(", ", e.Names) + (NameHolds ? "" : ": named by the client only, no DNS answer gave this address");
        string errors = e.Errors.Count > 0 ? ", " + string.Join(" ", e.Errors.Select(x => $"{x.Key}×{x.Value}")) : "";
        return $"{e.Program} (user {e.User ?? "?"}{(e.Container is { } c ? $", container {c}" : "")}) -> {e.Proto} {e.Address} ({name}), "
            + $"{Plural.Count(e.Attempts, "attempt", "attempts")}{errors}";
    }
}

/// <summary>
/// Judges an inventory against a policy. Only what a process reached out to over IP is judged (TCP connects and
/// UDP sends, refused and failed ones included: the attempt is what counts); what it accepted, and Unix sockets,
/// are not. Names stay names: a rule for a name allows the addresses that name resolved to in the trace. Only a
/// resolution vouches for a name (<see cref="VouchedNames"/>): the SNI or Host a client sends is its own say, and
/// would let any program reach any address by naming an allowed host.
/// </summary>
public static class PolicyCheck
{
    public static List<Violation> Judge(Inventory inv, Policy policy, IReadOnlyCollection<string>? resolvers = null, HostsFile? hosts = null)
    {
        resolvers ??= Resolvers.FromResolvConf();
        hosts ??= HostsFile.Load();
        return inv.Endpoints.Where(e => e.IsEgress && e.Attempts > 0 && !Allowed(e, policy, resolvers, hosts))
            .Select(e => new Violation(e, VouchedNames(e, hosts).Count > 0)).ToList();
    }

    public static bool Allowed(EndpointUse e, Policy policy, IReadOnlyCollection<string> resolvers, HostsFile? hosts = null)
    {
        if (e.Addr is null || !IPAddress.TryParse(e.Addr, out var address))
        {
            return false;
        }
        if (policy.Loopback && IPAddress.IsLoopback(address))
        {
            return true;
        }
        if (policy.Resolvers && e.Port == 53 && resolvers.Contains(e.Addr))
        {
            return true;
        }
        var names = VouchedNames(e, hosts ?? HostsFile.Empty);
        return policy.Allow.Any(rule => Matches(rule, e, address, names));
    }

    /// <summary>
    /// The names the endpoint's address is known by: those a DNS answer in the trace gave it (its resolved names,
    /// which the inventory's build filled from every answer), and those of its names (SNI, Host) that the host's own
    /// table (/etc/hosts, which getaddrinfo reads without a query) gives it.
    /// </summary>
    public static List<string> VouchedNames(EndpointUse e, HostsFile hosts)
    {
        var names = new SortedSet<string>(e.ResolvedNames, StringComparer.OrdinalIgnoreCase);
        names.UnionWith(e.Names.Where(n => e.Addr is not null && hosts.Maps(n, e.Addr)));
        return [.. names];
    }

    private static bool Matches(PolicyRule rule, EndpointUse e, IPAddress address, List<string> names)
    {
        if (rule.Ports.Count > 0 && (e.Port is not { } port || !rule.Ports.Contains(port)))
        {
            return false;
        }
        if (rule.Proto is { } proto && proto != e.Proto)
        {
            return false;
        }
        // The application protocol is judged where it was seen: a refused connect carried none.
        if (rule.App is { } app && e.Apps.Count > 0 && !e.Apps.Contains(app))
        {
            return false;
        }
        if (rule.Program is { } program && program != e.Program)
        {
            return false;
        }
        if (rule.User is { } user && user != e.User && user != e.Uid?.ToString(CultureInfo.InvariantCulture))
        {
            return false;
        }
        if (rule.Cgroup is { } cgroup && cgroup != e.Cgroup)
        {
            return false;
        }
        return rule.Network is { } network ? network.Contains(address) : names.Any(rule.MatchesName);
    }

    /// <summary>
    /// The policy an observed run needs (audit mode): each IP endpoint the programs reached out to, by name when
    /// it had one (a rule per name), by address otherwise, with its port, transport and application protocol.
    /// DNS to this host's resolvers is left to <c>resolvers: true</c>: a policy recorded on one machine then holds
    /// on another (a CI runner) whose resolver differs. A name only the client gave (SNI, Host) makes no rule, as it
    /// would allow nothing: its address does.
    /// </summary>
    public static string WritePolicy(Inventory inv, IReadOnlyCollection<string>? resolvers = null, HostsFile? hosts = null)
    {
        resolvers ??= Resolvers.FromResolvConf();
        hosts ??= HostsFile.Load();
        var rules = new SortedDictionary<string, (string Target, bool IsName, string Proto, string? App, SortedSet<int> Ports)>(StringComparer.Ordinal);
        foreach (var e in inv.Endpoints.Where(e => e.IsEgress && e.Attempts > 0 && !(e.Port == 53 && resolvers.Contains(e.Addr!))))
        {
            string? app = e.Apps.Contains("tls") ? "tls" : e.Apps.Count == 1 ? e.Apps.Min : null;
            var names = VouchedNames(e, hosts);
            var targets = names.Count > 0 ? names.Select(n => (n.ToLowerInvariant(), true)) : [(e.Addr!, false)];
            foreach (var (target, isName) in targets)
            {
                string key = $"{(isName ? 0 : 1)} {target} {e.Proto} {app}";
                if (!rules.TryGetValue(key, out var rule))
                {
                    rule = (target, isName, e.Proto, app, new SortedSet<int>());
                    rules[key] = rule;
                }
                if (e.Port is { } p)
                {
                    rule.Ports.Add(p);
                }
            }
        }
        var text = new StringBuilder();
        text.AppendLine("# tattle policy: what the traced run reached (tattle report --policy-out); docs/report.md");
        text.AppendLine($"# from {string.Join(", ", inv.Sources)}" + (inv.Lost > 0 ? $"; the trace lost {inv.Lost} events, so this may miss endpoints" : ""));
        text.AppendLine("loopback: false");
        text.AppendLine("resolvers: true");
        text.AppendLine(rules.Count == 0 ? "allow: []" : "allow:");
        foreach (var (target, isName, proto, app, ports) in rules.Values)
        {
            text.Append(isName ? $"  - host: {Yaml(target)}\n" : $"  - cidr: {Yaml(target)}\n");
            if (ports.Count == 1)
            {
                text.Append(CultureInfo.InvariantCulture, $"    port: {ports.Min}\n");
            }
            else if (ports.Count > 1)
            {
                text.Append(CultureInfo.InvariantCulture, $"    ports: [{string.Join(", ", ports)}]\n");
            }
            text.Append(CultureInfo.InvariantCulture, $"    proto: {proto}\n");
            if (app is not null)
            {
                text.Append(CultureInfo.InvariantCulture, $"    app: {Yaml(app)}\n");
            }
        }
        return text.ToString();
    }

    /// <summary>A YAML scalar: quoted when it holds anything beyond a name's or an address's characters.</summary>
    internal static string Yaml(string value) =>
        value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or ':' or '/') && !value.StartsWith(':')
            ? value : "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}

/// <summary>The host's DNS resolvers: the nameserver lines of /etc/resolv.conf.</summary>
public static class Resolvers
{
    public static IReadOnlyCollection<string> FromResolvConf(string path = "/etc/resolv.conf")
    {
        try
        {
            return File.ReadAllLines(path).Select(l => l.Trim().Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
                .Where(f => f.Length >= 2 && f[0] == "nameserver" && IPAddress.TryParse(f[1], out _))
                .Select(f => f[1]).ToHashSet(StringComparer.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}

/// <summary>The host's static names (/etc/hosts): name → the addresses it gives, as getaddrinfo reads them.</summary>
public sealed class HostsFile
{
    private readonly Dictionary<string, HashSet<string>> _addresses = new(StringComparer.OrdinalIgnoreCase);

    public static HostsFile Empty { get; } = new();

    public static HostsFile Load(string path = "/etc/hosts")
    {
        try
        {
            return Parse(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Empty;
        }
    }

    /// <summary>hosts(5): an address, then its canonical name and aliases; '#' starts a comment.</summary>
    public static HostsFile Parse(string text)
    {
        var hosts = new HostsFile();
        foreach (var line in text.Split('\n'))
        {
            var fields = line.Split('#')[0].Split((char[])[' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 2 || !IPAddress.TryParse(fields[0], out var address))
            {
                continue;
            }
            foreach (var name in fields.Skip(1))
            {
                if (!hosts._addresses.TryGetValue(name, out var set))
                {
                    set = new HashSet<string>(StringComparer.Ordinal);
                    hosts._addresses[name] = set;
                }
                set.Add(address.ToString());
            }
        }
        return hosts;
    }

    /// <summary>Whether the table gives <paramref name="name"/> the address <paramref name="address"/>.</summary>
    public bool Maps(string name, string address) =>
        _addresses.TryGetValue(name.TrimEnd('.'), out var set)
        && (set.Contains(address) || (IPAddress.TryParse(address, out var a) && set.Contains(a.ToString())));
}
