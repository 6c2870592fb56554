using System.Globalization;
using System.Net;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Tattle.Sandbox;

/// <summary>
/// A policy: what a program may reach (docs/report.md). Shared by `sandbox --policy`, `check --policy`, `report
/// --policy-out` and the firewall rules.
/// </summary>
/// <param name="Allow">The allowed endpoints; anything else is a violation.</param>
/// <param name="Loopback">Every loopback address (127.0.0.0/8, ::1) is allowed.</param>
/// <param name="Resolvers">DNS (port 53) to the nameservers of /etc/resolv.conf is allowed.</param>
public sealed record Policy(IReadOnlyList<PolicyRule> Allow, bool Loopback = false, bool Resolvers = true);

/// <summary>
/// One allowed endpoint: a host name (exact, or <c>*.suffix</c> for any name under it) or an address range, and
/// optionally ports, transport, application protocol, program, user and cgroup; a field left out matches anything.
/// </summary>
public sealed record PolicyRule
{
    /// <summary>The entry as written, for messages.</summary>
    public required string Spec { get; init; }

    /// <summary>Lower-case name, or <c>*.suffix</c>.</summary>
    public string? Host { get; init; }

    public IPNetwork? Network { get; init; }

    /// <summary>Empty: every port.</summary>
    public IReadOnlyList<int> Ports { get; init; } = [];

    /// <summary><c>tcp</c> or <c>udp</c>; null: both.</summary>
    public string? Proto { get; init; }

    /// <summary>The application protocol (<c>http</c>, <c>tls</c>, <c>dns</c>…); judged only on connections whose protocol was seen.</summary>
    public string? App { get; init; }

    /// <summary>The executable's path.</summary>
    public string? Program { get; init; }

    /// <summary>A user name or a numeric uid.</summary>
    public string? User { get; init; }

    /// <summary>A cgroup v2 path, e.g. <c>/system.slice/docker-&lt;id&gt;.scope</c>.</summary>
    public string? Cgroup { get; init; }

    /// <summary>Whether <paramref name="name"/> is this rule's host, or under its <c>*.</c> suffix.</summary>
    public bool MatchesName(string name) => Host is { } h && (h.StartsWith("*.", StringComparison.Ordinal)
        ? name.EndsWith(h[1..], StringComparison.OrdinalIgnoreCase) && name.Length > h.Length - 1
        : string.Equals(h, name, StringComparison.OrdinalIgnoreCase));
}

/// <summary>
/// --policy FILE: YAML (<c>allow:</c> a list whose entries are HOST|CIDR[:PORT] strings or mappings with host,
/// cidr, port(s), proto, app, program, user, cgroup; <c>loopback:</c>, <c>resolvers:</c>), a bare YAML list, or
/// plain lines, one HOST|CIDR[:PORT] a line, <c>#</c> starting a comment. Errors are one line naming the file.
/// </summary>
public static class PolicyFile
{
    private static readonly string[] TopKeys = ["allow", "loopback", "resolvers"];
    private static readonly string[] RuleKeys = ["host", "cidr", "port", "ports", "proto", "app", "program", "user", "cgroup"];

    /// <summary>The sandbox's entries of the file (HOST|CIDR[:PORT]); throws <see cref="SandboxException"/> with the reason.</summary>
    public static IReadOnlyList<string> Load(string path) => SandboxEntries(LoadPolicy(path), path);

    /// <summary>The sandbox's entries of a policy's text.</summary>
    public static IReadOnlyList<string> Parse(string text, string path) => SandboxEntries(ParsePolicy(text, path), path);

