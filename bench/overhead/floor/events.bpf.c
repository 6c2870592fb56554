// SPDX-License-Identifier: GPL-2.0
/* The floor of a tracer that keeps only the per-syscall tracepoints (syscalls:sys_enter_X/sys_exit_X) of the calls
 * the socket layer does not show: connect, bind, close, accept and the multi-message calls, as empty programs.
 * Registering any of them still sets every task's syscall-tracepoint flag (the kernel's slow syscall path), but
 * the programs run only for these calls; every other syscall stops at a bitmap test. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define EMPTY(call)                                                                                                   \
    SEC("tracepoint/syscalls/sys_enter_" #call) int enter_##call(void *ctx) { return 0; }                          \
    SEC("tracepoint/syscalls/sys_exit_" #call) int exit_##call(void *ctx) { return 0; }

EMPTY(connect)
EMPTY(bind)
EMPTY(close)
EMPTY(accept4)
EMPTY(accept)
EMPTY(sendmmsg)
EMPTY(recvmmsg)

char LICENSE[] SEC("license") = "GPL";
