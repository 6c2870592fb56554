using System.Runtime.InteropServices;
using Tattle.Capture.Bpf;
using Tattle.Capture.Events;
using Tattle.Capture.Packets;
using Tattle.Capture.Probes;
using Tattle.Capture.Tls;
using Tattle.Interop;
using Tattle.Output;
using Tattle.Output.Console;
using Tattle.Output.JsonLines;
using Tattle.Records;
using Tattle.Tracking;
using Tattle.Tracking.Calls;
using Tattle.Tracking.Connections;
using Tattle.Tracking.Names;
using Tattle.Tracking.Packets;
using Tattle.Tracking.Plaintext;

namespace Tattle.Cli.Tracing;

/// <summary>What is traced and when tracing ends: a launched command (run) or running processes (attach).</summary>
internal interface ITraceTarget : IDisposable
{
    /// <summary>Adds the processes to the kernel filter and seeds the session. Runs before any event is read.</summary>
    void Start(BpfTracer tracer, TraceSession session, long nowMonoNs);

    /// <summary>Whether tracing is over (the command exited, the duration passed, every process is gone).</summary>
    bool IsFinished(TraceSession session, long nowMonoNs);

    /// <summary>Ctrl-C or SIGTERM arrived; returns true when the loop should stop now.</summary>
    bool OnSignal(PosixSignal signal, int count);

    /// <summary>The process exit code of tattle.</summary>
    int ExitCode { get; }

    /// <summary>Whether a traced process gets TLS and function probes (the agent's per-target depth).</summary>
    bool WantsProbes(int pid) => true;

    /// <summary>
    /// Whether a process forking or exec'ing right now will get probes: asked on the spawns thread, before the
    /// loop has read the process's event and decided (the agent foresees its decision from /proc).
    /// </summary>
    bool WantsProbesAtSpawn(SpawnEvent e) => WantsProbes(e.Pid);

    /// <summary>Called after every poll of the ring buffer, on the loop's thread (the agent's periodic work).</summary>
    void Tick(long nowMonoNs)
    {
    }

    /// <summary>The process the summary is about.</summary>
    int RootPid { get; }

    /// <summary>Whether the summary counts traced processes left running (a launched command's descendants).</summary>
    bool CountsStillRunning => false;

    /// <summary>A process name the kernel adds to the filter whenever a process of that name execs (attach --comm).</summary>
    string? Comm => null;

    /// <summary>
    /// Called in Start for each process traced from the start, with the program a launched one will exec (null
    /// for a running one), before a launched process is released: the TLS probes go on there.
    /// </summary>
    Action<int, string?>? OnTraced { get; set; }
}

/// <summary>
/// The tracing main loop shared by run and attach: load, start the target, drain the ring buffer into the
/// session, report losses, and on any ending (command exit, Ctrl-C, SIGTERM) drain, flush every output and
/// detach everything before returning.
/// </summary>
internal static class TraceLoop
{
    private const long FlushEveryNs = 100_000_000;
    private const long StatsEveryNs = 500_000_000;

