using System.Text.RegularExpressions;

namespace Tattle.Report;

/// <summary>The container a cgroup path names, the way container runtimes name their cgroups.</summary>
public static partial class Containers
{
    // systemd driver: docker-ID.scope, cri-containerd-ID.scope, crio-ID.scope, libpod-ID.scope;
    // cgroupfs driver: /docker/ID, /kubepods/.../podUID/ID, /lxc.payload.NAME.
    [GeneratedRegex(@"(?:^|/)(?:(docker|cri-containerd|crio|libpod|containerd)-([0-9a-f]{64})\.scope|(docker|kubepods|libpod)[^/]*/(?:.*/)?([0-9a-f]{64}))(?:/|$)")]
    private static partial Regex RuntimeScope();

    [GeneratedRegex(@"(?:^|/)lxc\.payload\.([^/]+)")]
    private static partial Regex Lxc();

    /// <summary><c>runtime:first 12 hex digits</c>, <c>lxc:NAME</c>, or null for a host process.</summary>
    public static string? FromCgroup(string? cgroup)
    {
        if (cgroup is null)
        {
            return null;
        }
        if (RuntimeScope().Match(cgroup) is { Success: true } m)
        {
            string runtime = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[3].Value;
            string id = m.Groups[2].Success ? m.Groups[2].Value : m.Groups[4].Value;
            return $"{(runtime == "kubepods" ? "k8s" : runtime)}:{id[..12]}";
        }
        return Lxc().Match(cgroup) is { Success: true } l ? $"lxc:{l.Groups[1].Value}" : null;
    }
}
