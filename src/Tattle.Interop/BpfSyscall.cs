using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Tattle.Interop;

/// <summary>bpf(2) commands that libbpf 1.1 (Debian bookworm) has no wrapper for, made directly.</summary>
public static unsafe partial class BpfSyscall
{
    /// <summary>enum bpf_attach_type BPF_TRACE_UPROBE_MULTI (kernel 6.6+).</summary>
    public const int TraceUprobeMulti = 48;

    private const long SysBpf = 321; // x86_64
    private const long BpfLinkCreate = 28;
    private const uint UprobeMultiReturn = 1; // BPF_F_UPROBE_MULTI_RETURN

    /// <summary>union bpf_attr's link_create, with its uprobe_multi member (include/uapi/linux/bpf.h).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 64)]
    private struct LinkCreateUprobeMulti
    {
        [FieldOffset(0)] public uint ProgFd;
        [FieldOffset(8)] public uint AttachType;
        [FieldOffset(16)] public ulong Path;
        [FieldOffset(24)] public ulong Offsets;
        [FieldOffset(32)] public ulong RefCtrOffsets;
        [FieldOffset(40)] public ulong Cookies;
        [FieldOffset(48)] public uint Count;
        [FieldOffset(52)] public uint Flags;
        [FieldOffset(56)] public uint Pid;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long command, void* attr, long size);

    /// <summary>
    /// One link putting <paramref name="progFd"/> on every offset of the ELF file at <paramref name="path"/>, with a
    /// cookie each, in process <paramref name="pid"/> only. Throws <see cref="NativeCallException"/> with the errno.
    /// </summary>
    public static SafeFileHandle AttachUprobeMulti(int progFd, string path, ReadOnlySpan<ulong> offsets, ReadOnlySpan<ulong> cookies, bool atReturn, int pid, ReadOnlySpan<ulong> refCtrOffsets = default)
    {
        if (offsets.Length == 0 || offsets.Length != cookies.Length || (refCtrOffsets.Length != 0 && refCtrOffsets.Length != offsets.Length))
        {
            throw new ArgumentException("one cookie (and none or one semaphore) per offset, at least one offset");
        }
        byte[] pathBytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        long fd;
        fixed (byte* p = pathBytes)
        fixed (ulong* o = offsets)
        fixed (ulong* c = cookies)
        fixed (ulong* r = refCtrOffsets)
        {
            var attr = new LinkCreateUprobeMulti
            {
                ProgFd = (uint)progFd,
                AttachType = TraceUprobeMulti,
                Path = (ulong)p,
                Offsets = (ulong)o,
                Cookies = (ulong)c,
                RefCtrOffsets = refCtrOffsets.Length == 0 ? 0 : (ulong)r,
                Count = (uint)offsets.Length,
                Flags = atReturn ? UprobeMultiReturn : 0,
                Pid = (uint)pid,
            };
            fd = Syscall(SysBpf, BpfLinkCreate, &attr, sizeof(LinkCreateUprobeMulti));
        }
        if (fd < 0)
        {
            throw new NativeCallException("bpf(BPF_LINK_CREATE, uprobe_multi)", Marshal.GetLastPInvokeError());
        }
        return new SafeFileHandle((IntPtr)fd, ownsHandle: true);
    }
}