    /// <summary>Traces <paramref name="target"/>; <paramref name="extra"/> is one more sink for every record (`tattle check`).</summary>
    public static int Execute(TraceConfig config, ITraceTarget target, TextWriter stderr, IRecordSink? extra = null)
    {
        if (Preflight.Check() is { } problem)
        {
            stderr.WriteLine($"tattle: {problem}");
            return 2;
        }
        KernelFeatures features;
        try
        {
            features = KernelFeatures.Current;
        }
        catch (ArgumentException e)
        {
            stderr.WriteLine($"tattle: {e.Message}");
            return 2;
        }
        string? noUprobes = BpfTracer.UprobesMissing(features);
        if (config.Probes is not null && noUprobes is not null)
        {
            stderr.WriteLine($"tattle: probes need {noUprobes}");
            return 2;
        }
        bool tlsRefused = config.Tls && noUprobes is not null;
        if (tlsRefused)
        {
            config = config with { Tls = false };
        }
        if (config.JsonPath == "-" && target is RunTarget or SandboxTarget)
        {
            stderr.WriteLine("tattle: warning: --json - and the traced command share standard output, so their lines interleave; use --json FILE to keep the records apart");
        }
        if (config.Verbose)
        {
            LibbpfLog.Echo = stderr;
        }

        var clock = new WallClock();
        long startMono = WallClock.MonotonicNow();
        var sinks = new List<IRecordSink>();
        LiveView? live = null;
        try
        {
            live = OpenLiveView(config, clock.ToUnixNs(startMono));
            if (config.JsonPath is not null)
            {
                sinks.Add(JsonLinesSink.Open(config.JsonPath));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            live?.Dispose();
            stderr.WriteLine($"tattle: cannot open the output file: {e.Message}");
            return 2;
        }
        var visible = config.Quiet ? null : live;
        if (visible is not null)
        {
            sinks.Insert(0, visible);
        }
        // The filter narrows what is shown and written; the packet owners below still learn every connection.
        var filtered = config.Filter.IsEmpty || sinks.Count == 0 ? null : new FilteringSink(new FanOutSink([.. sinks]), config.Filter);
        if (filtered is not null)
        {
            sinks = [filtered];
        }
        PacketOwners? owners = null;
        if (config.Packets is not null)
        {
            owners = new PacketOwners();
            sinks.Add(owners);
        }
        if (extra is not null)
        {
            sinks.Add(extra); // sees every record, whatever --port/--host/--app keep
        }
        using var output = new ProcessIdentitySink(new FanOutSink(sinks));
        var plaintext = config.Packets?.TlsPlaintext == true ? new PlaintextPackets(SyntheticPorts.ForHost()) : null;
        ProbeResolver? resolver = null;
        CallProbeDiscovery? callDiscovery = null;
        if (config.Probes is { } probes)
        {
            resolver = new ProbeResolver(probes.Specs, new ProbedFunctions(probes.MaxProbes));
            callDiscovery = new CallProbeDiscovery(resolver);
            if (resolver.OverCap is { } tooMany)
            {
                stderr.WriteLine($"tattle: probe {tooMany}");
                live.Dispose();
                return 2;
            }
        }
        var session = new TraceSession(output, new ProcSocketLookup(), new TraceSettings
        {
            EmitData = config.Data,
            ToUnixNs = clock.ToUnixNs,
            Streams = config.Streams,
            TlsPlaintext = plaintext,
            Calls = resolver is null ? null : new CallSettings { Functions = resolver.Functions, CountOnly = config.Probes!.CountOnly },
            ClosesFromState = config.NoSyscalls,
            Stats = config.Stats,
        });

        // From here on a signal is handled, not fatal: one that comes while the programs load (a second or more on
        // an older kernel's verifier) is taken by the loop's first turn, which stops and flushes as at any time.
        using var pending = new PendingSignals();
        BpfTracer tracer;
        try
        {
            tracer = BpfTracer.Load(new TracerOptions
            {
                Snaplen = config.Snaplen,
                RingBufferBytes = config.RingBufferBytes,
                NoStreamPayload = config.NoPayload,
                Tls = config.Tls,
                NoSyscalls = config.PacketsOnly || config.NoSyscalls,
                SocketPayload = config.NoSyscalls,
                PerCallSyscalls = !config.RawSyscalls,
                KernelHttp = config.HttpInKernel,
                BodySkip = config.BodySkip,
                Spawns = config.Tls || callDiscovery is not null,
                Comm = target.Comm,
                Variant = config.BpfVariant,
                WakeupBytes = config.WakeupBytes,
            });
        }
        catch (BpfUnsupportedException e)
        {
            stderr.WriteLine($"tattle: {e.Message} (`tattle doctor` lists what this kernel has)");
            live.Dispose();
            return 2;
        }
        catch (BpfLoadException e)
        {
            stderr.WriteLine($"tattle: the kernel refused Tattle's BPF programs: {e.Message}" + (config.Verbose ? "" : " (--verbose shows the verifier log)"));
            if (config.Verbose)
            {
                foreach (var line in e.Log)
                {
                    stderr.WriteLine(line);
                }
            }
            live.Dispose();
            return 2;
        }

        using (tracer)
        using (var tlsProbes = config.Tls ? new TlsProbes(tracer) : null)
        using (var tls = tlsProbes is null ? null : new TlsTracing(tlsProbes, new TlsLibraryDiscovery(tlsProbes.NoteUnsupported), session, stderr))
        using (var callProbes = callDiscovery is null ? null : new CallProbes(tracer))
        using (var calls = callProbes is null ? null : new CallTracing(callProbes, callDiscovery!, session, (ITraceEventSink?)tls ?? session, stderr))
        using (var reader = new RingBufferReader(tracer, new EventDecoder((ITraceEventSink?)calls ?? (ITraceEventSink?)tls ?? session)))
        using (var spawns = !tracer.Options.Spawns ? null : new SpawnWatcher(tracer, e =>
        {
            tls?.OnSpawn(in e);
            calls?.OnSpawn(in e);
        }))
        using (target)
        {
            int signals = 0;
            bool stop = false;
            session.BodySkips = tracer.BodySkips;

            if (tlsRefused)
            {
                session.Notice(0, WallClock.MonotonicNow(), $"no TLS plaintext on this kernel: the probes need {noUprobes}");
            }
            if (tracer.Variant == BpfVariant.Fallback && config.BpfVariant == BpfVariantRequest.Auto)
            {
                // Said once, in the live view and the records: the same records, at a higher cost per traced call.
                session.Notice(0, WallClock.MonotonicNow(),
                    $"kernel programs: the fallback build ({VariantChoice.Choose(features, BpfVariantRequest.Auto).Reason} here); `tattle doctor` says more");
            }
            else if (config.Verbose)
            {
                stderr.WriteLine($"tattle: kernel programs: the {tracer.Variant.ToString().ToLowerInvariant()} build");
            }
            if (config.Verbose)
            {
                stderr.WriteLine($"tattle: syscalls traced: {tracer.SyscallPath}");
            }
            var monitor = new KernelLossMonitor();
            PacketCaptureJob? packets = null;
            try
            {
                // Capture starts before the target, so a launched command's first packet is not missed.
                packets = config.Packets is { } pc ? PacketCaptureJob.Start(pc, owners!, clock.ToUnixNs(WallClock.MonotonicNow()), plaintext) : null;
            }
            catch (Exception e) when (e is CaptureException or IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"tattle: cannot capture packets for {config.Packets!.Path}: {e.Message}");
                live.Dispose();
                return 2;
            }
            using var packetJob = packets;
            if (tls is not null)
            {
                tls.Wants = target.WantsProbes;
                tls.WantsAtSpawn = target.WantsProbesAtSpawn;
                session.TlsProbesWanted = target.WantsProbes;
            }
            if (calls is not null)
            {
                calls.Wants = target.WantsProbes;
                calls.WantsAtSpawn = target.WantsProbesAtSpawn;
            }
            if (tls is not null || calls is not null)
            {
                target.OnTraced = (pid, exe) =>
                {
                    if (exe is null)
                    {
                        tls?.AttachRunning(pid);
                        calls?.AttachRunning(pid);
                    }
                    else
                    {
                        tls?.AttachLaunch(pid, exe);
                        calls?.AttachLaunch(pid, exe);
                    }
                };
            }
            try
            {
                target.Start(tracer, session, WallClock.MonotonicNow());
                output.Launched = target switch { RunTarget r => r.LaunchedAs, SandboxTarget s => s.LaunchedAs, _ => null };
            }
            catch (TargetException e)
            {
                stderr.WriteLine($"tattle: {e.Message}");
                live.Dispose();
                return e.ExitCode;
            }
            long lastFlush = 0, lastStats = 0;
            while (!stop)
            {
                reader.Next();
                long now = WallClock.MonotonicNow();
                if (pending.Take() is { } s)
                {
                    stop = target.OnSignal(s, ++signals);
                }
                tls?.Poll(now);
                calls?.Poll(now);
                if (now - lastStats >= StatsEveryNs)
                {
                    monitor.Update(tracer.ReadStats(), now, session);
                    lastStats = now;
                }
                if (now - lastFlush >= FlushEveryNs)
                {
                    output.Flush();
                    packets?.FlushPlaintext();
                    lastFlush = now;
                }
                target.Tick(now);
                stop |= target.IsFinished(session, now);
            }
            reader.Drain();
            tracer.DrainHttpCounts(reader.Decoder); // the requests of connections still open
            reader.Drain(); // and any the kernel wrote since the drain above (a connection closed meanwhile)
            var captured = packets?.Stop(clock.ToUnixNs(WallClock.MonotonicNow()));
            long end = WallClock.MonotonicNow();
            monitor.Update(tracer.ReadStats(), end, session);
            if (captured?.Loss(end) is { } packetLoss)
            {
                session.OnLoss(in packetLoss);
            }
            tls?.Settle(TlsTracing.StopTimeout); // the last children's probe times, for the late-probes count
            tls?.Poll(end); // its last notices come before the summary
            calls?.Poll(end);
            var stats = monitor.Last;
            var tlsSummary = tlsProbes is null ? null
                : new TlsProbeSummary(tlsProbes.FunctionsAttached, stats.TlsCalls, stats.TlsUntraced, stats.TlsNoSocket, tlsProbes.Failures, stats.GoSocketMismatches, stats.TlsHits);
            int stillRunning = target.CountsStillRunning ? session.Processes.StillRunning().Count : 0;
            var probeSummary = resolver is null ? null : ProbeSummary(resolver, callProbes!, stats);
            var summary = session.Finish(end, startMono, reader.Delivered, target.RootPid, tlsSummary, stillRunning, probeSummary);
            // Best effort: `tattle sockets` names addresses from what traced programs resolved.
            NameCacheFile.Merge(NameCacheFile.DefaultPath, session.Names, clock.ToUnixNs(end) / 1_000_000_000);
            if (config.Summary)
            {
                // With -q and no --json nothing else is filtered, but the table still shows only what the filter keeps.
                live.Summary(config.Filter.IsEmpty ? summary : FilteringSink.Apply(summary, config.Filter));
            }
            if (stats.HttpUntracked > 0)
            {
                live.Note($"HTTP: {stats.HttpUntracked} connections parsed in user space, not counted in the kernel: its table ({KernelStats.HttpConnectionsCapacity} connections) was full");
            }
            if (config.Verbose && config.BodySkip)
            {
                stderr.WriteLine($"tattle: body bytes counted in the kernel, not copied: {stats.BytesSkipped}");
            }
            if (captured is not null)
            {
                live.Note(PacketSummary(packets!.Final(captured), packets.Path, config.Packets!.AllPackets));
            }
            output.Flush();
            live.Flush();
            if (config.Quiet)
            {
                live.Dispose();
            }
            return target.ExitCode;
        }
    }

