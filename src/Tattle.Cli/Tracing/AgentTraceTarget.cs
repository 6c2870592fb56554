using System.Net;
using System.Runtime.InteropServices;
using Tattle.Agent;
using Tattle.Capture.Bpf;
using Tattle.Tracking;

namespace Tattle.Cli.Tracing;

/// <summary>
/// `tattle agent`: the processes its targets select, present and future, until SIGTERM or Ctrl-C; SIGHUP reloads
/// the targets. Its periodic work (health, the memory cap, new cgroups, a pending reload) runs on the loop's thread.
/// </summary>
internal sealed class AgentTraceTarget : ITraceTarget
{
    private const long MemoryCheckNs = 1_000_000_000;
    private const long CgroupRescanNs = 5_000_000_000;

    private readonly AgentTelemetry _telemetry;
    private readonly ProcessSelection _selection;
    private readonly AgentSink _sink;
    private readonly KernelFilter _filter;
    private readonly Func<AgentConfig> _reload;
    private readonly AgentLog _log;
    private AgentConfig _config;
    private BpfTracer? _tracer;
    private TraceSession? _session;
    private long _lastMemoryCheck, _lastCgroupScan;
    private volatile bool _reloadPending;

    private AgentTraceTarget(AgentConfig config, AgentTelemetry telemetry, ProcessSelection selection, AgentSink sink, KernelFilter filter, Func<AgentConfig> reload, AgentLog log)
    {
        _config = config;
        _telemetry = telemetry;
        _selection = selection;
        _sink = sink;
        _filter = filter;
        _reload = reload;
        _log = log;
    }

    public int ExitCode => 0;

    public int RootPid => 0;

    public Action<int, string?>? OnTraced { get; set; }

    /// <summary>The trace's settings for an agent: no live view or summary; TLS probes when a target asks for plaintext.</summary>
    public static TraceConfig TraceConfigFor(AgentConfig config) => new()
    {
        Quiet = true,
        Summary = false,
        Aggregates = true,
        Snaplen = TracerOptions.DefaultSnaplen,
        Tls = config.Targets.Any(t => t.Depth == AgentDepth.Tls),
        BpfVariant = VariantChoice.TryParse(Environment.GetEnvironmentVariable(VariantChoice.EnvironmentVariable), out var variant) ? variant : BpfVariantRequest.Auto,
    };

