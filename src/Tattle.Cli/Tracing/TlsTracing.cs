using Tattle.Capture.Tls;
using Tattle.Tracking;

namespace Tattle.Cli.Tracing;

/// <summary>Where a process's TLS functions are.</summary>
internal interface ITlsDiscovery : IUprobeDiscovery<TlsAttachPoint>;

/// <summary>Keeps the TLS plaintext probes on every traced process (see <see cref="UprobeTracing{TPoint}"/>).</summary>
internal sealed class TlsTracing(TlsProbes probes, ITlsDiscovery discovery, TraceSession session, TextWriter? warnings = null)
    : UprobeTracing<TlsAttachPoint>("tls: plaintext probes", probes, discovery, session, session, warnings);

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
