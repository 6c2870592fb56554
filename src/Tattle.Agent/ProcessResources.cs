using System.Text.RegularExpressions;
using Tattle.Output.Otlp;
using Tattle.Records;

namespace Tattle.Agent;

/// <summary>
/// Each traced process as an OTLP Resource (semantic conventions: process.*, container.id, host.name,
/// service.name), made from its process records and kept until it exits; its spans share the one instance.
/// </summary>
public sealed partial class ProcessResources(string hostName)
{
    private readonly Dictionary<int, OtlpResource> _byPid = [];

    // The container runtimes' cgroup names carry the full 64-hex-digit id (docker-ID.scope, /docker/ID, cri-containerd-ID.scope).
    [GeneratedRegex(@"(?:^|[/-])([0-9a-f]{64})(?:\.scope)?(?:/|$)")]
    private static partial Regex ContainerId();

    public int Count => _byPid.Count;

    public void OnStart(ProcessStartRecord r) => _byPid[r.Pid] = Make(r.Pid, r.ParentPid, r.Comm, r.Exe, r.Argv, r.Uid, r.Cgroup);

    public void OnExec(ProcessExecRecord r)
    {
        int parent = _byPid.TryGetValue(r.Pid, out var old) ? ParentOf(old) : 0;
        _byPid[r.Pid] = Make(r.Pid, parent, r.Comm, r.Exe, r.Argv, r.Uid, r.Cgroup);
    }

    public void OnExit(int pid) => _byPid.Remove(pid);

    /// <summary>The process's resource; one made from the record's pid and name when its start was not seen.</summary>
    public OtlpResource Of(Record r)
    {
        if (!_byPid.TryGetValue(r.Pid, out var resource))
        {
            resource = Make(r.Pid, 0, r.Comm, null, [], null, null);
            _byPid[r.Pid] = resource;
        }
        return resource;
    }

    /// <summary>The container id (64 hex digits) a cgroup path names, or null for a host process.</summary>
    public static string? ContainerOf(string? cgroup) => cgroup is not null && ContainerId().Match(cgroup) is { Success: true } m ? m.Groups[1].Value : null;

    private static int ParentOf(OtlpResource r) =>
        r.Attributes.FirstOrDefault(a => a.Key == "process.parent_pid").Value is long p ? (int)p : 0;

    private OtlpResource Make(int pid, int parent, string comm, string? exe, IReadOnlyList<string> argv, int? uid, string? cgroup)
    {
        var a = new List<KeyValuePair<string, object>>(10)
        {
            new("service.name", comm),
            new("host.name", hostName),
            new("process.pid", (long)pid),
            new("process.executable.name", comm),
        };
        if (parent > 0)
        {
            a.Add(new("process.parent_pid", (long)parent));
        }
        if (exe is not null)
        {
            a.Add(new("process.executable.path", exe));
        }
        // argv[0] only: arguments often carry secrets (tokens, passwords on command lines).
        if (argv.Count > 0)
        {
            a.Add(new("process.command", argv[0]));
        }
        if (uid is int u)
        {
            a.Add(new("process.real_user.id", (long)u));
        }
        if (ContainerOf(cgroup) is { } container)
        {
            a.Add(new("container.id", container));
        }
        if (cgroup is not null)
        {
            a.Add(new("tattle.cgroup", cgroup));
        }
        return new OtlpResource(a);
    }
}
