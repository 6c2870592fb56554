#!/usr/bin/env python3
"""Times `ss -tuanp` against `tattle sockets` on a host with N extra open sockets.

Usage: bench.py [--sockets 10000] [--runs 9] [--tattle PATH]

The default tattle is out/tattle/tattle, the native (AOT) build `./tattle` makes (run `./tattle sockets -n`
once first); --tattle may also name a tattle.dll (run with `dotnet`, e.g. a JIT or ReadyToRun build).

Commands run alternately (so all see the same load); prints median wall times, the ratio to ss,
and for tattle the in-process walk time it reports with TATTLE_TIMING=1: the first (cold) walk and
a second (warm) one, which is what SocketTable.ForProcess costs a long-running caller such as
`tattle attach`. `-p PID` is measured on the idle host first, then with the N sockets open, for one of the
processes holding them (thousands of sockets: the namespace tables are read) and for a small process holding
three TCP sockets (read through its fds: the cost does not grow with the host's sockets).
"""
import argparse, os, re, signal, statistics, subprocess, sys, time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
default = os.path.join(root, "out/tattle/tattle")
ap = argparse.ArgumentParser()
ap.add_argument("--sockets", type=int, default=10000)
ap.add_argument("--runs", type=int, default=9)
ap.add_argument("--tattle", default=os.environ.get("TATTLE", default))
args = ap.parse_args()
if not os.path.exists(args.tattle):
    sys.exit(f"no {args.tattle}; build it (see --help) or pass --tattle")
tattle = (["dotnet", args.tattle] if args.tattle.endswith(".dll") else [args.tattle]) + ["sockets"]
env = dict(os.environ, TATTLE_TIMING="1")
walk_re = re.compile(r"timing: walk ([0-9.]+) ms.*warm walk ([0-9.]+) ms")


def run(cmd, timing=False):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env if timing else None, check=True)
    wall = (time.perf_counter() - t0) * 1000
    m = walk_re.search(p.stderr.decode())
    return wall, ((float(m.group(1)), float(m.group(2))) if m else None), p.stdout.count(b"\n")


def measure(cmds):
    res = {k: {"wall": [], "walk": [], "lines": 0} for k in cmds}
    for k, c in cmds.items():  # warm-up: page cache, dotnet host resolution
        res[k]["lines"] = run(c)[2]
    for _ in range(args.runs):
        for k, c in cmds.items():
            res[k]["wall"].append(run(c)[0])
    # Separate runs for the in-process split: TATTLE_TIMING adds a second walk, which must not count as wall time.
    for _ in range(max(3, args.runs // 2)):
        for k, c in cmds.items():
            if c[:len(tattle)] == tattle:
                res[k]["walk"].append(run(c, timing=True)[1])
    return res


def show(res):
    for k, r in res.items():
        walk = (f"  walk {statistics.median(w[0] for w in r['walk']):6.1f} ms, warm walk {statistics.median(w[1] for w in r['walk']):6.1f} ms"
                if r["walk"] else "")
        print(f"  {k:28} {statistics.median(r['wall']):7.1f} ms wall{walk}  ({r['lines']} lines)")


print(f"tattle: {args.tattle}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")
idle = measure({"tattle sockets -p PID (idle)": tattle + ["-p", str(os.getpid())]})
print("idle host:")
show(idle)

# A process holding a few TCP sockets (the usual -p target) on the same loaded host.
small = subprocess.Popen([sys.executable, "-c", "import socket,time\nl=socket.create_server(('127.0.0.1',0))\n"
                          "c=socket.create_connection(l.getsockname())\na=l.accept()\ntime.sleep(3600)"], start_new_session=True)
opener = subprocess.Popen([sys.executable, os.path.join(here, "open_sockets.py"), str(args.sockets)],
                          stdout=subprocess.PIPE, text=True, start_new_session=True)
try:
    pids = opener.stdout.readline().split()
    if not pids:
        sys.exit("socket opener failed")
    res = measure({
        "ss -tuanp": ["ss", "-tuanp"],
        "tattle sockets -t -u -n": tattle + ["-t", "-u", "-n"],
        "tattle sockets": tattle,
        "tattle sockets -p PID": tattle + ["-p", pids[0]],
        "tattle sockets -p SMALL": tattle + ["-p", str(small.pid)],
    })
    med = {k: statistics.median(v["wall"]) for k, v in res.items()}
    print(f"{args.sockets} sockets in {len(pids)} processes, {args.runs} alternating runs, medians:")
    show(res)
    print(f"ratio tattle -t -u -n / ss -tuanp: {med['tattle sockets -t -u -n'] / med['ss -tuanp']:.2f}  (target <= 2)")
    print(f"ratio tattle (all families) / ss -tuanp: {med['tattle sockets'] / med['ss -tuanp']:.2f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
finally:
    os.killpg(opener.pid, signal.SIGTERM)
    os.killpg(small.pid, signal.SIGTERM)
