using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Tattle.Interop;

/// <summary>The few libc calls .NET does not expose.</summary>
public static unsafe partial class Libc
{
    private const string Library = "libc";

    public const int CLOCK_REALTIME = 0;
    public const int CLOCK_MONOTONIC = 1;

    private const nint SigDfl = 0;
    private const nint SigIgn = 1;
    private const int OCloexec = 0x80000;

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;

        public readonly long TotalNanoseconds => Seconds * 1_000_000_000 + Nanoseconds;
    }

    public const short POLLIN = 0x1;

    /// <summary>struct pollfd.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short ReturnedEvents;
    }

    [LibraryImport(Library, EntryPoint = "geteuid")]
    public static partial uint GetEffectiveUserId();

    [LibraryImport(Library, EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mount(string source, string target, string fileSystemType, ulong flags, IntPtr data);

    /// <summary>umount2's flag that detaches now and frees the mount once nothing uses it.</summary>
    public const int MNT_DETACH = 2;

    [LibraryImport(Library, EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Unmount(string target, int flags);

    [LibraryImport(Library, EntryPoint = "getpid")]
    public static partial int GetPid();

    [LibraryImport(Library, EntryPoint = "gettid")]
    public static partial int GetTid();

    /// <summary>setpriority's "which" for one process or, given a thread id, one thread (Linux).</summary>
    public const int PRIO_PROCESS = 0;

    [LibraryImport(Library, EntryPoint = "setpriority", SetLastError = true)]
    public static partial int SetPriority(int which, uint who, int niceValue);

    [LibraryImport(Library, EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport(Library, EntryPoint = "close")]
    public static partial int Close(int fd);

    [LibraryImport(Library, EntryPoint = "sigaction", SetLastError = true)]
    private static partial int SigAction(int signal, byte* action, byte* old);

    [LibraryImport(Library, EntryPoint = "signal")]
    private static partial nint Signal(int signal, nint handler);

    [LibraryImport(Library, EntryPoint = "getgrouplist", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int GetGroupList(string user, uint group, uint* groups, int* count);

    [LibraryImport(Library, EntryPoint = "clock_gettime", SetLastError = true)]
    public static partial int ClockGetTime(int clock, Timespec* ts);

    /// <summary>poll(2); -1 with errno on failure (EINTR included).</summary>
    [LibraryImport(Library, EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport(Library, EntryPoint = "pipe2", SetLastError = true)]
    private static partial int Pipe2(int* fds, int flags);

    /// <summary>The index of a network interface in our namespace, 0 when there is none by that name.</summary>
    [LibraryImport(Library, EntryPoint = "if_nametoindex", StringMarshalling = StringMarshalling.Utf8)]
    public static partial uint IfNameToIndex(string name);

    [LibraryImport(Library, EntryPoint = "vsnprintf")]
    public static partial int VsnPrintf(byte* buffer, nuint size, byte* format, IntPtr args);

    /// <summary>
    /// Gives <paramref name="signal"/> its default action back when it was inherited as ignored (a background job of a
    /// non-interactive shell starts with SIGINT ignored); returns whether it was ignored. A handler installed in this
    /// process is left alone: exec resets every handler, so only SIG_IGN can have come from the parent.
    /// </summary>
    public static bool UnignoreSignal(int signal)
    {
        // struct sigaction is 152 bytes on x86_64 and aarch64 glibc, sa_handler first; room to spare.
        byte* old = stackalloc byte[256];
        if (SigAction(signal, null, old) != 0 || *(nint*)old != SigIgn)
        {
            return false;
        }
        Signal(signal, SigDfl);
        return true;
    }

    /// <summary>
    /// The groups of <paramref name="user"/> from the name service, <paramref name="group"/> (its own) first:
    /// getgrouplist(3), which asks for a larger buffer by returning -1 with the count it needs.
    /// </summary>
    public static int[] GroupList(string user, int group)
    {
        int count = 32;
        while (true)
        {
            var groups = new uint[count];
            int n = count;
            fixed (uint* p = groups)
            {
                if (GetGroupList(user, (uint)group, p, &n) >= 0)
                {
                    return Array.ConvertAll(groups[..n], g => (int)g);
                }
            }
            if (n <= count)
            {
                return [group];
            }
            count = n;
        }
    }

    /// <summary>A pipe, both ends close-on-exec: (read end, write end).</summary>
    public static (SafeFileHandle Read, SafeFileHandle Write) Pipe()
    {
        int* fds = stackalloc int[2];
        if (Pipe2(fds, OCloexec) != 0)
        {
            throw new NativeCallException("pipe2", Marshal.GetLastPInvokeError());
        }
        return (new SafeFileHandle(fds[0], ownsHandle: true), new SafeFileHandle(fds[1], ownsHandle: true));
    }

    /// <summary>Nanoseconds on the given clock.</summary>
    public static long Now(int clock)
    {
        Timespec ts;
        if (ClockGetTime(clock, &ts) != 0)
        {
            throw new NativeCallException("clock_gettime", Marshal.GetLastPInvokeError());
        }
        return ts.TotalNanoseconds;
    }
}
