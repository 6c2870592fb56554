// SPDX-License-Identifier: GPL-2.0
/* The floor of tattle's --no-syscalls attach points, as empty programs: the socket layer's
 * sock_send_length/sock_recv_length (tp_btf), TCP's state changes and the process events (BpfTracer's AttachOrder
 * without the syscall programs). What the kernel charges a traced server for reaching a program at these points,
 * before the program does anything. default.bpf.c adds the per-call syscall tracepoints of the default trace. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tp_btf/sock_send_length") int send_length(void *ctx) { return 0; }
SEC("tp_btf/sock_recv_length") int recv_length(void *ctx) { return 0; }
SEC("tp_btf/inet_sock_set_state") int tcp_state(void *ctx) { return 0; }
SEC("raw_tp/sched_process_fork") int proc_fork(void *ctx) { return 0; }
SEC("raw_tp/sched_process_exec") int proc_exec(void *ctx) { return 0; }
SEC("raw_tp/sched_process_exit") int proc_exit(void *ctx) { return 0; }

char LICENSE[] SEC("license") = "GPL";
