using Tattle.Capture.Bpf;
using Tattle.Capture.Events;
using Tattle.Capture.Probes;
using Tattle.Capture.Uprobes;
using Tattle.Tracking;

namespace Tattle.Cli.Tracing;

/// <summary>The function probes (tattle probe) attached to traced processes.</summary>
internal sealed class CallProbes(BpfTracer tracer) : UprobeSet<CallAttachPoint>(tracer, UprobePrograms.Calls)
{
    private readonly HashSet<int> _described = [];

    /// <summary>A USDT site's arguments are described to the kernel before its first probe goes on.</summary>
    protected override void BeforeAttach(IReadOnlyList<CallAttachPoint> points)
    {
        foreach (var f in points.Select(p => p.Function).Where(f => f.Usdt is not null))
        {
            lock (_described)
            {
                if (!_described.Add(f.Index))
                {
                    continue;
                }
            }
            Tracer.SetUsdtSpec(f.Index, [.. f.Usdt!]);
        }
    }
}

/// <summary>Discovery through a <see cref="ProbeResolver"/>; the installed libraries are looked up once, at construction.</summary>
internal sealed class CallProbeDiscovery : IUprobeDiscovery<CallAttachPoint>
{
    private readonly ProbeResolver _resolver;

    public CallProbeDiscovery(ProbeResolver resolver)
    {
        _resolver = resolver;
        System = resolver.System();
    }

    public IReadOnlyList<CallAttachPoint> System { get; }

    public IReadOnlyList<CallAttachPoint> ForProcess(int pid) => _resolver.ForProcess(pid);

    public IReadOnlyList<CallAttachPoint> ForExecutable(string path) => _resolver.ForExecutable(path);
}

/// <summary>Keeps the function probes on every traced process (see <see cref="UprobeTracing{TPoint}"/>).</summary>
internal sealed class CallTracing(CallProbes probes, CallProbeDiscovery discovery, TraceSession session, ITraceEventSink next, TextWriter? warnings)
    : UprobeTracing<CallAttachPoint>("probe: function probes", probes, discovery, session, next, warnings);
