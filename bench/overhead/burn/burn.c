// SPDX-License-Identifier: GPL-2.0
/* CPU work that is not tracing: copies through a 4 MiB buffer (memory traffic like a tracer's, not a register-only
 * spin) for DUTY percent of every PERIOD microseconds (10 000 unless given), sleeping the rest; 100 never sleeps.
 * The burn conditions of bench/overhead/run.sh run it beside an untraced nginx, to tell what any work on this
 * machine's CPUs costs the server from what tattle's work costs it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int duty = argc > 1 ? atoi(argv[1]) : 100;
    long period_us = argc > 2 ? atol(argv[2]) : 10000;
    if (duty < 1 || duty > 100 || period_us < 10 || period_us > 1000000) {
        fprintf(stderr, "usage: %s [DUTY 1-100 [PERIOD_US 10-1000000]]\n", argv[0]);
        return 2;
    }
    enum { SIZE = 4 << 20, CHUNK = 64 << 10 };
    char *a = malloc(SIZE), *b = malloc(SIZE);
    if (!a || !b)
        return 1;
    memset(a, 1, SIZE);
    memset(b, 2, SIZE);
    size_t off = 0;
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        double end = now() + duty / 100.0 * period_us / 1e6;
        while (now() < end) {
            memcpy(b + off, a + off, CHUNK);
            off = (off + CHUNK) % SIZE;
        }
        if (duty < 100) {
            struct timespec rest = { 0, (long)((100 - duty) / 100.0 * period_us * 1000) };
            nanosleep(&rest, NULL);
        }
    }
}
