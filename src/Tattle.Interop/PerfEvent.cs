using System.Runtime.InteropServices;

namespace Tattle.Interop;

/// <summary>perf_event_open(2) for one tracepoint, the event a BPF program of type tracepoint attaches to.</summary>
public static unsafe partial class PerfEvent
{
    private const long SysPerfEventOpen = 298; // x86_64
    private const uint TypeTracepoint = 2; // PERF_TYPE_TRACEPOINT
    private const ulong FlagFdCloexec = 8; // PERF_FLAG_FD_CLOEXEC

    /// <summary>struct perf_event_attr up to PERF_ATTR_SIZE_VER8; the fields after config stay zero.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 136)]
    private struct Attr
    {
        [FieldOffset(0)] public uint Type;
        [FieldOffset(4)] public uint Size;
        [FieldOffset(8)] public ulong Config;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, void* attr, long pid, long cpu, long groupFd, ulong flags);

    /// <summary>
    /// An fd for the tracepoint whose id (its tracefs <c>id</c> file) is <paramref name="id"/>, on every task: a
    /// tracepoint's BPF programs run on every CPU, so CPU 0 is only where the event's own counts live.
    /// </summary>
    public static int OpenTracepoint(ulong id)
    {
        var attr = new Attr { Type = TypeTracepoint, Size = (uint)sizeof(Attr), Config = id };
        long fd = Syscall(SysPerfEventOpen, &attr, -1, 0, -1, FlagFdCloexec);
        if (fd < 0)
        {
            throw new NativeCallException($"perf_event_open of tracepoint {id}", Marshal.GetLastPInvokeError());
        }
        return (int)fd;
    }
}
