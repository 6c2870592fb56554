// SPDX-License-Identifier: GPL-2.0
/* How long a task woken on a CPU waits for it while another task runs there in bursts, as a tracer's drain does.
 * The woken task blocks on a pipe on CPU 0; a writer on CPU 1 writes the time into the pipe every INTERVAL us, on
 * an absolute timer; a hog on CPU 0 at normal priority ("normal") reads memory for BURST us of every PERIOD us and
 * sleeps the rest, or is absent ("none"). Prints the wake-up latency's quantiles, and apart from them the wake-ups
 * sent while a burst ran: how long they waited against how much of the burst was left. One that waits until the
 * burst ends was not given the CPU when it woke.
 *
 *   wake none|normal [BURST_US 300] [PERIOD_US 2000] [SECONDS 4] [INTERVAL_US 500]
 *
 * bench/overhead/wake/run.sh runs the modes in turn with both CPUs kept awake. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAX_US = 100000, BUF = 8 << 20 };

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void pin(int cpu)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    if (sched_setaffinity(0, sizeof s, &s) != 0) {
        perror("sched_setaffinity");
        exit(1);
    }
}

static volatile int stop;
static long long *burst_end; /* shared with the writer: when the burst now running ends, 0 between bursts */
static long long burst_ns, period_ns;
static unsigned char *memory;

static void *hog(void *arg)
{
    (void)arg;
    pin(0);
    unsigned long sum = 0;
    size_t off = 0;
    while (!stop) {
        long long start = now_ns();
        __atomic_store_n(burst_end, start + burst_ns, __ATOMIC_RELEASE);
        while (now_ns() - start < burst_ns) { /* memory traffic, like a drain's, not a register-only spin */
            for (int i = 0; i < 4096; i += 64)
                sum += memory[off + i];
            off = (off + 4096) % (BUF - 4096);
        }
        __atomic_store_n(burst_end, 0, __ATOMIC_RELEASE);
        struct timespec rest = { (period_ns - burst_ns) / 1000000000LL, (period_ns - burst_ns) % 1000000000LL };
        nanosleep(&rest, NULL);
    }
    return (void *)sum;
}

static int compare(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static long long median(long long *v, long n)
{
    qsort(v, n, sizeof *v, compare);
    return v[n / 2];
}

static int quantile(const int *hist, long n, double q)
{
    long seen = 0;
    for (int us = 0; us < MAX_US; us++)
        if ((seen += hist[us]) >= q * n)
            return us;
    return MAX_US;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "none") && strcmp(argv[1], "normal"))) {
        fprintf(stderr, "usage: %s none|normal [BURST_US] [PERIOD_US] [SECONDS] [INTERVAL_US]\n", argv[0]);
        return 2;
    }
    long long burst_us = argc > 2 ? atoll(argv[2]) : 300, period_us = argc > 3 ? atoll(argv[3]) : 2000;
    int seconds = argc > 4 ? atoi(argv[4]) : 4;
    long long interval_ns = (argc > 5 ? atoll(argv[5]) : 500) * 1000;
    if (burst_us < 1 || period_us <= burst_us || seconds < 1 || interval_ns < 1000) {
        fprintf(stderr, "%s: needs 0 < BURST_US < PERIOD_US, SECONDS >= 1, INTERVAL_US >= 1\n", argv[0]);
        return 2;
    }
    burst_ns = burst_us * 1000, period_ns = period_us * 1000;
    int fds[2];
    if (pipe(fds) != 0 || !(memory = malloc(BUF))) {
        perror("wake");
        return 1;
    }
    memset(memory, 1, BUF);
    burst_end = mmap(NULL, sizeof *burst_end, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (burst_end == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    pthread_t hog_thread;
    int hogging = strcmp(argv[1], "none") != 0;
    if (hogging && pthread_create(&hog_thread, NULL, hog, NULL) != 0) {
        perror("pthread_create");
        return 1;
    }
    pid_t writer = fork();
    if (writer == 0) {
        pin(1);
        long long end = now_ns() + seconds * 1000000000LL, next = now_ns();
        while ((next += interval_ns) < end) {
            struct timespec at = { next / 1000000000LL, next % 1000000000LL };
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
            long long msg[2] = { now_ns(), __atomic_load_n(burst_end, __ATOMIC_ACQUIRE) };
            if (write(fds[1], msg, sizeof msg) != sizeof msg)
                _exit(1);
        }
        long long done[2] = { 0, 0 };
        _exit(write(fds[1], done, sizeof done) == sizeof done ? 0 : 1);
    }
    pin(0);
    static int hist[MAX_US + 1];
    static long long waited[1 << 20], left[1 << 20];
    long n = 0, over50 = 0, in_burst = 0, waited_out = 0;
    long long msg[2];
    while (read(fds[0], msg, sizeof msg) == sizeof msg && msg[0] != 0) {
        long long wait = now_ns() - msg[0], us = wait / 1000;
        hist[us < MAX_US ? us : MAX_US]++;
        n++;
        over50 += us > 50;
        if (msg[1] > msg[0] && in_burst < (1 << 20)) { /* sent while a burst ran, with this much of it left */
            waited[in_burst] = wait / 1000;
            left[in_burst] = (msg[1] - msg[0]) / 1000;
            waited_out += wait >= msg[1] - msg[0];
            in_burst++;
        }
    }
    stop = 1;
    if (hogging)
        pthread_join(hog_thread, NULL);
    waitpid(writer, NULL, 0);
    if (n == 0) {
        fprintf(stderr, "%s: no wake-ups measured\n", argv[0]);
        return 1;
    }
    printf("%-6s burst %lld us every %lld us: %ld wake-ups, p50 %d us, p90 %d us, p99 %d us, p99.9 %d us, over 50 us %ld\n",
           argv[1], hogging ? burst_us : 0, hogging ? period_us : 0, n, quantile(hist, n, 0.5), quantile(hist, n, 0.9),
           quantile(hist, n, 0.99), quantile(hist, n, 0.999), over50);
    if (in_burst > 0)
        printf("       sent during a burst: %ld; waited a median %lld us with %lld us of the burst left; %ld waited until it ended\n",
               in_burst, median(waited, in_burst), median(left, in_burst), waited_out);
    return 0;
}
