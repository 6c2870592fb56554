using Tattle.Capture.Tls;
using Tattle.Tracking;

namespace Tattle.Cli.Tracing;

/// <summary>Where a process's TLS functions are.</summary>
internal interface ITlsDiscovery : IUprobeDiscovery<TlsAttachPoint>;

/// <summary>
/// Keeps the TLS plaintext probes on every traced process (see <see cref="UprobeTracing{TPoint}"/>), and tells the
/// session when each process's probes went live: a TLS handshake made before then is noticed (see
/// <see cref="TraceSession.TlsProbesLive"/>).
/// </summary>
internal sealed class TlsTracing : UprobeTracing<TlsAttachPoint>
{
    private readonly TraceSession _session;

    public TlsTracing(TlsProbes probes, ITlsDiscovery discovery, TraceSession session, TextWriter? warnings = null)
        : base("tls: plaintext probes", probes, discovery, session, session, warnings)
    {
        _session = session;
        session.WatchTlsProbeTimes();
    }

    protected override void OnLive(int pid, long monoNs, bool gone) => _session.TlsProbesLive(pid, monoNs, gone);
}

/// <summary>Discovery through <see cref="TlsLibraries"/> (objects are parsed once, by inode).</summary>
/// <param name="unsupported">Told of each TLS stack found that cannot be read ("PATH: STACK: why"), for the summary.</param>
internal sealed class TlsLibraryDiscovery(Action<string> unsupported) : ITlsDiscovery
{
    public IReadOnlyList<TlsAttachPoint> System { get; } = TlsAttachPoint.From(TlsLibraries.System());

    public IReadOnlyList<TlsAttachPoint> ForProcess(int pid) => Points(TlsLibraries.ForProcess(pid));

    public IReadOnlyList<TlsAttachPoint> ForExecutable(string path) => Points(TlsLibraries.ForExecutable(path));

    private IReadOnlyList<TlsAttachPoint> Points(TlsScan scan)
    {
        foreach (var u in scan.Unreadable.Where(u => u.Stack is not null))
        {
            unsupported($"{u.Path}: {u.Stack}: {u.Reason}");
        }
        return TlsAttachPoint.From(scan);
    }
}
