using System.Collections.Concurrent;
using Tattle.Capture.Bpf;
using Tattle.Capture.Proc;
using Tattle.Records;

namespace Tattle.Agent;

/// <summary>Where the agent's decisions go: the kernel's table of traced processes.</summary>
public interface IProcessFilter
{
    void Trace(int pid, TraceDepth depth);

    void Untrace(int pid);
}

/// <summary>
/// The processes the agent traces and how deep. The kernel adds a process at exec by an over-approximation of the
/// targets (and every child of a traced process at fork); as each one's first record passes, this decides
/// exactly: the first target it matches, else its parent's depth when its parent is traced (children follow, as in
/// `tattle attach`), else it is untraced. Safe to read from other threads (the TLS probes ask for depths).
/// </summary>
public sealed class ProcessSelection(TargetSelector selector, IProcessFilter kernel, string procRoot = "/proc")
{
    private readonly ConcurrentDictionary<int, (AgentDepth Depth, int Parent)> _traced = new();
    private TargetSelector _selector = selector;

    public TargetSelector Selector => Volatile.Read(ref _selector);

    /// <summary>Processes traced now.</summary>
    public int Count => _traced.Count;

    /// <summary>The depth of a traced process; null for one the agent does not trace.</summary>
    public AgentDepth? DepthOf(int pid) => _traced.TryGetValue(pid, out var t) ? t.Depth : null;

    /// <summary>The running processes that match a target now, with their depths (children of a match included).</summary>
    public IReadOnlyList<(int Pid, AgentDepth Depth)> SelectRunning()
    {
        var all = ProcStat.All().Where(p => p.Pid != Environment.ProcessId && !p.IsDead).ToList();
        var chosen = new Dictionary<int, AgentDepth>();
        foreach (var p in all)
        {
            if (Selector.Match(Facts(p.Pid, p.Comm)) is { } target)
            {
                chosen[p.Pid] = target.Depth;
            }
        }
        // Children follow their parent: walk down from the matches, parents before children.
        var children = all.ToLookup(p => p.ParentPid);
        var pending = new Queue<int>(chosen.Keys);
        while (pending.Count > 0)
        {
            int parent = pending.Dequeue();
            foreach (var child in children[parent])
            {
                if (chosen.TryAdd(child.Pid, chosen[parent]))
                {
                    pending.Enqueue(child.Pid);
                }
            }
        }
        var parents = all.ToDictionary(p => p.Pid, p => p.ParentPid);
        foreach (var (pid, depth) in chosen)
        {
            _traced[pid] = (depth, parents.GetValueOrDefault(pid));
        }
        return [.. chosen.Select(c => (c.Key, c.Value))];
    }

    /// <summary>
    /// Applies new targets: the kernel's exec matches are replaced, running processes are chosen again, and
    /// those no longer chosen are untraced. Returns the processes newly traced.
    /// </summary>
    public SelectionChange Reload(TargetSelector next, Action<ExecMatches> setExecMatches)
    {
        Volatile.Write(ref _selector, next);
        setExecMatches(next.ExecMatches());
        var before = _traced.ToDictionary(t => t.Key, t => t.Value.Depth);
        _traced.Clear();
        var now = SelectRunning();
        var added = new List<(int, AgentDepth)>();
        var changed = new List<(int, AgentDepth)>();
        foreach (var (pid, depth) in now)
        {
            if (!before.TryGetValue(pid, out var had) || had != depth)
            {
                kernel.Trace(pid, TargetSelector.KernelDepth(depth));
                (before.ContainsKey(pid) ? changed : added).Add((pid, depth));
            }
        }
        foreach (int pid in before.Keys.Where(p => !_traced.ContainsKey(p)))
        {
            kernel.Untrace(pid);
        }
        return new SelectionChange(added, changed);
    }

