#!/usr/bin/env python3
"""Pairs each repetition of a condition with the untraced run of the same repetition, from run.sh's output.

run.sh interleaves its conditions within a repetition, so a repetition's conditions share the machine's state of
the moment; on a machine whose speed swings between repetitions, the per-repetition difference is steadier than
the difference of the medians. Prints, per condition, the median and quartiles of its req/s ratio and of the
latency it adds at p50 and p99 (microseconds) against the untraced run of its workload.

For the -paced and -even conditions it also pools the repetitions: wrk's quantiles of each repetition (the "quantiles" lines
run.sh writes) make one distribution per condition, every request weighing the same. One repetition's p99 rests on
its 80 slowest requests, and a host hiccup in one repetition moves it by milliseconds; the pooled p99 rests on all
of them. The pooled p99 added gets a 90 % interval from resampling the repetitions (the same ones for the condition
and its baseline, so each pair keeps the machine's state it shared).

With run.sh --service-time, the "service" lines (nginx's time per request, per microsecond) get the same two
readings: the per-repetition differences, and the repetitions pooled with their 90 % interval; with run.sh --stages,
so do the "stage" lines (each request split where its sockets send and receive).

    bench/overhead/paired.py bench/results/FILE.txt
"""
import random
import re
import statistics
import sys

from conditions import baseline

LINE = re.compile(r"rep (\d+) (\S+)\s+(\S+) req/s\s+p50 (\S+)\s+p99 (\S+)")
QUANTILES = re.compile(r"quantiles (\d+) (\S+) (\d+) (\S+)")
SERVICE = re.compile(r"service (\d+) (\S+) (\S+)")
STAGE = re.compile(r"stage (\d+) (\S+) (\S+) (\S+)")
# run.sh --stages: where each stage starts and ends, at the socket layer's send and receive tracepoints.
STAGES = {
    "reach": "the client's send to nginx's receive (nginx's wake-up, epoll_wait, recvfrom)",
    "work": "nginx's receive to its send",
    "back": "nginx's send to the client's receive (the client's wake-up, epoll_wait, read)",
    "exchange": "the client's send to its receive",
}


def micros(text):
    for unit, factor in (("us", 1.0), ("ms", 1e3), ("s", 1e6)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float("nan")


def quartiles(values):
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4)
    return q1, q2, q3


def cdf(grid, v):
    """The share of one repetition's requests at or below v: linear between its quantiles, 0.5 below its median."""
    if v < grid[0][1]:
        return 0.5 * v / grid[0][1] if grid[0][1] > 0 else 0.5
    for (p0, v0), (p1, v1) in zip(grid, grid[1:]):
        if v <= v1:
            return (p0 + (p1 - p0) * ((v - v0) / (v1 - v0) if v1 > v0 else 1.0)) / 100
    return 1.0 if v >= grid[-1][1] * 2 else (grid[-1][0] + (100 - grid[-1][0]) * (v - grid[-1][1]) / grid[-1][1]) / 100


def pooled(reps, share):
    """The latency below which `share` of every request of these (requests, grid) repetitions fell."""
    total = sum(n for n, _ in reps)
    lo, hi = 0.0, max(g[-1][1] for _, g in reps) * 2
    for _ in range(60):
        mid = (lo + hi) / 2
        if sum(n * cdf(g, mid) for n, g in reps) / total < share:
            lo = mid
        else:
            hi = mid
    return hi


def histogram_quantile(counts, share):
    """The smallest microsecond value at or below which `share` of the counted requests fell."""
    total = sum(counts.values())
    seen = 0
    for us in sorted(counts):
        seen += counts[us]
        if seen >= share * total:
            return us
    return float("nan")


def merged(histograms):
    out = {}
    for h in histograms:
        for us, n in h.items():
            out[us] = out.get(us, 0) + n
    return out


def counts(points):
    """A histogram line's "microseconds:count,..." as a dict."""
    return {int(u): int(n) for u, n in (pt.split(":") for pt in points.split(","))}


def added_with_interval(common, diff, rng):
    """diff(repetitions, 0.99) over the common repetitions, with its 90 % interval from 1 000 resamplings of them."""
    boot = sorted(diff([rng.choice(common) for _ in common], 0.99) for _ in range(1000))
    return f"{diff(common, 0.99):.0f} ({boot[49]:.0f} to {boot[949]:.0f})"