    /// <summary>Runs the agent until SIGTERM or Ctrl-C; returns tattle's exit code.</summary>
    public static int Run(AgentConfig config, TraceConfig trace, TextWriter stderr, Func<AgentConfig> reload)
    {
        var log = new AgentLog(stderr);
        var counts = new ProcessSelectionCounts();
        AgentTelemetry telemetry;
        try
        {
            telemetry = new AgentTelemetry(config, counts);
        }
        catch (Exception e) when (e is HttpListenerException || e.InnerException is HttpListenerException)
        {
            // The Prometheus exporter wraps the listener's own error in an InvalidOperationException.
            var listenerError = e as HttpListenerException ?? (HttpListenerException)e.InnerException!;
            stderr.WriteLine($"tattle: agent: cannot listen on {config.Listen}: {listenerError.Message} (is another program on that port?)");
            return 2;
        }
        // A second SIGTERM or Ctrl-C while the last spans go out must not kill the agent mid-flush: the trace loop's
        // own handlers are gone by then, so these hold until everything is written.
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => ctx.Cancel = true);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => ctx.Cancel = true);
        using (telemetry)
        {
            var filter = new KernelFilter();
            var selection = new ProcessSelection(new TargetSelector(config.Targets), filter);
            var sink = new AgentSink(selection, telemetry.Metrics, telemetry.Spans, new ProcessResources(Environment.MachineName), log);
            counts.Traced = () => selection.Count;
            counts.Shed = () => sink.Shed;
            var target = new AgentTraceTarget(config, telemetry, selection, sink, filter, reload, log);
            log.Info("starting", ("targets", string.Join("; ", config.Targets)), ("listen", config.Listen ?? "-"),
                ("otlp", config.Otlp is { } o ? $"{o.Endpoint} ({o.Protocol})" : "-"), ("config", config.Path ?? "-"));
            int rc = TraceLoop.Execute(trace, target, stderr, sink);
            var spans = telemetry.Spans;
            // The last batch of spans and the last metrics go out before the probes are gone from the log's story.
            telemetry.Flush(TimeSpan.FromSeconds(5));
            log.Info("stopped", ("exit_code", rc), ("spans_exported", spans?.Exported ?? 0), ("spans_dropped", telemetry.SpansDropped),
                ("series_folded", telemetry.Metrics.Folded), ("last_export_error", spans?.LastError ?? "-"));
            return rc;
        }
    }

    public void Start(BpfTracer tracer, TraceSession session, long nowMonoNs)
    {
        _tracer = tracer;
        _session = session;
        _filter.Tracer = tracer;
        tracer.SetExecMatches(_selection.Selector.ExecMatches());
        WarnMissingExes(_selection.Selector);
        _lastCgroupScan = nowMonoNs;
        var running = _selection.SelectRunning();
        // Filter first, then read /proc: a socket opened in between is seen by both, never by neither.
        foreach (var (pid, depth) in running)
        {
            tracer.Trace(pid, TargetSelector.KernelDepth(depth));
        }
        foreach (var (pid, _) in running)
        {
            session.SeedExisting(pid, nowMonoNs);
            OnTraced?.Invoke(pid, null);
        }
        _telemetry.Heartbeat();
        _telemetry.Ready();
        _log.Info("tracing", ("processes", running.Count));
    }

    public bool WantsProbes(int pid) => _selection.DepthOf(pid) == AgentDepth.Tls;

    public bool WantsProbesAtSpawn(SpawnEvent e) => _selection.ForeseeDepth(e.Pid, e.ParentPid, e.Exec) == AgentDepth.Tls;

    public void Tick(long nowMonoNs)
    {
        _telemetry.Heartbeat();
        if (_reloadPending)
        {
            _reloadPending = false;
            Reload(nowMonoNs);
        }
        if (nowMonoNs - _lastMemoryCheck >= MemoryCheckNs)
        {
            _lastMemoryCheck = nowMonoNs;
            bool over = Environment.WorkingSet > (long)_config.MemoryMb << 20;
            if (over != _sink.Shedding)
            {
                _sink.Shedding = over;
                if (over)
                {
                    _log.Warn("over the memory cap: no spans and no new series until under it", ("rss_mib", Environment.WorkingSet >> 20), ("cap_mib", _config.MemoryMb));
                }
                else
                {
                    _log.Info("under the memory cap again", ("rss_mib", Environment.WorkingSet >> 20));
                }
            }
        }
        // New cgroups (a container started) are matched by the kernel once their ids are in its table.
        if (nowMonoNs - _lastCgroupScan >= CgroupRescanNs && _config.Targets.Any(t => t.Cgroup is not null || t.Container is not null))
        {
            _lastCgroupScan = nowMonoNs;
            _tracer?.SetExecMatches(_selection.Selector.ExecMatches());
        }
    }

    private void Reload(long nowMonoNs)
    {
        AgentConfig next;
        try
        {
            next = _reload();
        }
        catch (AgentConfigException e)
        {
            _log.Error("reload failed; the targets are unchanged", ("reason", e.Message));
            return;
        }
        if (next.Listen != _config.Listen || next.Otlp != _config.Otlp)
        {
            _log.Warn("listen and otlp are read at start only: restart the agent to change them");
        }
        if (next.Targets.Any(t => t.Depth == AgentDepth.Tls) && !_tracer!.Options.Tls)
        {
            _log.Warn("a target asks for TLS plaintext, but the agent started without TLS probes: restart the agent for it");
        }
        var selector = new TargetSelector(next.Targets);
        WarnMissingExes(selector);
        var change = _selection.Reload(selector, _tracer!.SetExecMatches);
        foreach (var (pid, _) in change.Added)
        {
            _session!.SeedExisting(pid, nowMonoNs);
            OnTraced?.Invoke(pid, null);
        }
        foreach (var (pid, _) in change.Changed)
        {
            // Its sockets are known already; the TLS probes go on (raised to tls) or come off (lowered from it).
            OnTraced?.Invoke(pid, null);
        }
        _config = _config with { Targets = next.Targets, MaxSeries = next.MaxSeries, MemoryMb = next.MemoryMb };
        _log.Info("reloaded", ("targets", string.Join("; ", next.Targets)), ("processes", _selection.Count), ("added", change.Added.Count),
            ("depth_changed", change.Changed.Count));
    }

    private void WarnMissingExes(TargetSelector selector)
    {
        foreach (var exe in selector.MissingExes)
        {
            _log.Warn("an exe target names no file that can be opened: it matches no process", ("exe", exe));
        }
    }

    public bool IsFinished(TraceSession session, long nowMonoNs) => false;

    public bool OnSignal(PosixSignal signal, int count)
    {
        if (signal == PosixSignal.SIGHUP)
        {
            _log.Info("SIGHUP: reloading the configuration");
            _reloadPending = true;
            return false;
        }
        _log.Info($"{signal}: flushing and stopping");
        return true;
    }

    public void Dispose()
    {
    }

    /// <summary>The kernel's table, once the programs are loaded.</summary>
    private sealed class KernelFilter : IProcessFilter
    {
        public BpfTracer? Tracer { get; set; }

        public void Trace(int pid, TraceDepth depth) => Tracer?.Trace(pid, depth);

        public void Untrace(int pid) => Tracer?.Untrace(pid);
    }
}
