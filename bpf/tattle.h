/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Records the kernel side writes into the ring buffer, and the configuration user space sets before load.
 * This file is the ABI between bpf/tattle.bpf.c and src/Tattle.Capture/Bpf/Native*.cs: every struct has
 * explicit padding so its layout is the same in C and C#, and a test compiles this header with the host
 * compiler and compares sizeof/offsetof with the C# declarations.
 */
#ifndef TATTLE_H
#define TATTLE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TATTLE_COMM_LEN 16
#define TATTLE_PATH_LEN 108
#define TATTLE_FILENAME_LEN 256
#define TATTLE_ARGS_LEN 1024
/* Largest payload of one data record; a longer message is split into several records. */
#define TATTLE_CHUNK_MAX 16384

enum tattle_event_type {
    TATTLE_EV_FORK = 1,
    TATTLE_EV_EXEC = 2,
    TATTLE_EV_EXIT = 3,
    TATTLE_EV_SOCKET = 10,
    TATTLE_EV_CONNECT = 11,
    TATTLE_EV_ACCEPT = 12,
    TATTLE_EV_BIND = 13,
    TATTLE_EV_LISTEN = 14,
    TATTLE_EV_CLOSE = 15,
    TATTLE_EV_SHUTDOWN = 16,
    TATTLE_EV_TCP_STATE = 17,
    TATTLE_EV_DATA = 20,
    TATTLE_EV_HTTP = 21,
    TATTLE_EV_NOTICE = 30,
    TATTLE_EV_CALL = 40,
};

/* Per-CPU counters in the "stats" map, summed by user space. */
/* Sizes of the LRU tables whose evictions user space accounts for (KernelStats mirrors them). */
#define TATTLE_SOCKS_MAX 131072
#define TATTLE_TLS_CONNS_MAX 65536

enum tattle_stat {
    TATTLE_STAT_DATA_EMITTED = 0,   /* data records written to the ring */
    TATTLE_STAT_DATA_DROPPED = 1,   /* data records lost: ring full */
    TATTLE_STAT_OTHER_EMITTED = 2,  /* all other records written */
    TATTLE_STAT_OTHER_DROPPED = 3,  /* all other records lost: ring full */
    TATTLE_STAT_CALLS_DROPPED = 4,  /* syscalls not followed: the in-flight table was full */
    TATTLE_STAT_BYTES_CUT = 5,      /* payload bytes past the snap length (counted, not captured) */
    TATTLE_STAT_BYTES_UNREAD = 6,   /* payload bytes not captured: loop bound or unreadable user memory */
    TATTLE_STAT_TRACED_FULL = 7,    /* child processes not followed: the traced table was full */
    TATTLE_STAT_TLS_CALLS = 8,      /* TLS library calls seen in traced processes (entry probes) */
    TATTLE_STAT_TLS_UNTRACED = 9,   /* TLS probe hits in processes not traced (per-pid attach keeps this 0) */
    TATTLE_STAT_TLS_NO_FD = 10,     /* TLS plaintext records whose socket was not (yet) known */
    TATTLE_STAT_SOCKS_NEW = 11,     /* entries made in the socks table (LRU: past its size, old ones are evicted) */
    TATTLE_STAT_TLS_CONNS_NEW = 12, /* entries made in the tls_conns table (likewise) */
    TATTLE_STAT_GO_FD_MISMATCH = 13, /* Go reads whose socket from tls.Conn's fields was not the one its syscall used */
    TATTLE_STAT_TLS_WRITE_RETRIES = 14, /* writes read at entry not emitted again: a retry or the rest of one already read */
    TATTLE_STAT_TLS_HITS = 15,      /* TLS probe hits in traced processes, entries and returns: each a trap */
    TATTLE_STAT_PROBE_HITS = 16,    /* function probe (tattle probe) hits in traced processes, entries and returns */
    TATTLE_STAT_PROBE_UNMATCHED = 17, /* function returns with no entry kept: in flight at attach, or evicted */
    TATTLE_STAT_HTTP_UNTRACKED = 18, /* connections left to user space: the kernel's HTTP table was full */
    TATTLE_STAT_BYTES_SKIPPED = 19, /* body bytes counted, not copied: user space's parser asked (body_skips) */
    TATTLE_STAT_COUNT = 20,
};

