// SPDX-License-Identifier: GPL-2.0
/*
 * Tiny programs that probe one kernel capability each: user space loads them one at a time (autoload off for the
 * rest) and a load that the kernel refuses means the capability is missing (src/Tattle.Capture/Bpf/KernelFeatures.cs).
 * Capabilities a helper probe or the kernel's BTF can answer are not here. Never attached.
 */
#include "tattle_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct {
    __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, __u64);
} probe_storage SEC(".maps");

/* BTF-typed tracepoints (5.5) with plain loads through their typed arguments. */
SEC("tp_btf/sys_enter")
int BPF_PROG(probe_tp_btf, struct pt_regs *regs, long nr)
{
    return regs->orig_ax == nr;
}

/* Task-local storage in tracing programs (5.11), and the typed current task. */
SEC("tp_btf/sys_enter")
int BPF_PROG(probe_task_storage, struct pt_regs *regs, long nr)
{
    __u64 *v = bpf_task_storage_get(&probe_storage, bpf_get_current_task_btf(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (v)
        *v = nr;
    return 0;
}

/* The syscall's user registers of any task (5.15). */
SEC("tp_btf/sys_enter")
int BPF_PROG(probe_task_pt_regs, struct pt_regs *regs, long nr)
{
    struct pt_regs *user = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
    return user ? 1 : 0;
}

/* Socket send and receive tracepoints (6.3): loading resolves the tracepoint's BTF. */
SEC("tp_btf/sock_send_length")
int BPF_PROG(probe_sock_length, void *sock, int ret, int flags)
{
    return ret;
}

/* A uprobe program: loaded with the uprobe_multi attach type (6.6) by user space to probe that link type. */
SEC("uprobe")
int probe_uprobe(struct pt_regs *ctx)
{
    return 0;
}
