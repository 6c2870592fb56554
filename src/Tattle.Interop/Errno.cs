using System.Runtime.InteropServices;

namespace Tattle.Interop;

/// <summary>The one place where native error numbers become exceptions with their names.</summary>
public static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int ESRCH = 3;
    public const int EINTR = 4;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int EACCES = 13;
    public const int EEXIST = 17;
    public const int ENOTDIR = 20;
    public const int EINVAL = 22;
    public const int ENOSPC = 28;
    public const int EPIPE = 32;
    public const int ENOSYS = 38;
    public const int ELOOP = 40;
    public const int EOPNOTSUPP = 95;
    public const int ETIMEDOUT = 110;
    public const int ECONNREFUSED = 111;
    public const int EINPROGRESS = 115;

    /// <summary>The kernel's own "operation not supported" (include/linux/errno.h), which the bpf syscall leaks.</summary>
    public const int ENOTSUPP = 524;

    private static readonly Dictionary<int, string> Names = new()
    {
        [1] = "EPERM",
        [2] = "ENOENT",
        [3] = "ESRCH",
        [4] = "EINTR",
        [5] = "EIO",
        [7] = "E2BIG",
        [9] = "EBADF",
        [11] = "EAGAIN",
        [12] = "ENOMEM",
        [13] = "EACCES",
        [14] = "EFAULT",
        [16] = "EBUSY",
        [17] = "EEXIST",
        [19] = "ENODEV",
        [22] = "EINVAL",
        [24] = "EMFILE",
        [28] = "ENOSPC",
        [32] = "EPIPE",
        [38] = "ENOSYS",
        [88] = "ENOTSOCK",
        [89] = "EDESTADDRREQ",
        [90] = "EMSGSIZE",
        [91] = "EPROTOTYPE",
        [93] = "EPROTONOSUPPORT",
        [95] = "EOPNOTSUPP",
        [97] = "EAFNOSUPPORT",
        [98] = "EADDRINUSE",
        [99] = "EADDRNOTAVAIL",
        [100] = "ENETDOWN",
        [101] = "ENETUNREACH",
        [103] = "ECONNABORTED",
        [104] = "ECONNRESET",
        [105] = "ENOBUFS",
        [106] = "EISCONN",
        [107] = "ENOTCONN",
        [110] = "ETIMEDOUT",
        [111] = "ECONNREFUSED",
        [112] = "EHOSTDOWN",
        [113] = "EHOSTUNREACH",
        [114] = "EALREADY",
        [115] = "EINPROGRESS",
        [125] = "ECANCELED",
    };

    /// <summary>The symbolic name of an error number ("ECONNREFUSED"), or "E&lt;n&gt;" when unknown.</summary>
    public static string Name(int errno)
    {
        errno = Math.Abs(errno);
        return Names.TryGetValue(errno, out var name) ? name : $"E{errno}";
    }

    /// <summary>The C library's description of an error number.</summary>
    public static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(Math.Abs(errno));

    /// <summary>Throws when a libbpf call that returns -errno failed; returns the result otherwise.</summary>
    public static int ThrowIfNegative(int result, string what)
    {
        if (result < 0)
        {
            throw new NativeCallException(what, -result);
        }
        return result;
    }

    /// <summary>Throws when a pointer-returning call returned NULL, with the errno it left.</summary>
    public static IntPtr ThrowIfNull(IntPtr result, string what)
    {
        if (result == IntPtr.Zero)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new NativeCallException(what, errno == 0 ? EINVAL : errno);
        }
        return result;
    }
}

/// <summary>A native call failed with an error number.</summary>
public sealed class NativeCallException(string what, int errno)
    : Exception($"{what}: {Errno.Name(errno)} ({Errno.Describe(errno)})")
{
    /// <summary>The positive error number.</summary>
    public int ErrorNumber { get; } = errno;

    /// <summary>What was being done.</summary>
    public string Operation { get; } = what;
}