    /// <summary>Reads a policy file; throws <see cref="SandboxException"/> (exit 2) with the reason.</summary>
    public static Policy LoadPolicy(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SandboxException($"--policy {path}: {e.Message}");
        }
        return ParsePolicy(text, path);
    }

    /// <summary>A policy's text: YAML when it is a mapping or a list, otherwise lines. Never throws anything but <see cref="SandboxException"/>.</summary>
    public static Policy ParsePolicy(string text, string path)
    {
        try
        {
            return Read(text, path);
        }
        catch (SandboxException e) when (e.Message.Any(char.IsControl))
        {
            // An entry quoted in the message can hold a YAML block scalar's newlines: the error stays one line.
            throw new SandboxException(new string(e.Message.Select(c => char.IsControl(c) ? ' ' : c).ToArray()), e.ExitCode);
        }
    }

    private static Policy Read(string text, string path)
    {
        YamlNode? root = null;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            root = stream.Documents.FirstOrDefault()?.RootNode;
        }
        catch (Exception e) when (e is YamlException or InvalidOperationException or ArgumentException)
        {
            // Not YAML: a file of plain lines (an entry like 10.0.0.0/8:80 can trip the YAML reader).
        }
        string where = $"--policy {path}";
        if (root is YamlMappingNode map)
        {
            var keys = map.Children.Keys.Select(k => k is YamlScalarNode { Value: { } v } ? v : k.ToString()).ToList();
            if (keys.FirstOrDefault(k => !TopKeys.Contains(k)) is { } unknown)
            {
                throw new SandboxException($"{where}: unknown key '{unknown}' (the policy's keys: allow, loopback, resolvers)");
            }
            var allow = map.Children.TryGetValue(new YamlScalarNode("allow"), out var a) ? Rules(a, where) : [];
            return new Policy(allow, Flag(map, "loopback", false, where), Flag(map, "resolvers", true, where));
        }
        if (root is YamlSequenceNode)
        {
            return new Policy(Rules(root, where));
        }
        var lines = text.Split('\n').Select(l => (l.Contains('#') ? l[..l.IndexOf('#')] : l).Trim()).Where(l => l.Length > 0);
        return new Policy(lines.Select(l => ParseEntry(l, where)).ToList());
    }

    /// <summary>
    /// Parses HOST|CIDR[:PORT] (an IPv6 address with a port in brackets) without resolving anything; the sandbox's
    /// <see cref="AllowRule"/> checks the same strings for what a sandbox can enforce.
    /// </summary>
    public static PolicyRule ParseEntry(string spec, string where)
    {
        string text = spec.Trim();
        if (text.Length == 0)
        {
            throw new SandboxException($"{where}: empty entry (expected HOST, CIDR, HOST:PORT or CIDR:PORT)");
        }
        int? port = null;
        string target = text;
        if (text.StartsWith('[') && text.IndexOf(']') is int close and > 0)
        {
            target = text[1..close];
            string rest = text[(close + 1)..];
            if (rest.Length > 0)
            {
                port = rest[0] == ':' ? Port(rest[1..], spec, where) : throw new SandboxException($"{where}: {spec}: expected [ADDRESS]:PORT");
            }
        }
        else if (text.Count(c => c == ':') == 1)
        {
            int colon = text.IndexOf(':');
            port = Port(text[(colon + 1)..], spec, where);
            target = text[..colon];
        }
        return Target(target, spec, where) with { Ports = port is { } p ? [p] : [] };
    }

    /// <summary>Parses "ADDR[/N]" (IPv4 or IPv6; host bits are cleared); false when it is not one.</summary>
    public static bool TryParseNetwork(string text, out IPNetwork network)
    {
        network = default;
        int slash = text.IndexOf('/');
        if (!IPAddress.TryParse(slash < 0 ? text : text[..slash], out var address)
            || (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && text[..(slash < 0 ? text.Length : slash)].Count(c => c == '.') != 3))
        {
            return false;
        }
        var bytes = address.GetAddressBytes();
        int prefix = bytes.Length * 8;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > bytes.Length * 8))
        {
            return false;
        }
        for (int bit = prefix; bit < bytes.Length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }
        network = new IPNetwork(new IPAddress(bytes), prefix);
        return true;
    }

    /// <summary>Whether <paramref name="text"/> is a host name a rule can hold: letters, digits, '-', '_', '.', and an optional leading "*.".</summary>
    public static bool IsHostName(string text)
    {
        string name = text.StartsWith("*.", StringComparison.Ordinal) ? text[2..] : text;
        return name.Length is > 0 and <= 253 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_')
            && !name.All(c => char.IsAsciiDigit(c) || c == '.') && !name.StartsWith('.') && !name.Contains("..", StringComparison.Ordinal);
    }

    private static PolicyRule Target(string target, string spec, string where)
    {
        if (TryParseNetwork(target, out var network))
        {
            return new PolicyRule { Spec = spec, Network = network };
        }
        if (target.Contains('/') || !IsHostName(target))
        {
            throw new SandboxException($"{where}: {spec}: not a host name (or *.suffix), an IP address or a CIDR");
        }
        return new PolicyRule { Spec = spec, Host = target.ToLowerInvariant() };
    }

    private static int Port(string text, string spec, string where) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int p) && p is >= 1 and <= 65535 ? p
            : throw new SandboxException($"{where}: {spec}: the port must be a number from 1 to 65535");

    private static bool Flag(YamlMappingNode map, string key, bool fallback, string where) =>
        !map.Children.TryGetValue(new YamlScalarNode(key), out var node) ? fallback
        : node is YamlScalarNode { Value: "true" or "yes" } ? true
        : node is YamlScalarNode { Value: "false" or "no" } ? false
        : throw new SandboxException($"{where}: {key} must be true or false");

    private static List<PolicyRule> Rules(YamlNode node, string where) => node switch
    {
        YamlSequenceNode list => list.Children.Select(c => Rule(c, where)).ToList(),
        YamlScalarNode { Value: { Length: > 0 } v } => [ParseEntry(v, where)],
        YamlScalarNode => [], // "allow:" with nothing: nothing is allowed (but DNS)
        _ => throw new SandboxException($"{where}: allow must be a list of HOST|CIDR[:PORT] strings or host/cidr mappings"),
    };

    private static PolicyRule Rule(YamlNode node, string where)
    {
        if (node is YamlScalarNode { Value: { } v })
        {
            return ParseEntry(v, where);
        }
        if (node is not YamlMappingNode map)
        {
            throw new SandboxException($"{where}: every allow entry must be a HOST|CIDR[:PORT] string or a mapping (host: NAME, port: 443…)");
        }
        var fields = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (k, value) in map.Children)
        {
            string key = k is YamlScalarNode { Value: { } kv } ? kv : "?";
            if (!RuleKeys.Contains(key))
            {
                throw new SandboxException($"{where}: unknown key '{key}' in an allow entry (known: {string.Join(", ", RuleKeys)})");
            }
            fields[key] = value;
        }
        string spec = "{" + string.Join(", ", fields.Select(f => $"{f.Key}: {Text(f.Value)}")) + "}";
        string? host = Scalar(fields, "host", spec, where);
        string? cidr = Scalar(fields, "cidr", spec, where);
        if ((host is null) == (cidr is null))
        {
            throw new SandboxException($"{where}: {spec}: an allow entry has either host or cidr");
        }
        var rule = Target(host ?? cidr!, spec, where);
        if (host is not null && rule.Network is not null || cidr is not null && rule.Host is not null)
        {
            throw new SandboxException($"{where}: {spec}: host takes a name, cidr an address or network");
        }
        var ports = new List<int>();
        if (Scalar(fields, "port", spec, where) is { } one)
        {
            ports.Add(Port(one, spec, where));
        }
        if (fields.TryGetValue("ports", out var many))
        {
            ports.AddRange(many is YamlSequenceNode seq
                ? seq.Children.Select(c => Port(c is YamlScalarNode { Value: { } pv } ? pv : "", spec, where))
                : throw new SandboxException($"{where}: {spec}: ports must be a list, e.g. [80, 443]"));
        }
        string? proto = Scalar(fields, "proto", spec, where)?.ToLowerInvariant();
        if (proto is not (null or "tcp" or "udp"))
        {
            throw new SandboxException($"{where}: {spec}: proto must be tcp or udp");
        }
        string? app = Scalar(fields, "app", spec, where)?.ToLowerInvariant();
        if (app is not null && (app.Length == 0 || !app.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
        {
            throw new SandboxException($"{where}: {spec}: app must be a protocol name (http, tls, dns…)");
        }
        return rule with
        {
            Ports = ports.Distinct().Order().ToList(),
            Proto = proto,
            App = app,
            Program = Scalar(fields, "program", spec, where),
            User = Scalar(fields, "user", spec, where),
            Cgroup = Scalar(fields, "cgroup", spec, where),
        };
    }

    private static string? Scalar(Dictionary<string, YamlNode> fields, string key, string spec, string where) =>
        !fields.TryGetValue(key, out var node) ? null
        : node is YamlScalarNode { Value: { Length: > 0 } v } ? v.Trim()
        : throw new SandboxException($"{where}: {spec}: {key} must be a single value");

    private static string Text(YamlNode node) => node is YamlScalarNode { Value: { } v } ? v
        : node is YamlSequenceNode s ? "[" + string.Join(", ", s.Children.Select(Text)) + "]" : "{…}";

    /// <summary>
    /// The sandbox enforces addresses and ports in nft: each rule becomes HOST|CIDR[:PORT] strings (proto, app,
    /// program, user and cgroup are judged by `tattle check`, not by the sandbox's firewall).
    /// </summary>
    private static List<string> SandboxEntries(Policy policy, string path)
    {
        var entries = new List<string>();
        foreach (var rule in policy.Allow)
        {
            if (rule.Host is { } h && h.StartsWith("*.", StringComparison.Ordinal))
            {
                throw new SandboxException($"--policy {path}: {rule.Spec}: the sandbox resolves names at start, so it cannot allow a *.suffix; name the hosts");
            }
            if (!rule.Spec.StartsWith('{'))
            {
                entries.Add(rule.Spec.Trim()); // as written: AllowRule gives the sandbox's own messages
                continue;
            }
            string target = rule.Host ?? rule.Network!.Value.ToString();
            if (target.EndsWith("/32", StringComparison.Ordinal))
            {
                target = target[..^3];
            }
            entries.AddRange(rule.Ports.Count == 0 ? [target] : rule.Ports.Select(p => $"{target}:{p}"));
        }
        return entries;
    }
}
