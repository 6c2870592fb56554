#!/usr/bin/env bash
# The pipeline loop's native build in tattle's rhythm (230 exchanges, then 5 ms asleep, as it drains its ring under
# the overhead benchmark's load), on a quiet machine and beside the benchmark's untraced nginx and wrk, alternated:
#   bench/PipelineLoop/beside-load.sh [--reps 5] [--seconds 10] [--stage json]
# What the same work costs when the server and the load generator share its two CPUs: their caches and its own.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=bench/nginx-site.sh
. "$here/../nginx-site.sh"
reps=5 secs=10 stage=json
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    --seconds) secs=$2; shift 2 ;;
    --stage) stage=$2; shift 2 ;;
    *) echo "beside-load.sh: unknown argument $1 (--reps N, --seconds S, --stage track|parse|json|stats)" >&2; exit 2 ;;
  esac
done
"$root/scripts/ensure-deps.sh" build
"$root/scripts/install-missing.sh" nginx wrk
out="$root/out/bench-pipelineloop"
dotnet publish "$here/Tattle.Bench.PipelineLoop.csproj" -c Release -r linux-x64 -p:PublishAot=true -nologo -v q -o "$out/aot" >/dev/null
dir=$(mktemp -d /tmp/tattle-pipeline-beside.XXXXXX)
nginx_page "$dir" 612 18090
trap 'kill "$nginx_pid" 2>/dev/null; wait "$nginx_pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
sleep 1
# About 185 bursts a second: 0.92 of what fits in the load's time, so the loop ends before wrk does.
exchanges=$(( secs * 170 * 230 ))
loop() { "$out/aot/Tattle.Bench.PipelineLoop" --stage "$stage" --connections 10 --cold --burst 230 --pause-ms 5 --exchanges "$exchanges"; }
echo "# bench/PipelineLoop/beside-load.sh --reps $reps --seconds $secs --stage $stage, $(date -u +%Y-%m-%dT%H:%M:%SZ), build $(git -C "$root" rev-parse --short HEAD)"
for rep in $(seq "$reps"); do
  echo "rep $rep quiet  $(loop)"
  taskset -c 1 wrk -t1 -c10 -d"$((secs + 2))s" http://127.0.0.1:18090/index.html > "$dir/wrk.txt" &
  wrk_pid=$!
  sleep 1
  echo "rep $rep beside $(loop)"
  wait "$wrk_pid"
  echo "rep $rep wrk $(awk '/Requests\/sec/ { print $2 " req/s" }' "$dir/wrk.txt")"
done
