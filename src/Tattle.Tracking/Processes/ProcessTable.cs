using Tattle.Capture.Proc;

namespace Tattle.Tracking.Processes;

/// <summary>A process Tattle knows: identified by pid and start time, so a reused pid is a new entry.</summary>
public sealed class TrackedProcess(int pid, ulong startTicks)
{
    public int Pid { get; } = pid;

    /// <summary>Start time in clock ticks since boot (see <see cref="ProcStat.TicksFromBootNs"/>).</summary>
    public ulong StartTicks { get; } = startTicks;

    public int ParentPid { get; set; }

    public string Comm { get; set; } = "?";

    public IReadOnlyList<string> Argv { get; set; } = [];

    public string? Exe { get; set; }

    public bool Alive { get; set; } = true;

    /// <summary>Whether a process.start record was written for it.</summary>
    public bool Announced { get; set; }

    /// <summary>A launched process's command: until it is exec'd, the process is a launch helper, not shown.</summary>
    public string? AwaitedExec { get; set; }

    /// <summary>The process set up io_uring: its I/O there is not seen.</summary>
    public bool UsesIoUring { get; set; }

    /// <summary>When its TLS plaintext probes went live (monotonic ns; 0: not known yet).</summary>
    public long TlsProbesLiveNs { get; set; }

    /// <summary>The process was gone before its TLS probes went live.</summary>
    public bool TlsProbesGone { get; set; }
}

/// <summary>The traced processes, seeded from /proc and kept current by fork/exec/exit events.</summary>
public sealed class ProcessTable
{
    private readonly Dictionary<int, TrackedProcess> _byPid = [];

    /// <summary>
    /// Exited processes kept for the records that trail an exit (a probe time, a last message, a late fork's
    /// parent), the oldest let go past this many: an agent runs for months while pids cycle through pid_max
    /// (4,194,304 on 64-bit), and would otherwise keep every process it ever saw.
    /// </summary>
    internal const int ExitedKept = 4096;

    private readonly Queue<TrackedProcess> _exited = new();

    // Every message record asks for its process's name: a traced server is most often one pid, so the last entry
    // found answers without the table (an entry is only ever replaced in Add, which resets this).
    private TrackedProcess? _last;

    public int LiveCount { get; private set; }

    /// <summary>Every process seen during the run, including exited ones.</summary>
    public int TotalSeen { get; private set; }

    public TrackedProcess? Find(int pid)
    {
        if (_last is { } last && last.Pid == pid)
        {
            return last;
        }
        if (_byPid.TryGetValue(pid, out var p))
        {
            _last = p;
        }
        return p;
    }

    /// <summary>The process's name, or "?" when unknown.</summary>
    public string CommOf(int pid) => Find(pid)?.Comm ?? "?";

    /// <summary>Adds a process; an entry with the same pid but another start time is replaced (pid reuse).</summary>
    public TrackedProcess Add(int pid, ulong startTicks)
    {
        if (_byPid.TryGetValue(pid, out var old))
        {
            if (old.StartTicks == startTicks || startTicks == 0)
            {
                if (!old.Alive)
                {
                    old.Alive = true;
                    LiveCount++;
                }
                return old;
            }
            if (old.Alive)
            {
                LiveCount--;
            }
        }
        var p = new TrackedProcess(pid, startTicks);
        _byPid[pid] = p;
        _last = p;
        LiveCount++;
        TotalSeen++;
        return p;
    }

    /// <summary>Marks a process exited; returns it, or null when it was not known.</summary>
    public TrackedProcess? MarkExited(int pid)
    {
        if (!_byPid.TryGetValue(pid, out var p) || !p.Alive)
        {
            return null;
        }
        p.Alive = false;
        LiveCount--;
        _exited.Enqueue(p);
        while (_exited.Count > ExitedKept)
        {
            // One seen alive again since (its exit came before a late record of it) or replaced by a new process at
            // the pid is not this entry's to drop.
            var old = _exited.Dequeue();
            if (!old.Alive && _byPid.TryGetValue(old.Pid, out var current) && ReferenceEquals(current, old))
            {
                _byPid.Remove(old.Pid);
                if (ReferenceEquals(_last, old))
                {
                    _last = null;
                }
            }
        }
        return p;
    }

    /// <summary>The processes not known to have exited.</summary>
    public IEnumerable<TrackedProcess> Live => _byPid.Values.Where(p => p.Alive);

    /// <summary>
    /// Live processes that /proc still shows running (not gone, not a zombie, not a new process at the same pid):
    /// the check when an exit record may never come (tracing stopped, or a record lost).
    /// </summary>
    public List<TrackedProcess> StillRunning() => Live.Where(p =>
        ProcStat.Read(p.Pid) is { IsDead: false } stat
        && (p.StartTicks == 0 || stat.StartTicks == p.StartTicks)).ToList();

    /// <summary>Seeds a running process from /proc; null when it is gone.</summary>
    public TrackedProcess? Seed(int pid)
    {
        if (ProcStat.Read(pid) is not { } stat)
        {
            return null;
        }
        var p = Add(pid, stat.StartTicks);
        p.ParentPid = stat.ParentPid;
        p.Comm = stat.Comm;
        p.Argv = ProcStat.ReadArgv(pid);
        try
        {
            p.Exe = new FileInfo($"/proc/{pid}/exe").LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return p;
    }
}