/* Flags of a data record. */
#define TATTLE_DATA_TRUNC    0x01 /* the message was longer than the snap length */
#define TATTLE_DATA_LAST     0x02 /* the last record of this message */
#define TATTLE_DATA_EOF      0x04 /* a stream read returned 0: the peer closed its side */
#define TATTLE_DATA_SENDFILE 0x08 /* bytes moved by sendfile: counted, payload not seen */
#define TATTLE_DATA_SPLICE   0x10 /* bytes moved by splice: counted, payload not seen */
#define TATTLE_DATA_UNREAD   0x20 /* user memory could not be read: payload missing */
#define TATTLE_DATA_TLS      0x40 /* plaintext handed to or returned by a TLS library (uprobes), not socket bytes */
#define TATTLE_DATA_SKIPPED  0x80 /* the message's first skip_len bytes lie in a body user space only counts: not copied */

/* The attach cookie of a TLS probe says which function it sits on. TLS data records carry
 * TATTLE_TLS_SYSCALL | cookie in their syscall field. */
#define TATTLE_TLS_RECV     0x1 /* SSL_read*, gnutls_record_recv: plaintext is in the buffer at return */
#define TATTLE_TLS_EX       0x2 /* SSL_read_ex/SSL_write_ex: returns 1/0, the length is in *arg4 */
#define TATTLE_TLS_SSIZE    0x4 /* gnutls_record_*: returns ssize_t, not int */
#define TATTLE_TLS_SET_FD   0x8 /* SSL_set_fd(ssl, fd): binds the SSL object to its socket */
#define TATTLE_TLS_GO       0x10 /* Go's crypto/tls (*Conn).Write/Read: register ABI; bits 16-63 hold struct offsets */
#define TATTLE_TLS_GO_RET   0x20 /* a RET instruction of Go's (*Conn).Read */
#define TATTLE_TLS_AT_ENTRY 0x80 /* a write read at entry, no return probe (see tls_write_at_entry) */
#define TATTLE_TLS_NSPR     0x40 /* PR_Read/PR_Write/PR_Send/PR_Recv: plaintext only on an NSS SSL descriptor */
#define TATTLE_TLS_SYSCALL  0x1000

/* The attach cookie of a function probe (tattle probe): bits 0-15 the function's index in user space's table,
 * bits 16-19 flags, and from bit 20 six bits per argument: what to copy of it (bits 0-2: TATTLE_CAP_*) and, for a
 * buffer, where its length is (bits 3-5: 1-6 that argument, 7 the return value). Integers need no kernel work: the
 * registers are sent as they are and user space formats them. */
#define TATTLE_CALL_GO         0x10000 /* Go's register ABI (RAX, RBX, RCX, RDI, RSI, R8) */
#define TATTLE_CALL_ENTRY_ONLY 0x20000 /* no return probe (Go code): the record is written at entry */
#define TATTLE_CALL_USDT       0x40000 /* a USDT probe: arguments computed from its note's specs (usdt_specs) */
#define TATTLE_CALL_ARG_SHIFT  20
#define TATTLE_CAP_NONE 0
#define TATTLE_CAP_STR  1 /* a NUL-terminated string */
#define TATTLE_CAP_BUF  2 /* a buffer whose length is another argument or the return value */
#define TATTLE_CALL_ARGS 6
#define TATTLE_CALL_CAPTURE 256 /* bytes kept of one string or buffer argument */

/* Notices: things user space should know about a process. */
#define TATTLE_NOTICE_IO_URING 1 /* the process set up io_uring: its I/O there is not seen */

/* What user space sets before load (the only variable in .rodata; user space checks the map's size). */
struct tattle_config {
    __u32 snaplen;       /* payload bytes captured per message; 0 = sizes only */
    __u32 self_tgid;     /* tattle itself: never traced */
    __u64 wakeup_bytes;  /* wake the consumer once this much data waits; below it, it polls */
    __u32 flags;         /* TATTLE_CFG_* */
    __u32 _pad;
};

/* Values of the traced map (and of the match maps, which give a process its value when it execs). */
#define TATTLE_TRACE_ON 1
/* Connections only: payload calls advance the byte counts; nothing is copied (datagrams still are: DNS). */
#define TATTLE_TRACE_NO_PAYLOAD 2

/* Key of the match_exe map: an executable file by its inode (hard links and symlinks match; a file replaced by a
 * package upgrade is a new inode, which user space finds again on its next scan). */
struct tattle_exe_key {
    __u64 ino;
    __u32 dev; /* the kernel's encoding: major << 20 | minor */
    __u32 _pad;
};

/* Stream sockets' payload calls only advance the byte positions (counted, not emitted): connections and their
 * byte counts without a ring record per read/write, for when packets (-w) or nothing else is wanted. */
#define TATTLE_CFG_NO_STREAM_PAYLOAD 1
/* TLS probes are attached: payload syscalls made inside a TLS call tell which socket the SSL object uses. */
#define TATTLE_CFG_TLS 2
/* The syscall tracepoints are not attached (--packets-only): TCP sockets are learnt from their state changes,
 * a connect's SYN_SENT and a listen's LISTEN, which run in the process's own context. */
