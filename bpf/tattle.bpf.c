// SPDX-License-Identifier: GPL-2.0
/*
 * Tattle's kernel side: process lifecycle, socket lifecycle and socket payloads of the traced processes.
 *
 * Two raw tracepoints on sys_enter/sys_exit dispatch by syscall number (raw_tp links attach and close in
 * milliseconds; one tracepoint link per syscall takes 25-140 ms each to close). The filter is a hash of traced
 * TGIDs: children are added at fork, processes removed when their last thread exits. sys_enter stashes the
 * arguments of a traced call per thread; sys_exit emits a record from them and the result.
 *
 * x86_64 only: the syscall numbers and pt_regs names below are that ABI's.
 */
#include "tattle_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "tattle.h"

#ifndef __TARGET_ARCH_x86
#error "tattle.bpf.c knows only the x86_64 syscall ABI"
#endif

char LICENSE[] SEC("license") = "GPL";

/* The only .rodata variable: user space writes it through the map's initial value before load. */
const volatile struct tattle_config cfg = {};

#define NR_read 0
#define NR_write 1
#define NR_close 3
#define NR_readv 19
#define NR_writev 20
#define NR_sendfile 40
#define NR_socket 41
#define NR_connect 42
#define NR_accept 43
#define NR_sendto 44
#define NR_recvfrom 45
#define NR_sendmsg 46
#define NR_recvmsg 47
#define NR_shutdown 48
#define NR_bind 49
#define NR_listen 50
#define NR_splice 275
#define NR_accept4 288
#define NR_recvmmsg 299
#define NR_sendmmsg 307
#define NR_io_uring_setup 425

#define DIR_SEND 0
#define DIR_RECV 1
#define SOCK_STREAM 1
#define IPPROTO_TCP 6
#define MSG_PEEK 2
#define TCP_ESTABLISHED 1
#define TCP_CLOSE 7
#define TCP_SYN_SENT 2
#define TCP_SYN_RECV 3
#define TCP_FIN_WAIT1 4
#define TCP_FIN_WAIT2 5
#define TCP_LAST_ACK 9
#define TCP_CLOSING 11
#define TCP_LISTEN 10
#define SOCK_DONE 1 /* enum sock_flags: the peer's FIN came */

/* Bound on one call's work: messages + iovecs + chunks. What is left over is counted as unread. */
#define EMIT_LOOP_MAX 4096
#define IOV_MAX 1024

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 32 << 20); /* user space resizes it before load */
} events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 64 << 10);
} spawns SEC(".maps");

/* TGID -> TATTLE_TRACE_* for every traced process; a child inherits its parent's value. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65536);
    __type(key, __u32);
    __type(value, __u32);
} traced SEC(".maps");

/* Processes that start being traced when they exec (attach --comm, the agent's targets): by name, executable
 * inode, real uid or cgroup id, or every one (match_all[0] != 0); the value is the traced map's. User space
 * refines the choice (a target's combination of fields, a cgroup made after its last scan) and changes these maps
 * while tracing. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, char[TATTLE_COMM_LEN]);
    __type(value, __u32);
} match_comm SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, struct tattle_exe_key);
    __type(value, __u32);
} match_exe SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, __u32);
    __type(value, __u32);
} match_uid SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8192);
    __type(key, __u64);
    __type(value, __u32);
} match_cgroup SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} match_all SEC(".maps");

/* A traced syscall in flight, per thread. */
struct call_args {
    __u64 arg[6];
    __u64 sk;
    __u32 nr;
    __s32 fd;
    __u16 family;
    __u16 sock_type;
    __u16 live; /* set at entry, cleared at exit: the slot outlives the call */
    __u16 count_only; /* from_exit_regs: the process's payload is counted, not copied (TATTLE_TRACE_NO_PAYLOAD) */
    __u16 no_peer;    /* a receive seen by sock_recv_length: its sender is not in the caller's memory yet */
    __u16 _pad[3];
};

#ifndef TATTLE_FALLBACK
/* Task-local storage rather than a hash keyed by thread: the slot hangs off the task, so entry and exit find it
 * without hashing or bucket locks (an update, a lookup and a delete per payload syscall before). */
struct {
    __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, struct call_args);
} calls SEC(".maps");
#else
/* Task storage in tracing programs needs 5.11: the fallback keys the call by thread. LRU, because a thread killed
 * inside a call never reaches its exit and would hold its entry for ever. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 32768);
    __type(key, __u64);
    __type(value, struct call_args);
} calls SEC(".maps");
#endif

/* Per socket: byte positions of each direction, and who owns it (for state changes seen in softirq). */
struct sk_info {
    __u64 pos[2];
    __u32 tgid;
    __s32 fd;
    __u32 tls; /* its plaintext comes through the TLS probes: the ciphertext is counted, not emitted */
    __u32 gen; /* random per socket: a new socket often gets a freed one's address, this tells them apart */
    __u32 whole; /* seen from its creation (socket, accept): TCP's own counters are its counts too */
    __u32 http;  /* --stats-in-kernel: HTTP_UNDECIDED, HTTP_IN_KERNEL or HTTP_IN_USER */
    __u32 active_open; /* seen at SYN_SENT: its SYN is in TCP's bytes_acked (a passive child starts past it) */
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, TATTLE_SOCKS_MAX);
    __type(key, __u64);
    __type(value, struct sk_info);
} socks SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, TATTLE_STAT_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} stats SEC(".maps");

struct data_scratch {
    struct tattle_data_event e;
    __u8 data[TATTLE_CHUNK_MAX];
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct data_scratch);
} data_buf SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct tattle_sock_event);
} sock_buf SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct tattle_proc_event);
} proc_buf SEC(".maps");

/* Clamps var to max in the register the next instruction uses. A C comparison is not enough: clang 14 may keep
 * an unclamped copy and pass that to the helper, and the verifier rejects it ("R2 unbounded memory access"). */
#define CLAMP(var, max) asm volatile("if %0 <= %1 goto +1\n\t%0 = %1" : "+r"(var) : "i"(max))

static __always_inline void stat_add(__u32 idx, __u64 v)
{
    __u64 *c = bpf_map_lookup_elem(&stats, &idx);
    if (c)
        *c += v;
}

static __always_inline __u32 *trace_flags(__u32 tgid)
{
    return tgid == cfg.self_tgid ? 0 : bpf_map_lookup_elem(&traced, &tgid);
}

static __always_inline bool is_traced(__u32 tgid)
{
    return trace_flags(tgid) != 0;
}

/* Payload calls of this process only advance the byte counts: --no-payload, or a target traced for its
 * connections alone. */
static __always_inline bool counts_only(const __u32 *flags)
{
    return (cfg.flags & TATTLE_CFG_NO_STREAM_PAYLOAD) || (*flags & TATTLE_TRACE_NO_PAYLOAD);
}

/* Bytes this CPU has written to the ring since it last woke the consumer. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} wake_acc SEC(".maps");

/* Batch wake-ups: a wake-up per record costs the consumer ~15x the CPU. Each CPU wakes the consumer once per
 * cfg.wakeup_bytes it wrote; below that the consumer finds the data on its next poll (every few ms). Counting per
 * CPU, not asking the ring how much it holds (bpf_ringbuf_query), spares every record a read of the consumer's
 * position, a cache line the consumer's CPU writes. A consumer going idle fills every CPU's count (wake_acc) so that
 * the next record wakes it: no test of its own here, which would cost every record a branch and the verifier a
 * path at each of the many places this is inlined. */
static __always_inline int output_flags(void *rec, __u64 size, bool data, __u64 flags)
{
    __u32 zero = 0;
    __u64 *acc = bpf_map_lookup_elem(&wake_acc, &zero);
    __u64 pending = acc ? *acc + size + 8 : 0; /* 8: the ring's own header */
    if (pending >= cfg.wakeup_bytes)
        flags = BPF_RB_FORCE_WAKEUP;
    if (bpf_ringbuf_output(&events, rec, size, flags)) {
        stat_add(data ? TATTLE_STAT_DATA_DROPPED : TATTLE_STAT_OTHER_DROPPED, 1);
        return -1;
    }
    if (acc)
        *acc = flags == BPF_RB_FORCE_WAKEUP ? 0 : pending;
    stat_add(data ? TATTLE_STAT_DATA_EMITTED : TATTLE_STAT_OTHER_EMITTED, 1);
    return 0;
}

static __always_inline int output(void *rec, __u64 size, bool data)
{
    return output_flags(rec, size, data, BPF_RB_NO_WAKEUP);
}

