#!/usr/bin/env python3
"""Writes a large JSON Lines trace for `tattle report` by repeating a real one with shifted ids.

usage: repeat-trace.py SOURCE.jsonl OUT.jsonl MIB

Each repetition adds a multiple of 1,000,000 to every pid and ppid and a suffix to every connection id, so the
copies are distinct processes and connections, as in a long trace of a program run again and again.
"""
import re
import sys

source, out, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = [l for l in open(source, encoding="utf-8").read().splitlines() if l.strip()]
pid = re.compile(r'"(pid|ppid)":(\d+)')
conn = re.compile(r'"conn":"([^"]+)"')
target = mib << 20
written = 0
rep = 0
with open(out, "w", encoding="utf-8") as f:
    while written < target:
        shift = rep * 1_000_000
        block = "\n".join(conn.sub(lambda m: f'"conn":"{m.group(1)}-{rep}"',
                                   pid.sub(lambda m: f'"{m.group(1)}":{int(m.group(2)) + shift if m.group(2) != "0" else 0}', l))
                          for l in lines) + "\n"
        f.write(block)
        written += len(block.encode("utf-8"))
        rep += 1
print(f"{out}: {written} bytes, {rep} repetitions of {len(lines)} lines")
