using System.Collections.Concurrent;
using Tattle.Capture.Bpf;
using Tattle.Capture.Events;
using Tattle.Capture.Uprobes;
using Tattle.Records;
using Tattle.Tracking;

namespace Tattle.Cli.Tracing;

/// <summary>Where a process's functions to probe are: its mapped objects, or what a program about to run will map.</summary>
internal interface IUprobeDiscovery<TPoint>
{
    /// <summary>The libraries installed on the system: a program may map or dlopen them at any time.</summary>
    IReadOnlyList<TPoint> System { get; }

    /// <summary>The functions in the objects the process has mapped now.</summary>
    IReadOnlyList<TPoint> ForProcess(int pid);

    /// <summary>The functions of an executable itself (statically linked OpenSSL, as in node).</summary>
    IReadOnlyList<TPoint> ForExecutable(string path);
}

/// <summary>
/// Keeps a set of uprobes (the TLS probes, the function probes) on every traced process, passing each event on to
/// the next sink. A uprobe on a file takes
/// effect in a process whenever it maps the file, so probes go on before the program needs them: the system's
/// TLS libraries and the parent's objects at fork (usually before the child even execs), the system's libraries
/// and the program's own at exec, and rescans of the mappings 100 ms and 1 s after an exec for objects found
/// only once mapped. Attaching to a process that already maps a library takes the kernel a grace period per
/// function, and reading /proc and ELF files takes milliseconds, so all of it runs on a worker thread, probes going
/// on before rescans and releases; the event loop never waits. Forks and execs are also probed the moment they
/// happen, from the spawns ring's thread (<see cref="OnSpawn"/>), since the event loop may be behind by milliseconds
/// under load. A process that was already running when probed (attach) gets a notice once its
/// probes are live — attaching to it takes a moment, and until then its calls are not seen. Processes probed
/// before they run (launched, forked, exec'd) get none: a build would print one per compiler.
/// </summary>
internal class UprobeTracing<TPoint> : ITraceEventSink, IDisposable
    where TPoint : IUprobePoint
{
    /// <summary>How long Dispose waits for the worker: a file a traced process controls can stall a read for good.</summary>
    internal static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(1);

    private static readonly long[] RescanAfterNs = [100_000_000, 1_000_000_000];

    private readonly UprobeSet<TPoint> _probes;
    private readonly IUprobeDiscovery<TPoint> _discovery;
    private readonly ITraceEventSink _next;
    private readonly TraceSession _session;
    private readonly string _what;
    private readonly List<(long DueNs, int Pid)> _rescans = [];
    private const int MaxExited = 1 << 16;
    private readonly HashSet<int> _exited = []; // processes whose exit was read: a late spawn of theirs attaches nothing
    private readonly TwoLaneQueue<Job> _jobs = new();
    private readonly ConcurrentQueue<(int Pid, long MonoNs, string Message)> _notices = new();
    private readonly ConcurrentQueue<(int Pid, long MonoNs, bool Gone)> _live = new();
    private readonly Thread _worker;
    private readonly TextWriter? _warnings;
    private volatile string _doing = "idle";
    private volatile bool _abandoned;

    /// <summary>Attaches queued or under way whose live time is not queued yet (the worker's and the spawns thread's).</summary>
    private int _attaching;

    /// <param name="what">What the probes are, in notices and warnings ("tls: plaintext probes").</param>
    /// <param name="probes">Where probes go on and come off.</param>
    /// <param name="discovery">Finds the functions of processes and files.</param>
    /// <param name="session">Gets the notices.</param>
    /// <param name="next">Gets every event passed on (the session, or another set of probes).</param>
    /// <param name="warnings">Where a worker abandoned at exit is reported (one line), or null.</param>
    public UprobeTracing(string what, UprobeSet<TPoint> probes, IUprobeDiscovery<TPoint> discovery, TraceSession session, ITraceEventSink next, TextWriter? warnings = null)
    {
        _what = what;
        _probes = probes;
        _discovery = discovery;
        _session = session;
        _next = next;
        _warnings = warnings;
        _worker = new Thread(Work) { IsBackground = true, Name = $"tattle-{what.Split(':')[0]}-probes" };
        _worker.Start();
    }

    private enum JobKind
    {
        Running,
        Fork,
        Exec,
        Rescan,
        Exit,
    }

    /// <summary>Which processes get probes (the agent's per-target depth); null: every traced process. Called on the worker and the spawns thread.</summary>
    public Func<int, bool>? Wants { get; set; }

    /// <summary>Which spawning processes get probes at once (<see cref="OnSpawn"/>); null: those <see cref="Wants"/> takes.</summary>
    public Func<SpawnEvent, bool>? WantsAtSpawn { get; set; }

    /// <summary>Probes a process that is already running (attach), in the background.</summary>
    public void AttachRunning(int pid) => Queue(new Job(JobKind.Running, pid, 0));

    /// <summary>Probes a launched command before it is released to exec <paramref name="executable"/> (it maps nothing yet: fast).</summary>
    public void AttachLaunch(int pid, string executable) =>
        Live(pid, _probes.AttachTimed(pid, [.. _discovery.System, .. _discovery.ForExecutable(executable)]));

    /// <summary>
    /// Waits, at most <paramref name="max"/>, until every attach queued so far and every one under way has put its
    /// probes on or found its process gone; false when the bound passed first. At the end of a trace: the last
    /// children's probes may still be waiting for the kernel's grace period (about 10 ms under load), and their
    /// times must reach the session before its summary, or a connection they missed would go uncounted.
    /// Releases and rescans are not waited for.
    /// </summary>
    public bool Settle(TimeSpan max)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (Volatile.Read(ref _attaching) > 0)
        {
            if (clock.Elapsed >= max)
            {
                return false;
            }
            Thread.Sleep(1);
        }
        return true;
    }

    /// <summary>Writes the notices of what was probed, and queues the rescans that are due.</summary>
    public void Poll(long nowMonoNs)
    {
        while (_notices.TryDequeue(out var n))
        {
            _session.Notice(n.Pid, n.MonoNs, n.Message);
        }
        while (_live.TryDequeue(out var l))
        {
            OnLive(l.Pid, l.MonoNs, l.Gone);
        }
        for (int i = _rescans.Count - 1; i >= 0; i--)
        {
            if (_rescans[i].DueNs <= nowMonoNs)
            {
                Queue(new Job(JobKind.Rescan, _rescans[i].Pid, 0));
                _rescans.RemoveAt(i);
            }
        }
    }

    public void OnFork(in ProcessFork e)
    {
        _next.OnFork(in e);
        lock (_exited)
        {
            _exited.Remove(e.Pid); // the pid is reused: spawns of the new process count
        }
        Queue(new Job(JobKind.Fork, e.Pid, e.ParentPid));
    }

    public void OnExec(in ProcessExec e)
    {
        _next.OnExec(in e);
        Queue(new Job(JobKind.Exec, e.Pid, 0));
        foreach (long after in RescanAfterNs)
        {
            _rescans.Add((e.TimestampNs + after, e.Pid));
        }
    }

    public void OnExit(in ProcessExit e)
    {
        _next.OnExit(in e);
        int pid = e.Pid;
        lock (_exited)
        {
            if (_exited.Count >= MaxExited)
            {
                _exited.Clear(); // a bound, not a loss: a spawn older than thousands of exits is rare
            }
            _exited.Add(pid);
        }
        Queue(new Job(JobKind.Exit, pid, 0));
        _rescans.RemoveAll(r => r.Pid == pid);
    }

    public void OnSocket(in SocketEvent e) => _next.OnSocket(in e);

    public void OnData(in DataEvent e, ReadOnlySpan<byte> payload) => _next.OnData(in e, payload);

    public void OnLoss(in LossEvent e) => _next.OnLoss(in e);

    public void OnCall(in CallEvent e, ReadOnlySpan<byte> slots) => _next.OnCall(in e, slots);

    public void OnHttpCounts(in HttpCountsEvent e) => _next.OnHttpCounts(in e);

    /// <summary>
    /// Stops the worker after the jobs queued so far, waiting at most <see cref="StopTimeout"/>: past it the worker
    /// is abandoned (a background thread, it does not hold the process) and what it was doing is reported. Notices
    /// still waiting are written.
    /// </summary>
    public void Dispose()
    {
        _jobs.CompleteAdding();
        if (!_worker.Join(StopTimeout))
        {
            _abandoned = true;
            int dropped = _jobs.Count;
            _warnings?.WriteLine($"tattle: {_what.Split(':')[0]}: gave up waiting for the probe worker after {StopTimeout.TotalSeconds:0.#} s ({_doing}; {Plural.Count(dropped, "more job", "more jobs")} dropped)");
        }
        Poll(long.MinValue);
    }

    private void Work()
    {
        try
        {
            while (_jobs.TryTake(out var job))
            {
                _doing = $"{job.Kind.ToString().ToLowerInvariant()} of pid {job.Pid}";
                try
                {
                    Do(job);
                }
                finally
                {
                    if (IsAttach(job.Kind))
                    {
                        Interlocked.Decrement(ref _attaching);
                    }
                }
                _doing = "idle";
            }
        }
        catch (Exception) when (_abandoned)
        {
            // Unblocked after tattle gave up on it: the probes and the queue are gone, and so is the trace.
        }
    }

    /// <summary>
    /// Probes go on before anything else is done: a child is probed from its fork, and it may exec and map its TLS
    /// library within a millisecond and call it a few later (a curl to a local server). Behind a previous child's
    /// exit, whose release of its links took 2-10 ms of the worker under load, one curl in ten of a shell's loop
    /// was probed too late.
    /// </summary>
    private void Queue(Job job)
    {
        bool attach = IsAttach(job.Kind);
        if (attach)
        {
            Interlocked.Increment(ref _attaching);
        }
        try
        {
            _jobs.Add(job, first: attach);
        }
        catch
        {
            if (attach)
            {
                Interlocked.Decrement(ref _attaching);
            }
            throw;
        }
    }

    private static bool IsAttach(JobKind kind) => kind is JobKind.Running or JobKind.Fork or JobKind.Exec;

    private void Do(Job job)
    {
        int pid = job.Pid;
        if (job.Kind is not JobKind.Exit && Wants is { } wants && !wants(pid))
        {
            _probes.Detach(pid); // an exec into a program its target traces without plaintext
            return;
        }
        switch (job.Kind)
        {
            case JobKind.Running:
                var running = _probes.AttachTimed(pid, _discovery.ForProcess(pid));
                Attached(pid, running.Files);
                Live(pid, running);
                break;
            case JobKind.Fork:
                AttachFork(pid, job.ParentPid);
                break;
            case JobKind.Exec:
                AttachExec(pid);
                break;
            case JobKind.Rescan when _probes.Has(pid):
                _probes.Attach(pid, _discovery.ForProcess(pid));
                break;
            case JobKind.Exit:
                _probes.Detach(pid);
                break;
        }
    }

    private void AttachFork(int pid, int parentPid)
    {
        if (_probes.Has(parentPid))
        {
            // The child runs the parent's objects, and may exec a program that loads the system's libraries.
            Live(pid, _probes.AttachTimed(pid, [.. _discovery.System, .. _probes.PointsOf(parentPid)]));
        }
    }

    // An exec's filename may be relative: /proc/PID/exe is the program now running.
    private void AttachExec(int pid) =>
        Live(pid, _probes.AttachTimed(pid, [.. _discovery.System, .. _discovery.ForExecutable($"/proc/{pid}/exe")]));

    /// <summary>
    /// Probes went on for the process, or it was found gone before any did: the time goes to <see cref="OnLive"/>
    /// on the event loop's thread. An attach that found everything on already says nothing: the one that put it on
    /// did. Rescans do not count: what they add was dlopen'd by a program already running.
    /// </summary>
    private void Live(int pid, UprobeSet<TPoint>.AttachResult attach)
    {
        if (attach.LiveNs != 0)
        {
            _live.Enqueue((pid, attach.LiveNs, false));
        }
        else if (attach.Gone)
        {
            _live.Enqueue((pid, WallClock.MonotonicNow(), true));
        }
    }

    /// <summary>The process's probes went live at <paramref name="monoNs"/> (or it was gone then); on the event loop's thread.</summary>
    protected virtual void OnLive(int pid, long monoNs, bool gone)
    {
    }

    /// <summary>
    /// A fork or exec read from the spawns ring (<see cref="SpawnWatcher"/>'s thread), ahead of the events ring:
    /// probed at once. The same event still comes through <see cref="OnFork"/> or <see cref="OnExec"/> and its job
    /// then finds everything attached. A spawn read after its process's exit is left alone: the exit has released
    /// the process's probes, and attaching again would hold them until tattle ends.
    /// </summary>
    public void OnSpawn(in SpawnEvent e)
    {
        lock (_exited)
        {
            if (_exited.Contains(e.Pid))
            {
                return;
            }
        }
        if (WantsAtSpawn is { } atSpawn ? !atSpawn(e) : Wants is { } wants && !wants(e.Pid))
        {
            return;
        }
        Interlocked.Increment(ref _attaching);
        try
        {
            if (e.Exec)
            {
                AttachExec(e.Pid);
            }
            else
            {
                AttachFork(e.Pid, e.ParentPid);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _attaching);
        }
    }

    private void Attached(int pid, IReadOnlyList<string> files)
    {
        if (files.Count > 0)
        {
            _notices.Enqueue((pid, WallClock.MonotonicNow(), $"{_what} on {string.Join(", ", files.Select(Path.GetFileName))} are live"));
        }
    }

    private readonly record struct Job(JobKind Kind, int Pid, int ParentPid);
}

