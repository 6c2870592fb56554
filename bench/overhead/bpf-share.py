#!/usr/bin/env python3
"""Where a traced process's CPU goes inside tattle's kernel programs, from a system-wide perf profile with call
graphs (bench/overhead/profile.sh, TATTLE_PROFILE_DATA=FILE keeps it).

The kernel's BPF statistics (run.sh --bpf-stats) time a program from its first instruction to its last; they do not
see what the kernel spends reaching it: the tracepoint's dispatch (bpf_trace_run for tp_btf programs, and for the
per-call syscall tracepoints perf_syscall_enter/exit, which build a perf record of the call's arguments and run
the program through trace_call_bpf). This groups each sample of the process by the first tattle program on its
stack, or, with none, by the dispatch function on it, and splits each program's samples by the function they fell
in (the program's own instructions, or a helper: a map lookup, the copy from user memory, the ring write).

    bench/overhead/bpf-share.py PERF_DATA [COMM]     (COMM: nginx unless given)
"""
import collections
import subprocess
import sys

DISPATCH = ("bpf_trace_run", "perf_syscall_enter", "perf_syscall_exit", "trace_call_bpf", "perf_trace_buf_alloc")


def samples(data, comm):
    out = subprocess.run(["perf", "script", "-i", data, "--comms", comm, "-F", "comm,ip,sym"],
                         capture_output=True, text=True, check=True).stdout
    stack = None
    for line in out.splitlines():
        if not line.strip():
            continue
        if not line.startswith(("\t", " ")):
            if stack is not None:
                yield stack
            stack = []
        else:
            parts = line.split()
            stack.append(parts[1].split("+")[0] if len(parts) > 1 else "?")
    if stack is not None:
        yield stack


def group(stack):
    for frame in stack:
        if frame.startswith("bpf_prog_"):
            return "program " + frame.split("_", 3)[-1]
    for frame in stack:
        if frame.startswith(DISPATCH):
            return "dispatch (no program on the stack)"
    return None


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    data, comm = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "nginx"
    stacks = list(samples(data, comm))
    groups = collections.defaultdict(list)
    for s in stacks:
        g = group(s)
        if g:
            groups[g].append(s)
    inside = sum(len(v) for v in groups.values())
    print(f"{comm}: {len(stacks)} samples, {inside} ({100 * inside / max(len(stacks), 1):.1f} %) in tattle's programs "
          "or the kernel's dispatch to them")
    for name, group_stacks in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        leaves = collections.Counter(s[0] if not s[0].startswith("bpf_prog_") else "(its own instructions)"
                                     for s in group_stacks)
        top = ", ".join(f"{leaf} {n}" for leaf, n in leaves.most_common(6))
        print(f"  {len(group_stacks):5d}  {100 * len(group_stacks) / max(len(stacks), 1):5.2f} %  {name}: {top}")


if __name__ == "__main__":
    main()
