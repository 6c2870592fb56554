using System.CommandLine;
using Tattle.Agent;
using Tattle.Capture.Bpf;
using Tattle.Cli.Tracing;
using Tattle.Tracking.Streams;

namespace Tattle.Cli.Commands;

/// <summary>`tattle agent [--config FILE] [--comm NAME…] [--listen HOST:PORT] [--otlp-endpoint URL]`: the node agent (docs/agent.md).</summary>
internal static class AgentCommand
{
    public static Command Create(TextWriter stderr)
    {
        var config = new Option<string?>("--config", "-c") { Description = "Read targets, endpoints and limits from this YAML file (SIGHUP reloads it)", HelpName = "FILE" };
        var comm = new Option<string[]>("--comm") { Description = "Trace processes with this name; repeatable", HelpName = "NAME" };
        var exe = new Option<string[]>("--exe") { Description = "Trace processes running this executable (absolute path); repeatable", HelpName = "PATH" };
        var user = new Option<string[]>("--user") { Description = "Trace processes of this user (name or uid); repeatable", HelpName = "USER" };
        var cgroup = new Option<string[]>("--cgroup") { Description = "Trace processes in this cgroup v2 path or under it; repeatable", HelpName = "PATH" };
        var container = new Option<string[]>("--container") { Description = "Trace processes of this container (id, at least 12 hex digits); repeatable", HelpName = "ID" };
        var all = new Option<bool>("--all") { Description = "Trace every process on the machine" };
        var depth = new Option<string?>("--depth") { Description = "For the targets given by flags: connections, protocols (default) or tls", HelpName = "DEPTH" };
        var listen = new Option<string?>("--listen") { Description = "Serve /metrics (Prometheus), /healthz and /readyz on HOST:PORT", HelpName = "HOST:PORT" };
        var otlp = new Option<string?>("--otlp-endpoint") { Description = "Push spans and metrics over OTLP to this URL (e.g. http://127.0.0.1:4317)", HelpName = "URL" };
        var protocol = new Option<string?>("--otlp-protocol") { Description = "grpc (default) or http/protobuf", HelpName = "PROTOCOL" };
        var interval = new Option<string?>("--otlp-interval") { Description = "How often metrics are pushed (default 10s)", HelpName = "DURATION" };
        var headers = new Option<string[]>("--otlp-header") { Description = "Send this header with every OTLP request (an API key); repeatable", HelpName = "NAME=VALUE" };
        var noTraces = new Option<bool>("--no-otlp-traces") { Description = "Push metrics only, no spans" };
        var noMetrics = new Option<bool>("--no-otlp-metrics") { Description = "Push spans only, no metrics" };
        var service = new Option<string?>("--service-name") { Description = "The agent's own service.name (default tattle-agent)", HelpName = "NAME" };
        var maxSeries = NumberOption.Create("--max-series", "an integer from 1 to 1000000", 1, 1_000_000,
            description: $"Series per metric before new ones fold into 'other' (default {AgentConfig.DefaultMaxSeries})", helpName: "N");
        var maxQueue = NumberOption.Create("--max-queue", "an integer from 1 to 1000000", 1, 1_000_000,
            description: $"Spans waiting for export before new ones are dropped and counted (default {AgentConfig.DefaultMaxQueue})", helpName: "N");
        var memory = NumberOption.Create("--memory-limit", "an integer from 32 to 1048576 (MiB)", 32, 1 << 20,
            description: $"Above this resident size no spans and no new series are made (default {AgentConfig.DefaultMemoryMb} MiB)", helpName: "MIB");
        var json = new Option<string?>("--json") { Description = "Also write every record as JSON Lines to FILE", HelpName = "FILE" };
        var ringSize = NumberOption.Create("--ring-size", "a power of two from 1 to 1024 (MiB)", 1, 1024, accept: r => (r & (r - 1)) == 0,
            description: "Kernel ring buffer size in MiB (a power of two)", helpName: "MIB", defaultValue: TracerOptions.DefaultRingMiB);
        var verbose = new Option<bool>("--verbose") { Description = "Print libbpf's messages (and the verifier log on a load failure)" };
        var noSyscalls = new Option<bool>("--no-syscalls")
        {
            Description = "No syscall tracepoints (Linux 6.3+): payloads from the socket layer's send and receive tracepoints, so the machine's other syscalls pay nothing",
        };
        var rawSyscalls = new Option<bool>("--raw-syscalls") { Description = TraceOptions.RawSyscallsDescription };
        var httpInKernel = new Option<bool>("--http-in-kernel") { Description = TraceOptions.HttpInKernelDescription };
        rawSyscalls.Validators.Add(r =>
        {
            if (r.GetValue(rawSyscalls) && r.GetValue(noSyscalls))
            {
                r.AddError("--raw-syscalls traces every syscall, --no-syscalls none: choose one");
            }
        });
        var agent = new Command("agent", "Trace selected processes until stopped, exporting metrics (Prometheus, OTLP) and spans (OTLP)")
        {
            config, comm, exe, user, cgroup, container, all, depth, listen, otlp, protocol, interval, headers, noTraces, noMetrics, service,
            maxSeries, maxQueue, memory, json, ringSize, verbose, noSyscalls, rawSyscalls, httpInKernel,
        };
        agent.SetAction(result =>
        {
            AgentConfig settings;
            AgentFlags flags;
            try
            {
                flags = new AgentFlags(
                    result.GetValue(comm) ?? [], result.GetValue(exe) ?? [], result.GetValue(user) ?? [], result.GetValue(cgroup) ?? [],
                    result.GetValue(container) ?? [], result.GetValue(all), result.GetValue(depth), result.GetValue(listen), result.GetValue(otlp),
                    result.GetValue(protocol), result.GetValue(interval),
                    result.GetResult(maxSeries) is null ? null : result.GetValue(maxSeries),
                    result.GetResult(maxQueue) is null ? null : result.GetValue(maxQueue),
                    result.GetResult(memory) is null ? null : result.GetValue(memory))
                {
                    OtlpHeaders = result.GetValue(headers) ?? [],
                    NoTraces = result.GetValue(noTraces),
                    NoMetrics = result.GetValue(noMetrics),
                    ServiceName = result.GetValue(service),
                };
                settings = Build(result.GetValue(config), flags);
            }
            catch (AgentConfigException e)
            {
                stderr.WriteLine($"tattle: agent: {e.Message}");
                return 2;
            }
            var trace = AgentTraceTarget.TraceConfigFor(settings) with
            {
                JsonPath = result.GetValue(json),
                RingBufferBytes = result.GetValue(ringSize) << 20,
                Verbose = result.GetValue(verbose),
                NoSyscalls = result.GetValue(noSyscalls),
                RawSyscalls = result.GetValue(rawSyscalls),
                HttpInKernel = result.GetValue(httpInKernel),
            };
            string? path = result.GetValue(config);
            return AgentTraceTarget.Run(settings, trace, stderr, () => Build(path, flags));
        });
        return agent;
    }

