// SPDX-License-Identifier: GPL-2.0
/* The floor of tattle's default attach points from 6.3, as empty programs: the socket layer's
 * sock_send_length/sock_recv_length (tp_btf) and the per-syscall tracepoints its kernel programs take
 * (tattle_syscall_tp_enter on close, tattle_syscall_tp_exit on the rest; the list of BpfTracer.CallTracepoints), with
 * TCP's state changes and the process events. What the kernel charges a traced server for reaching a program at
 * these points, before the program does anything. */
#include "nosys.bpf.c" /* the socket layer, TCP states and process events: --no-syscalls's points */

SEC("tracepoint/syscalls/sys_enter_close") int enter_close(void *ctx) { return 0; }

#define EXIT(call) \
    SEC("tracepoint/syscalls/sys_exit_" #call) int exit_##call(void *ctx) { return 0; }

EXIT(socket)
EXIT(connect)
EXIT(accept)
EXIT(accept4)
EXIT(bind)
EXIT(listen)
EXIT(shutdown)
EXIT(io_uring_setup)
EXIT(sendmmsg)
EXIT(recvmmsg)
EXIT(recvfrom)
EXIT(recvmsg)
