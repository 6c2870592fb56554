#!/usr/bin/env bash
# Tattle's user-space pipeline in a loop (PipelineBenchmarks' exchange and stages), native AOT as tattle ships
# against the JIT that BenchmarkDotNet measures, interleaved (A B A B ...) on the same machine state:
#   bench/PipelineLoop/run.sh [--reps 5] [--exchanges 2000000] [--stages "parse json"] [--builds "aot jit"]
#                             [--baseline DIR --builds "base aot"]
# --baseline names another build's native loop (DIR/Tattle.Bench.PipelineLoop, published from an earlier commit the
# way this script publishes its own): the build "base", to alternate with this tree's.
# Each stage runs twice a repetition: one connection with the same bytes each time (BenchmarkDotNet's case), and
# ten connections in turn (wrk -c10) reading each exchange from the next slot of a 32 MiB buffer, out of the caches
# as the ring's records are when the drain reaches them. Ends with the median CPU per exchange of each case.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
reps=5 exchanges=2000000 stages="parse json" builds="aot jit" baseline=""
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    --exchanges) exchanges=$2; shift 2 ;;
    --stages) stages=$2; shift 2 ;;
    --builds) builds=$2; shift 2 ;;
    --baseline) baseline=$2; shift 2 ;;
    *) echo "run.sh: unknown argument $1 (--reps N, --exchanges N, --stages \"track parse json stats\", --builds \"aot jit base\", --baseline DIR)" >&2; exit 2 ;;
  esac
done
"$root/scripts/ensure-deps.sh" build
out="$root/out/bench-pipelineloop"
proj="$here/Tattle.Bench.PipelineLoop.csproj"
dotnet publish "$proj" -c Release -r linux-x64 -p:PublishAot=true -nologo -v q -o "$out/aot" >/dev/null
case " $builds " in *" jit "*) dotnet build "$proj" -c Release -nologo -v q -o "$out/jit" >/dev/null ;; esac
run() {
  case "$1" in
    aot) "$out/aot/Tattle.Bench.PipelineLoop" "${@:2}" ;;
    jit) DOTNET_TieredPGO=1 dotnet "$out/jit/Tattle.Bench.PipelineLoop.dll" "${@:2}" ;;
    base) "${baseline:?the build base needs --baseline DIR}/Tattle.Bench.PipelineLoop" "${@:2}" ;;
  esac
}
echo "# bench/PipelineLoop/run.sh --reps $reps --exchanges $exchanges --stages \"$stages\" --builds \"$builds\"${baseline:+ --baseline $baseline}, $(date -u +%Y-%m-%dT%H:%M:%SZ), build $(git -C "$root" rev-parse --short HEAD)"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for rep in $(seq "$reps"); do
  for stage in $stages; do
    for shape in "--connections 1" "--connections 10 --cold"; do
      for build in $builds; do
        # shellcheck disable=SC2086 # the shape is two or three words on purpose
        line="$(run "$build" --stage "$stage" --exchanges "$exchanges" $shape)"
        echo "rep $rep $build $line" | tee -a "$results"
      done
    done
  done
done
echo "build stage connections bytes median_cpu_ns (of $reps)"
# Debian's awk (mawk) has no asort: each key's values are sorted by hand.
awk '{ key = $3 " " $5 " " $7 " " $9; v[key] = v[key] " " $15 }
  END { for (k in v) { n = split(v[k], a, " ")
      for (i = 2; i <= n; i++) { x = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
      print k, (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2) } }' "$results" | sort
