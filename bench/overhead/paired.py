#!/usr/bin/env python3
"""Pairs each repetition of a condition with the untraced run of the same repetition, from run.sh's output.

run.sh interleaves its conditions within a repetition, so a repetition's conditions share the machine's state of
the moment; on a machine whose speed swings between repetitions, the per-repetition difference is steadier than
the difference of the medians. Prints, per condition, the median and quartiles of its req/s ratio and of the
latency it adds at p50 and p99 (microseconds) against the untraced run of its workload.

    bench/overhead/paired.py bench/results/FILE.txt
"""
import re
import statistics
import sys

LINE = re.compile(r"rep (\d+) (\S+)\s+(\S+) req/s\s+p50 (\S+)\s+p99 (\S+)")


def micros(text):
    for unit, factor in (("us", 1.0), ("ms", 1e3), ("s", 1e6)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float("nan")


def baseline(condition):
    for suffix in ("-https", "-paced", "-h2", "-go"):
        if condition.endswith(suffix):
            return "untraced" + suffix
    return "untraced"


def quartiles(values):
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4)
    return q1, q2, q3


runs = {}
for line in open(sys.argv[1]):
    m = LINE.match(line)
    if m:
        rep, cond, rps, p50, p99 = m.groups()
        runs.setdefault(cond, {})[int(rep)] = (float(rps), micros(p50), micros(p99))

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
