using System.Runtime.InteropServices;

namespace Tattle.Interop;

/// <summary>The few libc calls .NET does not expose.</summary>
public static unsafe partial class Libc
{
    private const string Library = "libc";

    public const int CLOCK_REALTIME = 0;
    public const int CLOCK_MONOTONIC = 1;

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;

        public readonly long TotalNanoseconds => Seconds * 1_000_000_000 + Nanoseconds;
    }

    [LibraryImport(Library, EntryPoint = "geteuid")]
    public static partial uint GetEffectiveUserId();

    [LibraryImport(Library, EntryPoint = "getpid")]
    public static partial int GetPid();

    [LibraryImport(Library, EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport(Library, EntryPoint = "clock_gettime", SetLastError = true)]
    public static partial int ClockGetTime(int clock, Timespec* ts);

    [LibraryImport(Library, EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MkFifo(string path, uint mode);

    /// <summary>The index of a network interface in our namespace, 0 when there is none by that name.</summary>
    [LibraryImport(Library, EntryPoint = "if_nametoindex", StringMarshalling = StringMarshalling.Utf8)]
    public static partial uint IfNameToIndex(string name);

    [LibraryImport(Library, EntryPoint = "vsnprintf")]
    public static partial int VsnPrintf(byte* buffer, nuint size, byte* format, IntPtr args);

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
