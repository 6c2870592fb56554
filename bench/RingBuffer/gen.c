// Load generator for the ring buffer benchmark: COUNT datagrams of SIZE bytes on a UDP socket sent to itself,
// 32 per sendmmsg() call (one syscall per datagram would make the generator, not the consumer, the limit),
// paced to RATE datagrams/s (0 = as fast as possible). Waits for a line on stdin before starting, so the
// benchmark can add its pid to Tattle's filter first.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: gen COUNT SIZE RATE\n"); return 2; }
    long count = atol(argv[1]), size = atol(argv[2]), rate = atol(argv[3]);
    char *buf = calloc(1, size);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    bind(s, (struct sockaddr *)&a, sizeof a);
    getsockname(s, (struct sockaddr *)&a, &len);
    char line[8];
    if (!fgets(line, sizeof line, stdin)) return 1;
    enum { BATCH = 32 };
    struct mmsghdr msgs[BATCH];
    struct iovec iov = { .iov_base = buf, .iov_len = size };
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < BATCH; i++) {
        msgs[i].msg_hdr.msg_iov = &iov;
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &a;
        msgs[i].msg_hdr.msg_namelen = sizeof a;
    }
    long long start = now_ns();
    for (long i = 0; i < count; ) {
        if (rate > 0) {
            long long due = start + i * 1000000000LL / rate;
            while (now_ns() < due) { }
        }
        int n = count - i < BATCH ? (int)(count - i) : BATCH;
        int sent = sendmmsg(s, msgs, n, 0);
        i += sent > 0 ? sent : 1;
    }
    long long took = now_ns() - start;
    printf("%ld %lld\n", count, took);
    return 0;
}