    private static CallProbeSummary ProbeSummary(ProbeResolver resolver, CallProbes probes, KernelStats stats)
    {
        var matched = resolver.Matched;
        List<string> all = [.. resolver.Failures, .. probes.Failures];
        // A spec that found nothing is said once, plainly: a typo, or a library the program never loaded.
        all.AddRange(resolver.Specs.Where(s => !matched.Contains(s)).Select(s => $"'{s.Text}': no function matched in the objects the traced processes mapped or the system's libraries"));
        return new CallProbeSummary(probes.FunctionsAttached, stats.ProbeHits, stats.ProbeUnmatched, all);
    }

    private static string PacketSummary(PacketCaptureResult r, string path, bool allPackets)
    {
        string counts = $"{r.Attributed} of traced processes" + (r.Plaintext is long made ? $", {made} of TLS plaintext (synthetic)" : "");
        bool others = r.Unattributed > 0 || r.NotTcpUdp > 0;
        // With --all-packets the others are in the file; without, they are counted as left out.
        string line = !others ? $"{path}: {r.Written} packets ({counts})"
            : allPackets ? $"{path}: {r.Written} packets ({counts}, {r.Unattributed} of other processes, {r.NotTcpUdp} not TCP/UDP)"
            : $"{path}: {r.Written} packets ({counts}); not written: {r.Unattributed} packets of other processes, {r.NotTcpUdp} not TCP/UDP";
        if (r.Dropped > 0)
        {
            line += $"; {r.Dropped} dropped by the capture buffer";
        }
        return r.Failure is null ? line : line + $"; capture failed: {r.Failure}";
    }