runs = {}
grids = {}
services = {}
stages = {}
for line in open(sys.argv[1]):
    m = LINE.match(line)
    if m:
        rep, cond, rps, p50, p99 = m.groups()
        runs.setdefault(cond, {})[int(rep)] = (float(rps), micros(p50), micros(p99))
    m = QUANTILES.match(line)
    if m:
        rep, cond, requests, points = m.groups()
        grid = [(float(p), float(v)) for p, v in (pt.split(":") for pt in points.split(","))]
        grids.setdefault(cond, {})[int(rep)] = (int(requests), grid)
    m = SERVICE.match(line)
    if m:
        rep, cond, points = m.groups()
        services.setdefault(cond, {})[int(rep)] = counts(points)
    m = STAGE.match(line)
    if m:
        rep, cond, stage, points = m.groups()
        stages.setdefault(stage, {}).setdefault(cond, {})[int(rep)] = counts(points)

print(f"{'condition':26} {'reps':>4} {'ratio q1/median/q3':>22} {'p50 added us':>22} {'p99 added us':>22}")
for cond, reps in runs.items():
    base = runs.get(baseline(cond), {})
    if cond.startswith("untraced") or not base:
        continue
    pairs = [(reps[r], base[r]) for r in sorted(reps) if r in base]
    ratio = quartiles([a[0] / b[0] for a, b in pairs])
    p50 = quartiles([a[1] - b[1] for a, b in pairs])
    p99 = quartiles([a[2] - b[2] for a, b in pairs])
    fmt = lambda q, f: "/".join(f.format(v) for v in q)
    print(f"{cond:26} {len(pairs):4} {fmt(ratio, '{:.2f}'):>22} {fmt(p50, '{:.0f}'):>22} {fmt(p99, '{:.0f}'):>22}")

if grids:
    rng = random.Random(1)
    print()
    print(f"{'pooled repetitions':26} {'reps':>4} {'p99 us':>8} {'p99.9 us':>9} {'p99 added us (90 % interval)':>30} {'p99.9 added us':>16}")
    for cond, reps in grids.items():
        base = grids.get(baseline(cond), {})
        common = sorted(r for r in reps if r in base)
        p99, p999 = pooled(list(reps.values()), 0.99), pooled(list(reps.values()), 0.999)
        added = added999 = ""
        if not cond.startswith("untraced") and len(common) >= 2:
            def diff(sample, share):
                return pooled([reps[r] for r in sample], share) - pooled([base[r] for r in sample], share)
            added = added_with_interval(common, diff, rng)
            added999 = f"{diff(common, 0.999):.0f}"
        print(f"{cond:26} {len(reps):4} {p99:8.0f} {p999:9.0f} {added:>30} {added999:>16}")

def print_histograms(title, histograms):
    """One row per condition of per-microsecond histograms, each repetition against its baseline's."""
    rng = random.Random(1)
    print()
    print(title)
    print(f"{'condition':26} {'reps':>4} {'requests':>9} {'p50':>5} {'p99':>5} {'p99.9':>6} "
          f"{'p99 added, per rep q1/median/q3':>32} {'p99 added pooled (90 % interval)':>33} {'p50 added':>9}")
    for cond, reps in histograms.items():
        base = histograms.get(baseline(cond), {})
        common = sorted(r for r in reps if r in base)
        all_reps = merged(reps.values())
        q = histogram_quantile
        per_rep = pooled_added = p50_added = ""
        if not cond.startswith("untraced") and len(common) >= 2:
            per_rep = "/".join(f"{v:.0f}" for v in quartiles([q(reps[r], 0.99) - q(base[r], 0.99) for r in common]))
            def diff(sample, share):
                return q(merged(reps[r] for r in sample), share) - q(merged(base[r] for r in sample), share)
            pooled_added = added_with_interval(common, diff, rng)
            p50_added = f"{diff(common, 0.5):.0f}"
        print(f"{cond:26} {len(reps):4} {sum(all_reps.values()):9} {q(all_reps, 0.5):5} {q(all_reps, 0.99):5} "
              f"{q(all_reps, 0.999):6} {per_rep:>32} {pooled_added:>33} {p50_added:>9}")


if services:
    print_histograms("nginx's time per request (bpftrace, recvfrom entry to writev return), microseconds", services)
for stage, histograms in stages.items():
    print_histograms(f"{stage}: {STAGES.get(stage, stage)}, microseconds", histograms)
