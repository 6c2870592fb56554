/* Calls bench_add (from libbench.so) N times and prints the wall time per call in nanoseconds and the process's
 * CPU time per call (user + system: a uprobe's trap is charged to the process that hits it). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sys/resource.h>

int bench_add(int a, int b);

static double seconds(struct timeval t) { return t.tv_sec + t.tv_usec / 1e6; }

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    struct timespec a, b;
    struct rusage r0, r1;
    volatile int sink = 0;
    getrusage(RUSAGE_SELF, &r0);
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++)
        sink += bench_add((int)i, 1);
    clock_gettime(CLOCK_MONOTONIC, &b);
    getrusage(RUSAGE_SELF, &r1);
    double wall = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
    double cpu = (seconds(r1.ru_utime) - seconds(r0.ru_utime) + seconds(r1.ru_stime) - seconds(r0.ru_stime)) * 1e9;
    printf("calls=%ld wall_ns_per_call=%.1f cpu_ns_per_call=%.1f\n", n, wall / n, cpu / n);
    return sink == 42 ? 1 : 0;
}
