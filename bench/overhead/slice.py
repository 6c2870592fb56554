#!/usr/bin/env python3
"""Runs a command with an EEVDF slice of its own (sched_setattr's sched_runtime for SCHED_OTHER, 6.12+).

    bench/overhead/slice.py NANOSECONDS COMMAND [ARGS...]

The slice is set on this process and kept across exec; threads and children inherit it. Under EEVDF a task waking
with a shorter slice than the running one preempts it (PREEMPT_SHORT), and a longer slice puts a task's deadline
later, so a tracer given a long slice yields its CPU at once to a server or load generator that wakes beside it,
while keeping its fair share of time. Used as TATTLE_BASELINE through a two-line wrapper script:
    exec bench/overhead/slice.py 100000000 out/tattle/tattle "$@"
"""
import ctypes
import os
import struct
import sys

SYS_SCHED_SETATTR = 314  # x86-64


def set_slice(nanoseconds):
    # struct sched_attr, SCHED_ATTR_SIZE_VER1: size, policy (SCHED_OTHER), flags, nice, priority, runtime,
    # deadline, period, util_min, util_max.
    attr = ctypes.create_string_buffer(struct.pack("IIQiIQQQII", 56, 0, 0, 0, 0, nanoseconds, 0, 0, 0, 0))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(SYS_SCHED_SETATTR, 0, attr, 0) != 0:
        errno = ctypes.get_errno()
        sys.exit(f"slice.py: sched_setattr: {os.strerror(errno)}")


if len(sys.argv) < 3:
    sys.exit(__doc__)
set_slice(int(sys.argv[1]))
os.execvp(sys.argv[2], sys.argv[2:])