    private static LiveView OpenLiveView(TraceConfig config, long startUnixNs)
    {
        if (config.OutputPath is not null)
        {
            var file = new StreamWriter(OutputFile.Create(config.OutputPath));
            return config.View.Open(file, color: false, startUnixNs, width: null);
        }
        bool terminal = !Console.IsErrorRedirected;
        bool color = terminal && Environment.GetEnvironmentVariable("NO_COLOR") is null
            && Environment.GetEnvironmentVariable("TERM") is not (null or "dumb");
        var stderr = new StreamWriter(StandardStream.Error) { AutoFlush = false };
        return config.View.Open(stderr, color, startUnixNs, terminal ? TerminalSize.Columns(2) : null);
    }
}

/// <summary>The target could not start (no such process, command not found); ExitCode is tattle's.</summary>
internal sealed class TargetException(string message, int exitCode) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>SIGINT, SIGTERM and SIGHUP, caught and kept for the trace loop to take: none of them kills tattle.</summary>
internal sealed class PendingSignals : IDisposable
{
    private readonly Lock _gate = new();
    private readonly PosixSignalRegistration[] _registrations;
    private PosixSignal? _pending;

    public PendingSignals() =>
        _registrations = [.. new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP }.Select(s => PosixSignalRegistration.Create(s, OnSignal))];

    /// <summary>The last signal received since the previous call, or null.</summary>
    public PosixSignal? Take()
    {
        lock (_gate)
        {
            var signal = _pending;
            _pending = null;
            return signal;
        }
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }
    }

    private void OnSignal(PosixSignalContext ctx)
    {
        ctx.Cancel = true; // handled by the loop: flush and clean up instead of dying
        lock (_gate)
        {
            _pending = ctx.Signal;
        }
    }
}

