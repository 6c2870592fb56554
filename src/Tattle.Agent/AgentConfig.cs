using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Tattle.Agent;

/// <summary>How deep a target is traced: connections only, their protocols, or also TLS plaintext.</summary>
public enum AgentDepth
{
    Connections,
    Protocols,
    Tls,
}

/// <summary>
/// Which processes one target selects. A field left out matches anything; a target with no field and no
/// <see cref="All"/> matches nothing. A process matches when every field given matches.
/// </summary>
public sealed record AgentTarget
{
    /// <summary>The process name (comm, at most 15 bytes).</summary>
    public string? Comm { get; init; }

    /// <summary>The executable's full path, as /proc/PID/exe names it.</summary>
    public string? Exe { get; init; }

    /// <summary>The real uid.</summary>
    public uint? Uid { get; init; }

    /// <summary>A cgroup v2 path (as in /proc/PID/cgroup); its sub-cgroups match too.</summary>
    public string? Cgroup { get; init; }

    /// <summary>A container id (or its prefix of at least 12 hex digits), found in the cgroup path.</summary>
    public string? Container { get; init; }

    /// <summary>Every process.</summary>
    public bool All { get; init; }

    public AgentDepth Depth { get; init; } = AgentDepth.Protocols;

    /// <summary>The target as a person would write it, for logs.</summary>
    public override string ToString()
    {
        var parts = new List<string>();
        if (All)
        {
            parts.Add("all");
        }
        if (Comm is not null)
        {
            parts.Add($"comm={Comm}");
        }
        if (Exe is not null)
        {
            parts.Add($"exe={Exe}");
        }
        if (Uid is not null)
        {
            parts.Add($"uid={Uid}");
        }
        if (Cgroup is not null)
        {
            parts.Add($"cgroup={Cgroup}");
        }
        if (Container is not null)
        {
            parts.Add($"container={Container}");
        }
        return $"{string.Join(' ', parts)} depth={Depth.ToString().ToLowerInvariant()}";
    }
}

/// <summary>The OTLP push: where, how, and what.</summary>
public sealed record OtlpConfig
{
    public required Uri Endpoint { get; init; }

    /// <summary><c>grpc</c> or <c>http/protobuf</c> (the OTEL_EXPORTER_OTLP_PROTOCOL values).</summary>
    public string Protocol { get; init; } = "grpc";

    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    public bool Traces { get; init; } = true;

    public bool Metrics { get; init; } = true;

    /// <summary>How often metrics are pushed.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>`tattle agent`'s configuration: targets, where metrics and spans go, and the bounds (docs/agent.md).</summary>
public sealed record AgentConfig
{
    public const int DefaultMaxSeries = 2000;
    public const int DefaultMaxQueue = 8192;
    public const int DefaultMemoryMb = 256;

    public IReadOnlyList<AgentTarget> Targets { get; init; } = [];

    /// <summary>HOST:PORT serving /metrics, /healthz and /readyz; null: none.</summary>
    public string? Listen { get; init; }

    public OtlpConfig? Otlp { get; init; }

    /// <summary>Series per metric before new attribute sets fold into <c>other</c>.</summary>
    public int MaxSeries { get; init; } = DefaultMaxSeries;

    /// <summary>Spans waiting for export before new ones are dropped (and counted).</summary>
    public int MaxQueue { get; init; } = DefaultMaxQueue;

    /// <summary>Above this resident size the agent stops making spans and new series (and counts what it shed).</summary>
    public int MemoryMb { get; init; } = DefaultMemoryMb;

    /// <summary>The <c>service.name</c> of the agent's own resource.</summary>
    public string ServiceName { get; init; } = "tattle-agent";

    /// <summary>Where the configuration was read from (reloaded on SIGHUP), or null for flags only.</summary>
    public string? Path { get; init; }

    private static readonly string[] TopKeys = ["targets", "listen", "otlp", "limits", "service_name"];
    private static readonly string[] TargetKeys = ["comm", "exe", "user", "uid", "cgroup", "container", "all", "depth"];
    private static readonly string[] OtlpKeys = ["endpoint", "protocol", "headers", "traces", "metrics", "interval"];
    private static readonly string[] LimitKeys = ["max_series", "max_queue", "memory_mb"];