#define TATTLE_CFG_NO_SYSCALLS 4
/* A socket record's aux: the socket was first seen by its payload (--no-syscalls), with its fd and addresses. */
#define TATTLE_SOCKET_FIRST_PAYLOAD 1
/* --no-syscalls: payloads from the socket layer's sock_send_length/sock_recv_length tracepoints (6.3), with the
 * syscall's registers from bpf_task_pt_regs (5.15); a socket's first payload names its fd. */
#define TATTLE_CFG_SOCK_PAYLOAD 8
#define TATTLE_CFG_KERNEL_HTTP 16
/* Stream payloads consult body_skips: the bytes of a long body user space's parser only counts are not copied. */
#define TATTLE_CFG_BODY_SKIP 32
/* Uprobes follow the traced processes: forks and execs also go to the spawns ring (struct tattle_spawn). */
#define TATTLE_CFG_SPAWNS 64

/* A record of the spawns ring: a traced process forked (pid is the child) or exec'd. Its own ring, read by a thread
 * of its own, so that probes go on a child before its loader maps a TLS library, however far behind the events
 * ring's consumer is. */
struct tattle_spawn {
    __u32 type; /* TATTLE_EV_FORK or TATTLE_EV_EXEC */
    __u32 pid;
    __u32 ppid;
    __u32 _pad;
};

/* Value of the body_skips map, keyed by the socket's kernel address and written by user space: the stream
 * position where the body being read in each direction ends. A payload message that begins before it is not copied
 * up to it; one record flagged TATTLE_DATA_SKIPPED says how many bytes were left out. gen is the socket's
 * generation (tattle_data_event.gen): an entry left by a closed socket does not apply to a new one at its address.
 * Records wait in the ring until 32 KiB do or the consumer polls: a server writing a long body in one burst has
 * sent half of it before user space reads its head. On a connection that has had a long body, wake asks for the
 * next large call's record at once, as its head may begin another. Only user space writes this map, but for
 * clearing a wake bit once it has been used. */
#define TATTLE_BODY_SKIPS_MAX 16384
struct tattle_body_skip {
    __u64 end[2]; /* by direction: 0 send, 1 recv; 0: nothing to skip */
    __u32 gen;
    __u32 wake;   /* bit 1 << direction: the next call of a chunk or more past end wakes user space at once (the
                   * programs clear the bit when they do) */
};

struct tattle_hdr {
    __u64 ts_ns; /* CLOCK_MONOTONIC */
    __u32 type;
    __u32 tgid;
    __u32 tid;
    __u32 cpu;
};

struct tattle_addr {
    __u16 family;
    __u16 port; /* host byte order */
    __u8 addr[16]; /* IPv4 in the first 4 bytes */
};

/* fork, exec, exit. fork and exit records end before filename (size = offsetof(filename)). */
struct tattle_proc_event {
    struct tattle_hdr h;
    __u32 ppid;
    __s32 exit_code; /* exit: the wait status (code << 8 | signal) */
    __u64 start_boottime; /* ns since boot: with the pid, the identity of a process */
    char comm[TATTLE_COMM_LEN];
    __u32 filename_len;
    __u32 args_len; /* exec: bytes of NUL-separated argv in args */
    char filename[TATTLE_FILENAME_LEN];
    char args[TATTLE_ARGS_LEN];
};

/* socket, connect, accept, bind, listen, close, shutdown, tcp state, notice. */
struct tattle_sock_event {
    struct tattle_hdr h;
    __s32 fd;
    __s32 ret; /* the syscall's result (-errno on failure); tcp state: -sk_err */
    __u64 sk;  /* kernel address of the sock: identifies the socket while it lives */
    __u16 family;
    __u16 type;
    __u16 protocol;
    __u16 state; /* TCP state (new state for tcp state records) */
    __s32 aux;   /* accept: listening fd; tcp state: old state; shutdown: how; listen: backlog; notice: code;
                  * socket: TATTLE_SOCKET_FIRST_PAYLOAD when the socket was first seen by a payload (--no-syscalls) */
    __u16 local_path_len;
    __u16 remote_path_len;
    __u64 bytes_sent; /* close: bytes the socket has sent so far */
    __u64 bytes_recv;
    struct tattle_addr local;
    struct tattle_addr remote;
    char local_path[TATTLE_PATH_LEN];
    char remote_path[TATTLE_PATH_LEN];
};