    /// <summary>Decides for a process the kernel reported; returns false when it was untraced.</summary>
    public bool OnStart(ProcessStartRecord r)
    {
        if (r.Existing)
        {
            return _traced.ContainsKey(r.Pid);
        }
        return Decide(r.Pid, r.ParentPid, r.Comm, r.Exe, r.Uid, r.Cgroup);
    }

    /// <summary>A traced process ran a new program: a target may now match it with another depth.</summary>
    public bool OnExec(ProcessExecRecord r)
    {
        bool known = _traced.TryGetValue(r.Pid, out var t);
        return Decide(r.Pid, known ? t.Parent : 0, r.Comm, r.Exe, r.Uid, r.Cgroup, inherited: known ? t.Depth : null);
    }

    public void OnExit(int pid) => _traced.TryRemove(pid, out _);

    /// <summary>
    /// The depth <see cref="OnStart"/> or <see cref="OnExec"/> will give a process that is forking or exec'ing now,
    /// from /proc, before its record is read (so probes can go on before it maps its TLS library): a fork takes
    /// its parent's depth, an exec the first target its new program matches, else its parent's or its own. Null for
    /// a process that will not be traced, or that is gone.
    /// </summary>
    public AgentDepth? ForeseeDepth(int pid, int parent, bool exec)
    {
        bool known = _traced.TryGetValue(pid, out var t);
        if (!exec)
        {
            return known ? t.Depth : DepthOf(parent);
        }
        if (ProcStat.Read(pid, procRoot) is not { IsDead: false } stat)
        {
            return null;
        }
        return Choose(Facts(pid, stat.Comm), known ? t.Parent : stat.ParentPid, known ? t.Depth : null);
    }

    private bool Decide(int pid, int parent, string comm, string? exe, int? uid, string? cgroup, AgentDepth? inherited = null)
    {
        // The record's exe is the path execve was given (maybe a symlink); a target names the file /proc shows.
        var facts = new ProcessFacts(comm, Selector.UsesExe ? ProcIdentity.ReadExe(pid, procRoot) ?? exe : exe, uid, cgroup, ExeFile(pid));
        if (Choose(facts, parent, inherited) is not { } d)
        {
            _traced.TryRemove(pid, out _);
            kernel.Untrace(pid);
            return false;
        }
        var had = _traced.TryGetValue(pid, out var old) ? old.Depth : (AgentDepth?)null;
        _traced[pid] = (d, parent);
        // The kernel chose by an approximation (or the parent's depth): set the depth the targets say.
        if (had != d)
        {
            kernel.Trace(pid, TargetSelector.KernelDepth(d));
        }
        return true;
    }

    private AgentDepth? Choose(in ProcessFacts facts, int parent, AgentDepth? inherited) =>
        Selector.Match(in facts)?.Depth
            ?? (_traced.TryGetValue(parent, out var p) ? p.Depth : (AgentDepth?)null)
            ?? inherited;

    // Only what some target looks at is read: with --all or --comm, a node's thousand processes cost no file reads.
    private ProcessFacts Facts(int pid, string comm)
    {
        var s = Selector;
        return new(comm, s.UsesExe ? ProcIdentity.ReadExe(pid, procRoot) : null,
            s.UsesIdentity ? ProcIdentity.ReadUid(pid, procRoot) : null, s.UsesIdentity ? ProcIdentity.ReadCgroup(pid, procRoot) : null, ExeFile(pid));
    }

    // Opened through /proc, the process's own view of its file: right for a container's, whose path means nothing here.
    private ExeKey? ExeFile(int pid) => Selector.UsesExe ? ExeKey.Of($"{procRoot}/{pid}/exe") : null;
}

/// <summary>
/// What a reload did to running processes: newly traced ones, and traced ones whose depth changed (to or from TLS
/// plaintext, whose probes must then be attached or detached).
/// </summary>
public sealed record SelectionChange(IReadOnlyList<(int Pid, AgentDepth Depth)> Added, IReadOnlyList<(int Pid, AgentDepth Depth)> Changed);
