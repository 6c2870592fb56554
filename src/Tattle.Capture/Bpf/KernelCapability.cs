namespace Tattle.Capture.Bpf;

/// <summary>A kernel capability Tattle's BPF programs use, or could use; each is probed at start (<see cref="KernelFeatures"/>).</summary>
public enum KernelCapability
{
    Btf,
    RingBuffer,
    RawTracepoints,
    ProbeReadKernel,
    BpfLoop,
    TcpStateTracepoint,
    TpBtf,
    RdonlyCast,
    TaskStorage,
    Uprobes,
    AttachCookie,
    UprobeMulti,
    TaskPtRegs,
    SockLengthTracepoints,
}

/// <summary>What a capability is, the mainline release that brought it, and what Tattle loses without it.</summary>
public sealed record CapabilityInfo(KernelCapability Capability, string Name, string Since, string UsedFor, string WithoutIt);

/// <summary>The table <c>tattle doctor</c> prints and the variant choice reads.</summary>
public static class KernelCapabilities
{
    public static IReadOnlyList<CapabilityInfo> All { get; } =
    [
        new(KernelCapability.Btf, "kernel BTF (/sys/kernel/btf/vmlinux)", "5.4",
            "CO-RE: field offsets of this kernel's structs", "nothing loads (CONFIG_DEBUG_INFO_BTF=y is needed)"),
        new(KernelCapability.RingBuffer, "BPF ring buffer", "5.8",
            "every record to user space, in order, with loss counted", "nothing loads"),
        new(KernelCapability.RawTracepoints, "raw tracepoints", "4.17",
            "process fork/exec/exit, TCP state; the fallback's syscalls", "nothing loads"),
        new(KernelCapability.ProbeReadKernel, "bpf_probe_read_kernel", "5.5",
            "kernel structs (tasks, files, sockets)", "nothing loads"),
        new(KernelCapability.BpfLoop, "bpf_loop", "5.17",
            "fast path: payloads split into chunks, sockets closed at exit", "the fallback variant (bounded loops)"),
        new(KernelCapability.TcpStateTracepoint, "sock:inet_sock_set_state", "4.16",
            "connect outcomes (non-blocking connects), --packets-only sockets", "nothing loads"),
        new(KernelCapability.TpBtf, "BTF tracepoints (tp_btf)", "5.5",
            "fast path: typed registers and task, plain loads", "the fallback variant"),
        new(KernelCapability.RdonlyCast, "bpf_rdonly_cast kfunc", "6.2",
            "fast path: file and socket fields by plain loads", "the fallback variant"),
        new(KernelCapability.TaskStorage, "task storage in tracing programs", "5.11",
            "fast path: the call in flight hangs off the task", "the fallback variant (a hash keyed by thread)"),
        new(KernelCapability.Uprobes, "uprobes (perf event source)", "4.17",
            "TLS plaintext, `libs`, `probe`", "no TLS plaintext, no `probe`"),
        new(KernelCapability.AttachCookie, "bpf_get_attach_cookie", "5.15",
            "TLS and `probe`: which function a uprobe hit is", "no TLS plaintext, no `probe`"),
        new(KernelCapability.UprobeMulti, "uprobe_multi links", "6.6",
            "one link per library and process: fast TLS attach", "one perf link per function (slower attach, same records)"),
        new(KernelCapability.TaskPtRegs, "bpf_task_pt_regs", "5.15",
            "payloads from the socket layer: the syscall's fd and user buffer inside a socket tracepoint, and its arguments at its exit",
            "programs on every syscall; no --no-syscalls"),
        new(KernelCapability.SockLengthTracepoints, "sock:sock_send_length/sock_recv_length", "6.3",
            "payloads from socket sends and receives alone: syscall programs only on the calls they do not show (or none: --no-syscalls)",
            "programs on every syscall (raw sys_enter/sys_exit); no --no-syscalls"),
    ];

    public static CapabilityInfo Info(KernelCapability capability) => All.First(i => i.Capability == capability);
}