/* One chunk of one message's payload, followed by chunk_len bytes. */
struct tattle_data_event {
    struct tattle_hdr h;
    __s32 fd;
    __u16 dir; /* 0 send, 1 recv */
    __u16 flags;
    __u64 sk;
    __u64 pos;       /* stream position (per socket and direction) of the message's first byte */
    __u32 msg_len;   /* bytes the call moved for this message */
    __u32 chunk_off; /* offset of this chunk within the message */
    __u32 chunk_len; /* payload bytes that follow */
    __u16 syscall;
    __u16 family;
    struct tattle_addr peer; /* datagrams: the address given to or returned by the call */
    __u16 sock_type;
    __u16 _pad;
    __u64 tls_session; /* TLS records: the library's session object (SSL*, gnutls_session_t) in the process */
    __u32 skip_len;    /* TATTLE_DATA_SKIPPED: bytes at the message's start counted, not copied */
    __u32 gen;         /* the socket's generation, for body_skips (0: not known, TLS) */
    /* chunk_len payload bytes follow */
};

/* --stats-in-kernel: HTTP/1 exchanges counted by the kernel programs. A TCP socket whose first payload begins
 * with a request line or a status line is counted in the kernel from then on: its payloads make no data records,
 * and one record carries up to TATTLE_HTTP_BATCH consecutive requests whose first bytes are the same (a client
 * repeating a call, a server's keep-alive peer), written when a different request begins, when the batch is full,
 * or when the connection closes. A request is a payload in the request direction that begins with a method; its
 * response, the next payload the other way that begins with "HTTP/1.x NNN" (1xx other than 101 are interim). */
#define TATTLE_HTTP_BATCH 32
#define TATTLE_HTTP_HEAD 96
#define TATTLE_HTTP_CONNS_MAX 65536

struct tattle_http_event {
    struct tattle_hdr h; /* tgid, tid: the socket's owner when it was first seen; ts_ns: when written */
    __s32 fd;
    __u16 req_dir; /* the direction of the requests: 0 sent (a client), 1 received (a server) */
    __u16 count;   /* requests in this record */
    __u64 sk;
    __u64 req_bytes;  /* payload bytes in the request direction since the previous record */
    __u64 resp_bytes; /* and in the other */
    __u32 head_len;   /* bytes of head read from the first request (the rest is zero) */
    __u32 _pad;
    struct tattle_addr local;
    struct tattle_addr remote;
    char head[TATTLE_HTTP_HEAD]; /* the first bytes of the batch's requests: "GET /users/1 HTTP/1.1\r\n..." */
    __u32 latency_us[TATTLE_HTTP_BATCH]; /* request to response, at least 1; 0: no response */
    __u16 status[TATTLE_HTTP_BATCH];     /* 0: no response */
    __u64 start_ns[TATTLE_HTTP_BATCH];   /* each request's first read or write (--http-in-kernel's records) */
    __u32 req_len[TATTLE_HTTP_BATCH];    /* payload bytes from each request to the next, in the request direction */
    __u32 resp_len[TATTLE_HTTP_BATCH];   /* and in the other (saturating) */
};

/* How a USDT argument is found (SystemTap SDT notes: `-4@%edi`, `8@-16(%rbp)`, `4@$5`). */
#define TATTLE_USDT_CONST 0 /* the value is val */
#define TATTLE_USDT_REG   1 /* the register at reg_off in struct pt_regs */
#define TATTLE_USDT_MEM   2 /* size bytes of user memory at that register + val */

struct tattle_usdt_arg {
    __s64 val;
    __s16 reg_off;
    __u8 kind;
    __u8 size; /* 1, 2, 4 or 8 */
    __u8 is_signed;
    __u8 _pad[3];
};

/* A USDT site's arguments, in the usdt_specs map by the function index of its cookie. */
struct tattle_usdt_spec {
    struct tattle_usdt_arg args[TATTLE_CALL_ARGS];
    __u32 nargs;
    __u32 _pad;
};

/* One probed call, written at its return (at entry with TATTLE_CALL_ENTRY_ONLY): the raw argument registers, the
 * return register, and for each captured argument i a slot of TATTLE_CALL_CAPTURE bytes at i * TATTLE_CALL_CAPTURE
 * after the struct; the record ends after the last slot used. */
struct tattle_call_event {
    struct tattle_hdr h; /* ts_ns: the return (the entry for entry-only probes) */
    __u64 start_ns;
    __u64 cookie;
    __u64 args[TATTLE_CALL_ARGS];
    __u64 ret;
    __u16 cap_len[TATTLE_CALL_ARGS]; /* bytes in each argument's slot */
    __u32 flags; /* TATTLE_CALL_ENTRY_ONLY when no return was probed */
    /* slots follow */
};

#endif
