#!/usr/bin/env bash
# The cost of one probed call: the same loop of calls to a one-line library function, untraced, under
# `tattle probe` (a uprobe and a uretprobe per call) and under `ltrace -e` (ptrace: two stops per call), interleaved
# A B C A B C… Usage: bench/probe/run.sh [--reps N] [--calls N] [--ltrace-calls N]
# Prints every repetition and a table of medians: ns per call (wall, and the program's CPU), and ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
reps=5 calls=200000 ltrace_calls=5000
while [[ $# -gt 0 ]]; do
    case "$1" in
        --reps) reps=$2; shift 2 ;;
        --calls) calls=$2; shift 2 ;;
        --ltrace-calls) ltrace_calls=$2; shift 2 ;;
        *) echo "bench/probe/run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[[ $(id -u) == 0 ]] || { echo "bench/probe/run.sh: uprobes need root" >&2; exit 2; }
scripts/install-missing.sh ltrace
work=$(mktemp -d /tmp/tattle-bench-probe.XXXXXX)
trap 'rm -rf "$work"' EXIT
# -O0 gives it a frame: its first instruction is `push %rbp`, as getaddrinfo's and zmq_msg_send's are: one the kernel
# emulates rather than single-steps (see docs/tls.md, "What a probe costs").
cc -O0 -shared -fPIC -o "$work/libbench.so" bench/probe/bench_lib.c
cc -O2 -o "$work/bench" bench/probe/bench_main.c -L"$work" -lbench -Wl,-rpath,"$work"
./tattle --version >/dev/null

run() { # condition → "wall cpu" per call
    case "$1" in
        untraced) "$work/bench" "$calls" ;;
        tattle) ./tattle probe --count -q -o /dev/null "$work/libbench.so:bench_add" -- "$work/bench" "$calls" ;;
        ltrace) ltrace -o /dev/null -e bench_add "$work/bench" "$ltrace_calls" ;;
    esac | sed -n 's/.*wall_ns_per_call=\([0-9.]*\) cpu_ns_per_call=\([0-9.]*\).*/\1 \2/p'
}

declare -A wall cpu
for ((i = 1; i <= reps; i++)); do
    for c in untraced tattle ltrace; do
        read -r w p < <(run "$c")
        echo "rep $i $c wall_ns_per_call=$w cpu_ns_per_call=$p"
        wall[$c]+="$w "
        cpu[$c]+="$p "
    done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mu=$(median <<<"${wall[untraced]}") mt=$(median <<<"${wall[tattle]}") ml=$(median <<<"${wall[ltrace]}")
cu=$(median <<<"${cpu[untraced]}") ct=$(median <<<"${cpu[tattle]}") cl=$(median <<<"${cpu[ltrace]}")
echo
echo "condition  wall_ns/call  cpu_ns/call  added_ns/call"
printf "untraced   %12.1f %12.1f %14s\n" "$mu" "$cu" "-"
printf "tattle     %12.1f %12.1f %14.1f\n" "$mt" "$ct" "$(echo "$mt - $mu" | bc -l)"
printf "ltrace     %12.1f %12.1f %14.1f\n" "$ml" "$cl" "$(echo "$ml - $mu" | bc -l)"
printf "ltrace/tattle added cost per call: %.1fx (wall)\n" "$(echo "($ml - $mu) / ($mt - $mu)" | bc -l)"
