#!/bin/bash
# PID 1 in the guest after switch_root: the host's root read-only under a tmpfs overlay, the results share at
# /run/kernel-matrix. Mounts what tattle reads, runs the smoke suite with its output in the share, and powers off.
# kernel-matrix.sh copies this file into the share; job.env there says what to run.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb
share=/run/kernel-matrix

# PID 1 must not simply exit (the kernel panics, and the host learns nothing until its log is read): every way
# out powers off, after saying why on the console.
off() {
  sync
  echo o > /proc/sysrq-trigger
  sleep 30
  busybox poweroff -f
}
trap 'echo "guest.sh: failed at line $LINENO" > /dev/console; off' ERR

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t cgroup2 cgroup2 /sys/fs/cgroup
ip link set lo up
hostname kernel-matrix

# shellcheck source=/dev/null # written by kernel-matrix.sh
. "$share/job.env"
echo "guest: $(uname -r) up $(cut -d' ' -f1 /proc/uptime) s after boot" > /dev/console
echo "guest: $(uname -r) up $(cut -d' ' -f1 /proc/uptime) s after boot" > "$share/smoke.out"
status=0
# shellcheck disable=SC2086 # SMOKE_ARGS is a list of flags
timeout "$SMOKE_TIMEOUT" bash "$SMOKE" $SMOKE_ARGS >> "$share/smoke.out" 2>&1 || status=$?
echo "guest: smoke exit $status after $(cut -d' ' -f1 /proc/uptime) s" | tee -a "$share/smoke.out" > /dev/console
echo "$status" > "$share/done"
off
