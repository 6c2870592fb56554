using System.Runtime.InteropServices;
using Tattle.Capture.Bpf;
using Tattle.Capture.Proc;
using Tattle.Tracking;

namespace Tattle.Cli.Tracing;

/// <summary>
/// `tattle attach`: traces running processes (by pid or name) and their descendants, present and future, until
/// Ctrl-C, SIGTERM, the duration, or the last of them exits.
/// </summary>
internal sealed class AttachTarget(IReadOnlyList<int> pids, string? comm, double? durationSeconds, TextWriter stderr) : ITraceTarget
{
    private long _deadline;

    public int ExitCode => 0;

    public int RootPid { get; private set; }

    public string? Comm => comm;

    public Action<int, string?>? OnTraced { get; set; }

    public void Start(BpfTracer tracer, TraceSession session, long nowMonoNs)
    {
        var roots = new List<int>();
        foreach (int pid in pids)
        {
            if (ProcStat.Read(pid) is null)
            {
                throw new TargetException($"no such process: {pid}", 2);
            }
            roots.Add(pid);
        }
        if (comm is not null)
        {
            roots.AddRange(ProcStat.FindByComm(comm).Select(p => p.Pid).Where(p => p != Environment.ProcessId));
            if (roots.Count == 0)
            {
                stderr.WriteLine($"tattle: no process named {comm} is running yet; waiting for one to start");
            }
        }
        var all = roots.Concat(ProcStat.Descendants(roots).Select(p => p.Pid)).Distinct().ToList();
        // Filter first, then read /proc: a socket opened in between is seen by both, never by neither.
        foreach (int pid in all)
        {
            tracer.Trace(pid);
        }
        foreach (int pid in all)
        {
            session.SeedExisting(pid, nowMonoNs);
            OnTraced?.Invoke(pid, null);
        }
        RootPid = roots.FirstOrDefault();
        if (durationSeconds is { } d)
        {
            _deadline = nowMonoNs + (long)(d * 1e9);
        }
    }

    public bool IsFinished(TraceSession session, long nowMonoNs)
    {
        if (_deadline != 0 && nowMonoNs >= _deadline)
        {
            return true;
        }
        // With --comm, new processes of that name may still come: only the duration or a signal ends it.
        return comm is null && session.Processes.LiveCount == 0;
    }

    public bool OnSignal(PosixSignal signal, int count) => true;

    public void Dispose()
    {
    }
}
