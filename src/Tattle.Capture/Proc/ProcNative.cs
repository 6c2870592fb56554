using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Tattle.Interop;

namespace Tattle.Capture.Proc;

/// <summary>Thin libc calls for the /proc walk: byte paths in, errno out, no exceptions and no per-entry allocations.</summary>
/// <remarks>
/// The BCL equivalents (Directory.EnumerateFileSystemEntries, File.ReadAllBytes, FileInfo.LinkTarget) allocate a string per
/// entry, stat symlink targets while enumerating, and report races as exceptions; a host with 10 000 sockets makes that
/// the dominant cost. Paths are NUL-terminated UTF-8 spans built on the stack.
/// </remarks>
internal static unsafe partial class ProcNative
{
    private const int O_RDONLY = 0;
    private const int O_CLOEXEC = 0x80000;
    private const int O_NOCTTY = 0x100;
    private const int O_NONBLOCK = 0x800;
    private const uint STATX_TYPE = 0x1;
    private const int StatxModeOffset = 28;
    private const int S_IFMT = 0xF000;
    private const int S_IFREG = 0x8000;
    private const int AT_FDCWD = -100;
    private const int AT_EMPTY_PATH = 0x1000;
    private const uint STATX_UID = 0x8;
    private const uint STATX_INO = 0x100;
    private const uint STATX_MTIME = 0x40;
    private const uint STATX_SIZE = 0x200;

    // glibc's struct dirent on 64-bit Linux (x86_64 and aarch64 agree): d_ino u64, d_off i64, d_reclen u16, d_type u8, d_name.
    private const int DirentNameOffset = 19;

    // struct statx is architecture independent: stx_uid at 20, stx_ino at 32, stx_size at 40, stx_mtime (a statx_timestamp:
    // i64 seconds, u32 nanoseconds) at 112, stx_dev_major/minor at 136/140; 256 bytes in all.
    private const int StatxSize = 256;
    private const int StatxUidOffset = 20;
    private const int StatxInoOffset = 32;
    private const int StatxSizeOffset = 40;
    private const int StatxMtimeOffset = 112;
    private const int StatxDevMajorOffset = 136;
    private const int StatxDevMinorOffset = 140;

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint readlink(byte* path, byte* buf, nint bufsiz);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint opendir(byte* name);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint readdir(nint dir);

    [LibraryImport("libc")]
    private static partial int closedir(nint dir);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int open(byte* path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, byte* buf, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint getxattr(byte* path, byte* name, byte* value, nint size);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int statx(int dirfd, byte* path, int flags, uint mask, byte* buf);

    /// <summary>readlink(2) into <paramref name="target"/>; returns the length, or -errno.</summary>
    internal static int ReadLink(ReadOnlySpan<byte> pathZ, Span<byte> target)
    {
        fixed (byte* p = pathZ)
        fixed (byte* t = target)
        {
            nint n = readlink(p, t, target.Length);
            return n < 0 ? -Marshal.GetLastPInvokeError() : (int)n;
        }
    }

    /// <summary>getxattr(2) following symlinks; returns the value length, or -errno.</summary>
    internal static int GetXattr(ReadOnlySpan<byte> pathZ, ReadOnlySpan<byte> nameZ, Span<byte> value)
    {
        fixed (byte* p = pathZ)
        fixed (byte* n = nameZ)
        fixed (byte* v = value)
        {
            nint len = getxattr(p, n, v, value.Length);
            return len < 0 ? -Marshal.GetLastPInvokeError() : (int)len;
        }
    }

    /// <summary>Appends every all-digit entry name of a directory to <paramref name="into"/>; returns 0 or -errno.</summary>
    internal static int ReadNumericEntries(ReadOnlySpan<byte> dirZ, List<int> into)
    {
        nint dir;
        fixed (byte* p = dirZ)
        {
            dir = opendir(p);
        }
        if (dir == 0)
        {
            return -Marshal.GetLastPInvokeError();
        }
        try
        {
            while (true)
            {
                nint ent = readdir(dir);
                if (ent == 0)
                {
                    return 0;
                }
                byte* name = (byte*)ent + DirentNameOffset;
                int value = 0;
                int i = 0;
                for (; name[i] != 0; i++)
                {
                    uint d = (uint)(name[i] - '0');
                    if (d > 9 || i >= 9)
                    {
                        i = -1;
                        break;
                    }
                    value = (value * 10) + (int)d;
                }
                if (i > 0)
                {
                    into.Add(value);
                }
            }
        }
        finally
        {
            _ = closedir(dir);
        }
    }

    /// <summary>Reads a whole file, growing <paramref name="buffer"/> as needed; returns the length, or -errno.</summary>
    internal static int ReadFile(ReadOnlySpan<byte> pathZ, ref byte[] buffer)
    {
        int fd;
        fixed (byte* p = pathZ)
        {
            fd = open(p, O_RDONLY | O_CLOEXEC);
        }
        if (fd < 0)
        {
            return -Marshal.GetLastPInvokeError();
        }
        try
        {
            int total = 0;
            while (true)
            {
                if (total == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }
                nint n;
                fixed (byte* b = &buffer[total])
                {
                    n = read(fd, b, buffer.Length - total);
                }
                if (n < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Errno.EINTR)
                    {
                        continue;
                    }
                    return -errno;
                }
                if (n == 0)
                {
                    return total;
                }
                total += (int)n;
            }
        }
        finally
        {
            _ = Libc.Close(fd);
        }
    }

