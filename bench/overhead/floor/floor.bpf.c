// SPDX-License-Identifier: GPL-2.0
/* The floor of any syscall tracer on a kernel without kprobes or fentry: programs on raw_tp sys_enter and
 * sys_exit that do nothing. Attaching them switches every task to the kernel's slow syscall path and runs a
 * BPF program twice per syscall; whatever a real tracer does inside comes on top. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("raw_tp/sys_enter")
int floor_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
    return 0;
}

SEC("raw_tp/sys_exit")
int floor_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
