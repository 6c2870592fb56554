#!/usr/bin/env bash
# Installs from Debian what a benchmark runs and this machine lacks. Each argument is a command, or COMMAND:PACKAGE
# when its package is named otherwise (perf:linux-perf). The package lists are refreshed first, as
# scripts/ensure-deps.sh does: on a fresh machine they may not know every package yet. Quiet when nothing is missing.
set -euo pipefail
missing=()
for want in "$@"; do
  command -v "${want%%:*}" >/dev/null || missing+=("${want#*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq "${missing[@]}" >/dev/null
