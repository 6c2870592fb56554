using System.Collections.Concurrent;
using Tattle.Capture.Bpf;
using Tattle.Interop;

namespace Tattle.Capture.Uprobes;

/// <summary>
/// Uprobes attached to traced processes, one program pair for all (the TLS probes', the function probes'). With
/// uprobe_multi, one entry and one return link per object and process; otherwise an entry and a return link per
/// function. Thread-safe: attaching to a process that already
/// maps the library costs the kernel a grace period per function (hundreds of milliseconds per library here), so
/// callers attach from a worker thread, while a launched command is probed from the thread that releases it.
/// Links are closed on a background thread too, for the same reason.
/// </summary>
public class UprobeSet<TPoint> : IDisposable
    where TPoint : IUprobePoint
{
    private readonly BpfTracer _tracer;
    private readonly UprobePrograms _programs;
    private readonly Dictionary<int, ProcessProbes> _byPid = [];
    private readonly BlockingCollection<IDisposable> _closing = [];
    private readonly List<Thread> _closers = [];
    private readonly Lock _closerGate = new();
    private const int ClosingThreads = 16;

    /// <summary>
    /// How long a closer waits for another link before it ends. Closers exist only while links close: an idle thread
    /// still holds its stack and is walked at every garbage collection.
    /// </summary>
    internal static readonly TimeSpan CloserIdle = TimeSpan.FromSeconds(2);

    private readonly Lock _gate = new();
    private int _functionsAttached;

    public UprobeSet(BpfTracer tracer, UprobePrograms programs)
    {
        _tracer = tracer;
        _programs = programs;
    }

    /// <summary>Threads closing links now (they end when none is left to close).</summary>
    internal int Closers
    {
        get
        {
            lock (_closerGate)
            {
                return _closers.Count;
            }
        }
    }

    /// <summary>Functions probed in processes so far (a function in two processes counts twice).</summary>
    public int FunctionsAttached => Volatile.Read(ref _functionsAttached);

    /// <summary>Why attaching failed, once per file (empty when everything attached).</summary>
    public IReadOnlyList<string> Failures
    {
        get
        {
            lock (_gate)
            {
                return [.. _failures];
            }
        }
    }

    private readonly List<string> _failures = [];

    /// <summary>Records something a traced program uses that cannot be probed (once per text): it joins <see cref="Failures"/>.</summary>
    public void NoteUnsupported(string what)
    {
        lock (_gate)
        {
            if (!_failures.Contains(what))
            {
                _failures.Add(what);
            }
        }
    }

    /// <summary>
    /// Attaches what is not attached yet for <paramref name="pid"/>; returns the files newly probed (empty when
    /// nothing was new, or the process is gone).
    /// </summary>
    public IReadOnlyList<string> Attach(int pid, IEnumerable<TPoint> points) => AttachTimed(pid, points).Files;

    /// <summary>
    /// Attaches what is not attached yet for <paramref name="pid"/>: the files newly probed, when the last of them
    /// went live, and whether the process was found gone on the way.
    /// </summary>
    public AttachResult AttachTimed(int pid, IEnumerable<TPoint> points)
    {
        bool gone = false;
        long liveNs = 0;
        List<(string Path, List<TPoint> Points)> files;
        lock (_gate)
        {
            if (!_byPid.TryGetValue(pid, out var known))
            {
                known = new ProcessProbes();
                _byPid[pid] = known;
            }
            // One file by two paths (launch, then /proc/PID/exe at exec) is one set of probes: the kernel would
            // fire both, and a call (Go's plaintext, read at entry) would be seen twice.
            files = [.. points.Where(p => !known.Attached.Contains(KeyOf(p))).DistinctBy(KeyOf).GroupBy(p => p.Path)
                .Select(g => (g.Key, g.ToList()))];
            foreach (var (_, fresh) in files)
            {
                foreach (var p in fresh)
                {
                    known.Attached.Add(KeyOf(p)); // claimed: a concurrent caller skips them
                }
            }
        }
        var probed = new List<string>();
        foreach (var (path, fresh) in files)
        {
            List<IDisposable> links;
            try
            {
                links = AttachFile(pid, path, fresh);
            }
            catch (Exception e) when (e is NativeCallException { ErrorNumber: Errno.ESRCH } or BpfLoadException { ErrorNumber: Errno.ESRCH })
            {
                gone = true;
                break;
            }
            catch (Exception e) when (e is NativeCallException or BpfLoadException)
            {
                lock (_gate)
                {
                    string failure = $"{path}: {e.Message}";
                    if (!_failures.Contains(failure))
                    {
                        _failures.Add(failure);
                    }
                }
                continue;
            }
            lock (_gate)
            {
                if (_byPid.TryGetValue(pid, out var known) && !known.Released)
                {
                    known.Links.AddRange(links);
                    known.Points.AddRange(fresh);
                }
                else
                {
                    Close(links); // detached meanwhile: the process exited
                }
            }
            Interlocked.Add(ref _functionsAttached, fresh.Count);
            probed.Add(path);
            liveNs = Libc.Now(Libc.CLOCK_MONOTONIC);
        }
        return new AttachResult(probed, liveNs, gone);
    }

    /// <summary>What is attached in the process (a forked child runs the same objects).</summary>
    public IReadOnlyList<TPoint> PointsOf(int pid)
    {
        lock (_gate)
        {
            return _byPid.TryGetValue(pid, out var p) ? [.. p.Points] : [];
        }
    }

    /// <summary>Whether anything was attached for the process.</summary>
    public bool Has(int pid)
    {
        lock (_gate)
        {
            return _byPid.TryGetValue(pid, out var p) && p.Links.Count > 0;
        }
    }

    /// <summary>Releases the process's links (it exited); they close in the background.</summary>
    public void Detach(int pid)
    {
        lock (_gate)
        {
            if (_byPid.Remove(pid, out var probes))
            {
                probes.Released = true;
                Close(probes.Links);
            }
        }
    }

    public void Dispose()
    {
        List<int> pids;
        lock (_gate)
        {
            pids = [.. _byPid.Keys];
        }
        pids.ForEach(Detach);
        _closing.CompleteAdding();
        // Bounded, so a stalled close cannot hold tattle at exit: links still open then are closed by the kernel
        // with the process's file descriptors a moment later.
        var deadline = Environment.TickCount64 + (long)CloseTimeout.TotalMilliseconds;
        bool all = true;
        Thread[] closers;
        lock (_closerGate)
        {
            closers = [.. _closers];
        }
        foreach (var t in closers)
        {
            all &= t.Join(TimeSpan.FromMilliseconds(Math.Max(0, deadline - Environment.TickCount64)));
        }
        if (all)
        {
            _closing.Dispose();
        }
    }

    /// <summary>How long Dispose waits for the links being closed.</summary>
    internal static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(1);

    /// <summary>Runs before the points of a file are attached (a function probe's USDT sites describe their arguments to the kernel).</summary>
    protected virtual void BeforeAttach(IReadOnlyList<TPoint> points)
    {
    }

    /// <summary>The tracer the probes attach through.</summary>
    protected BpfTracer Tracer => _tracer;

    private List<IDisposable> AttachFile(int pid, string path, List<TPoint> points)
    {
        var links = new List<IDisposable>();
        try
        {
            BeforeAttach(points);
            // Returns go on before entries: the process may be running the library already, and a call entered
            // once its entry probe is live but before its return probe is would stash its buffer and never be read
            // (a request seen, its response not). A return without its entry finds no stash and reads nothing.
            if (_tracer.UprobeMulti)
            {
                var returning = points.Where(p => p.NeedsReturn).ToList();
                ulong[] semaphores = points.Any(p => p.RefCtrOffset != 0) ? [.. points.Select(p => p.RefCtrOffset)] : [];
                if (returning.Count > 0)
                {
                    links.Add(_tracer.AttachUprobes(_programs, pid, path, [.. returning.Select(p => p.FileOffset)],
                        [.. returning.Select(p => p.Cookie)], atReturn: true));
                }
                links.Add(_tracer.AttachUprobes(_programs, pid, path, [.. points.Select(p => p.FileOffset)], [.. points.Select(p => p.Cookie)], atReturn: false, semaphores));
                return links;
            }
            foreach (var point in points)
            {
                if (point.NeedsReturn)
                {
                    links.Add(_tracer.AttachUprobe(_programs, pid, path, point.FileOffset, point.Cookie, atReturn: true));
                }
                links.Add(_tracer.AttachUprobe(_programs, pid, path, point.FileOffset, point.Cookie, atReturn: false, point.RefCtrOffset));
            }
            return links;
        }
        catch
        {
            Close(links); // all of a file or nothing: a lone entry probe would stash calls forever
            throw;
        }
    }

    /// <summary>Queues links to close, starting closers for them up to the cap.</summary>
    internal void Close(List<IDisposable> links)
    {
        if (links.Count == 0)
        {
            return;
        }
        links.ForEach(_closing.Add);
        lock (_closerGate)
        {
            // Closing a uprobe link waits for an RCU grace period (~40 ms here); waits that overlap share one, so links
            // close on several threads: an exec-heavy run (a build) releases hundreds of them.
            while (_closers.Count < Math.Min(ClosingThreads, _closing.Count))
            {
                var t = new Thread(CloseLinks) { IsBackground = true, Name = "tattle-uprobe-close" };
                _closers.Add(t);
                t.Start();
            }
        }
    }

    private void CloseLinks()
    {
        // On threads of their own: thread-pool workers blocked here would starve the pool (it adds a thread only
        // every half second), and every Task of the process would wait.
        while (true)
        {
            if (_closing.TryTake(out var link, CloserIdle))
            {
                link.Dispose();
                continue;
            }
            lock (_closerGate)
            {
                // A link queued while this one timed out is still taken: Close starts no thread while this one counts.
                if (_closing.Count == 0)
                {
                    _closers.Remove(Thread.CurrentThread);
                    return;
                }
            }
        }
    }

    /// <summary>What an attach did: the files newly probed, when the last went live (monotonic ns, 0: none did), and whether the process was gone.</summary>
    public readonly record struct AttachResult(IReadOnlyList<string> Files, long LiveNs, bool Gone);

    private static (object File, ulong Offset) KeyOf(TPoint p) => (p.File is { } id ? id : p.Path, p.FileOffset);

    private sealed class ProcessProbes
    {
        public HashSet<(object File, ulong Offset)> Attached { get; } = [];

        public List<TPoint> Points { get; } = [];

        public List<IDisposable> Links { get; } = [];

        public bool Released { get; set; }
    }
}
