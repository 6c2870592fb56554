/* An HTTP/1.1 keep-alive client that sends requests at an even pace: one request every 1/rate seconds, each on the
 * next idle connection, timed by an absolute timerfd (nanoseconds), so that requests do not arrive in bursts.
 *
 *   pace HOST PORT PATH RATE SECONDS [CONNECTIONS]
 *
 * wrk's delay hook paces each connection by its own millisecond timer, and its event loop fires every timer that is
 * due at once: at 2 000 requests/s over 16 connections, 8 of 10 requests leave within 25 us of the one before, in
 * bursts of about six, and the last of a burst waits for the server to answer the others first. Here the requests of
 * a second are spread over it. A request due while every connection still waits for an answer is sent as soon as one
 * is free; one sent over 100 us after it was due is counted as late.
 *
 * Latency is from the start of the request's write to the response read whole (its headers and Content-Length
 * bytes), as wrk measures it. Prints wrk's summary lines that bench/overhead/run.sh reads (Requests/sec, the 50 %
 * and 99 % latencies) and a "quantiles" line like its paced.lua: the requests, then percentile:microseconds pairs. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256
#define MAX_US 1000000 /* latencies of a second or more count in the last bucket */
#define LATE_NS 100000 /* a request sent this long after it was due counts as late */

struct conn {
    int fd;
    int busy;
    uint64_t sent_ns;
    size_t got;
    long want; /* header length + Content-Length, once the headers are in; -1 before */
    char buf[16384]; /* the response's head; the body is only counted */
};

static char body[65536];

static struct conn conns[MAX_CONNS];
static uint32_t hist[MAX_US + 1];
static uint64_t completed, late;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "pace: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int connect_to(const char *host, int port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "pace: %s is not an IPv4 address\n", host);
        exit(2);
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* The response's whole length once its headers are in: -1 before, 0 for one this client cannot read. */
static long response_length(const struct conn *c)
{
    const char *end = memmem(c->buf, c->got, "\r\n\r\n", 4);
    if (!end)
        return -1;
    long head = end + 4 - c->buf;
    const char *cl = memmem(c->buf, (size_t)head, "Content-Length:", 15);
    if (!cl)
        return 0;
    return head + strtol(cl + 15, NULL, 10);
}

static void send_request(struct conn *c, const char *req, size_t len)
{
    c->sent_ns = now_ns();
    c->busy = 1;
    c->got = 0;
    c->want = -1;
    if (write(c->fd, req, len) != (ssize_t)len)
        die("write");
}

static size_t quantile_us(double p)
{
    uint64_t rank = (uint64_t)(p * (double)completed + 0.5), acc = 0;
    if (rank < 1)
        rank = 1;
    for (size_t us = 0; us <= MAX_US; us++) {
        acc += hist[us];
        if (acc >= rank)
            return us;
    }
    return MAX_US;
}

/* The grid paced.lua prints: from the median up by 0.5, then 99 by 0.1 and 99.9 by 0.01. */
static void print_quantiles(void)
{
    printf("quantiles %llu ", (unsigned long long)completed);
    for (int i = 0; i < 118; i++) {
        double p = i < 98 ? 50 + i * 0.5 : i < 108 ? 99 + (i - 98) * 0.1 : 99.9 + (i - 108) * 0.01;
        printf("%s%g:%zu", i ? "," : "", p, quantile_us(p / 100));
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: pace HOST PORT PATH RATE SECONDS [CONNECTIONS]\n");
        return 2;
    }
    const char *host = argv[1], *path = argv[3];
    int port = atoi(argv[2]), nconns = argc > 6 ? atoi(argv[6]) : 16;
    double rate = atof(argv[4]), seconds = atof(argv[5]);
    if (rate <= 0 || seconds <= 0 || nconns < 1 || nconns > MAX_CONNS) {
        fprintf(stderr, "pace: RATE and SECONDS must be positive, CONNECTIONS 1 to %d\n", MAX_CONNS);
        return 2;
    }
    char req[512];
    int reqlen = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n", path, host, port);

    int ep = epoll_create1(0);
    if (ep < 0)
        die("epoll_create1");
    for (int i = 0; i < nconns; i++) {
        conns[i].fd = connect_to(host, port);
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) != 0)
            die("epoll_ctl");
    }
    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    if (tfd < 0)
        die("timerfd_create");
    struct epoll_event tev = { .events = EPOLLIN, .data.u32 = MAX_CONNS };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev) != 0)
        die("epoll_ctl");

    uint64_t interval = (uint64_t)(1e9 / rate), start = now_ns(), end = start + (uint64_t)(seconds * 1e9);
    uint64_t next = start + interval; /* the timer's next expiry */
    uint64_t due = 0; /* requests due but not sent: every connection was busy */
    int cursor = 0;
    /* Periodic from an absolute start: the kernel counts the expiries, so a late wake-up loses none. */
    struct itimerspec its = {
        .it_value = { .tv_sec = (time_t)(next / 1000000000u), .tv_nsec = (long)(next % 1000000000u) },
        .it_interval = { .tv_sec = (time_t)(interval / 1000000000u), .tv_nsec = (long)(interval % 1000000000u) },
    };
    if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
        die("timerfd_settime");

    struct epoll_event events[MAX_CONNS + 1];
    while (now_ns() < end) {
        int n = epoll_wait(ep, events, MAX_CONNS + 1, 100);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            uint32_t id = events[i].data.u32;
            if (id == MAX_CONNS) {
                uint64_t ticks;
                if (read(tfd, &ticks, sizeof(ticks)) == sizeof(ticks)) {
                    due += ticks;
                    next += ticks * interval;
                }
                continue;
            }
            struct conn *c = &conns[id];
            ssize_t r = c->want < 0 ? read(c->fd, c->buf + c->got, sizeof(c->buf) - c->got) : read(c->fd, body, sizeof(body));
            if (r <= 0) {
                fprintf(stderr, "pace: the server closed a connection\n");
                return 1;
            }
            c->got += (size_t)r;
            if (c->want < 0)
                c->want = response_length(c);
            if (c->want == 0 || (c->want < 0 && c->got >= sizeof(c->buf))) {
                fprintf(stderr, "pace: a response without Content-Length, or a head over %zu bytes\n", sizeof(c->buf));
                return 1;
            }
            if (c->want > 0 && c->got >= (size_t)c->want) {
                uint64_t us = (now_ns() - c->sent_ns) / 1000;
                hist[us > MAX_US ? MAX_US : us]++;
                completed++;
                c->busy = 0;
            }
        }
        /* Every request due goes out now, each on the next idle connection. */
        while (due > 0) {
            int tries = 0;
            while (conns[cursor].busy && tries < nconns) {
                cursor = (cursor + 1) % nconns;
                tries++;
            }
            if (conns[cursor].busy)
                break;
            /* the oldest request waiting was due `due` intervals before the timer's next expiry */
            if (now_ns() > next - due * interval + LATE_NS)
                late++;
            send_request(&conns[cursor], req, (size_t)reqlen);
            cursor = (cursor + 1) % nconns;
            due--;
        }
    }
    double elapsed = (double)(now_ns() - start) / 1e9;
    printf("  %llu requests in %.2fs, %llu sent over 100 us late\n", (unsigned long long)completed,
           elapsed, (unsigned long long)late);
    printf("Requests/sec: %.2f\n", (double)completed / elapsed);
    printf("     50%% %zuus\n", quantile_us(0.50));
    printf("     99%% %zuus\n", quantile_us(0.99));
    print_quantiles();
    return 0;
}
