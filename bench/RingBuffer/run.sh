#!/usr/bin/env bash
# Ring buffer drain benchmark: builds the C load generator and the C# harness, runs them (root).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/../.."
"$root/scripts/ensure-deps.sh" build
out="$root/out/bench-ringbuffer"
mkdir -p "$out"
cc -O2 -o "$out/gen" "$here/gen.c"
dotnet build "$here/Tattle.Bench.RingBuffer.csproj" -c Release -nologo -v q -o "$out" >/dev/null
exec dotnet "$out/Tattle.Bench.RingBuffer.dll" "$out/gen"
