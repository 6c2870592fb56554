#!/usr/bin/env bash
# Installs from Debian what this machine lacks; quiet when nothing is missing. The one installer behind ./tattle,
# ./test (scripts/ensure-deps.sh), scripts/kernel-matrix.sh and the benchmarks:
#   scripts/install-missing.sh [--label NAME] COMMAND[:PACKAGE]...   a command, or its package when named otherwise
#                                                                    (perf:linux-perf)
#   scripts/install-missing.sh [--label NAME] --packages PACKAGE...  packages, looked up in dpkg's database, installed
#                                                                    without their recommendations
# --label NAME: says what it installs, as NAME. The package lists are refreshed first: on a fresh machine they may
# not know every package yet.
set -euo pipefail
label="" packages=0
while [ $# -gt 0 ]; do
  case "$1" in
    --label) label=$2; shift 2 ;;
    --packages) packages=1; shift ;;
    *) break ;;
  esac
done
missing=()
for want in "$@"; do
  if [ "$packages" = 1 ]; then
    dpkg-query -W -f='${Status}' "$want" 2>/dev/null | grep -q "install ok installed" || missing+=("$want")
  else
    command -v "${want%%:*}" >/dev/null || missing+=("${want#*:}")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "${label:+$label: }missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 2
fi
[ -n "$label" ] && echo "$label: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
if [ "$packages" = 1 ]; then
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
