#!/usr/bin/env bash
# Every protocol parser benchmark of this tree against the same benchmarks built from another commit, the two builds
# alternated (base, this, base, this...) so that a regression shows as a ratio above 1 measured in one run:
#   bench/Protocols/ab.sh BASE_COMMIT [--rounds 2] [--filter GLOB]... [--out FILE]
# (--filter as BenchmarkDotNet's, on Class.Method names; repeat it for several; all benchmarks by default.)
# Prints, for each benchmark present in both builds, the median over the rounds of each build's mean time and
# allocation, this tree's time as a ratio of the base's (of the medians, and of the best rounds), and every round's
# time. The base is built in a temporary git worktree, removed at the end.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
base=${1:?usage: $0 BASE_COMMIT [--rounds N] [--filter GLOB] [--out FILE]}
shift
rounds=2 filters=() out=/dev/null
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --filter) filters+=("$2"); shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 BASE_COMMIT [--rounds N] [--filter GLOB] [--out FILE]" >&2; exit 2 ;;
  esac
done
[ ${#filters[@]} -gt 0 ] || filters=('*')
git -C "$root" rev-parse --verify -q "$base^{commit}" >/dev/null || { echo "$0: no commit $base in this repository" >&2; exit 2; }

dir=$(mktemp -d /tmp/tattle-bench-ab.XXXXXX)
cleanup() { git -C "$root" worktree remove --force "$dir/base" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
git -C "$root" worktree add --detach -q "$dir/base" "$base"

bin=bench/Protocols/bin/Release/net10.0
for tree in "$dir/base" "$root"; do
  dotnet build -c Release -v q --nologo "$tree/bench/Protocols" >"$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; exit 1; }
done
# The base's own build output would be rebuilt over by a later build of this tree: keep a copy of each.
cp -r "$dir/base/$bin" "$dir/base-bin"
cp -r "$root/$bin" "$dir/this-bin"

for r in $(seq "$rounds"); do
  for which in base this; do
    echo "round $r: $which" >&2
    # Short jobs: 3 warm-up and 8 measured iterations each, enough to see a change of a few per cent.
    (cd "$dir" && dotnet "$dir/$which-bin/Tattle.Bench.Protocols.dll" --filter "${filters[@]}" --warmupCount 3 --iterationCount 8 \
      --exporters csv --artifacts "$dir/$which-$r" >"$dir/$which-$r.log" 2>&1) \
      || { tail -20 "$dir/$which-$r.log" >&2; exit 1; }
  done
done

/usr/bin/python3 - "$dir" "$rounds" "$base" <<'PY' | tee "$out"
import csv, glob, os, statistics, sys
d, rounds, base = sys.argv[1], int(sys.argv[2]), sys.argv[3]
unit = {"ns": 1.0, "μs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}
def ns(text):
    value, u = text.replace(",", "").split()
    return float(value) * unit[u]
def size(text):
    if text in ("-", ""):
        return 0.0
    value, u = text.replace(",", "").split()
    return float(value) * {"B": 1, "KB": 1024, "MB": 1 << 20}[u]
def load(which):
    runs = {}
    for r in range(1, rounds + 1):
        for f in glob.glob(os.path.join(d, f"{which}-{r}", "results", "*-report.csv")):
            cls = os.path.basename(f).split("-report")[0].rsplit(".", 1)[-1]
            for row in csv.DictReader(open(f, encoding="utf-8")):
                runs.setdefault((cls, row["Method"]), []).append((ns(row["Mean"]), size(row["Allocated"])))
    return runs
a, b = load("base"), load("this")
print(f"benchmark (median of {rounds} rounds; each round's ns)".ljust(60) + f"{'base ' + base[:7]:>14}{'this tree':>12}{'ratio':>8}{'of bests':>9}{'alloc base':>12}{'this':>8}  rounds: base | this")
ratios = []
def each(xs):
    return " ".join(f"{x[0]:.1f}" for x in xs)
for key in sorted(set(a) & set(b)):
    ta, tb = statistics.median(x[0] for x in a[key]), statistics.median(x[0] for x in b[key])
    ma, mb = statistics.median(x[1] for x in a[key]), statistics.median(x[1] for x in b[key])
    # The best round as well: this VM runs a benchmark at one of two speeds from one round to the next (a whole
    # round at twice the time), in either build; the fastest round is what the code costs.
    best = min(x[0] for x in b[key]) / min(x[0] for x in a[key])
    ratios.append(tb / ta)
    print(f"{key[0] + '.' + key[1]:60}{ta:12.1f}ns{tb:10.1f}ns{tb / ta:8.2f}{best:9.2f}{ma:10.0f} B{mb:6.0f} B  {each(a[key])} | {each(b[key])}")
for key in sorted(set(b) - set(a)):
    print(f"only in this tree: {key[0] + '.' + key[1]:60}{statistics.median(x[0] for x in b[key]):10.1f}ns{statistics.median(x[1] for x in b[key]):10.0f} B")
if ratios:
    print(f"benchmarks {len(ratios)}, ratio median {statistics.median(ratios):.2f}, highest {max(ratios):.2f}, above 1.10: {sum(r > 1.10 for r in ratios)}")
PY
