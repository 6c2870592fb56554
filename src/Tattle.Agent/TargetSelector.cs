using Tattle.Capture.Bpf;
using Tattle.Capture.Proc;

namespace Tattle.Agent;

/// <summary>
/// What the agent knows of a process when it decides whether to trace it: <paramref name="ExeFile"/> is the file
/// /proc/PID/exe opens, which a target's path may reach by a symlink or a hard link.
/// </summary>
public readonly record struct ProcessFacts(string? Comm, string? Exe, int? Uid, string? Cgroup, ExeKey? ExeFile = null);

/// <summary>
/// Decides which processes the agent traces and how deep, from its targets: exactly, in user space, and as the
/// kernel's exec-time over-approximation (<see cref="ExecMatches"/>), which user space then refines. The first
/// target that matches wins.
/// </summary>
public sealed class TargetSelector(IReadOnlyList<AgentTarget> targets, string cgroupRoot = TargetSelector.CgroupRoot)
{
    public const string CgroupRoot = "/sys/fs/cgroup";

    public IReadOnlyList<AgentTarget> Targets => targets;

    /// <summary>Whether any target looks at the executable's path: only then is /proc/PID/exe read.</summary>
    public bool UsesExe { get; } = targets.Any(t => t.Exe is not null);

    // The file each exe target names, as the kernel matches it at exec: /usr/bin/python3 is python3.11's inode.
    private readonly ExeKey?[] _exeFiles = targets.Select(t => t.Exe is { } exe ? ExeKey.Of(exe) : null).ToArray();

    /// <summary>Whether any target looks at the uid or the cgroup: only then are /proc/PID/status and cgroup read.</summary>
    public bool UsesIdentity { get; } = targets.Any(t => t.Uid is not null || t.Cgroup is not null || t.Container is not null);

    /// <summary>The exe targets whose file cannot be opened (missing, not a regular file): they match no process.</summary>
    public IEnumerable<string> MissingExes => targets.Where((t, i) => t.Exe is not null && _exeFiles[i] is null).Select(t => t.Exe!);

    /// <summary>The first target the process matches, or null.</summary>
    public AgentTarget? Match(in ProcessFacts p)
    {
        for (int i = 0; i < targets.Count; i++)
        {
            if (Matches(targets[i], _exeFiles[i], in p))
            {
                return targets[i];
            }
        }
        return null;
    }

    private static bool Matches(AgentTarget t, ExeKey? exeFile, in ProcessFacts p)
    {
        if (t.Comm is not null && t.Comm != p.Comm)
        {
            return false;
        }
        if (t.Exe is not null && t.Exe != p.Exe && (exeFile is null || exeFile != p.ExeFile))
        {
            return false;
        }
        if (t.Uid is uint uid && p.Uid != (int)uid)
        {
            return false;
        }
        if (t.Cgroup is { } cg && (p.Cgroup is null || !IsUnder(p.Cgroup, cg)))
        {
            return false;
        }
        if (t.Container is { } id && (p.Cgroup is null || !p.Cgroup.Contains(id, StringComparison.Ordinal)))
        {
            return false;
        }
        return true;
    }

    private static bool IsUnder(string path, string root) =>
        root == "/" || path == root || (path.StartsWith(root, StringComparison.Ordinal) && path.Length > root.Length && path[root.Length] == '/');

    /// <summary>The kernel's depth for an agent depth: connections only copy no stream payload.</summary>
    public static TraceDepth KernelDepth(AgentDepth depth) => depth == AgentDepth.Connections ? TraceDepth.ConnectionsOnly : TraceDepth.Payload;

    /// <summary>
    /// The kernel's exec-time matches: each target by its most selective field (a name, the executable's inode, a
    /// uid, the cgroups under a path or of a container, or all). The cgroups are those that exist now: call again
    /// to pick up new ones.
    /// </summary>
    public ExecMatches ExecMatches()
    {
        var comms = new Dictionary<string, TraceDepth>();
        var exes = new Dictionary<ExeKey, TraceDepth>();
        var uids = new Dictionary<uint, TraceDepth>();
        var cgroups = new Dictionary<ulong, TraceDepth>();
        TraceDepth? all = null;
        foreach (var t in targets)
        {
            var depth = KernelDepth(t.Depth);
            if (t.Comm is { } comm)
            {
                Add(comms, comm, depth);
            }
            else if (t.Exe is { } exe)
            {
                if (ExeKey.Of(exe) is { } key)
                {
                    Add(exes, key, depth);
                }
            }
            else if (t.Cgroup is not null || t.Container is not null)
            {
                foreach (ulong id in CgroupIds(t))
                {
                    Add(cgroups, id, depth);
                }
            }
            else if (t.Uid is uint uid)
            {
                Add(uids, uid, depth);
            }
            else if (t.All)
            {
                all = all == TraceDepth.Payload ? all : depth;
            }
        }
        return new ExecMatches { Comms = comms, Exes = exes, Uids = uids, Cgroups = cgroups, All = all };
    }

    // Where two targets share a key, the deeper wins: user space narrows a process's depth, never widens it.
    private static void Add<TKey>(Dictionary<TKey, TraceDepth> map, TKey key, TraceDepth depth)
        where TKey : notnull
    {
        map[key] = map.TryGetValue(key, out var have) && have == TraceDepth.Payload ? have : depth;
    }

    /// <summary>The ids (directory inodes) of the target's cgroups: the subtree under its path, or those naming its container.</summary>
    private IEnumerable<ulong> CgroupIds(AgentTarget t)
    {
        var found = new List<ulong>();
        string start = t.Cgroup is { } cg ? Path.Join(cgroupRoot, cg) : cgroupRoot;
        if (!Directory.Exists(start))
        {
            return found;
        }
        var pending = new Stack<string>();
        pending.Push(start);
        while (pending.Count > 0 && found.Count < 8192)
        {
            string dir = pending.Pop();
            bool named = t.Container is null || dir.Contains(t.Container, StringComparison.Ordinal);
            if (named && ProcNative.Stat(dir, out ulong inode, out _) == 0)
            {
                found.Add(inode);
            }
            try
            {
                foreach (var sub in Directory.EnumerateDirectories(dir))
                {
                    pending.Push(sub);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A cgroup removed while walking: nothing under it to match.
            }
        }
        return found;
    }
}
