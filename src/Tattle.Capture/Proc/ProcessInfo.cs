using System.Text;

namespace Tattle.Capture.Proc;

/// <summary>What rows say about the process holding a socket: name, user, namespace, container.</summary>
public sealed class ProcessInfo
{
    [ThreadStatic]
    private static byte[]? t_buffer;

    /// <summary>Process id (thread-group id).</summary>
    public required int Pid { get; init; }

    /// <summary>Command name from /proc/PID/comm (at most 15 bytes, kernel-truncated).</summary>
    public required string Comm { get; init; }

    /// <summary>Owner uid of /proc/PID (the real uid of the process).</summary>
    public required uint Uid { get; init; }

    /// <summary>User name from /etc/passwd, or the uid as text.</summary>
    public required string User { get; init; }

    /// <summary>Network namespace id (nsfs inode).</summary>
    public ulong NetNs { get; init; }

    /// <summary>Name of the network namespace from /run/netns, or null.</summary>
    public string? NetNsName { get; init; }

    /// <summary>Full container id (64 hex digits) when the cgroup path names one (docker, containerd, cri-o, podman).</summary>
    public string? ContainerId { get; init; }

    /// <summary>Reads comm, owner and cgroup; null when the process exited meanwhile.</summary>
    public static ProcessInfo? TryRead(int pid, ulong netNs, NetNamespaces namespaces, UserNames users)
    {
        string? comm = ReadComm(pid);
        if (comm is null || !TryReadUid(pid, out uint uid))
        {
            return null;
        }
        return new ProcessInfo
        {
            Pid = pid,
            Comm = comm,
            Uid = uid,
            User = users.Display(uid),
            NetNs = netNs,
            NetNsName = namespaces.NameOf(netNs),
            ContainerId = ReadContainerId(pid),
        };
    }

    /// <summary>/proc/PID/comm without its newline; null when unreadable.</summary>
    public static string? ReadComm(int pid)
    {
        int n = Read(pid, "/comm"u8, out byte[] buf);
        if (n < 0)
        {
            return null;
        }
        var s = buf.AsSpan(0, n).TrimEnd((byte)'\n');
        return Encoding.UTF8.GetString(s);
    }

    /// <summary>Owner of /proc/PID, which the kernel sets to the process's euid (for dumpable processes).</summary>
    public static bool TryReadUid(int pid, out uint uid)
    {
        Span<byte> path = stackalloc byte[32];
        return ProcNative.Stat(new ProcPath(path).Add("/proc/"u8).Add(pid).Terminated(), out _, out uid) == 0;
    }

    /// <summary>Container id from /proc/PID/cgroup, or null.</summary>
    public static string? ReadContainerId(int pid)
    {
        int n = Read(pid, "/cgroup"u8, out byte[] buf);
        return n < 0 ? null : ContainerIdFromCgroup(buf.AsSpan(0, n));
    }

    /// <summary>Finds a 64-hex-digit path component or suffix ("docker-ID.scope", "/docker/ID", "cri-containerd-ID.scope", "crio-ID", "libpod-ID") in cgroup text.</summary>
    public static string? ContainerIdFromCgroup(ReadOnlySpan<byte> cgroup)
    {
        const int IdLength = 64;
        string? found = null;
        int run = 0;
        for (int i = 0; i <= cgroup.Length; i++)
        {
            bool hex = i < cgroup.Length && char.IsAsciiHexDigitLower((char)cgroup[i]);
            if (hex)
            {
                run++;
                continue;
            }
            if (run == IdLength)
            {
                int start = i - IdLength;
                byte before = start > 0 ? cgroup[start - 1] : (byte)'/';
                byte after = i < cgroup.Length ? cgroup[i] : (byte)'\n';
                if (before is (byte)'/' or (byte)'-' && after is (byte)'\n' or (byte)'.' or (byte)'/')
                {
                    // Keep the last match: nested cgroups put the innermost container last.
                    found = Encoding.ASCII.GetString(cgroup.Slice(start, IdLength));
                }
            }
            run = 0;
        }
        return found;
    }

    private static int Read(int pid, ReadOnlySpan<byte> file, out byte[] buf)
    {
        buf = t_buffer ??= new byte[4096];
        Span<byte> path = stackalloc byte[48];
        int n = ProcNative.ReadFile(new ProcPath(path).Add("/proc/"u8).Add(pid).Add(file).Terminated(), ref buf);
        t_buffer = buf;
        return n;
    }
}
