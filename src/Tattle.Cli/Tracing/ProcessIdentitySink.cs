using Tattle.Capture.Proc;
using Tattle.Output;
using Tattle.Records;

namespace Tattle.Cli.Tracing;

/// <summary>
/// Adds the user and cgroup of a live process to its process.start and process.exec records, read from /proc
/// as the record passes (the kernel's events do not carry them). Only for live traces: in `tattle read` a pid
/// names a process of another machine or time. Records trail the events by milliseconds, so a short-lived
/// process can be gone by then: it is given its parent's, read now (a fork inherits both), else what was read
/// for it or its parent before. A program that changes user and execs a short-lived one can so be given the
/// user before the change: docs/report.md says so.
/// </summary>
internal sealed class ProcessIdentitySink(IRecordSink inner, string procRoot = "/proc") : IRecordSink
{
    private readonly Dictionary<int, (int? Uid, string? Cgroup, int Parent)> _known = [];

    /// <summary>
    /// A command launched as another user (-u): if it is gone before its record passes, its user is this one, not
    /// its parent's (tattle's, who switched the user for it).
    /// </summary>
    public (int Pid, int Uid)? Launched { get; set; }

    public void Write(Record record)
    {
        switch (record)
        {
            case ProcessStartRecord p:
                var (uid, cgroup) = Identify(p.Pid, p.ParentPid);
                inner.Write(p with { Uid = uid, Cgroup = cgroup });
                return;
            case ProcessExecRecord x:
                var (xuid, xcgroup) = Identify(x.Pid, _known.TryGetValue(x.Pid, out var k) ? k.Parent : 0);
                inner.Write(x with { Uid = xuid, Cgroup = xcgroup });
                return;
            case ProcessExitRecord e:
                _known.Remove(e.Pid);
                break;
        }
        inner.Write(record);
    }

    public bool ConsumesAtOnce => inner.ConsumesAtOnce;

    public void Flush() => inner.Flush();

    public void Dispose() => inner.Dispose();

    private (int? Uid, string? Cgroup) Identify(int pid, int parent)
    {
        var (uid, cgroup) = (ProcIdentity.ReadUid(pid, procRoot), ProcIdentity.ReadCgroup(pid, procRoot));
        if (uid is null && Launched is { } launched && launched.Pid == pid)
        {
            (uid, cgroup) = (launched.Uid, parent > 0 ? ProcIdentity.ReadCgroup(parent, procRoot) : null);
        }
        if (uid is null && parent > 0)
        {
            (uid, cgroup) = (ProcIdentity.ReadUid(parent, procRoot), ProcIdentity.ReadCgroup(parent, procRoot)); // what it inherited, if the parent still runs
        }
        if (uid is null && (_known.TryGetValue(pid, out var known) || _known.TryGetValue(parent, out known)))
        {
            (uid, cgroup) = (known.Uid, known.Cgroup);
        }
        _known[pid] = (uid, cgroup, parent);
        return (uid, cgroup);
    }
}