    /// <summary>statx(2) following symlinks; returns 0 or -errno, with the inode number and owner uid.</summary>
    internal static int Stat(ReadOnlySpan<byte> pathZ, out ulong inode, out uint uid)
    {
        byte* buf = stackalloc byte[StatxSize];
        int rc;
        fixed (byte* p = pathZ)
        {
            rc = statx(AT_FDCWD, p, 0, STATX_INO | STATX_UID, buf);
        }
        if (rc != 0)
        {
            inode = 0;
            uid = 0;
            return -Marshal.GetLastPInvokeError();
        }
        inode = *(ulong*)(buf + StatxInoOffset);
        uid = *(uint*)(buf + StatxUidOffset);
        return 0;
    }

    /// <summary>statx(2) of an open fd itself (AT_EMPTY_PATH); returns 0 or -errno, with the inode number and owner uid.</summary>
    internal static int StatFd(int fd, out ulong inode, out uint uid)
    {
        byte* buf = stackalloc byte[StatxSize];
        int rc = StatxFd(fd, STATX_INO | STATX_UID, buf);
        inode = rc == 0 ? *(ulong*)(buf + StatxInoOffset) : 0;
        uid = rc == 0 ? *(uint*)(buf + StatxUidOffset) : 0;
        return rc;
    }

    /// <summary>statx(2) of an open fd: what identifies a file's contents (device, inode, size, mtime); 0 or -errno.</summary>
    internal static int StatFdContents(int fd, out FileContentsId id)
    {
        byte* buf = stackalloc byte[StatxSize];
        int rc = StatxFd(fd, STATX_INO | STATX_SIZE | STATX_MTIME, buf);
        id = rc != 0 ? default : new FileContentsId(
            *(uint*)(buf + StatxDevMajorOffset), *(uint*)(buf + StatxDevMinorOffset), *(ulong*)(buf + StatxInoOffset),
            *(long*)(buf + StatxSizeOffset), (*(long*)(buf + StatxMtimeOffset) * 1_000_000_000L) + *(uint*)(buf + StatxMtimeOffset + 8));
        return rc;
    }

    private static int StatxFd(int fd, uint mask, byte* buf)
    {
        byte empty = 0;
        return statx(fd, &empty, AT_EMPTY_PATH, mask, buf) == 0 ? 0 : -Marshal.GetLastPInvokeError();
    }