    /// <summary>The command line's agent settings, each of which overrides or adds to the file's.</summary>
    internal sealed record AgentFlags(
        string[] Comms, string[] Exes, string[] Users, string[] Cgroups, string[] Containers, bool All, string? Depth,
        string? Listen, string? OtlpEndpoint, string? OtlpProtocol, string? OtlpInterval, int? MaxSeries, int? MaxQueue, int? MemoryMb)
    {
        public string[] OtlpHeaders { get; init; } = [];

        public bool NoTraces { get; init; }

        public bool NoMetrics { get; init; }

        public string? ServiceName { get; init; }
    }

    private static KeyValuePair<string, string> Header(string text)
    {
        int eq = text.IndexOf('=');
        return eq > 0 ? KeyValuePair.Create(text[..eq].Trim(), text[(eq + 1)..].Trim())
            : throw new AgentConfigException($"--otlp-header '{text}': expected NAME=VALUE");
    }

    /// <summary>The file's configuration (if any) with the flags applied; throws <see cref="AgentConfigException"/>.</summary>
    internal static AgentConfig Build(string? path, AgentFlags f)
    {
        var config = path is null ? new AgentConfig() : AgentConfig.Load(path);
        var d = f.Depth is { } text ? AgentConfig.ParseDepth(text, "--depth") : AgentDepth.Protocols;
        var targets = new List<AgentTarget>(config.Targets);
        targets.AddRange(f.Comms.Select(c => new AgentTarget { Comm = c, Depth = d }));
        targets.AddRange(f.Exes.Select(e => new AgentTarget { Exe = e, Depth = d }));
        targets.AddRange(f.Users.Select(u => new AgentTarget { Uid = AgentConfig.ParseUser(u, "--user"), Depth = d }));
        targets.AddRange(f.Cgroups.Select(c => new AgentTarget { Cgroup = c, Depth = d }));
        targets.AddRange(f.Containers.Select(c => new AgentTarget { Container = c, Depth = d }));
        if (f.All)
        {
            targets.Add(new AgentTarget { All = true, Depth = d });
        }
        foreach (var t in targets)
        {
            AgentConfig.Validate(t, "--" + (t.Comm is not null ? "comm" : t.Exe is not null ? "exe" : t.Uid is not null ? "user" : t.Cgroup is not null ? "cgroup" : t.Container is not null ? "container" : "all"));
        }
        if (targets.Count == 0)
        {
            throw new AgentConfigException("no targets: give --comm, --exe, --user, --cgroup, --container or --all, or a --config file with targets");
        }
        var otlp = config.Otlp;
        if (f.OtlpEndpoint is { } endpoint)
        {
            otlp = (otlp ?? new OtlpConfig { Endpoint = AgentConfig.ParseEndpoint(endpoint, "--otlp-endpoint") }) with
            {
                Endpoint = AgentConfig.ParseEndpoint(endpoint, "--otlp-endpoint"),
            };
        }
        if (f.OtlpProtocol is { } protocol)
        {
            otlp = otlp is null ? throw new AgentConfigException("--otlp-protocol needs --otlp-endpoint") : otlp with { Protocol = AgentConfig.ParseProtocol(protocol, "--otlp-protocol") };
        }
        if (f.OtlpInterval is { } interval)
        {
            otlp = otlp is null ? throw new AgentConfigException("--otlp-interval needs --otlp-endpoint") : otlp with { Interval = AgentConfig.ParseInterval(interval, "--otlp-interval") };
        }
        if (f.OtlpHeaders.Length > 0 || f.NoTraces || f.NoMetrics)
        {
            otlp = otlp is null ? throw new AgentConfigException("--otlp-header, --no-otlp-traces and --no-otlp-metrics need --otlp-endpoint") : otlp with
            {
                Headers = [.. otlp.Headers, .. f.OtlpHeaders.Select(Header)],
                Traces = otlp.Traces && !f.NoTraces,
                Metrics = otlp.Metrics && !f.NoMetrics,
            };
        }
        return config with
        {
            ServiceName = f.ServiceName ?? config.ServiceName,
            Targets = targets,
            Listen = f.Listen is { } listen ? AgentConfig.ParseListen(listen, "--listen") : config.Listen,
            Otlp = otlp,
            MaxSeries = f.MaxSeries ?? config.MaxSeries,
            MaxQueue = f.MaxQueue ?? config.MaxQueue,
            MemoryMb = f.MemoryMb ?? config.MemoryMb,
        };
    }
}
