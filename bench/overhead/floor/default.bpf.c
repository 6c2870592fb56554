// SPDX-License-Identifier: GPL-2.0
/* The floor of tattle's default attach points from 6.3, as empty programs: the socket layer's
 * sock_send_length/sock_recv_length (tp_btf) and the per-syscall tracepoints its kernel programs take
 * (tattle_syscall_tp_enter on close, tattle_syscall_tp_exit on the rest; the list of BpfTracer.CallTracepoints), with
 * TCP's state changes and the process events. What the kernel charges a traced server for reaching a program at
 * these points, before the program does anything. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tp_btf/sock_send_length") int send_length(void *ctx) { return 0; }
SEC("tp_btf/sock_recv_length") int recv_length(void *ctx) { return 0; }
SEC("tp_btf/inet_sock_set_state") int tcp_state(void *ctx) { return 0; }
SEC("raw_tp/sched_process_fork") int proc_fork(void *ctx) { return 0; }
SEC("raw_tp/sched_process_exec") int proc_exec(void *ctx) { return 0; }
SEC("raw_tp/sched_process_exit") int proc_exit(void *ctx) { return 0; }
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

char LICENSE[] SEC("license") = "GPL";
