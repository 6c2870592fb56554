using System.Collections.Concurrent;
using Tattle.Capture.Events;
using Tattle.Capture.Tls;

namespace Tattle.Cli.Tracing;

/// <summary>Where a process's TLS functions are: its mapped objects, or what a program about to run will map.</summary>
internal interface ITlsDiscovery
{
    /// <summary>The TLS libraries installed on the system: a program may map or dlopen them at any time.</summary>
    IReadOnlyList<TlsAttachPoint> System { get; }

    /// <summary>The TLS functions in the objects the process has mapped now.</summary>
    IReadOnlyList<TlsAttachPoint> ForProcess(int pid);

    /// <summary>The TLS functions of an executable itself (statically linked OpenSSL, as in node).</summary>
    IReadOnlyList<TlsAttachPoint> ForExecutable(string path);
}

/// <summary>
/// Keeps the TLS probes on every traced process, passing each event on to the session. A uprobe on a file takes
/// effect in the process whenever it maps the file, so probes go on before the program needs them: on the
/// system's TLS libraries and the parent's objects at fork (the child has not even exec'd yet), and on the same
/// libraries at exec. Reading /proc and parsing ELF files takes milliseconds per object, so it runs on a worker
/// thread (for the new program's own executable, and rescans 100 ms and 1 s after an exec for objects found
/// only once mapped); the event loop only attaches, which takes microseconds. Probes are released at exit.
/// </summary>
internal sealed class TlsTracing : ITraceEventSink, IDisposable
{
    private static readonly long[] RescanAfterNs = [100_000_000, 1_000_000_000];

    private readonly TlsProbes _probes;
    private readonly ITlsDiscovery _discovery;
    private readonly ITraceEventSink _session;
    private readonly List<(long DueNs, int Pid)> _rescans = [];
    private readonly BlockingCollection<(int Pid, string? Executable)> _jobs = [];
    private readonly ConcurrentQueue<(int Pid, IReadOnlyList<TlsAttachPoint> Points)> _found = new();
    private readonly Thread _worker;

    public TlsTracing(TlsProbes probes, ITlsDiscovery discovery, ITraceEventSink session)
    {
        _probes = probes;
        _discovery = discovery;
        _session = session;
        _worker = new Thread(Discover) { IsBackground = true, Name = "tattle-tls-discovery" };
        _worker.Start();
    }

    /// <summary>Attaches to a process that is already running (attach).</summary>
    public void AttachRunning(int pid) => _probes.Attach(pid, _discovery.ForProcess(pid));

    /// <summary>Attaches to a launched command before it is released to exec <paramref name="executable"/>.</summary>
    public void AttachLaunch(int pid, string executable) =>
        _probes.Attach(pid, [.. _discovery.System, .. _discovery.ForExecutable(executable)]);

    /// <summary>Attaches what the worker found, and queues the rescans that are due.</summary>
    public void Poll(long nowMonoNs)
    {
        while (_found.TryDequeue(out var found))
        {
            if (_probes.Has(found.Pid))
            {
                _probes.Attach(found.Pid, found.Points);
            }
        }
        for (int i = _rescans.Count - 1; i >= 0; i--)
        {
            if (_rescans[i].DueNs <= nowMonoNs)
            {
                _jobs.Add((_rescans[i].Pid, null));
                _rescans.RemoveAt(i);
            }
        }
    }

    public void OnFork(in ProcessFork e)
    {
        _session.OnFork(in e);
        // The child runs the parent's objects, and may exec a program that loads the system's TLS libraries.
        if (_probes.PointsOf(e.ParentPid) is { Count: > 0 } inherited)
        {
            _probes.Attach(e.Pid, [.. inherited, .. _discovery.System]);
        }
    }

    public void OnExec(in ProcessExec e)
    {
        _session.OnExec(in e);
        _probes.Attach(e.Pid, _discovery.System);
        _jobs.Add((e.Pid, e.Filename));
        foreach (long after in RescanAfterNs)
        {
            _rescans.Add((e.TimestampNs + after, e.Pid));
        }
    }

    public void OnExit(in ProcessExit e)
    {
        _session.OnExit(in e);
        int pid = e.Pid;
        _probes.Detach(pid);
        _rescans.RemoveAll(r => r.Pid == pid);
    }

    public void OnSocket(in SocketEvent e) => _session.OnSocket(in e);

    public void OnData(in DataEvent e, ReadOnlySpan<byte> payload) => _session.OnData(in e, payload);

    public void OnLoss(in LossEvent e) => _session.OnLoss(in e);

    public void Dispose()
    {
        _jobs.CompleteAdding();
        _worker.Join();
        _jobs.Dispose();
    }

    private void Discover()
    {
        foreach (var (pid, executable) in _jobs.GetConsumingEnumerable())
        {
            // An exec's filename may be relative: /proc/PID/exe is the program now running, if it still runs.
            var points = executable is null ? _discovery.ForProcess(pid) : _discovery.ForExecutable($"/proc/{pid}/exe");
            if (points.Count > 0)
            {
                _found.Enqueue((pid, points));
            }
        }
    }
}

/// <summary>Discovery through <see cref="TlsLibraries"/> (objects are parsed once, by inode).</summary>
internal sealed class TlsLibraryDiscovery : ITlsDiscovery
{
    public IReadOnlyList<TlsAttachPoint> System { get; } = TlsAttachPoint.From(TlsLibraries.System());

    public IReadOnlyList<TlsAttachPoint> ForProcess(int pid) => TlsAttachPoint.From(TlsLibraries.ForProcess(pid));

    public IReadOnlyList<TlsAttachPoint> ForExecutable(string path) => TlsAttachPoint.From(TlsLibraries.ForExecutable(path));
}
