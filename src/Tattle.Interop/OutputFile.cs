using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Tattle.Interop;

/// <summary>
/// Opens every file Tattle writes. Tattle runs as root and its outputs hold what traced programs sent (payloads,
/// decrypted headers, the names they resolved), so a file is created 0600, never through a symbolic link at its
/// path (one planted in a shared directory would make root overwrite its target), and, under sudo, handed to the
/// user who ran sudo so that they can read what they asked for.
/// </summary>
public static unsafe partial class OutputFile
{
    private const int O_WRONLY = 0x1;
    private const int O_CREAT = 0x40;
    private const int O_TRUNC = 0x200;
    private const int O_NOFOLLOW = 0x20000;
    private const int O_CLOEXEC = 0x80000;
    private const uint S_IFMT = 0xF000;
    private const uint S_IFREG = 0x8000;

    /// <summary>rw------- : payloads and names are the traced user's business, and root's.</summary>
    public const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// Creates or truncates <paramref name="path"/> for writing: mode 0600 (also when it existed), owned by
    /// SUDO_UID/SUDO_GID under sudo unless <paramref name="handToSudoUser"/> is false. A device or FIFO (-o
    /// /dev/null) is written as it is, its mode and owner untouched. Throws <see cref="IOException"/> with a
    /// message fit for the user when the path is a symbolic link or cannot be opened.
    /// </summary>
    public static FileStream Create(string path, int bufferSize = 4096, bool handToSudoUser = true)
    {
        int fd = Open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0x180);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new IOException(errno == Errno.ELOOP
                ? $"{path} is a symbolic link; Tattle does not write through one (remove it or name the file it points to)"
                : $"{path}: {Marshal.GetPInvokeErrorMessage(errno)} ({Errno.Name(errno)})");
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            Secure(handle, path, handToSudoUser);
            return new FileStream(handle, FileAccess.Write, bufferSize);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Creates a directory (and its parents) with mode 0700 where it does not exist yet.</summary>
    public static void CreatePrivateDirectory(string path) =>
        Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

    /// <summary>The user sudo ran Tattle for, when it did (SUDO_UID and SUDO_GID both numeric) and Tattle is root.</summary>
    public static (int Uid, int Gid)? SudoUser()
    {
        if (Libc.GetEffectiveUserId() != 0
            || !int.TryParse(Environment.GetEnvironmentVariable("SUDO_UID"), NumberStyles.None, CultureInfo.InvariantCulture, out int uid)
            || !int.TryParse(Environment.GetEnvironmentVariable("SUDO_GID"), NumberStyles.None, CultureInfo.InvariantCulture, out int gid))
        {
            return null;
        }
        return (uid, gid);
    }

    private static void Secure(SafeFileHandle handle, string path, bool handToSudoUser)
    {
        int fd = (int)handle.DangerousGetHandle();
        Stat st;
        if (FStat(fd, &st) != 0)
        {
            throw new IOException($"{path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
        if ((st.Mode & S_IFMT) != S_IFREG)
        {
            return;
        }
        // A file that existed keeps its mode through O_TRUNC: make it private before anything is written.
        if ((st.Mode & 0x1FF) != 0x180 && FChmod(fd, 0x180) != 0)
        {
            throw new IOException($"{path}: cannot make it private (chmod 600): {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
        if (handToSudoUser && SudoUser() is var (uid, gid) && FChown(fd, uid, gid) != 0)
        {
            throw new IOException($"{path}: cannot give it to SUDO_UID {uid}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }

    // struct stat on x86_64: st_dev, st_ino, st_nlink (8 bytes each), then st_mode (4); 144 bytes in all.
    [StructLayout(LayoutKind.Explicit, Size = 144)]
    private struct Stat
    {
        [FieldOffset(24)]
        public uint Mode;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static partial int FStat(int fd, Stat* st);

    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    private static partial int FChmod(int fd, uint mode);

    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    private static partial int FChown(int fd, int uid, int gid);
}
