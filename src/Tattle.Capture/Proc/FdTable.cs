using System.Text;
using Tattle.Interop;

namespace Tattle.Capture.Proc;

/// <summary>One open file descriptor and what /proc/PID/fd/N points to ("socket:[123]", "pipe:[9]", "anon_inode:[eventpoll]", a path).</summary>
public readonly record struct FdEntry(int Fd, string Target)
{
    /// <summary>The socket inode when the target is "socket:[N]", else 0.</summary>
    public ulong SocketInode => Target.StartsWith("socket:[", StringComparison.Ordinal)
        && NetNamespaces.TryParseLink(Encoding.ASCII.GetBytes(Target), "socket:["u8, out ulong ino) ? ino : 0;
}

/// <summary>Reads a process's file descriptor table from /proc/PID/fd.</summary>
public static class FdTable
{
    [ThreadStatic]
    private static List<int>? t_fds;

    /// <summary>All fds of a process sorted by number, like `ls -l /proc/PID/fd`; null when the process is gone or not readable (see <paramref name="errno"/>).</summary>
    public static IReadOnlyList<FdEntry>? Read(int pid, out int errno)
    {
        var fds = new List<int>();
        Span<byte> path = stackalloc byte[48];
        errno = -ProcNative.ReadNumericEntries(new ProcPath(path).Add("/proc/"u8).Add(pid).Add("/fd"u8).Terminated(), fds);
        if (errno != 0)
        {
            return null;
        }
        fds.Sort();
        var result = new List<FdEntry>(fds.Count);
        Span<byte> link = stackalloc byte[4096];
        foreach (int fd in fds)
        {
            int n = ProcNative.ReadLink(new ProcPath(path).Add("/proc/"u8).Add(pid).Add("/fd/"u8).Add(fd).Terminated(), link);
            if (n >= 0)
            {
                result.Add(new FdEntry(fd, Encoding.UTF8.GetString(link[..n])));
            }
            else if (n is -Errno.EACCES or -Errno.EPERM)
            {
                // The directory can be listable while its links are not (ptrace rules): the table is unreadable.
                errno = -n;
                return null;
            }
            // Otherwise the fd was closed between listing and readlink: skip it, as ls would.
        }
        return result;
    }

    /// <summary>Appends (fd, socket inode) for each socket fd of a process; returns 0 or -errno. Allocation-free in the steady state.</summary>
    internal static int ReadSockets(int pid, List<(int Fd, ulong Inode)> into)
    {
        var fds = t_fds ??= new List<int>(256);
        fds.Clear();
        Span<byte> path = stackalloc byte[48];
        int rc = ProcNative.ReadNumericEntries(new ProcPath(path).Add("/proc/"u8).Add(pid).Add("/fd"u8).Terminated(), fds);
        if (rc != 0)
        {
            return rc;
        }
        Span<byte> link = stackalloc byte[64];
        foreach (int fd in fds)
        {
            int n = ProcNative.ReadLink(new ProcPath(path).Add("/proc/"u8).Add(pid).Add("/fd/"u8).Add(fd).Terminated(), link);
            // ENAMETOOLONG-free: a longer target is a path, not a socket, and readlink just truncates it.
            if (n > 0 && link[0] == (byte)'s' && NetNamespaces.TryParseLink(link[..n], "socket:["u8, out ulong inode))
            {
                into.Add((fd, inode));
            }
        }
        return 0;
    }

    /// <summary>
    /// Protocol of a socket fd from sockfs's "system.sockprotoname" xattr ("TCP", "UDPv6", "UNIX", "ALG", ...), as a
    /// row protocol name ("tcp", "udp6", "unix", "alg"); null when the fd is gone or not a socket.
    /// </summary>
    /// <remarks>Used for sockets missing from the /proc/net tables: families without a table, or another namespace's.</remarks>
    public static string? SocketProtocol(int pid, int fd)
    {
        Span<byte> path = stackalloc byte[48];
        Span<byte> value = stackalloc byte[64];
        int n = ProcNative.GetXattr(new ProcPath(path).Add("/proc/"u8).Add(pid).Add("/fd/"u8).Add(fd).Terminated(),
            "system.sockprotoname\0"u8, value);
        if (n <= 0)
        {
            return null;
        }
        var name = value[..n].TrimEnd((byte)0);
        return name switch
        {
            _ when name.SequenceEqual("TCP"u8) => "tcp",
            _ when name.SequenceEqual("TCPv6"u8) => "tcp6",
            _ when name.SequenceEqual("UDP"u8) => "udp",
            _ when name.SequenceEqual("UDPv6"u8) => "udp6",
            _ when name.SequenceEqual("RAW"u8) => "raw",
            _ when name.SequenceEqual("RAWv6"u8) => "raw6",
            _ when name.SequenceEqual("PING"u8) => "icmp",
            _ when name.SequenceEqual("PINGv6"u8) => "icmp6",
            _ => Encoding.ASCII.GetString(name).ToLowerInvariant(),
        };
    }
}