    /// <summary>
    /// Opens a regular file for reading, and nothing else: a path a traced process controls (its mappings, files in
    /// its mount namespace) may name a FIFO or a device, whose open or read would block tattle for good. O_NONBLOCK
    /// makes the open itself return at once; the type is checked on the open fd, so the check and the use cannot
    /// see different files. Throws FileNotFoundException, UnauthorizedAccessException or IOException.
    /// </summary>
    internal static SafeFileHandle OpenRegularFile(string path)
    {
        Span<byte> buf = stackalloc byte[4096];
        int n = System.Text.Encoding.UTF8.GetByteCount(path);
        if (n >= buf.Length || path.Contains('\0'))
        {
            throw new IOException($"{path}: path too long");
        }
        System.Text.Encoding.UTF8.GetBytes(path, buf);
        buf[n] = 0;
        int fd;
        fixed (byte* p = buf)
        {
            fd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        }
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                Errno.ENOENT => new FileNotFoundException($"{path}: not found", path),
                Errno.ENOTDIR => new DirectoryNotFoundException($"{path}: not found"),
                Errno.EACCES or Errno.EPERM => new UnauthorizedAccessException($"{path}: permission denied"),
                _ => new IOException($"{path}: open failed (errno {errno})"),
            };
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        byte* stx = stackalloc byte[StatxSize];
        if (StatxFd(fd, STATX_TYPE, stx) != 0 || (*(ushort*)(stx + StatxModeOffset) & S_IFMT) != S_IFREG)
        {
            handle.Dispose();
            throw new IOException("not a regular file");
        }
        return handle;
    }

    /// <summary>Same as <see cref="Stat(ReadOnlySpan{byte}, out ulong, out uint)"/> for a managed path.</summary>
    internal static int Stat(string path, out ulong inode, out uint uid)
    {
        Span<byte> buf = stackalloc byte[1024];
        int n = System.Text.Encoding.UTF8.GetBytes(path, buf[..^1]);
        buf[n] = 0;
        return Stat(buf[..(n + 1)], out inode, out uid);
    }
}

/// <summary>A file's device, inode, size and modification time: equal ids mean unchanged contents, for caching what was parsed.</summary>
public readonly record struct FileContentsId(uint DeviceMajor, uint DeviceMinor, ulong Inode, long Size, long ModifiedNs);

/// <summary>Builds NUL-terminated "/proc/PID/..." paths in a caller-supplied span.</summary>
internal ref struct ProcPath
{
    private readonly Span<byte> _buf;
    private int _len;

    internal ProcPath(Span<byte> buffer)
    {
        _buf = buffer;
        _len = 0;
    }

    internal ProcPath Add(ReadOnlySpan<byte> text)
    {
        text.CopyTo(_buf[_len..]);
        _len += text.Length;
        return this;
    }

    internal ProcPath Add(int number)
    {
        _ = number.TryFormat(_buf[_len..], out int written, default, System.Globalization.CultureInfo.InvariantCulture);
        _len += written;
        return this;
    }

    /// <summary>The path including its terminating NUL.</summary>
    internal readonly ReadOnlySpan<byte> Terminated()
    {
        _buf[_len] = 0;
        return _buf[..(_len + 1)];
    }
}

/// <summary>An executable file as the kernel names it at exec: inode and device in the kernel's encoding.</summary>
public readonly record struct ExeKey(ulong Inode, uint KernelDevice)
{
    /// <summary>The file's key, or null when it cannot be opened (missing, not a regular file).</summary>
    public static ExeKey? Of(string path)
    {
        try
        {
            using var handle = ProcNative.OpenRegularFile(path);
            if (ProcNative.StatFdContents((int)handle.DangerousGetHandle(), out var id) != 0)
            {
                return null;
            }
            // The kernel's dev_t is MKDEV(major, minor) = major << 20 | minor, not the user-space encoding.
            return new ExeKey(id.Inode, (id.DeviceMajor << 20) | id.DeviceMinor);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
