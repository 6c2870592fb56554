/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few kernel types Tattle's BPF programs read, written by hand.
 *
 * Every struct is marked preserve_access_index, so clang records each field access as a CO-RE relocation and
 * libbpf rewrites offsets against the running kernel's BTF at load time: only the fields named here must exist,
 * in any order and at any offset. Nested anonymous structs and unions of the real kernel types are flattened
 * here; libbpf's member matching looks through anonymous members. This replaces a 3 MB generated vmlinux.h
 * (scripts/gen-vmlinux.sh regenerates one for debugging).
 */
#ifndef TATTLE_TYPES_H
#define TATTLE_TYPES_H

/* bpf_tracing.h expects the user-space pt_regs names unless it believes vmlinux.h was included. */
#define __VMLINUX_H__

typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef _Bool bool;
#define true 1
#define false 0

/* uapi/linux/bpf.h: the map types, flags and ring buffer constants used here. */
enum bpf_map_type {
    BPF_MAP_TYPE_HASH = 1,
    BPF_MAP_TYPE_ARRAY = 2,
    BPF_MAP_TYPE_PERCPU_ARRAY = 6,
    BPF_MAP_TYPE_LRU_HASH = 9,
    BPF_MAP_TYPE_RINGBUF = 27,
    BPF_MAP_TYPE_TASK_STORAGE = 29,
};
enum { BPF_ANY = 0, BPF_NOEXIST = 1, BPF_EXIST = 2 };
enum { BPF_RB_NO_WAKEUP = 1, BPF_RB_FORCE_WAKEUP = 2 };
enum { BPF_RB_AVAIL_DATA = 0 };
enum { BPF_F_NO_PREALLOC = 1 };
enum { BPF_LOCAL_STORAGE_GET_F_CREATE = 1 };

struct bpf_raw_tracepoint_args {
    __u64 args[0];
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct pt_regs {
    unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};

typedef struct { int counter; } atomic_t;

struct signal_struct {
    atomic_t live;
};

struct mm_struct {
    unsigned long arg_start;
    unsigned long arg_end;
};

struct super_block {
    unsigned int s_dev; /* dev_t: MKDEV(major, minor) = major << 20 | minor */
};

struct inode {
    unsigned short i_mode;
    unsigned long i_ino;
    struct super_block *i_sb;
};

struct file {
    struct inode *f_inode;
    void *private_data;
};

struct fdtable {
    unsigned int max_fds;
    struct file **fd;
    unsigned long *open_fds;
};

struct files_struct {
    atomic_t count;
    struct fdtable *fdt;
};

struct task_struct {
    int pid;
    int tgid;
    int exit_code;
    unsigned long long start_boottime;
    char comm[16];
    struct task_struct *real_parent;
    struct mm_struct *mm;
    struct files_struct *files;
    struct signal_struct *signal;
};

struct in6_addr {
    __u8 in6_u[16];
};

typedef struct {
    struct net *net;
} possible_net_t;

struct sock_common {
    possible_net_t skc_net; /* net is absent without CONFIG_NET_NS: checked with bpf_core_field_exists */
    __be32 skc_daddr;
    __be32 skc_rcv_saddr;
    __be16 skc_dport;
    __u16 skc_num;
    unsigned short skc_family;
    volatile unsigned char skc_state;
    struct in6_addr skc_v6_daddr;
    struct in6_addr skc_v6_rcv_saddr;
    unsigned long skc_flags; /* 6.x: sock's flags moved here (sk_flags is a #define for it) */
};

struct sock {
    struct sock_common __sk_common;
    int sk_err;
    __u16 sk_protocol;
    __u16 sk_type;
    unsigned long sk_flags; /* older kernels */
    struct socket *sk_socket;
};

/* TCP's own byte counters (RFC 4898 tcpEStatsAppHCThruOctetsAcked/Received), for sockets whose syscalls are not
 * traced (--packets-only). */
struct tcp_sock {
    __u64 bytes_received;
    __u64 bytes_acked;
    __u32 snd_una;
    __u32 write_seq;
} __attribute__((preserve_access_index));

struct socket {
    short type;
    struct sock *sk;
};

struct sockaddr_un {
    unsigned short sun_family;
    char sun_path[108];
};

struct unix_address {
    int len;
    struct sockaddr_un name[0];
};

struct unix_sock {
    struct unix_address *addr;
    struct sock *peer;
};

struct linux_binprm {
    struct file *file;
    const char *filename;
};

#pragma clang attribute pop

/* User-space ABI structs (not kernel-internal, so no CO-RE needed). */
struct iovec {
    void *iov_base;
    unsigned long iov_len;
};

struct user_msghdr {
    void *msg_name;
    int msg_namelen;
    struct iovec *msg_iov;
    unsigned long msg_iovlen;
    void *msg_control;
    unsigned long msg_controllen;
    unsigned int msg_flags;
};

struct mmsghdr {
    struct user_msghdr msg_hdr;
    unsigned int msg_len;
};

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000

#endif