/* fork and exec: with TLS probes, user space attaches them to the new process, racing its first TLS call. */
static __always_inline int output_process(void *rec, __u64 size)
{
    return output_flags(rec, size, false, (cfg.flags & TATTLE_CFG_TLS) ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

static __always_inline void fill_hdr(struct tattle_hdr *h, __u32 type)
{
    __u64 id = bpf_get_current_pid_tgid();
    h->ts_ns = bpf_ktime_get_ns();
    h->type = type;
    h->tgid = id >> 32;
    h->tid = (__u32)id;
    h->cpu = bpf_get_smp_processor_id();
}

/* ---------------------------------------------------------------------------------------------------------
 * Two variants of one text, chosen at load by what the kernel has (src/Tattle.Capture/Bpf/KernelFeatures.cs):
 * - the fast path (6.2+): tp_btf programs whose registers, task and sockets are typed pointers read with plain
 *   loads (bpf_rdonly_cast, 6.2) and calls in flight in task-local storage;
 * - the fallback (TATTLE_FALLBACK, for 5.8-6.1): raw tracepoints, every kernel field read with
 *   bpf_probe_read_kernel (BPF_CORE_READ), calls in flight in a hash keyed by thread, bounded loops over global
 *   functions instead of bpf_loop (5.17). Its uprobe programs need attach cookies (5.15): user space leaves them
 *   out where the kernel has none.
 * KFIELD reads one field of a kernel pointer the way the variant can.
 */
#ifndef TATTLE_FALLBACK
/* Marks a kernel address as a pointer to type, so fields are read with plain loads (which the kernel guards with
 * its exception table) instead of a bpf_probe_read_kernel call each: the verifier turns the kfunc into a move. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#define KERNEL_PTR(type, p) ((type *)bpf_rdonly_cast((const void *)(p), bpf_core_type_id_kernel(type)))
#define KFIELD(p, field) ((p)->field)
#else
#define KFIELD(p, field) BPF_CORE_READ(p, field)
#endif

#ifndef TATTLE_FALLBACK
/* A byte position taken and advanced in one step: threads of one process sending on one socket at once each get
 * their own range. */
#define POS_ADVANCE(p, n) __sync_fetch_and_add((p), (n))
#else
/* Atomic fetch-and-add is 5.12 (before it the kernel refuses the instruction: "BPF_STX uses reserved fields"). The
 * fallback reads, then adds atomically: two threads sending on one socket in the same instant may be given the same
 * position, an order the kernel itself does not define either; the counts stay exact. */
static __always_inline __u64 pos_advance(__u64 *p, __u64 n)
{
    __u64 old = *(volatile __u64 *)p;
    __sync_fetch_and_add(p, n);
    return old;
}
#define POS_ADVANCE(p, n) pos_advance((p), (n))
#endif

/* The struct socket behind fd in the current process, or NULL when fd is not a socket. Runs on every payload
 * syscall of a traced process: one helper call (the slot of the fd array) and plain loads for the rest. */
static __always_inline struct socket *fd_socket(int fd)
{
#ifndef TATTLE_FALLBACK
    struct task_struct *task = bpf_get_current_task_btf();
    struct fdtable *fdt = task->files->fdt;
    if (!fdt || fd < 0 || (unsigned int)fd >= fdt->max_fds)
        return 0;
    struct file **fds = fdt->fd;
#else
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
    if (!fdt || fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
        return 0;
    struct file **fds = BPF_CORE_READ(fdt, fd);
#endif
    struct file *slot = 0;
    if (bpf_probe_read_kernel(&slot, sizeof(slot), &fds[fd]) || !slot)
        return 0;
#ifndef TATTLE_FALLBACK
    struct file *f = KERNEL_PTR(struct file, slot);
    if ((f->f_inode->i_mode & S_IFMT) != S_IFSOCK)
        return 0;
    return KERNEL_PTR(struct socket, f->private_data);
#else
    if ((BPF_CORE_READ(slot, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
        return 0;
    return BPF_CORE_READ(slot, private_data);
#endif
}

/* The thread's call in flight: stored at sys_enter, taken (and so cleared) at sys_exit. */
static __always_inline bool call_store(const struct call_args *c)
{
#ifndef TATTLE_FALLBACK
    struct call_args *slot = bpf_task_storage_get(&calls, bpf_get_current_task_btf(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (!slot)
        return false;
    *slot = *c;
    return true;
#else
    __u64 id = bpf_get_current_pid_tgid();
    return bpf_map_update_elem(&calls, &id, c, BPF_ANY) == 0;
#endif
}

static __always_inline bool call_take(struct call_args *c)
{
#ifndef TATTLE_FALLBACK
    struct call_args *p = bpf_task_storage_get(&calls, bpf_get_current_task_btf(), 0, 0);
    if (!p || !p->live)
        return false;
    *c = *p;
    p->live = 0;
    return true;
#else
    __u64 id = bpf_get_current_pid_tgid();
    struct call_args *p = bpf_map_lookup_elem(&calls, &id);
    if (!p)
        return false;
    *c = *p;
    bpf_map_delete_elem(&calls, &id);
    return c->live;
#endif
}

static __always_inline struct sk_info *sk_info_get(__u64 sk, __u32 tgid, int fd, bool reset)
{
    struct sk_info *info = bpf_map_lookup_elem(&socks, &sk);
    if (info && !reset) {
        if (!info->tgid) {
            info->tgid = tgid;
            info->fd = fd;
        }
        return info;
    }
    struct sk_info fresh = { .tgid = tgid, .fd = fd, .gen = bpf_get_prandom_u32(), .whole = reset };
    /* A socket first met by two threads at once: the later insert must not restart the positions (and change
     * the generation) the earlier one's payload already used. Only a socket's creation starts afresh. */
    if (bpf_map_update_elem(&socks, &sk, &fresh, reset ? BPF_ANY : BPF_NOEXIST) == 0 && !info)
        stat_add(TATTLE_STAT_SOCKS_NEW, 1);
    return bpf_map_lookup_elem(&socks, &sk);
}

static __always_inline __u64 clamp_path(int len)
{
    __u64 n = len < 0 ? 0 : (__u64)len;
    CLAMP(n, TATTLE_PATH_LEN);
    return n;
}

static __always_inline __u16 read_unix_path(struct sock *sk, char *dst)
{
    struct unix_address *ua = BPF_CORE_READ((struct unix_sock *)sk, addr);
    if (!ua)
        return 0;
    /* len counts sun_family too; the name is not NUL-terminated (abstract names start with NUL). */
    __u64 n = clamp_path(BPF_CORE_READ(ua, len) - (int)sizeof(unsigned short));
    if (n && bpf_probe_read_kernel(dst, n, &ua->name[0].sun_path))
        return 0;
    return n;
}

/* A TCP or UDP socket's two ends (ports in host order). */
static __always_inline void fill_inet_addrs(struct tattle_addr *local, struct tattle_addr *remote, struct sock *sk, __u16 family)
{
    local->family = family;
    remote->family = family;
    local->port = BPF_CORE_READ(sk, __sk_common.skc_num);
    remote->port = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
    if (family == AF_INET) {
        BPF_CORE_READ_INTO((__u32 *)local->addr, sk, __sk_common.skc_rcv_saddr);
        BPF_CORE_READ_INTO((__u32 *)remote->addr, sk, __sk_common.skc_daddr);
    } else {
        bpf_core_read(local->addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
        bpf_core_read(remote->addr, 16, &sk->__sk_common.skc_v6_daddr);
    }
}

/* Addresses, family, type and state from the kernel's socket. */
static __always_inline void fill_from_socket(struct tattle_sock_event *e, struct socket *so)
{
    struct sock *sk = BPF_CORE_READ(so, sk);
    e->sk = (__u64)sk;
    e->type = BPF_CORE_READ(so, type);
    if (!sk)
        return;
    __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
    e->family = family;
    e->protocol = BPF_CORE_READ(sk, sk_protocol);
    e->state = BPF_CORE_READ(sk, __sk_common.skc_state);
    if (family == AF_INET || family == AF_INET6) {
        fill_inet_addrs(&e->local, &e->remote, sk, family);
    } else if (family == AF_UNIX) {
        e->local.family = AF_UNIX;
        e->remote.family = AF_UNIX;
        e->local_path_len = read_unix_path(sk, e->local_path);
        struct sock *peer = BPF_CORE_READ((struct unix_sock *)sk, peer);
        if (peer)
            e->remote_path_len = read_unix_path(peer, e->remote_path);
    }
}

/* A sockaddr the process passed in (connect, bind, sendto...). */
static __always_inline void read_user_sockaddr(__u64 uptr, __u32 ulen, struct tattle_addr *a, char *path,
                                               __u16 *path_len)
{
    if (!uptr || ulen < 2)
        return;
    __u16 family = 0;
    if (bpf_probe_read_user(&family, sizeof(family), (void *)uptr))
        return;
    a->family = family;
    if (family == AF_INET && ulen >= 8) {
        __u16 port = 0;
        bpf_probe_read_user(&port, 2, (void *)(uptr + 2));
        a->port = __builtin_bswap16(port);
        bpf_probe_read_user(a->addr, 4, (void *)(uptr + 4));
    } else if (family == AF_INET6 && ulen >= 24) {
        __u16 port = 0;
        bpf_probe_read_user(&port, 2, (void *)(uptr + 2));
        a->port = __builtin_bswap16(port);
        bpf_probe_read_user(a->addr, 16, (void *)(uptr + 8));
    } else if (family == AF_UNIX && path) {
        __u64 n = clamp_path((int)ulen - 2);
        if (n && !bpf_probe_read_user(path, n, (void *)(uptr + 2)))
            *path_len = n;
    }
}

static __always_inline struct tattle_sock_event *sock_event(__u32 type)
{
    __u32 zero = 0;
    struct tattle_sock_event *e = bpf_map_lookup_elem(&sock_buf, &zero);
    if (!e)
        return 0;
    __builtin_memset(e, 0, sizeof(*e));
    fill_hdr(&e->h, type);
    return e;
}

/* ---------------------------------------------------------------------------------------------------------
 * Process lifecycle
 */

static __always_inline struct tattle_proc_event *proc_event(__u32 type, struct task_struct *task)
{
    __u32 zero = 0;
    struct tattle_proc_event *e = bpf_map_lookup_elem(&proc_buf, &zero);
    if (!e)
        return 0;
    fill_hdr(&e->h, type);
    e->h.tgid = BPF_CORE_READ(task, tgid);
    e->h.tid = BPF_CORE_READ(task, pid);
    e->ppid = BPF_CORE_READ(task, real_parent, tgid);
    e->exit_code = 0;
    e->start_boottime = BPF_CORE_READ(task, start_boottime);
    BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
    e->filename_len = 0;
    e->args_len = 0;
    return e;
}

/* The default wake-up: the reader sleeps whenever it has caught up, so each record wakes it at once. A record the
 * full ring refuses loses nothing: the events ring carries the same fork or exec, and its consumer probes the
 * process too, later. */
static __always_inline void output_spawn(__u32 type, __u32 pid, __u32 ppid)
{
    if (!(cfg.flags & TATTLE_CFG_SPAWNS))
        return;
    struct tattle_spawn s = { .type = type, .pid = pid, .ppid = ppid };
    bpf_ringbuf_output(&spawns, &s, sizeof(s), 0);
}

SEC("raw_tp/sched_process_fork")
int tattle_fork(struct bpf_raw_tracepoint_args *ctx)
{
    struct task_struct *parent = (void *)ctx->args[0];
    struct task_struct *child = (void *)ctx->args[1];
    __u32 ptgid = BPF_CORE_READ(parent, tgid);
    __u32 *pflags = trace_flags(ptgid);
    if (!pflags)
        return 0;
    __u32 ctgid = BPF_CORE_READ(child, tgid);
    if (BPF_CORE_READ(child, pid) != ctgid)
        return 0; /* a new thread: traced through its TGID already */
    __u32 flags = *pflags;
    if (bpf_map_update_elem(&traced, &ctgid, &flags, BPF_ANY)) {
        stat_add(TATTLE_STAT_TRACED_FULL, 1);
        return 0;
    }
    output_spawn(TATTLE_EV_FORK, ctgid, ptgid);
    struct tattle_proc_event *e = proc_event(TATTLE_EV_FORK, child);
    if (!e)
        return 0;
    e->ppid = ptgid;
    output_process(e, __builtin_offsetof(struct tattle_proc_event, filename));
    return 0;
}

/* The traced value for a process that execs untraced, from the match maps; 0 when none matches. */
static __always_inline __u32 exec_match(struct task_struct *task, struct linux_binprm *bprm)
{
    char comm[TATTLE_COMM_LEN] = {};
    BPF_CORE_READ_STR_INTO(&comm, task, comm);
    __u32 *v = bpf_map_lookup_elem(&match_comm, &comm);
    if (v)
        return *v;
    struct inode *inode = BPF_CORE_READ(bprm, file, f_inode);
    struct tattle_exe_key exe = { .ino = BPF_CORE_READ(inode, i_ino), .dev = BPF_CORE_READ(inode, i_sb, s_dev) };
    v = bpf_map_lookup_elem(&match_exe, &exe);
    if (v)
        return *v;
    __u32 uid = (__u32)bpf_get_current_uid_gid();
    v = bpf_map_lookup_elem(&match_uid, &uid);
    if (v)
        return *v;
    __u64 cgroup = bpf_get_current_cgroup_id();
    v = bpf_map_lookup_elem(&match_cgroup, &cgroup);
    if (v)
        return *v;
    __u32 zero = 0;
    v = bpf_map_lookup_elem(&match_all, &zero);
    return v ? *v : 0;
}

SEC("raw_tp/sched_process_exec")
int tattle_exec(struct bpf_raw_tracepoint_args *ctx)
{
    struct task_struct *task = (void *)ctx->args[0];
    struct linux_binprm *bprm = (void *)ctx->args[2];
    __u32 tgid = BPF_CORE_READ(task, tgid);
    if (!is_traced(tgid)) {
        if (tgid == cfg.self_tgid)
            return 0;
        __u32 flags = exec_match(task, bprm);
        if (!flags)
            return 0;
        if (bpf_map_update_elem(&traced, &tgid, &flags, BPF_ANY)) {
            stat_add(TATTLE_STAT_TRACED_FULL, 1);
            return 0;
        }
    }
    output_spawn(TATTLE_EV_EXEC, tgid, 0);
    struct tattle_proc_event *e = proc_event(TATTLE_EV_EXEC, task);
    if (!e)
        return 0;
    long n = bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
    e->filename_len = n > 0 ? n - 1 : 0;
    unsigned long start = BPF_CORE_READ(task, mm, arg_start);
    unsigned long end = BPF_CORE_READ(task, mm, arg_end);
    __u64 len = end > start ? end - start : 0;
    CLAMP(len, TATTLE_ARGS_LEN);
    if (len && !bpf_probe_read_user(e->args, len, (void *)start))
        e->args_len = len;
    output_process(e, sizeof(*e));
    return 0;
}

/* ---------------------------------------------------------------------------------------------------------
 * Payloads: one state machine walks messages (sendmmsg/recvmmsg), their iovecs and chunks of at most
 * TATTLE_CHUNK_MAX bytes, one step per bpf_loop iteration, so every call shape shares one bounded loop.
 */

/* A TLS library call in flight, per thread (pid_tgid): what the entry probe saw, and the socket a payload
 * syscall made inside the call revealed. */
struct tls_call {
    __u64 session;
    __u64 buf;
    __u64 len_ptr; /* _ex calls: where the library writes the byte count */
    __u64 sk;
    __s32 fd;
    __u32 kind;    /* TATTLE_TLS_* (the attach cookie) */
    __u64 noted_sk; /* Go: the socket a syscall inside the call used, checked against sk from the struct walk */
    __s32 noted_fd;
    __u32 pending; /* a write read at entry whose socket was not known: emitted at the thread's next stream send */
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, struct tls_call);
} tls_calls SEC(".maps");

/* How many entries tls_calls holds (an entry a lost uretprobe leaves behind keeps it above zero, which only costs
 * the lookups it saves): while none, a socket payload, two a request, pays no hash lookup for a TLS call that is
 * not there. */
__u64 tls_calls_live = 0;

/* Per TLS session object of a process: its socket, once known, and the plaintext positions. */
struct tls_key {
    __u32 tgid;
    __u32 _pad;
    __u64 session;
};

struct tls_conn {
    __u64 sk;
    __u64 pos[2];
    __s32 fd;
    __u32 gen; /* the socket's sk_info.gen when bound: the same address may be another socket later */
    __u64 wbuf, wend; /* the last write read at entry: [wbuf, wend) of the program's memory */
    __u64 whead;      /* its first 8 bytes (a memory BIO's program retries from a copy: node) */
    __u32 wsent;      /* whether a send on the socket, or plaintext read, came since (the same write is then new) */
    __u32 wlen;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, TATTLE_TLS_CONNS_MAX);
    __type(key, struct tls_key);
    __type(value, struct tls_conn);
} tls_conns SEC(".maps");

/* See struct tattle_body_skip. LRU: an entry user space did not remove (its socket closed) is evicted when needed. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, TATTLE_BODY_SKIPS_MAX);
    __type(key, __u64);
    __type(value, struct tattle_body_skip);
} body_skips SEC(".maps");

/* How many entries user space keeps in body_skips: while none, the direct path (a small call, the common case)
 * pays no hash lookup for them. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} body_skips_live SEC(".maps");

struct emit_state {
    __u64 msgs;     /* user pointer to struct mmsghdr[] (mmsg calls) */
    __u64 msghdr;   /* user pointer to struct user_msghdr (sendmsg/recvmsg) */
    __u64 buf;      /* plain buffer calls */
    __u64 call_iov; /* readv/writev: the call's struct iovec[] (start_message resets iov per message) */
    __u64 call_iov_cnt;
    __u64 iov;      /* user pointer to struct iovec[] of the current message (0: plain buffer) */
    __u64 iov_cnt;
    __u64 iov_idx;
    __u64 seg_ptr;
    __u64 seg_left;
    __u64 name;     /* user pointer to the message's sockaddr */
    __u64 sk;
    __u64 pos;
    __s64 ret;
    __u32 name_len;
    __u32 msg_cnt;
    __u32 msg_idx;
    __u32 msg_len;
    __u32 left;     /* payload bytes still to capture in this message */
    __u32 off;      /* the message offset of the next byte to capture */
    __u32 fill;     /* bytes gathered in data_buf for the next chunk, which ends at off */
    __u8 gathers;   /* the message is small enough for its segments to share one chunk */
    __u32 emitted;
    __u32 skip;     /* bytes at the message's start in a body user space only counts (body_skips): not read */
    __u8 wake;      /* the message's first record wakes user space (struct tattle_body_skip's wake) */
    __u32 gen;      /* the socket's generation */
    __s32 fd;
    __u16 dir;
    __u16 flags;
    __u16 syscall;
    __u16 family;
    __u16 sock_type;
    __u8 open;
    __u8 is_mmsg;
    __u8 tls;        /* plaintext of a TLS call: positions are the TLS session's, not the socket's */
    __u8 no_peer;    /* the call's sockaddr is not written yet (struct call_args' no_peer): none is read */
    __u64 tls_session;
};

/* The loop's state lives in a per-CPU map value, not on the stack: values the verifier knows exactly would make
 * it simulate every bpf_loop iteration separately (and give up); map contents are opaque, so states converge. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct emit_state);
} emit_buf SEC(".maps");

/* Sends the chunk gathered in data_buf: s->fill bytes ending at message offset s->off (none for a record of sizes,
 * an end of stream or unread bytes). The segments of a small message (writev's head and body) share a chunk, so
 * it is one record however many iovecs it came in. */
static __always_inline int emit_chunk(struct emit_state *s, __u16 extra_flags)
{
    __u32 zero = 0;
    struct data_scratch *b = bpf_map_lookup_elem(&data_buf, &zero);
    if (!b)
        return -1;
    struct tattle_data_event *e = &b->e;
    __u64 n = s->fill;
    CLAMP(n, TATTLE_CHUNK_MAX);
    fill_hdr(&e->h, TATTLE_EV_DATA);
    e->fd = s->fd;
    e->dir = s->dir;
    e->sk = s->sk;
    e->pos = s->pos;
    e->msg_len = s->msg_len;
    e->chunk_off = s->off - n;
    e->syscall = s->syscall;
    e->family = s->family;
    e->sock_type = s->sock_type;
    e->_pad = 0;
    e->tls_session = s->tls_session;
    e->skip_len = (extra_flags & TATTLE_DATA_SKIPPED) ? s->skip : 0;
    e->gen = s->gen;
    __builtin_memset(&e->peer, 0, sizeof(e->peer));
    if (!s->no_peer)
        read_user_sockaddr(s->name, s->name_len, &e->peer, 0, 0);
    e->chunk_len = n;
    e->flags = s->flags | extra_flags;
    s->emitted++;
    s->fill = 0;
    __u64 wake = s->wake ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
    s->wake = 0;
    return output_flags(b, sizeof(struct tattle_data_event) + n, true, wake);
}

/* Messages up to half a chunk gather their segments: the verifier must see that what is gathered plus the next
 * copy stays inside data_buf, and a per-CPU value cannot hold two chunks (32 KiB at most). */
#define GATHER_MAX (TATTLE_CHUNK_MAX / 2)

/* Copies the next n bytes of the current segment after the s->fill gathered so far; false if they are unreadable.
 * A larger message's segments are sent a chunk at a time, from the start of data_buf. */
static __always_inline bool gather(struct emit_state *s, __u64 n)
{
    __u32 zero = 0;
    struct data_scratch *b = bpf_map_lookup_elem(&data_buf, &zero);
    if (!b)
        return false;
    if (s->gathers) {
        __u64 fill = s->fill;
        CLAMP(fill, GATHER_MAX);
        CLAMP(n, GATHER_MAX);
        return bpf_probe_read_user(b->data + fill, n, (void *)s->seg_ptr) == 0;
    }
    CLAMP(n, TATTLE_CHUNK_MAX);
    return bpf_probe_read_user(b->data, n, (void *)s->seg_ptr) == 0;
}

/* Bytes at the start of a message at stream position pos that lie in a body user space only counts. *wake (when
 * given): the message begins past that body, is a chunk or longer, and user space wants to see it at once. */
static __always_inline __u32 body_skip_len(__u64 sk, __u32 gen, __u16 dir, __u64 pos, __u32 len, __u8 *wake)
{
    __u32 zero = 0;
    __u32 *live = bpf_map_lookup_elem(&body_skips_live, &zero);
    if (!live || !*live)
        return 0;
    struct tattle_body_skip *b = bpf_map_lookup_elem(&body_skips, &sk);
    if (!b || b->gen != gen)
        return 0;
    __u64 end = b->end[dir & 1];
    if (end <= pos) {
        __u32 bit = 1 << (dir & 1);
        if (wake && (b->wake & bit) && len >= TATTLE_CHUNK_MAX) {
            /* Once: a long stream of large calls (a chunked download) must not wake user space for each. The
             * only write the programs make here; user space sets the bit again with the next body it asks about,
             * and a race with its update costs one wake more or less. */
            *wake = 1;
            b->wake &= ~bit;
        }
        return 0;
    }
    return end - pos < len ? end - pos : len;
}

/* Sets up message msg_idx; returns false when it moved no bytes (skipped). */
static __always_inline bool start_message(struct emit_state *s)
{
    s->iov = 0;
    s->iov_cnt = 0;
    s->iov_idx = 0;
    s->seg_ptr = 0;
    s->seg_left = 0;
    s->off = 0;
    s->emitted = 0;
    if (s->is_mmsg) {
        struct mmsghdr m = {};
        if (bpf_probe_read_user(&m, sizeof(m), (void *)(s->msgs + (__u64)s->msg_idx * sizeof(struct mmsghdr))))
            return false;
        s->msg_len = m.msg_len;
        s->iov = (__u64)m.msg_hdr.msg_iov;
        s->iov_cnt = m.msg_hdr.msg_iovlen;
        s->name = (__u64)m.msg_hdr.msg_name;
        s->name_len = m.msg_hdr.msg_namelen;
    } else if (s->msghdr) {
        struct user_msghdr m = {};
        if (bpf_probe_read_user(&m, sizeof(m), (void *)s->msghdr))
            return false;
        s->msg_len = s->ret;
        s->iov = (__u64)m.msg_iov;
        s->iov_cnt = m.msg_iovlen;
        s->name = (__u64)m.msg_name;
        s->name_len = m.msg_namelen;
    } else {
        s->msg_len = s->ret;
        s->iov = s->call_iov;
        s->iov_cnt = s->call_iov_cnt;
        if (!s->iov) {
            s->seg_ptr = s->buf;
            s->seg_left = s->buf ? s->ret : 0;
        }
    }
    if (s->iov_cnt > IOV_MAX)
        s->iov_cnt = IOV_MAX;
    s->skip = 0;
    s->wake = 0;
    if (s->tls) {
        struct tls_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .session = s->tls_session };
        struct tls_conn *tc = bpf_map_lookup_elem(&tls_conns, &k);
        s->pos = tc ? POS_ADVANCE(&tc->pos[s->dir & 1], (__u64)s->msg_len) : 0;
    } else {
        struct sk_info *info = sk_info_get(s->sk, bpf_get_current_pid_tgid() >> 32, s->fd, false);
        s->pos = info ? POS_ADVANCE(&info->pos[s->dir & 1], (__u64)s->msg_len) : 0;
        if (info) {
            s->gen = info->gen;
            if (cfg.flags & TATTLE_CFG_BODY_SKIP)
                s->skip = body_skip_len(s->sk, info->gen, s->dir, s->pos, s->msg_len, &s->wake);
        }
    }
    /* The snap length counts what is copied: a head after a skipped body is cut only past it. */
    __u32 snap = cfg.snaplen;
    __u32 rest = s->msg_len - s->skip;
    s->left = s->skip + (rest < snap ? rest : snap);
    s->gathers = s->left - s->skip <= GATHER_MAX;
    s->flags &= ~TATTLE_DATA_TRUNC;
    if (rest > snap) {
        s->flags |= TATTLE_DATA_TRUNC;
        stat_add(TATTLE_STAT_BYTES_CUT, rest - snap);
    }
    if (s->skip) {
        stat_add(TATTLE_STAT_BYTES_SKIPPED, s->skip);
        emit_chunk(s, TATTLE_DATA_SKIPPED | (s->left == s->skip ? TATTLE_DATA_LAST : 0)); /* at offset 0, no bytes */
        if (s->left == s->skip)
            s->left = 0; /* nothing of it to read: no need to walk its segments */
    }
    return true;
}

static long emit_step(__u32 i, void *ctx)
{
    __u32 zero = 0;
    struct emit_state *s = bpf_map_lookup_elem(&emit_buf, &zero);
    if (!s)
        return 1;
    if (!s->open) {
        if (s->msg_idx >= s->msg_cnt)
            return 1;
        if (start_message(s))
            s->open = 1;
        else
            s->msg_idx++;
        return 0;
    }
    if (s->left == 0) {
        if (s->fill || s->emitted == 0)
            emit_chunk(s, TATTLE_DATA_LAST); /* the iovecs ended early; or sizes only, or an empty message */
        s->open = 0;
        s->msg_idx++;
        return 0;
    }
    if (s->seg_left == 0) {
        if (!s->iov || s->iov_idx >= s->iov_cnt) {
            stat_add(TATTLE_STAT_BYTES_UNREAD, s->left); /* iovecs ended before the byte count */
            s->left = 0;
            return 0;
        }
        struct iovec v = {};
        if (bpf_probe_read_user(&v, sizeof(v), (void *)(s->iov + s->iov_idx * sizeof(struct iovec)))) {
            stat_add(TATTLE_STAT_BYTES_UNREAD, s->left);
            s->left = 0;
            return 0;
        }
        s->iov_idx++;
        s->seg_ptr = (__u64)v.iov_base;
        s->seg_left = v.iov_len;
        return 0;
    }
    if (s->off < s->skip) {
        /* A skipped body's bytes: walked past, not read (start_message sent their record). */
        __u64 n = s->skip - s->off;
        if (n > s->seg_left)
            n = s->seg_left;
        s->seg_ptr += n;
        s->seg_left -= n;
        s->left -= n;
        s->off += n;
        return 0;
    }
    __u64 n = s->left;
    if (n > s->seg_left)
        n = s->seg_left;
    if (n > TATTLE_CHUNK_MAX - s->fill)
        n = TATTLE_CHUNK_MAX - s->fill;
    if (gather(s, n)) {
        s->fill += n;
    } else {
        if (s->fill)
            emit_chunk(s, 0);
        stat_add(TATTLE_STAT_BYTES_UNREAD, n);
        emit_chunk(s, TATTLE_DATA_UNREAD | (s->left <= n ? TATTLE_DATA_LAST : 0)); /* at s->off, no bytes */
    }
    s->seg_ptr += n;
    s->seg_left -= n;
    s->left -= n;
    s->off += n;
    if (s->fill && (!s->gathers || s->left == 0))
        emit_chunk(s, s->left == 0 ? TATTLE_DATA_LAST : 0);
    return 0;
}

#ifdef TATTLE_FALLBACK
/* No bpf_loop before 5.17: a bounded loop (5.3) whose body is a global function. The verifier checks a global
 * function once (5.6), not once per iteration, so each of the 4096 iterations costs it a call, not the body. */
__attribute__((noinline)) int emit_step_global(__u32 i)
{
    return emit_step(i, 0);
}

static __always_inline long loop_emit(void)
{
    for (__u32 i = 0; i < EMIT_LOOP_MAX; i++) {
        if (emit_step_global(i))
            return i + 1; /* as bpf_loop counts: the iteration that stopped it included */
    }
    return EMIT_LOOP_MAX;
}
#else
static __always_inline long loop_emit(void)
{
    return bpf_loop(EMIT_LOOP_MAX, emit_step, 0, 0);
}
#endif

static __always_inline void run_emit(struct emit_state *s)
{
    long done = loop_emit();
    if (done >= EMIT_LOOP_MAX && (s->open || s->msg_idx < s->msg_cnt))
        stat_add(TATTLE_STAT_BYTES_UNREAD, s->left);
}

static __always_inline struct emit_state *emit_state_init(struct call_args *c, long ret, __u16 dir)
{
    __u32 zero = 0;
    struct emit_state *s = bpf_map_lookup_elem(&emit_buf, &zero);
    if (!s)
        return 0;
    __builtin_memset(s, 0, sizeof(*s));
    s->fd = c->fd;
    s->sk = c->sk;
    s->dir = dir;
    s->syscall = c->nr;
    s->family = c->family;
    s->sock_type = c->sock_type;
    s->no_peer = (__u8)c->no_peer;
    s->ret = ret;
    s->msg_cnt = 1;
    return s;
}

static __always_inline bool is_send_call(__u32 nr)
{
    return nr == NR_write || nr == NR_writev || nr == NR_sendto || nr == NR_sendmsg;
}

static __always_inline bool is_payload_call(__u32 nr)
{
    /* The mmsg calls return a message count, not bytes: they keep their records. */
    return is_send_call(nr) || nr == NR_read || nr == NR_readv || nr == NR_recvfrom || nr == NR_recvmsg;
}

static __always_inline void emit_payload(struct call_args *c, long ret, __u16 dir)
{
    struct emit_state *s = emit_state_init(c, ret, dir);
    if (!s)
        return;
    switch (c->nr) {
    case NR_read:
    case NR_write:
        s->buf = c->arg[1];
        break;
    case NR_sendto:
        s->buf = c->arg[1];
        s->name = c->arg[4];
        s->name_len = c->arg[5];
        break;
    case NR_recvfrom: {
        s->buf = c->arg[1];
        s->name = c->arg[4];
        int alen = 0;
        if (c->arg[5])
            bpf_probe_read_user(&alen, sizeof(alen), (void *)c->arg[5]);
        s->name_len = alen;
        break;
    }
    case NR_readv:
    case NR_writev:
        s->call_iov = c->arg[1];
        s->call_iov_cnt = c->arg[2];
        break;
    case NR_sendmsg:
    case NR_recvmsg:
        s->msghdr = c->arg[1];
        break;
    case NR_sendmmsg:
    case NR_recvmmsg:
        s->is_mmsg = 1;
        s->msgs = c->arg[1];
        s->msg_cnt = ret;
        break;
    }
    run_emit(s);
}

/* A call whose bytes fit one gathered chunk, from one buffer or a few segments and with no address to report (a
 * stream socket's read, recv, writev...): one record made straight from the call, without the loop's state and its
 * steps. Anything else (a datagram's address, a longer message, more segments, a byte count past the snap length,
 * unreadable memory) returns false before the position moves, and takes the general path. info: the socket's entry
 * when the caller has it (one lookup fewer). */
#define DIRECT_SEGS 4

static __always_inline bool emit_direct(struct call_args *c, long ret, __u16 dir, struct sk_info *info)
{
    if (ret <= 0 || ret > GATHER_MAX || (__u64)ret > cfg.snaplen)
        return false;
    __u64 iov = 0, iov_cnt = 0, buf = 0;
    switch (c->nr) {
    case NR_read:
    case NR_write:
        buf = c->arg[1];
        break;
    case NR_sendto:
    case NR_recvfrom:
        if (c->arg[4])
            return false;
        buf = c->arg[1];
        break;
    case NR_readv:
    case NR_writev:
        iov = c->arg[1];
        iov_cnt = c->arg[2];
        break;
    case NR_sendmsg:
    case NR_recvmsg: {
        struct user_msghdr m = {};
        if (!c->arg[1] || bpf_probe_read_user(&m, sizeof(m), (void *)c->arg[1]) || m.msg_name)
            return false;
        iov = (__u64)m.msg_iov;
        iov_cnt = m.msg_iovlen;
        break;
    }
    default:
        return false;
    }
    if (cfg.flags & TATTLE_CFG_BODY_SKIP) {
        /* In a body user space only counts: the general path skips it (the position read here is a hint; that
         * path advances it atomically and decides). */
        if (!info)
            info = sk_info_get(c->sk, bpf_get_current_pid_tgid() >> 32, c->fd, false);
        if (info && body_skip_len(c->sk, info->gen, dir, info->pos[dir & 1], ret, 0))
            return false;
    }
    __u32 zero = 0;
    struct data_scratch *b = bpf_map_lookup_elem(&data_buf, &zero);
    if (!b)
        return false;
    __u64 n = (__u64)ret;
    CLAMP(n, GATHER_MAX);
    if (!iov) {
        if (!buf || bpf_probe_read_user(b->data, n, (void *)buf))
            return false;
    } else {
        if (iov_cnt == 0 || iov_cnt > DIRECT_SEGS)
            return false;
        struct iovec v[DIRECT_SEGS] = {};
        __u64 vlen = iov_cnt * sizeof(struct iovec);
        CLAMP(vlen, sizeof(v));
        if (bpf_probe_read_user(v, vlen, (void *)iov))
            return false;
        __u64 fill = 0;
#pragma unroll
        for (int i = 0; i < DIRECT_SEGS; i++) {
            __u64 seg = v[i].iov_len;
            if (seg > n - fill)
                seg = n - fill;
            if (seg == 0)
                continue;
            CLAMP(fill, GATHER_MAX);
            CLAMP(seg, GATHER_MAX);
            if (bpf_probe_read_user(b->data + fill, seg, v[i].iov_base))
                return false;
            fill += seg;
        }
        if (fill != n)
            return false; /* the segments hold fewer bytes than the call moved */
    }
    if (!info)
        info = sk_info_get(c->sk, bpf_get_current_pid_tgid() >> 32, c->fd, false);
    struct tattle_data_event *e = &b->e;
    fill_hdr(&e->h, TATTLE_EV_DATA);
    e->fd = c->fd;
    e->dir = dir;
    e->sk = c->sk;
    e->pos = info ? POS_ADVANCE(&info->pos[dir & 1], n) : 0;
    e->msg_len = n;
    e->chunk_off = 0;
    e->syscall = c->nr;
    e->family = c->family;
    e->sock_type = c->sock_type;
    e->_pad = 0;
    e->tls_session = 0;
    e->skip_len = 0;
    e->gen = info ? info->gen : 0;
    __builtin_memset(&e->peer, 0, sizeof(e->peer));
    e->chunk_len = n;
    e->flags = TATTLE_DATA_LAST;
    output(b, sizeof(struct tattle_data_event) + n, true);
    return true;
}

/* Bytes moved without passing through user memory (sendfile, splice): counted, marked, payload unseen. */
static __always_inline void emit_bypass(struct call_args *c, long ret, __u16 dir, __u16 flag)
{
    struct emit_state *s = emit_state_init(c, ret, dir);
    if (!s)
        return;
    s->msg_len = ret;
    struct sk_info *info = sk_info_get(s->sk, bpf_get_current_pid_tgid() >> 32, s->fd, false);
    s->pos = info ? POS_ADVANCE(&info->pos[dir & 1], (__u64)ret) : 0;
    s->gen = info ? info->gen : 0;
    emit_chunk(s, flag | TATTLE_DATA_LAST);
}

/* ---------------------------------------------------------------------------------------------------------
 * Syscalls
 */

/* ---------------------------------------------------------------------------------------------------------
 * --stats-in-kernel (see struct tattle_http_event): a connection's HTTP/1 requests counted here, its payloads
 * never copied. The decision is made once per socket, on its first payload; anything that does not begin like
 * HTTP/1 keeps its data records and user space's parsers.
 */
#define HTTP_UNDECIDED 0
#define HTTP_IN_KERNEL 1
#define HTTP_IN_USER 2

struct http_conn {
    struct tattle_http_event e;
    __u64 start_ns; /* the request awaiting its response; 0: none */
};

/* Not preallocated: an entry lives from a connection's first request to its close. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, TATTLE_HTTP_CONNS_MAX);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, __u64);
    __type(value, struct http_conn);
} http_conns SEC(".maps");

struct http_scratch {
    __u64 head[TATTLE_HTTP_HEAD / 8];
    struct http_conn fresh;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct http_scratch);
} http_buf SEC(".maps");

enum { HTTP_BODY, HTTP_REQUEST, HTTP_RESPONSE };

/* The user address and length of the call's first buffer (the first segment of a vector). */
static __always_inline __u64 first_segment(struct call_args *c, long ret, __u64 *len)
{
    struct iovec v = {};
    __u64 iov = 0;
    switch (c->nr) {
    case NR_read: case NR_write: case NR_recvfrom: case NR_sendto:
        *len = (__u64)ret;
        return c->arg[1];
    case NR_readv: case NR_writev:
        if (!c->arg[2])
            return 0;
        iov = c->arg[1];
        break;
    case NR_recvmsg: case NR_sendmsg: {
        struct user_msghdr m = {};
        if (!c->arg[1] || bpf_probe_read_user(&m, sizeof(m), (void *)c->arg[1]) || !m.msg_iovlen)
            return 0;
        iov = (__u64)m.msg_iov;
        break;
    }
    default:
        return 0;
    }
    if (!iov || bpf_probe_read_user(&v, sizeof(v), (void *)iov))
        return 0;
    *len = v.iov_len < (__u64)ret ? v.iov_len : (__u64)ret;
    return (__u64)v.iov_base;
}

#define HTTP_WORD(a, b, c, d) ((__u32)(a) | (__u32)(b) << 8 | (__u32)(c) << 16 | (__u32)(d) << 24)

/* RFC 9110 section 9's methods, by their first four bytes: a body that happens to begin like one is taken for a
 * request (as any parser that sees the stream from the middle would). */
static __always_inline bool http_is_method(__u32 w)
{
    return w == HTTP_WORD('G', 'E', 'T', ' ') || w == HTTP_WORD('P', 'O', 'S', 'T') || w == HTTP_WORD('P', 'U', 'T', ' ')
        || w == HTTP_WORD('H', 'E', 'A', 'D') || w == HTTP_WORD('D', 'E', 'L', 'E') || w == HTTP_WORD('P', 'A', 'T', 'C')
        || w == HTTP_WORD('O', 'P', 'T', 'I') || w == HTTP_WORD('C', 'O', 'N', 'N') || w == HTTP_WORD('T', 'R', 'A', 'C');
}

/* HTTP/1.x NNN: the status code, or 0. */
static __always_inline __u32 http_status(const __u8 *h, __u64 n)
{
    if (n < 12 || *(__u32 *)h != HTTP_WORD('H', 'T', 'T', 'P') || h[4] != '/' || h[5] != '1' || h[6] != '.' || h[8] != ' ')
        return 0;
    __u32 d0 = h[9] - '0', d1 = h[10] - '0', d2 = h[11] - '0';
    if (d0 > 9 || d1 > 9 || d2 > 9)
        return 0;
    return d0 * 100 + d1 * 10 + d2;
}

/* Adds a payload's bytes to the latest request's share (before the batch's first request there is none). */
static __always_inline void http_slot_add(__u32 *lens, __u32 count, long ret)
{
    if (!count)
        return;
    __u32 slot = count - 1;
    CLAMP(slot, TATTLE_HTTP_BATCH - 1);
    __u64 sum = (__u64)lens[slot] + (__u64)ret;
    lens[slot] = sum > 0xffffffffULL ? 0xffffffffU : (__u32)sum;
}

static __always_inline void http_flush(struct http_conn *st)
{
    if (!st->e.count && !st->e.req_bytes && !st->e.resp_bytes)
        return;
    st->e.h.ts_ns = bpf_ktime_get_ns();
    output(&st->e, sizeof(st->e), false);
    st->e.count = 0;
    st->e.req_bytes = 0;
    st->e.resp_bytes = 0;
}

/* Counts one payload of a TCP socket in the kernel; false when the socket's payloads go to user space. */
static __always_inline bool http_count(struct call_args *c, long ret, __u16 dir, struct sk_info *info, __u64 id)
{
    if (!info || info->http == HTTP_IN_USER)
        return false;
    __u64 key = c->sk;
    struct http_conn *st = 0;
    if (info->http == HTTP_IN_KERNEL) {
        st = bpf_map_lookup_elem(&http_conns, &key);
        if (!st) {
            /* Its entry went with a close this socket outlived (the address taken again): counted, not parsed. */
            __sync_fetch_and_add(&info->pos[dir & 1], (__u64)ret);
            return true;
        }
    }
    /* One read of the call's first bytes: in the request direction the head, which keys the batch; the other way
     * 16 bytes, enough for a status line. */
    __u64 seg = 0;
    __u64 buf = first_segment(c, ret, &seg);
    __u32 zero = 0;
    struct http_scratch *s = 0;
    __u64 w[2] = {};
    const __u8 *h = (const __u8 *)w;
    __u64 n = 0;
    if (!st || dir == st->e.req_dir) {
        s = bpf_map_lookup_elem(&http_buf, &zero);
        if (!s)
            return false;
#pragma unroll
        for (int i = 0; i < TATTLE_HTTP_HEAD / 8; i++)
            s->head[i] = 0;
        n = seg < TATTLE_HTTP_HEAD ? seg : TATTLE_HTTP_HEAD;
        CLAMP(n, TATTLE_HTTP_HEAD);
        if (!buf || n < 4 || bpf_probe_read_user(s->head, n, (void *)buf))
            n = 0;
        h = (const __u8 *)s->head;
    } else {
        n = seg < sizeof(w) ? seg : sizeof(w);
        CLAMP(n, sizeof(w));
        if (!buf || n < 4 || bpf_probe_read_user(w, n, (void *)buf))
            n = 0;
    }
    __u32 status = http_status(h, n);
    int kind = n >= 4 && http_is_method(*(const __u32 *)h) ? HTTP_REQUEST : status ? HTTP_RESPONSE : HTTP_BODY;
    if (!st) {
        if (kind == HTTP_BODY || !s) {
            info->http = HTTP_IN_USER;
            return false;
        }
        struct http_conn *f = &s->fresh;
        __builtin_memset(f, 0, sizeof(*f));
        f->e.h.type = TATTLE_EV_HTTP;
        f->e.h.tgid = id >> 32;
        f->e.h.tid = (__u32)id;
        f->e.fd = c->fd;
        f->e.sk = key;
        f->e.req_dir = kind == HTTP_REQUEST ? dir : dir ^ 1;
        fill_inet_addrs(&f->e.local, &f->e.remote, (struct sock *)key, c->family);
        /* An entry here is this socket's whose socks entry the LRU evicted, or a socket's that never reached TCP's
         * close: its counts are written before the entry is replaced, with the addresses they belong to. */
        struct http_conn *old = bpf_map_lookup_elem(&http_conns, &key);
        if (old)
            http_flush(old);
        if (bpf_map_update_elem(&http_conns, &key, f, BPF_ANY)) {
            stat_add(TATTLE_STAT_HTTP_UNTRACKED, 1);
            info->http = HTTP_IN_USER;
            return false;
        }
        info->http = HTTP_IN_KERNEL;
        st = bpf_map_lookup_elem(&http_conns, &key);
        if (!st)
            return false;
    }
    if (dir == st->e.req_dir) {
        if (kind == HTTP_REQUEST && s) {
            __u32 count = st->e.count;
            bool same = count > 0;
#pragma unroll
            for (int i = 0; i < TATTLE_HTTP_HEAD / 8; i++)
                same = same && ((__u64 *)st->e.head)[i] == s->head[i];
            if (count >= TATTLE_HTTP_BATCH || (count > 0 && !same)) {
                http_flush(st);
                count = 0;
            }
            if (count == 0) {
                __builtin_memcpy(st->e.head, s->head, TATTLE_HTTP_HEAD);
                st->e.head_len = n;
            }
            /* A request while one awaits its response (pipelining) leaves that one unanswered. */
            __u32 slot = count;
            CLAMP(slot, TATTLE_HTTP_BATCH - 1);
            __u64 now = bpf_ktime_get_ns();
            st->e.status[slot] = 0;
            st->e.latency_us[slot] = 0;
            st->e.start_ns[slot] = now;
            st->e.req_len[slot] = 0;
            st->e.resp_len[slot] = 0;
            st->e.count = count + 1;
            st->start_ns = now;
        }
        st->e.req_bytes += ret;
        http_slot_add(st->e.req_len, st->e.count, ret);
    } else {
        if (kind == HTTP_RESPONSE && st->start_ns && st->e.count && (status < 100 || status >= 200 || status == 101)) {
            __u32 slot = st->e.count - 1;
            CLAMP(slot, TATTLE_HTTP_BATCH - 1);
            __u64 us = (bpf_ktime_get_ns() - st->start_ns) / 1000;
            st->e.status[slot] = status;
            st->e.latency_us[slot] = us == 0 ? 1 : us > 0xffffffffULL ? 0xffffffffU : (__u32)us;
            st->start_ns = 0;
        }
        st->e.resp_bytes += ret;
        http_slot_add(st->e.resp_len, st->e.count, ret);
    }
    __sync_fetch_and_add(&info->pos[dir & 1], (__u64)ret);
    return true;
}

/* A body moved by sendfile or splice on a counted socket: its bytes, nothing to read. */
static __always_inline bool http_count_bypass(__u64 key, struct sk_info *info, long ret, __u16 dir)
{
    if (!info || info->http != HTTP_IN_KERNEL)
        return false;
    struct http_conn *st = bpf_map_lookup_elem(&http_conns, &key);
    if (st) {
        if (dir == st->e.req_dir) {
            st->e.req_bytes += ret;
            http_slot_add(st->e.req_len, st->e.count, ret);
        } else {
            st->e.resp_bytes += ret;
            http_slot_add(st->e.resp_len, st->e.count, ret);
        }
    }
    __sync_fetch_and_add(&info->pos[dir & 1], (__u64)ret);
    return true;
}

/* At the connection's end: its last requests, and its entry. */
static __always_inline void http_close(__u64 key)
{
    struct http_conn *st = bpf_map_lookup_elem(&http_conns, &key);
    if (!st)
        return;
    http_flush(st);
    bpf_map_delete_elem(&http_conns, &key);
}

static __always_inline bool stash_socket(struct call_args *c, int fd)
{
    struct socket *so = fd_socket(fd);
    if (!so)
        return false;
    struct sock *sk = KFIELD(so, sk);
    c->fd = fd;
    c->sk = (__u64)sk;
    c->sock_type = KFIELD(so, type);
    c->family = sk ? KFIELD(sk, __sk_common.skc_family) : 0;
    return true;
}

static __always_inline void emit_close(int fd)
{
    struct socket *so = fd_socket(fd);
    if (!so)
        return;
    struct tattle_sock_event *e = sock_event(TATTLE_EV_CLOSE);
    if (!e)
        return;
    e->fd = fd;
    fill_from_socket(e, so);
    struct sk_info *info = bpf_map_lookup_elem(&socks, &e->sk);
    if (cfg.flags & TATTLE_CFG_KERNEL_HTTP) {
        /* The connection ends for user space with this record: its requests go first. The entry stays until TCP's
         * close (another fd may share the socket). */
        struct http_conn *st = bpf_map_lookup_elem(&http_conns, &e->sk);
        if (st)
            http_flush(st);
    }
    if (info) {
        e->bytes_sent = info->pos[DIR_SEND];
        e->bytes_recv = info->pos[DIR_RECV];
        /* Bytes TCP received that the process never read (a TLS close_notify after the response, say) were still
         * on the wire: for a socket seen whole, TCP's own count says so. */
        if (info->whole && e->sk && e->type == SOCK_STREAM && e->protocol == IPPROTO_TCP) {
            struct tcp_sock *tp = (struct tcp_sock *)e->sk; /* outside the macro: e is no kernel type */
            __u64 received = BPF_CORE_READ(tp, bytes_received);
            /* The peer's FIN takes a sequence number, which the count includes; tcp_fin() marks it SOCK_DONE. */
            struct sock *s = (struct sock *)e->sk;
            unsigned long flags = bpf_core_field_exists(s->__sk_common.skc_flags)
                ? BPF_CORE_READ(s, __sk_common.skc_flags) : BPF_CORE_READ(s, sk_flags);
            if (received && (flags & (1UL << SOCK_DONE)))
                received--;
            if (received > e->bytes_recv)
                e->bytes_recv = received;
        }
    }
    output(e, sizeof(*e), false);
}

/* The sockets an exiting process still holds: the kernel closes them in exit_files(), after this tracepoint,
 * with no close() call, so their byte counts (which the TLS probes' sockets only count, never emit) would be
 * lost. One bpf_loop step per fd, reading the open-fd bitmap a word at a time. */
#define EXIT_FDS_MAX 65536

struct exit_fds {
    unsigned long *open_fds;
    unsigned long word;
    __u32 max_fds;
};

#ifdef TATTLE_FALLBACK
/* Without bpf_loop: a word of the open-fd bitmap per call of a global function (checked once by the verifier),
 * each fd's close another, so the loops the verifier walks are 1024 calls and 64 calls long. */
__attribute__((noinline)) int emit_close_global(int fd)
{
    emit_close(fd);
    return 0;
}

__attribute__((noinline)) int exit_close_word(__u64 open_fds, __u32 w)
{
    unsigned long word = 0;
    if (bpf_probe_read_kernel(&word, sizeof(word), (void *)(open_fds + (__u64)w * sizeof(word))))
        return 1;
    for (__u32 b = 0; b < 64; b++) {
        if (word & (1UL << b))
            emit_close_global((int)(w * 64 + b));
    }
    return 0;
}

static __always_inline void loop_exit_close(struct exit_fds *x)
{
    for (__u32 w = 0; w < EXIT_FDS_MAX / 64; w++) {
        if (w * 64 >= x->max_fds || exit_close_word((__u64)x->open_fds, w))
            break;
    }
}
#else
static long exit_close_fd(__u64 fd, void *arg)
{
    struct exit_fds *x = arg;
    if (fd >= x->max_fds)
        return 1;
    if ((fd & 63) == 0) {
        x->word = 0;
        if (bpf_probe_read_kernel(&x->word, sizeof(x->word), &x->open_fds[fd >> 6]))
            return 1;
    }
    if (x->word & (1UL << (fd & 63)))
        emit_close((int)fd);
    return 0;
}

static __always_inline void loop_exit_close(struct exit_fds *x)
{
    bpf_loop(x->max_fds, exit_close_fd, x, 0);
}
#endif

static __always_inline void close_sockets_at_exit(struct task_struct *task)
{
    /* A table shared with another process (clone with CLONE_FILES) stays open: its sockets are not closed. */
    struct files_struct *files = BPF_CORE_READ(task, files);
    if (!files || BPF_CORE_READ(files, count.counter) != 1)
        return;
    struct exit_fds x = {
        .open_fds = BPF_CORE_READ(files, fdt, open_fds),
        .max_fds = BPF_CORE_READ(files, fdt, max_fds),
    };
    if (!x.open_fds)
        return;
    if (x.max_fds > EXIT_FDS_MAX)
        x.max_fds = EXIT_FDS_MAX;
    loop_exit_close(&x);
}

SEC("raw_tp/sched_process_exit")
int tattle_exit(struct bpf_raw_tracepoint_args *ctx)
{
    struct task_struct *task = (void *)ctx->args[0];
    __u32 tgid = BPF_CORE_READ(task, tgid);
    if (!is_traced(tgid))
        return 0;
    /* signal->live drops to 0 when the last thread of the process exits (do_exit decrements it before
     * this tracepoint); earlier threads' exits are not the process's. */
    if (BPF_CORE_READ(task, signal, live.counter) != 0)
        return 0;
    bpf_map_delete_elem(&traced, &tgid);
    close_sockets_at_exit(task);
    struct tattle_proc_event *e = proc_event(TATTLE_EV_EXIT, task);
    if (!e)
        return 0;
    e->exit_code = BPF_CORE_READ(task, exit_code);
    output(e, __builtin_offsetof(struct tattle_proc_event, filename), false);
    return 0;
}

/* Fills an in-flight call's socket from a payload syscall's fd, once. */
static __always_inline void note_socket(__s32 *fd_slot, __u64 *sk_slot, int fd)
{
    if (*fd_slot >= 0)
        return;
    struct socket *so = fd_socket(fd);
    if (!so)
        return;
    *fd_slot = fd;
    *sk_slot = (__u64)KFIELD(so, sk);
}

/* A payload syscall inside a TLS call on the same thread names the socket the session object reads or writes. */
static __always_inline void tls_note_socket(__u64 id, int fd)
{
    if (!tls_calls_live)
        return;
    struct tls_call *t = bpf_map_lookup_elem(&tls_calls, &id);
    if (t)
        note_socket(&t->fd, &t->sk, fd);
}

/* Go calls in flight, by goroutine (see the Go section below). */
struct go_key {
    __u32 tgid;
    __u32 _pad;
    __u64 g;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH); /* a goroutine that panics out of Read leaves its entry behind */
    __uint(max_entries, 16384);
    __type(key, struct go_key);
    __type(value, struct tls_call);
} go_calls SEC(".maps");

/* Set once a Go probe fired: only then do the syscall programs look calls up by goroutine. */
__u32 go_seen = 0;

/* Set once a write was probed at entry only: only then do socket sends look for the thread's TLS write. */
__u32 at_entry_seen = 0;

static __always_inline void tls_note_send(__u64 id, __u64 sk, int fd, long ret);

/* Per thread, the last write read at entry (apart from tls_calls: a read may start before its ciphertext is sent). */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, struct tls_call);
} tls_writes SEC(".maps");

/* A payload syscall made by a goroutine inside Read names the socket too: the cross-check of the struct walk. */
static __always_inline void go_note_socket(__u32 tgid, __u64 g, int fd)
{
    struct go_key k = { .tgid = tgid, .g = g };
    struct tls_call *t = bpf_map_lookup_elem(&go_calls, &k);
    if (t)
        note_socket(&t->noted_fd, &t->noted_sk, fd);
}

/* The syscalls the programs follow; every other one of every task on the machine leaves at once. */
static __always_inline bool is_followed_call(long nr)
{
    switch (nr) {
    case NR_read: case NR_write: case NR_close: case NR_readv: case NR_writev: case NR_sendfile:
    case NR_socket: case NR_connect: case NR_accept: case NR_sendto: case NR_recvfrom: case NR_sendmsg:
    case NR_recvmsg: case NR_shutdown: case NR_bind: case NR_listen: case NR_splice: case NR_accept4:
    case NR_recvmmsg: case NR_sendmmsg: case NR_io_uring_setup:
        return true;
    default:
        return false;
    }
}

static __always_inline int on_sys_enter(struct pt_regs *regs, long nr)
{
    if (!is_followed_call(nr))
        return 0;
    __u64 id = bpf_get_current_pid_tgid();
    __u32 *flags = trace_flags(id >> 32);
    if (!flags)
        return 0;
    struct call_args c = {};
    c.nr = nr;
    c.arg[0] = KFIELD(regs, di);
    c.arg[1] = KFIELD(regs, si);
    c.arg[2] = KFIELD(regs, dx);
    c.fd = -1;
    switch (nr) {
    case NR_close:
        emit_close((int)c.arg[0]);
        return 0;
    case NR_socket:
    case NR_io_uring_setup:
        break;
    case NR_sendfile: /* out_fd, in_fd */
        if (!stash_socket(&c, (int)c.arg[0]))
            return 0;
        break;
    case NR_splice: { /* fd_in, off_in, fd_out */
        if (stash_socket(&c, (int)c.arg[2]))
            c.arg[5] = DIR_SEND;
        else if (stash_socket(&c, (int)c.arg[0]))
            c.arg[5] = DIR_RECV;
        else
            return 0;
        break;
    }
    default:
        if ((cfg.flags & TATTLE_CFG_TLS) && is_payload_call(nr))
        {
            tls_note_socket(id, (int)c.arg[0]);
            if (go_seen)
                go_note_socket(id >> 32, KFIELD(regs, r14), (int)c.arg[0]);
        }
        /* --no-payload: sys_exit rebuilds these calls from its registers (from_exit_regs) and only counts
         * stream bytes, so the stash, a hash update and delete per call on the traced hot path, is skipped. */
        if (counts_only(flags) && is_payload_call(nr))
            return 0;
        if (!stash_socket(&c, (int)c.arg[0]))
            return 0;
        c.arg[3] = KFIELD(regs, r10);
        c.arg[4] = KFIELD(regs, r8);
        c.arg[5] = KFIELD(regs, r9);
        break;
    }
    c.live = 1;
    if (!call_store(&c))
        stat_add(TATTLE_STAT_CALLS_DROPPED, 1);
    return 0;
}

static __always_inline void emit_sock(struct call_args *c, long ret, __u32 type, int fd)
{
    struct tattle_sock_event *e = sock_event(type);
    if (!e)
        return;
    e->fd = fd;
    e->ret = ret;
    struct socket *so = fd >= 0 ? fd_socket(fd) : 0;
    if (so)
        fill_from_socket(e, so);
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    switch (type) {
    case TATTLE_EV_SOCKET:
        e->family = c->arg[0];
        e->type = c->arg[1] & 0xf;
        e->protocol = c->arg[2];
        if (e->sk)
            sk_info_get(e->sk, tgid, fd, true);
        break;
    case TATTLE_EV_CONNECT:
        /* The address the process asked for: a failed connect may have cleared the socket's. */
        __builtin_memset(&e->remote, 0, sizeof(e->remote));
        e->remote_path_len = 0;
        read_user_sockaddr(c->arg[1], c->arg[2], &e->remote, e->remote_path, &e->remote_path_len);
        if (e->sk)
            sk_info_get(e->sk, tgid, fd, false);
        break;
    case TATTLE_EV_ACCEPT:
        e->aux = c->fd;
        if (e->sk)
            sk_info_get(e->sk, tgid, fd, true);
        break;
    case TATTLE_EV_BIND:
        if (ret < 0) {
            __builtin_memset(&e->local, 0, sizeof(e->local));
            e->local_path_len = 0;
            read_user_sockaddr(c->arg[1], c->arg[2], &e->local, e->local_path, &e->local_path_len);
        }
        break;
    case TATTLE_EV_LISTEN:
        e->aux = c->arg[1];
        if (e->sk)
            sk_info_get(e->sk, tgid, fd, false);
        break;
    case TATTLE_EV_SHUTDOWN:
        e->aux = c->arg[1];
        break;
    case TATTLE_EV_NOTICE:
        e->aux = TATTLE_NOTICE_IO_URING;
        break;
    }
    if (e->fd < 0 && type != TATTLE_EV_NOTICE && c->fd >= 0)
        e->fd = c->fd;
    output(e, sizeof(*e), false);
}

/* The six syscall arguments from the user registers (x86_64: di, si, dx, r10, r8, r9). */
static __always_inline void args_from_regs(struct call_args *c, struct pt_regs *regs)
{
    c->arg[0] = KFIELD(regs, di);
    c->arg[1] = KFIELD(regs, si);
    c->arg[2] = KFIELD(regs, dx);
    c->arg[3] = KFIELD(regs, r10);
    c->arg[4] = KFIELD(regs, r8);
    c->arg[5] = KFIELD(regs, r9);
}

/* A traced process's call rebuilt at its exit from the user registers, which on x86_64 still hold the arguments
 * (only ax holds the result): false when the process is not traced or the call's fd is not a socket. */
static __always_inline bool call_from_regs(struct call_args *c, struct pt_regs *regs, long nr, __u64 id)
{
    __u32 *flags = trace_flags(id >> 32);
    if (!flags)
        return false;
    c->count_only = counts_only(flags);
    c->nr = nr;
    c->fd = -1;
    args_from_regs(c, regs);
    return nr == NR_socket || nr == NR_io_uring_setup || stash_socket(c, (int)c->arg[0]);
}

/* A payload call with no stashed entry: it was already blocked (in recv, read...) when tracing began. Its
 * arguments are read back from the registers, so the call is not lost. */
static __always_inline bool from_exit_regs(struct call_args *c, struct pt_regs *regs, long nr, __u64 id)
{
    switch (nr) {
    case NR_read: case NR_readv: case NR_recvfrom: case NR_recvmsg: case NR_recvmmsg:
    case NR_write: case NR_writev: case NR_sendto: case NR_sendmsg: case NR_sendmmsg:
        return call_from_regs(c, regs, nr, id);
    default:
        return false;
    }
}

/* A receive with MSG_PEEK leaves the bytes in the socket for the next one (.NET peeks at each TLS record's first
 * byte): they are neither payload nor counted until that read. */
static __always_inline bool is_peek(const struct call_args *c)
{
    switch (c->nr) {
    case NR_recvfrom:
    case NR_recvmmsg:
        return c->arg[3] & MSG_PEEK;
    case NR_recvmsg:
        return c->arg[2] & MSG_PEEK;
    default:
        return false;
    }
}

/* The calls whose result is bytes moved on a socket (or, for the mmsg calls, messages). */
static __always_inline bool moves_payload(__u32 nr)
{
    return is_payload_call(nr) || nr == NR_sendmmsg || nr == NR_recvmmsg || nr == NR_sendfile || nr == NR_splice;
}

/* What a payload call moved, told by the syscall's exit or (--no-syscalls) by the socket layer's tracepoint. */
static __always_inline void finish_payload(struct call_args *c, long ret, __u64 id, struct sk_info *known)
{
    if (at_entry_seen && c->sock_type == SOCK_STREAM && is_send_call(c->nr) && is_payload_call(c->nr))
        tls_note_send(id, c->sk, c->fd, ret);
    if ((c->count_only || (cfg.flags & (TATTLE_CFG_NO_STREAM_PAYLOAD | TATTLE_CFG_TLS))) && c->sock_type == SOCK_STREAM
        && ret > 0 && is_payload_call(c->nr)) {
        struct sk_info *info = known ? known : sk_info_get(c->sk, id >> 32, c->fd, false);
        /* A socket whose plaintext the TLS probes deliver: its ciphertext would only be parsed twice. */
        if (info && (c->count_only || (cfg.flags & TATTLE_CFG_NO_STREAM_PAYLOAD) || info->tls)) {
            __sync_fetch_and_add(&info->pos[is_send_call(c->nr) ? DIR_SEND : DIR_RECV], (__u64)ret);
            return;
        }
    }
    if ((cfg.flags & TATTLE_CFG_KERNEL_HTTP) && c->sock_type == SOCK_STREAM && ret > 0
        && (c->family == AF_INET || c->family == AF_INET6)) {
        if (is_payload_call(c->nr)) {
            struct sk_info *info = known ? known : sk_info_get(c->sk, id >> 32, c->fd, false);
            if (http_count(c, ret, is_send_call(c->nr) ? DIR_SEND : DIR_RECV, info, id))
                return;
            known = info;
        } else if ((c->nr == NR_sendfile || c->nr == NR_splice)
                   && http_count_bypass(c->sk, known ? known : bpf_map_lookup_elem(&socks, &c->sk), ret,
                       c->nr == NR_sendfile ? DIR_SEND : (__u16)c->arg[5])) {
            return;
        }
    }
    switch (c->nr) {
    case NR_write: case NR_writev: case NR_sendto: case NR_sendmsg: case NR_sendmmsg:
        if (ret > 0 && !emit_direct(c, ret, DIR_SEND, known))
            emit_payload(c, ret, DIR_SEND);
        break;
    case NR_read: case NR_readv: case NR_recvfrom: case NR_recvmsg: case NR_recvmmsg:
        if (ret > 0) {
            if (!emit_direct(c, ret, DIR_RECV, known))
                emit_payload(c, ret, DIR_RECV);
        } else if (ret == 0 && c->sock_type == SOCK_STREAM && c->nr != NR_recvmmsg) {
            struct emit_state *s = emit_state_init(c, 0, DIR_RECV);
            if (s) {
                struct sk_info *info = bpf_map_lookup_elem(&socks, &c->sk);
                s->pos = info ? info->pos[DIR_RECV] : 0;
                emit_chunk(s, TATTLE_DATA_EOF | TATTLE_DATA_LAST);
            }
        }
        break;
    case NR_sendfile:
        if (ret > 0)
            emit_bypass(c, ret, DIR_SEND, TATTLE_DATA_SENDFILE);
        break;
    case NR_splice:
        if (ret > 0)
            emit_bypass(c, ret, (__u16)c->arg[5], TATTLE_DATA_SPLICE);
        break;
    }
}

static __always_inline int call_done(struct call_args *c, long ret, __u64 id);

static __always_inline int on_sys_exit(struct pt_regs *regs, long ret)
{
    /* orig_ax keeps the call's number to its exit: reading it first spares the other calls the storage lookup. */
    long nr = KFIELD(regs, orig_ax);
    if (!is_followed_call(nr))
        return 0;
    __u64 id = bpf_get_current_pid_tgid();
    struct call_args c = {};
    if (!call_take(&c) && !from_exit_regs(&c, regs, nr, id))
        return 0;
    return call_done(&c, ret, id);
}

/* What a followed call did, once its arguments are known: a payload, or a socket record. */
static __always_inline int call_done(struct call_args *c, long ret, __u64 id)
{
    if (is_peek(c))
        return 0;
    if (moves_payload(c->nr)) {
        finish_payload(c, ret, id, 0);
        return 0;
    }
    switch (c->nr) {
    case NR_socket:
        if (ret >= 0)
            emit_sock(c, ret, TATTLE_EV_SOCKET, ret);
        break;
    case NR_connect:
        emit_sock(c, ret, TATTLE_EV_CONNECT, c->fd);
        break;
    case NR_accept:
    case NR_accept4:
        if (ret >= 0)
            emit_sock(c, ret, TATTLE_EV_ACCEPT, ret);
        break;
    case NR_bind:
        emit_sock(c, ret, TATTLE_EV_BIND, c->fd);
        break;
    case NR_listen:
        emit_sock(c, ret, TATTLE_EV_LISTEN, c->fd);
        break;
    case NR_shutdown:
        emit_sock(c, ret, TATTLE_EV_SHUTDOWN, c->fd);
        break;
    case NR_io_uring_setup:
        if (ret >= 0)
            emit_sock(c, ret, TATTLE_EV_NOTICE, -1);
        break;
    }
    return 0;
}

#ifndef TATTLE_FALLBACK
/* tp_btf rather than raw_tp: the registers and the task are typed pointers, read with plain loads. */
SEC("tp_btf/sys_enter")
int BPF_PROG(tattle_sys_enter, struct pt_regs *regs, long nr)
{
    return on_sys_enter(regs, nr);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(tattle_sys_exit, struct pt_regs *regs, long ret)
{
    return on_sys_exit(regs, ret);
}
#else
SEC("raw_tp/sys_enter")
int tattle_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
    return on_sys_enter((struct pt_regs *)ctx->args[0], (long)ctx->args[1]);
}

SEC("raw_tp/sys_exit")
int tattle_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
    return on_sys_exit((struct pt_regs *)ctx->args[0], (long)ctx->args[1]);
}
#endif

#ifndef TATTLE_FALLBACK
/* ---------------------------------------------------------------------------------------------------------
 * The default where the socket layer gives payloads (6.3): programs on the per-call tracepoints
 * (syscalls:sys_enter_close, syscalls:sys_exit_connect...) of the calls it does not show, attached by user space
 * to each. Registering one still puts every task on the slow syscall path, but every other call stops there at a
 * bitmap test: no program runs for it (empty programs on these tracepoints kept 0.94 of nginx's throughput where
 * empty programs on raw sys_enter/sys_exit kept 0.88, bench/overhead floor-events).
 */

/* The records of syscalls:sys_enter_<call> and sys_exit_<call> (their format files): the call's number, then its
 * arguments or result. */
struct call_tp_enter {
    __u64 common;
    int nr;
    unsigned long args[6];
};

struct call_tp_exit {
    __u64 common;
    int nr;
    long ret;
};

/* close() at entry, while its fd still names the socket. */
SEC("tracepoint")
int tattle_syscall_tp_enter(struct call_tp_enter *ctx)
{
    if (trace_flags(bpf_get_current_pid_tgid() >> 32))
        emit_close((int)ctx->args[0]);
    return 0;
}

/* Every other call at its exit, its arguments read back from the user registers (intact on x86_64 but for ax):
 * no stash at entry, so one tracepoint per call is enough. recvfrom and recvmsg come here for datagram sockets only,
 * whose sender the socket layer's tracepoint fires too early to read. */
SEC("tracepoint")
int tattle_syscall_tp_exit(struct call_tp_exit *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    struct call_args c = {};
    if (!call_from_regs(&c, (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf()), ctx->nr, id))
        return 0;
    if ((c.nr == NR_recvfrom || c.nr == NR_recvmsg) && c.sock_type == SOCK_STREAM)
        return 0; /* sock_recv_length has them */
    return call_done(&c, ctx->ret, id);
}
#endif

#ifndef TATTLE_FALLBACK
/* ---------------------------------------------------------------------------------------------------------
 * --no-syscalls: payloads from the socket layer. sock_send_length and sock_recv_length (6.3) fire inside every
 * socket send and receive, after the call moved its bytes, in the caller's context; only socket calls pay for them,
 * where a program on sys_enter/sys_exit puts every syscall of every task on the kernel's slow path. The syscall's
 * own registers (bpf_task_pt_regs, 5.15) say which call it is, its fd and its user buffer or iovecs.
 */

/* The first payload of a socket this process is not known to hold (accepted, connected or created unseen): its
 * fd, addresses and state, as a socket() record, so user space needs no /proc walk. A TCP connect's SYN_SENT left
 * an entry without an fd: the record names it. False for the tail of a connection that is over; *entry is the
 * socket's entry (NULL when the table refused one: the payload is still reported, at an unknown position). */
static __always_inline bool sock_first_seen(struct sock *sk, __u32 tgid, int fd, int ret, struct sk_info **entry)
{
    __u64 key = (__u64)sk;
    struct sk_info *info = bpf_map_lookup_elem(&socks, &key);
    *entry = info;
    if (info && info->tgid == tgid && info->fd == fd)
        return true;
    /* An end of stream, or a call on a TCP socket already closed (its entry went at CLOSE): the tail of a
     * connection that is over, not a new one. */
    if ((!info || !info->tgid) && (ret == 0 || (sk->sk_protocol == IPPROTO_TCP && sk->__sk_common.skc_state == TCP_CLOSE)))
        return false;
    struct tattle_sock_event *e = sock_event(TATTLE_EV_SOCKET);
    if (e) {
        e->fd = fd;
        e->ret = fd;
        e->aux = TATTLE_SOCKET_FIRST_PAYLOAD;
        struct socket *so = sk->sk_socket;
        if (so)
            fill_from_socket(e, so);
        output(e, sizeof(*e), false);
    }
    if (!info) {
        *entry = sk_info_get(key, tgid, fd, false);
        return true;
    }
    info->tgid = tgid;
    info->fd = fd;
    return true;
}

static __always_inline int on_sock_length(struct sock *sk, int ret, int flags, __u16 dir)
{
    if (!(cfg.flags & TATTLE_CFG_SOCK_PAYLOAD) || !sk || ret < 0 || (flags & MSG_PEEK))
        return 0;
    __u64 id = bpf_get_current_pid_tgid();
    __u32 *tflags = trace_flags(id >> 32);
    if (!tflags)
        return 0;
    struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
    struct call_args c = {};
    c.nr = regs->orig_ax;
    args_from_regs(&c, regs);
    if (is_payload_call(c.nr) && is_send_call(c.nr) != (dir == DIR_SEND))
        return 0; /* a send made by a receive (or the other way): not the call's own bytes */
    /* A datagram's sender is written to the caller's memory only after this tracepoint: with syscall tracepoints,
     * sys_exit_recvfrom/recvmsg read such receives whole, with their peer (tattle_syscall_tp_exit). */
    if (!(cfg.flags & TATTLE_CFG_NO_SYSCALLS) && (c.nr == NR_recvfrom || c.nr == NR_recvmsg) && sk->sk_type != SOCK_STREAM)
        return 0;
    /* Without them, the sockaddr the caller gave still holds whatever it held before (a stale or zeroed
     * address read as the sender's): the datagram goes without one. */
    c.no_peer = dir == DIR_RECV;
    if (is_payload_call(c.nr) || c.nr == NR_sendfile) {
        c.fd = (int)c.arg[0];
    } else if (c.nr == NR_splice) {
        c.fd = (int)(dir == DIR_SEND ? c.arg[2] : c.arg[0]);
        c.arg[5] = dir;
    } else if ((c.nr == NR_sendmmsg || c.nr == NR_recvmmsg) && !(cfg.flags & TATTLE_CFG_NO_SYSCALLS)) {
        return 0; /* their syscall tracepoints read them whole (tattle_syscall_tp_exit) */
    } else {
        /* sendmmsg/recvmmsg fire once per message and the registers do not say which; io_uring's and the
         * kernel's own socket calls have no user buffer of the process. Counted, not read. */
        if (ret > 0)
            stat_add(TATTLE_STAT_BYTES_UNREAD, ret);
        return 0;
    }
    c.sk = (__u64)sk;
    c.sock_type = sk->sk_type;
    c.family = sk->__sk_common.skc_family;
    c.count_only = counts_only(tflags);
    struct sk_info *info = 0;
    if (!sock_first_seen(sk, id >> 32, c.fd, ret, &info))
        return 0;
    if ((cfg.flags & TATTLE_CFG_TLS) && is_payload_call(c.nr)) {
        tls_note_socket(id, c.fd);
        if (go_seen)
            go_note_socket(id >> 32, regs->r14, c.fd);
    }
    finish_payload(&c, ret, id, info);
    return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(tattle_sock_send, struct sock *sk, int ret, int flags)
{
    return on_sock_length(sk, ret, flags, DIR_SEND);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(tattle_sock_recv, struct sock *sk, int ret, int flags)
{
    return on_sock_length(sk, ret, flags, DIR_RECV);
}
#endif

/* --packets-only: the ports traced processes listen on, per network namespace. An accepted connection reaches
 * ESTABLISHED in softirq, in whatever process's context: its owner is its listener's. */
struct listen_key {
    __u64 net;
    __u16 port;
    __u16 family;
    __u32 _pad;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, struct listen_key);
    __type(value, __u32);
} listeners SEC(".maps");

static __always_inline struct listen_key listen_key_of(struct sock *sk)
{
    struct listen_key k = {};
    k.net = bpf_core_field_exists(sk->__sk_common.skc_net.net) ? (__u64)BPF_CORE_READ(sk, __sk_common.skc_net.net) : 0;
    k.port = BPF_CORE_READ(sk, __sk_common.skc_num);
    k.family = BPF_CORE_READ(sk, __sk_common.skc_family);
    return k;
}

/* TCP state changes of traced sockets. On loopback the peer's transitions run in the other process's context,
 * so the owner comes from the socks map (filled at socket/connect/accept/listen), never from current. */
SEC("raw_tp/inet_sock_set_state")
int tattle_tcp_state(struct bpf_raw_tracepoint_args *ctx)
{
    struct sock *sk = (void *)ctx->args[0];
    __u64 key = (__u64)sk;
    struct sk_info *info = bpf_map_lookup_elem(&socks, &key);
    int oldstate = (int)ctx->args[1];
    int newstate = (int)ctx->args[2];
    bool packets_only = (cfg.flags & TATTLE_CFG_NO_SYSCALLS) && !(cfg.flags & TATTLE_CFG_SOCK_PAYLOAD);
    /* Before the state record, so the connection is still open when user space reads its last requests; for every
     * socket, so an entry whose socket left the socks table goes too. */
    if (newstate == TCP_CLOSE && (cfg.flags & TATTLE_CFG_KERNEL_HTTP))
        http_close(key);
    if ((cfg.flags & TATTLE_CFG_NO_SYSCALLS) && (newstate == TCP_SYN_SENT || newstate == TCP_LISTEN)) {
        /* No syscalls seen: a connect (CLOSE -> SYN_SENT) and a listen run in the owner's context, and each begins
         * a socket's life. An entry found here is a freed socket's at the same address (its owner cleared at
         * CLOSE): it must neither hide the new one nor lend it its owner. */
        __u32 tgid = bpf_get_current_pid_tgid() >> 32;
        if (!is_traced(tgid)) {
            if (info)
                info->tgid = 0;
            return 0;
        }
        info = sk_info_get(key, tgid, -1, true);
        if (info && newstate == TCP_SYN_SENT)
            info->active_open = 1;
        if (packets_only && newstate == TCP_LISTEN) {
            struct listen_key lk = listen_key_of(sk);
            bpf_map_update_elem(&listeners, &lk, &tgid, BPF_ANY);
        }
    } else if (packets_only && newstate == TCP_ESTABLISHED && oldstate == TCP_SYN_RECV && (!info || !info->tgid)) {
        /* An accepted connection: no accept() is traced, so it is learnt here, from its listener. */
        struct listen_key lk = listen_key_of(sk);
        __u32 *owner = bpf_map_lookup_elem(&listeners, &lk);
        if (!owner || !is_traced(*owner))
            return 0;
        info = sk_info_get(key, *owner, -1, true);
    }
    if (!info || !info->tgid)
        return 0;
    if (packets_only && newstate == TCP_CLOSE && oldstate == TCP_LISTEN) {
        struct listen_key lk = listen_key_of(sk);
        __u32 *owner = bpf_map_lookup_elem(&listeners, &lk);
        if (owner && *owner == info->tgid)
            bpf_map_delete_elem(&listeners, &lk);
    }
    struct tattle_sock_event *e = sock_event(TATTLE_EV_TCP_STATE);
    if (!e)
        return 0;
    e->h.tgid = info->tgid;
    e->h.tid = info->tgid;
    e->fd = info->fd;
    e->sk = key;
    e->aux = (int)ctx->args[1];
    e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
    e->protocol = BPF_CORE_READ(sk, sk_protocol);
    e->type = BPF_CORE_READ(sk, sk_type);
    if (e->family == AF_INET || e->family == AF_INET6)
        fill_inet_addrs(&e->local, &e->remote, sk, e->family);
    e->state = newstate;
    e->ret = -BPF_CORE_READ(sk, sk_err);
    e->bytes_sent = info->pos[DIR_SEND];
    e->bytes_recv = info->pos[DIR_RECV];
    if (packets_only) {
        /* No payload calls advance the positions: TCP's own counters say what went through. They count sequence
         * numbers: an active open's SYN and this end's FIN once acked are in bytes_acked, the peer's FIN in
         * bytes_received (tcp_fin() marks it SOCK_DONE). A connection's byte counts are the largest any of its
         * records gave, so none may count the FIN before it is there. */
        struct tcp_sock *tp = (struct tcp_sock *)sk;
        __u64 acked = BPF_CORE_READ(tp, bytes_acked);
        __u64 received = BPF_CORE_READ(tp, bytes_received);
        if (acked && info->active_open)
            acked--;
        /* Our FIN is in the sequence space once queued: not yet at the change into FIN_WAIT1 or LAST_ACK itself
         * (tcp_close() changes the state, then queues it), and never on a close that aborts (a reset, no FIN).
         * It is counted once acked: nothing left unacked. */
        bool fin_queued = newstate == TCP_FIN_WAIT2 || newstate == TCP_CLOSING
            || (newstate == TCP_CLOSE && (oldstate == TCP_FIN_WAIT1 || oldstate == TCP_FIN_WAIT2 || oldstate == TCP_CLOSING
                                          || oldstate == TCP_LAST_ACK));
        if (acked && fin_queued && BPF_CORE_READ(tp, snd_una) == BPF_CORE_READ(tp, write_seq))
            acked--;
        unsigned long flags = bpf_core_field_exists(sk->__sk_common.skc_flags)
            ? BPF_CORE_READ(sk, __sk_common.skc_flags) : BPF_CORE_READ(sk, sk_flags);
        if (received && (flags & (1UL << SOCK_DONE)))
            received--;
        e->bytes_sent = acked;
        e->bytes_recv = received;
    }
    output(e, sizeof(*e), false);
    if (newstate == TCP_CLOSE) {
        /* No more state changes to report; the positions stay for a late close(). With no close() to come
         * (--no-syscalls) the entry goes: a new socket at the same address is then first seen as new. */
        if ((cfg.flags & TATTLE_CFG_SOCK_PAYLOAD) && (cfg.flags & TATTLE_CFG_NO_SYSCALLS))
            bpf_map_delete_elem(&socks, &key);
        else
            info->tgid = 0;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------------------
 * TLS plaintext: uprobes on the TLS library's read/write calls, attached by user space per traced process (so
 * other processes never trap). The cookie says which function; entry stashes the buffer, return emits what the
 * call moved through the same chunking loop as socket payloads, marked TATTLE_DATA_TLS.
 */

static __always_inline __u32 sk_gen(__u64 sk)
{
    struct sk_info *info = sk ? bpf_map_lookup_elem(&socks, &sk) : 0;
    return info ? info->gen : 0;
}

/* Whether the entry serves a call on sk (0: not known), binding it to sk if it has no socket yet. */
static __always_inline bool tls_conn_serves(struct tls_conn *tc, __u64 sk, int fd, __u32 gen)
{
    if (!tc)
        return false;
    if (!sk || (tc->sk == sk && tc->gen == gen))
        return true;
    if (tc->sk)
        return false;
    tc->sk = sk;
    tc->fd = fd;
    tc->gen = gen;
    return true;
}

/* The session's state, bound to sk when known. A session first seen without a socket (its first read was served
 * from the library's buffer) keeps its positions when the socket shows up; another socket means a reused object
 * (servers free and reallocate SSL objects, and the kernel its socks, at the same addresses: the socket's
 * generation tells). SSL_set_fd always starts afresh: it is where an object takes up a connection. */
static __always_inline struct tls_conn *tls_conn_get(__u32 tgid, __u64 session, int fd, __u64 sk, bool restart)
{
    struct tls_key k = { .tgid = tgid, .session = session };
    struct tls_conn *tc = restart ? 0 : bpf_map_lookup_elem(&tls_conns, &k);
    __u32 gen = sk_gen(sk);
    if (tls_conn_serves(tc, sk, fd, gen))
        return tc;
    struct tls_conn fresh = { .sk = sk, .fd = fd, .gen = gen };
    if (bpf_map_update_elem(&tls_conns, &k, &fresh, BPF_NOEXIST) == 0) {
        stat_add(TATTLE_STAT_TLS_CONNS_NEW, 1);
    } else {
        if (!tc && !restart) {
            /* Two threads met the session first at once (a Go server's reader and writer goroutines do, on
             * every connection) and the other's insert won: its entry is the session's. Overwriting it would
             * restart the positions the other has already advanced, and its bytes would be taken for a repeat. */
            tc = bpf_map_lookup_elem(&tls_conns, &k);
            if (tls_conn_serves(tc, sk, fd, gen))
                return tc;
        }
        bpf_map_update_elem(&tls_conns, &k, &fresh, BPF_ANY);
    }
    return bpf_map_lookup_elem(&tls_conns, &k);
}

/* Emits n plaintext bytes at c->buf for the session, bound to the socket the call named (c->sk) when known. bind
 * marks that socket's ciphertext as counted only: it must not be set before the handshake is over, or its records
 * (SNI, ALPN) are not seen. */
static __always_inline void tls_emit(__u32 tgid, const struct tls_call *c, __u64 n, bool bind)
{
    if (n == 0 || n > 0x7fffffff)
        return;
    struct tls_conn *tc = tls_conn_get(tgid, c->session, c->fd, c->sk, false);
    if (!tc)
        return;
    __u64 sk = tc->sk;
    int fd = tc->fd;
    if (sk) {
        struct sk_info *info = bind ? sk_info_get(sk, tgid, fd, false) : 0;
        if (info)
            info->tls = 1;
    } else {
        stat_add(TATTLE_STAT_TLS_NO_FD, 1);
    }
    __u32 zero = 0;
    struct emit_state *s = bpf_map_lookup_elem(&emit_buf, &zero);
    if (!s)
        return;
    __builtin_memset(s, 0, sizeof(*s));
    s->fd = fd;
    s->sk = sk;
    s->dir = (c->kind & TATTLE_TLS_RECV) ? DIR_RECV : DIR_SEND;
    s->syscall = TATTLE_TLS_SYSCALL | (c->kind & 0xff);
    s->family = sk ? BPF_CORE_READ((struct sock *)sk, __sk_common.skc_family) : 0;
    s->sock_type = SOCK_STREAM;
    s->flags = TATTLE_DATA_TLS;
    s->ret = n;
    s->buf = c->buf;
    s->msg_cnt = 1;
    s->tls = 1;
    s->tls_session = c->session;
    run_emit(s);
}

static __always_inline int tls_exit(struct pt_regs *ctx)
{
    stat_add(TATTLE_STAT_TLS_HITS, 1);
    __u64 id = bpf_get_current_pid_tgid();
    struct tls_call *p = bpf_map_lookup_elem(&tls_calls, &id);
    if (!p)
        return 0;
    struct tls_call c = *p;
    if (!bpf_map_delete_elem(&tls_calls, &id))
        __sync_fetch_and_add(&tls_calls_live, -1);
    long ret = PT_REGS_RC(ctx);
    if (!(c.kind & TATTLE_TLS_SSIZE))
        ret = (int)ret;
    __u64 n = 0;
    if (c.kind & TATTLE_TLS_EX) {
        if (ret != 1 || !c.len_ptr || bpf_probe_read_user(&n, sizeof(n), (void *)c.len_ptr))
            return 0;
    } else if (ret > 0) {
        n = ret;
    }
    tls_emit(id >> 32, &c, n, true);
    if (n > 0 && (c.kind & TATTLE_TLS_RECV)) {
        struct tls_key k = { .tgid = id >> 32, .session = c.session };
        struct tls_conn *tc = bpf_map_lookup_elem(&tls_conns, &k);
        if (tc)
            tc->wsent = 1; /* the peer answered: the same write again is a new one */
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------------------
 * Go's crypto/tls: (*Conn).Write(b []byte) (int, error) and (*Conn).Read(b []byte) (int, error), register ABI
 * (Go >= 1.17): the receiver in RAX, b's pointer and length in RBX and RCX, n back in RAX, the goroutine in R14.
 * uretprobes would break Go's stack copying, so Read's end is a uprobe on each of its RETs, and a call in flight is
 * keyed by goroutine, which may move to another thread while it waits for the network. The entry probes sit past
 * the stack-growth check (see GoBinary.FindBody), which a call that grows its stack runs twice.
 */

/* The descriptor in tls.Conn.conn (a net.Conn whose data is a *net.TCPConn) → netFD → poll.FD.Sysfd, at the
 * offsets the cookie carries (GoConnLayout); -1 when unreadable. */
static __always_inline int go_socket_fd(__u64 conn, __u64 cookie)
{
    __u64 data = 0, netfd = 0;
    __s64 sysfd = -1;
    __u64 conn_off = (cookie >> 16) & 0xffff, fd_off = (cookie >> 32) & 0xffff, sysfd_off = cookie >> 48;
    if (bpf_probe_read_user(&data, sizeof(data), (void *)(conn + conn_off + 8)) || !data
        || bpf_probe_read_user(&netfd, sizeof(netfd), (void *)(data + fd_off)) || !netfd
        || bpf_probe_read_user(&sysfd, sizeof(sysfd), (void *)(netfd + sysfd_off)))
        return -1;
    return sysfd >= 0 && sysfd < 0x7fffffff ? (int)sysfd : -1;
}

static __always_inline int go_probe(struct pt_regs *ctx, __u64 cookie, __u32 tgid)
{
    __u32 kind = cookie & 0xffff;
    struct go_key k = { .tgid = tgid, .g = ctx->r14 };
    if (kind & TATTLE_TLS_GO_RET) {
        struct tls_call *p = bpf_map_lookup_elem(&go_calls, &k);
        if (!p)
            return 0;
        struct tls_call c = *p;
        bpf_map_delete_elem(&go_calls, &k);
        if (c.noted_sk && c.noted_sk != c.sk) {
            /* The syscall is what the kernel saw: it wins over the struct walk. */
            if (c.sk)
                stat_add(TATTLE_STAT_GO_FD_MISMATCH, 1);
            c.sk = c.noted_sk;
            c.fd = c.noted_fd;
        }
        long n = (long)ctx->ax;
        if (n > 0)
            tls_emit(tgid, &c, n, true);
        return 0;
    }
    stat_add(TATTLE_STAT_TLS_CALLS, 1);
    if (!go_seen)
        go_seen = 1;
    struct tls_call c = {
        .session = ctx->ax,
        .buf = ctx->bx,
        .fd = -1,
        .noted_fd = -1,
        .kind = kind,
    };
    int fd = go_socket_fd(ctx->ax, cookie);
    struct socket *so = fd >= 0 ? fd_socket(fd) : 0;
    if (so) {
        c.fd = fd;
        c.sk = (__u64)KFIELD(so, sk);
    }
    if (!(kind & TATTLE_TLS_RECV)) {
        /* Write returns only when all of b is written or the connection failed: its plaintext is b. The socket is
         * not marked here, since the first Write may still run the handshake. */
        tls_emit(tgid, &c, ctx->cx, false);
        return 0;
    }
    if (bpf_map_update_elem(&go_calls, &k, &c, BPF_ANY))
        stat_add(TATTLE_STAT_CALLS_DROPPED, 1);
    return 0;
}

/* NSPR's PR_Read/PR_Write/PR_Send/PR_Recv serve every NSPR descriptor (files, pipes, plain sockets); plaintext
 * passes them only on a stack that holds NSS's SSL layer. A layer is a PRFileDesc { methods, secret, lower, higher,
 * dtor, identity } (prio.h). NSS's SSL layer keeps its sslSocket in secret, and that struct's first word points
 * back into the stack: at the SSL layer itself once NSS has looked the socket up (ssl_GetPrivate, ssl_FindSocket
 * set it), at the top before that (ssl_PushIOLayer). No other layer's secret does: NSPR's own (the bottom, identity
 * 0) starts with an int, an application's layer over SSL (Firefox's, a stub of PR_CreateIOLayerStub) holds a C++
 * object or nothing. The top may be such a layer, so a few layers are walked. */
#define NSPR_LAYERS_MAX 4

struct nspr_layer {
    __u64 methods;
    __u64 secret;
    __u64 lower;
    __u64 higher;
    __u64 dtor;
    __s32 identity;
};

static __always_inline bool nspr_is_ssl(__u64 top)
{
    __u64 fd = top;
    for (int i = 0; i < NSPR_LAYERS_MAX && fd; i++) {
        struct nspr_layer l;
        __u64 owner;
        if (bpf_probe_read_user(&l, sizeof(l), (void *)fd) || l.identity == 0)
            return false;
        if (l.secret && !bpf_probe_read_user(&owner, sizeof(owner), (void *)l.secret) && (owner == fd || owner == top))
            return true;
        fd = l.lower;
    }
    return false;
}

/* A write probed without a return probe (one trap instead of two or three): its plaintext is what it is given.
 * What it does not take at once, it is given again: after "want write" (or a write refused before the handshake
 * is over) the same buffer and length, after a partial write (SSL_MODE_ENABLE_PARTIAL_WRITE, as nginx sets) the
 * rest of it. Those are recognised against the last write read for the session, and not emitted twice; what
 * tells a retry from the same buffer written anew is a send that went through on the session's socket, or
 * plaintext read, since. A session whose socket the kernel does not know yet (a BIO of the program's own, before
 * its first read) has its plaintext emitted at the thread's next stream send, which names the socket: inside the
 * call for a socket BIO, right after it for a memory BIO (node, .NET). */
static __always_inline void tls_write_at_entry(struct pt_regs *ctx, __u64 id, __u32 kind)
{
    __u32 tgid = id >> 32;
    __u64 buf = PT_REGS_PARM2(ctx);
    long len = (kind & (TATTLE_TLS_EX | TATTLE_TLS_SSIZE)) ? (long)PT_REGS_PARM3(ctx) : (int)PT_REGS_PARM3(ctx);
    struct tls_call c = { .session = PT_REGS_PARM1(ctx), .buf = buf, .fd = -1, .noted_fd = -1, .kind = kind };
    if (!at_entry_seen)
        at_entry_seen = 1;
    if (len > 0 && len <= 0x7fffffff) {
        struct tls_conn *tc = tls_conn_get(tgid, c.session, -1, 0, false);
        __u64 head = 0;
        if (len >= 8)
            bpf_probe_read_user(&head, sizeof(head), (void *)buf);
        if (tc && tc->wbuf && ((buf >= tc->wbuf && buf + len == tc->wend && (buf > tc->wbuf || !tc->wsent))
                || (!tc->sk && !tc->wsent && head && head == tc->whead && len == tc->wlen))) {
            stat_add(TATTLE_STAT_TLS_WRITE_RETRIES, 1);
        } else if (tc) {
            tc->wbuf = buf;
            tc->wend = buf + len;
            tc->whead = head;
            tc->wlen = len;
            tc->wsent = 0;
            if (tc->sk) {
                /* Not marked as the socket's plaintext here (bind false): a first write may still run the
                 * handshake, whose records must be seen. */
                tls_emit(tgid, &c, len, false);
            } else {
                c.len_ptr = len;
                c.pending = 1;
            }
        }
    }
    /* A write still waiting for its socket is emitted without one: the thread's next send binds it in user space. */
    struct tls_call *prev = bpf_map_lookup_elem(&tls_writes, &id);
    if (prev && prev->pending) {
        struct tls_call p = *prev;
        prev->pending = 0;
        tls_emit(tgid, &p, p.len_ptr, false);
    }
    /* The thread's write: its socket sends say whether it went through, or name the socket. */
    if (bpf_map_update_elem(&tls_writes, &id, &c, BPF_ANY))
        stat_add(TATTLE_STAT_CALLS_DROPPED, 1);
}

/* A stream send (sys_exit) on a thread whose last TLS call was a write read at entry: a pending plaintext is
 * emitted on this socket, and whether the send went through decides whether the same write again is a retry. Only
 * the session's own socket counts once it is known. */
static __always_inline void tls_note_send(__u64 id, __u64 sk, int fd, long ret)
{
    struct tls_call *t = bpf_map_lookup_elem(&tls_writes, &id);
    if (!t)
        return;
    __u32 tgid = id >> 32;
    if (t->pending && ret > 0 && sk) {
        struct tls_call c = *t;
        t->pending = 0;
        c.sk = sk;
        c.fd = fd;
        tls_emit(tgid, &c, c.len_ptr, false);
    }
    struct tls_key k = { .tgid = tgid, .session = t->session };
    struct tls_conn *tc = bpf_map_lookup_elem(&tls_conns, &k);
    /* Before the kernel knows the session's socket, a send may be the handshake's, not the write's. */
    if (tc && tc->sk && tc->sk == sk)
        tc->wsent = ret > 0;
}

static __always_inline int tls_enter(struct pt_regs *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    __u32 tgid = id >> 32;
    if (!is_traced(tgid)) {
        stat_add(TATTLE_STAT_TLS_UNTRACED, 1);
        return 0;
    }
    stat_add(TATTLE_STAT_TLS_HITS, 1);
    __u64 cookie = bpf_get_attach_cookie(ctx);
    if (cookie & TATTLE_TLS_GO)
        return go_probe(ctx, cookie, tgid);
    __u32 kind = cookie & 0xffff;
    if (kind & TATTLE_TLS_SET_FD) {
        int fd = (int)PT_REGS_PARM2(ctx);
        struct socket *so = fd_socket(fd);
        if (so)
            tls_conn_get(tgid, PT_REGS_PARM1(ctx), fd, (__u64)KFIELD(so, sk), true);
        return 0;
    }
    if ((kind & TATTLE_TLS_NSPR) && !nspr_is_ssl(PT_REGS_PARM1(ctx)))
        return 0;
    stat_add(TATTLE_STAT_TLS_CALLS, 1);
    if (kind & TATTLE_TLS_AT_ENTRY) {
        tls_write_at_entry(ctx, id, kind);
        return 0;
    }
    struct tls_call c = {
        .session = PT_REGS_PARM1(ctx),
        .buf = PT_REGS_PARM2(ctx),
        .len_ptr = (kind & TATTLE_TLS_EX) ? PT_REGS_PARM4(ctx) : 0,
        .fd = -1,
        .kind = kind,
    };
    /* Counted only when new: a call that replaces one left behind (its uretprobe lost) holds the same entry. */
    if (!bpf_map_update_elem(&tls_calls, &id, &c, BPF_NOEXIST))
        __sync_fetch_and_add(&tls_calls_live, 1);
    else if (bpf_map_update_elem(&tls_calls, &id, &c, BPF_ANY))
        stat_add(TATTLE_STAT_CALLS_DROPPED, 1);
    return 0;
}

/* Two attachments of the same code. The _multi pair is loaded as BPF_TRACE_UPROBE_MULTI (user space sets the
 * expected attach type): one link per library and process covers every function, and closing it waits for one
 * grace period, not one per function (~0.1 s each here). The perf-event pair is the fallback for kernels
 * without uprobe_multi (before 6.6). */
SEC("uprobe")
int tattle_tls_enter(struct pt_regs *ctx)
{
    return tls_enter(ctx);
}

SEC("uretprobe")
int tattle_tls_exit(struct pt_regs *ctx)
{
    return tls_exit(ctx);
}

SEC("uprobe")
int tattle_tls_enter_multi(struct pt_regs *ctx)
{
    return tls_enter(ctx);
}

SEC("uprobe")
int tattle_tls_exit_multi(struct pt_regs *ctx)
{
    return tls_exit(ctx);
}

/* ---- Function probes (tattle probe): any function of any object, one record per call ---- */

/* A call in flight, per thread and function: recursion into the same function keeps the innermost entry. */
struct call_frame_key {
    __u64 pid_tgid;
    __u64 function;
};

struct call_frame {
    __u64 start_ns;
    __u64 args[TATTLE_CALL_ARGS];
};

/* LRU: a thread that dies inside a call leaves its frame; the oldest go first when the table fills. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, struct call_frame_key);
    __type(value, struct call_frame);
} call_frames SEC(".maps");

struct call_scratch {
    struct tattle_call_event e;
    __u8 cap[TATTLE_CALL_ARGS][TATTLE_CALL_CAPTURE];
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct call_scratch);
} call_buf SEC(".maps");

/* A USDT site's arguments by function index (user space fills it before attaching the site). */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);
    __type(value, struct tattle_usdt_spec);
} usdt_specs SEC(".maps");

/* The arguments of a USDT site, as its note says where each is: a constant, a register, or memory at a register
 * plus an offset; cut to the argument's size and sign-extended when the note says it is signed. */
static __always_inline void usdt_args(struct pt_regs *ctx, __u64 cookie, __u64 *args)
{
    __u32 key = cookie & 0xffff;
    struct tattle_usdt_spec *s = bpf_map_lookup_elem(&usdt_specs, &key);
#pragma unroll
    for (int i = 0; i < TATTLE_CALL_ARGS; i++) {
        args[i] = 0;
        if (!s || i >= s->nargs)
            continue;
        struct tattle_usdt_arg *a = &s->args[i];
        __u64 v = 0;
        if (a->kind == TATTLE_USDT_CONST) {
            v = a->val;
        } else {
            /* A variable offset into ctx cannot be dereferenced: the helper reads the slot instead, as libbpf's
             * usdt.bpf.h does. */
            __s64 off = a->reg_off;
            if (off < 0 || off > (__s64)sizeof(struct pt_regs) - 8)
                continue;
            if (bpf_probe_read_kernel(&v, sizeof(v), (void *)ctx + off))
                continue;
            if (a->kind == TATTLE_USDT_MEM) {
                __u64 addr = v + a->val;
                v = 0;
                if (bpf_probe_read_user(&v, sizeof(v), (const void *)addr))
                    continue;
            }
        }
        __u32 shift = 64 - 8 * (a->size & 0xf);
        if (shift > 0 && shift < 64) {
            v <<= shift;
            v = a->is_signed ? (__u64)((__s64)v >> shift) : v >> shift;
        }
        args[i] = v;
    }
}

static __always_inline void call_args(struct pt_regs *ctx, __u64 cookie, __u64 *args)
{
    if (cookie & TATTLE_CALL_USDT) {
        usdt_args(ctx, cookie, args);
        return;
    }
    /* Every register is loaded first and hidden from the optimiser: choosing between two fields of ctx lets clang
     * compute ctx + (go ? off1 : off2), a modified context pointer the verifier refuses. */
    __u64 di = ctx->di, si = ctx->si, dx = ctx->dx, cx = ctx->cx, r8 = ctx->r8, r9 = ctx->r9, ax = ctx->ax, bx = ctx->bx;
    barrier_var(di);
    barrier_var(si);
    barrier_var(dx);
    barrier_var(cx);
    barrier_var(r8);
    barrier_var(r9);
    barrier_var(ax);
    barrier_var(bx);
    bool go = cookie & TATTLE_CALL_GO;
    args[0] = go ? ax : di;
    args[1] = go ? bx : si;
    args[2] = go ? cx : dx;
    args[3] = go ? di : cx;
    args[4] = go ? si : r8;
    args[5] = go ? r8 : r9;
}

/* Copies the arguments the cookie asks for into their slots and writes the record. */
static __always_inline void call_emit(struct call_scratch *b)
{
    __u64 cookie = b->e.cookie;
    __u32 used = 0;
#pragma unroll
    for (int i = 0; i < TATTLE_CALL_ARGS; i++) {
        __u32 spec = (cookie >> (TATTLE_CALL_ARG_SHIFT + 6 * i)) & 0x3f;
        __u32 cap = spec & 7;
        b->e.cap_len[i] = 0;
        if (cap == TATTLE_CAP_STR) {
            long n = bpf_probe_read_user_str(b->cap[i], TATTLE_CALL_CAPTURE, (const void *)b->e.args[i]);
            if (n > 0) {
                b->e.cap_len[i] = n - 1;
                used = i + 1;
            }
        } else if (cap == TATTLE_CAP_BUF) {
            __u32 from = spec >> 3;
            /* The index is clamped in its register: 6.1's verifier loses the bounds of `from - 1` once clang widens it
             * ("R2 unbounded memory access"); 6.18's keeps them. */
            __u64 arg = from - 1;
            CLAMP(arg, 5);
            __s64 len = from == 7 ? (__s64)b->e.ret : from >= 1 && from <= 6 ? (__s64)b->e.args[arg] : 0;
            if (from == 7 && (cookie & TATTLE_CALL_ENTRY_ONLY))
                len = 0;
            if (len > 0) {
                __u64 n = len;
                CLAMP(n, TATTLE_CALL_CAPTURE);
                if (n && !bpf_probe_read_user(b->cap[i], n, (const void *)b->e.args[i])) {
                    b->e.cap_len[i] = n;
                    used = i + 1;
                }
            }
        }
    }
    __u64 size = sizeof(struct tattle_call_event) + (__u64)used * TATTLE_CALL_CAPTURE;
    CLAMP(size, sizeof(struct call_scratch));
    output(b, size, false);
}

static __always_inline int call_enter(struct pt_regs *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    if (!is_traced(id >> 32))
        return 0;
    stat_add(TATTLE_STAT_PROBE_HITS, 1);
    __u64 cookie = bpf_get_attach_cookie(ctx);
    if (cookie & TATTLE_CALL_ENTRY_ONLY) {
        __u32 zero = 0;
        struct call_scratch *b = bpf_map_lookup_elem(&call_buf, &zero);
        if (!b)
            return 0;
        fill_hdr(&b->e.h, TATTLE_EV_CALL);
        b->e.start_ns = b->e.h.ts_ns;
        b->e.cookie = cookie;
        b->e.ret = 0;
        b->e.flags = TATTLE_CALL_ENTRY_ONLY;
        call_args(ctx, cookie, b->e.args);
        call_emit(b);
        return 0;
    }
    struct call_frame_key k = { .pid_tgid = id, .function = cookie & 0xffff };
    struct call_frame f = { .start_ns = bpf_ktime_get_ns() };
    call_args(ctx, cookie, f.args);
    bpf_map_update_elem(&call_frames, &k, &f, BPF_ANY);
    return 0;
}

static __always_inline int call_exit(struct pt_regs *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    if (!is_traced(id >> 32))
        return 0;
    stat_add(TATTLE_STAT_PROBE_HITS, 1);
    __u64 cookie = bpf_get_attach_cookie(ctx);
    struct call_frame_key k = { .pid_tgid = id, .function = cookie & 0xffff };
    struct call_frame *f = bpf_map_lookup_elem(&call_frames, &k);
    if (!f) {
        stat_add(TATTLE_STAT_PROBE_UNMATCHED, 1);
        return 0;
    }
    __u32 zero = 0;
    struct call_scratch *b = bpf_map_lookup_elem(&call_buf, &zero);
    if (b) {
        fill_hdr(&b->e.h, TATTLE_EV_CALL);
        b->e.start_ns = f->start_ns;
        b->e.cookie = cookie;
        b->e.ret = PT_REGS_RC(ctx);
        b->e.flags = 0;
        __builtin_memcpy(b->e.args, f->args, sizeof(f->args));
        call_emit(b);
    }
    bpf_map_delete_elem(&call_frames, &k);
    return 0;
}

/* The same pairs as the TLS probes': per-function perf-event links, or one uprobe_multi link per object. */
SEC("uprobe")
int tattle_call_enter(struct pt_regs *ctx)
{
    return call_enter(ctx);
}

SEC("uretprobe")
int tattle_call_exit(struct pt_regs *ctx)
{
    return call_exit(ctx);
}

SEC("uprobe")
int tattle_call_enter_multi(struct pt_regs *ctx)
{
    return call_enter(ctx);
}

SEC("uprobe")
int tattle_call_exit_multi(struct pt_regs *ctx)
{
    return call_exit(ctx);
}