    /// <summary>Reads a configuration file; throws <see cref="AgentConfigException"/> with the reason.</summary>
    public static AgentConfig Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AgentConfigException($"{path}: {e.Message}");
        }
        return Parse(text, path);
    }

    /// <summary>Parses a configuration's YAML text; never throws anything but <see cref="AgentConfigException"/>.</summary>
    public static AgentConfig Parse(string text, string path)
    {
        YamlNode? root;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            root = stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
        }
        catch (YamlException e)
        {
            throw new AgentConfigException($"{path}: line {e.Start.Line}: {e.Message}");
        }
        if (root is null)
        {
            return new AgentConfig { Path = path };
        }
        var top = Mapping(root, path, TopKeys);
        var config = new AgentConfig { Path = path };
        if (top.TryGetValue("targets", out var targets))
        {
            if (targets is not YamlSequenceNode list)
            {
                throw new AgentConfigException($"{path}: targets: expected a list");
            }
            config = config with { Targets = [.. list.Children.Select((t, i) => Target(t, $"{path}: targets[{i}]"))] };
        }
        if (top.TryGetValue("listen", out var listen))
        {
            config = config with { Listen = ParseListen(Scalar(listen, $"{path}: listen"), $"{path}: listen") };
        }
        if (top.TryGetValue("service_name", out var service))
        {
            config = config with { ServiceName = Scalar(service, $"{path}: service_name") };
        }
        if (top.TryGetValue("otlp", out var otlp))
        {
            config = config with { Otlp = ParseOtlp(otlp, $"{path}: otlp") };
        }
        if (top.TryGetValue("limits", out var limits))
        {
            var l = Mapping(limits, $"{path}: limits", LimitKeys);
            config = config with
            {
                MaxSeries = l.TryGetValue("max_series", out var s) ? Positive(s, $"{path}: limits.max_series") : config.MaxSeries,
                MaxQueue = l.TryGetValue("max_queue", out var q) ? Positive(q, $"{path}: limits.max_queue") : config.MaxQueue,
                MemoryMb = l.TryGetValue("memory_mb", out var m) ? Positive(m, $"{path}: limits.memory_mb") : config.MemoryMb,
            };
        }
        return config;
    }

    /// <summary>HOST:PORT (host may be an address, a name or [v6]); throws with the reason.</summary>
    public static string ParseListen(string text, string where)
    {
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
        {
            throw new AgentConfigException($"{where}: '{text}': expected HOST:PORT (e.g. 127.0.0.1:9464)");
        }
        return text;
    }

    /// <summary>An OTLP endpoint URL; throws with the reason.</summary>
    public static Uri ParseEndpoint(string text, string where) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new AgentConfigException($"{where}: '{text}': expected an http:// or https:// URL (e.g. http://127.0.0.1:4317)");

    /// <summary>connections, protocols or tls; throws with the reason.</summary>
    public static AgentDepth ParseDepth(string text, string where) => text switch
    {
        "connections" => AgentDepth.Connections,
        "protocols" => AgentDepth.Protocols,
        "tls" => AgentDepth.Tls,
        _ => throw new AgentConfigException($"{where}: '{text}': expected connections, protocols or tls"),
    };

    /// <summary>A user name (from /etc/passwd) or a number; throws with the reason.</summary>
    public static uint ParseUser(string text, string where)
    {
        if (uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out uint uid))
        {
            return uid;
        }
        return Users.Find(text) ?? throw new AgentConfigException($"{where}: no user named '{text}' in /etc/passwd");
    }

    private static AgentTarget Target(YamlNode node, string where)
    {
        var map = Mapping(node, where, TargetKeys);
        string? Get(string key) => map.TryGetValue(key, out var v) ? Scalar(v, $"{where}.{key}") : null;
        var target = new AgentTarget
        {
            Comm = Get("comm"),
            Exe = Get("exe"),
            Cgroup = Get("cgroup"),
            Container = Get("container"),
            All = Get("all") is { } all && Bool(all, $"{where}.all"),
            Depth = Get("depth") is { } depth ? ParseDepth(depth, $"{where}.depth") : AgentDepth.Protocols,
            Uid = (Get("user") ?? Get("uid")) is { } user ? ParseUser(user, $"{where}.user") : null,
        };
        Validate(target, where);
        return target;
    }

    /// <summary>Checks one target's fields; throws with the reason.</summary>
    public static void Validate(AgentTarget target, string where)
    {
        if (!target.All && target is { Comm: null, Exe: null, Uid: null, Cgroup: null, Container: null })
        {
            throw new AgentConfigException($"{where}: a target needs comm, exe, user, cgroup, container or all: true");
        }
        if (target.Comm is { Length: > 15 })
        {
            throw new AgentConfigException($"{where}: comm '{target.Comm}' is longer than the kernel's 15 bytes (use exe: for the full path)");
        }
        if (target.Exe is { } exe && !exe.StartsWith('/'))
        {
            throw new AgentConfigException($"{where}: exe '{exe}' must be an absolute path");
        }
        if (target.Container is { } id && (id.Length < 12 || !id.All(char.IsAsciiHexDigitLower)))
        {
            throw new AgentConfigException($"{where}: container '{id}': expected at least 12 lower-case hex digits of the id");
        }
        if (target.Cgroup is { } cg && !cg.StartsWith('/'))
        {
            throw new AgentConfigException($"{where}: cgroup '{cg}' must start with / (a path under /sys/fs/cgroup)");
        }
    }

    private static OtlpConfig ParseOtlp(YamlNode node, string where)
    {
        var map = Mapping(node, where, OtlpKeys);
        if (!map.TryGetValue("endpoint", out var endpoint))
        {
            throw new AgentConfigException($"{where}: endpoint is required");
        }
        var config = new OtlpConfig { Endpoint = ParseEndpoint(Scalar(endpoint, $"{where}.endpoint"), $"{where}.endpoint") };
        if (map.TryGetValue("protocol", out var protocol))
        {
            config = config with { Protocol = ParseProtocol(Scalar(protocol, $"{where}.protocol"), $"{where}.protocol") };
        }
        if (map.TryGetValue("headers", out var headers))
        {
            config = config with
            {
                Headers = [.. Mapping(headers, $"{where}.headers", null).Select(h => KeyValuePair.Create(h.Key, Scalar(h.Value, $"{where}.headers.{h.Key}")))],
            };
        }
        if (map.TryGetValue("traces", out var traces))
        {
            config = config with { Traces = Bool(Scalar(traces, $"{where}.traces"), $"{where}.traces") };
        }
        if (map.TryGetValue("metrics", out var metrics))
        {
            config = config with { Metrics = Bool(Scalar(metrics, $"{where}.metrics"), $"{where}.metrics") };
        }
        if (map.TryGetValue("interval", out var interval))
        {
            config = config with { Interval = ParseInterval(Scalar(interval, $"{where}.interval"), $"{where}.interval") };
        }
        return config;
    }

    /// <summary>grpc or http/protobuf; throws with the reason.</summary>
    public static string ParseProtocol(string text, string where) => text is "grpc" or "http/protobuf"
        ? text
        : throw new AgentConfigException($"{where}: '{text}': expected grpc or http/protobuf");

    /// <summary>A duration: 500ms, 10s, 1m; throws with the reason.</summary>
    public static TimeSpan ParseInterval(string text, string where)
    {
        (string number, double scale) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 0.001)
            : text.EndsWith('s') ? (text[..^1], 1)
            : text.EndsWith('m') ? (text[..^1], 60)
            : (text, 1);
        return double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v > 0 && v * scale <= 86400
            ? TimeSpan.FromSeconds(v * scale)
            : throw new AgentConfigException($"{where}: '{text}': expected a duration such as 500ms, 10s or 1m");
    }

    private static Dictionary<string, YamlNode> Mapping(YamlNode node, string where, string[]? keys)
    {
        if (node is not YamlMappingNode map)
        {
            throw new AgentConfigException($"{where}: expected a mapping (key: value)");
        }
        var result = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (k, v) in map.Children)
        {
            string key = k is YamlScalarNode { Value: { } s } ? s : k.ToString();
            if (keys is not null && !keys.Contains(key))
            {
                throw new AgentConfigException($"{where}: unknown key '{key}' (expected one of: {string.Join(", ", keys)})");
            }
            result[key] = v;
        }
        return result;
    }

    private static string Scalar(YamlNode node, string where) => node is YamlScalarNode { Value: { } v }
        ? v
        : throw new AgentConfigException($"{where}: expected a single value");

    private static bool Bool(string text, string where) => text switch
    {
        "true" or "yes" or "on" => true,
        "false" or "no" or "off" => false,
        _ => throw new AgentConfigException($"{where}: '{text}': expected true or false"),
    };

    private static int Positive(YamlNode node, string where) =>
        int.TryParse(Scalar(node, where), NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0
            ? v
            : throw new AgentConfigException($"{where}: expected a positive whole number");
}

/// <summary>A configuration that cannot be used: the message says where and why.</summary>
public sealed class AgentConfigException(string message) : Exception(message);

/// <summary>User names from /etc/passwd.</summary>
internal static class Users
{
    public static uint? Find(string name)
    {
        try
        {
            foreach (var line in File.ReadLines("/etc/passwd"))
            {
                var f = line.Split(':');
                if (f.Length > 2 && f[0] == name && uint.TryParse(f[2], CultureInfo.InvariantCulture, out uint uid))
                {
                    return uid;
                }
            }
        }
        catch (IOException)
        {
        }
        return null;
    }
}
