#!/usr/bin/env bash
# Boots other kernels in qemu (TCG: no KVM needed) and runs Tattle's smoke suite (kernel-matrix/smoke.sh) in
# each; the same suite runs first on this machine's own kernel, as the control. One line per kernel:
#   kernel 6.12.117+deb12-amd64: 7 passed, 0 failed (184 s)
# and a non-zero exit when any check failed. docs/kernels.md ("Kernel matrix") has the how and the why.
#
#   scripts/kernel-matrix.sh [--kernel-pkg NAME[@SUITE] | --kernel-deb FILE.deb | --vmlinuz FILE [--modules DIR]]...
#                            [--quick] [--repeat N] [--no-host | --host-only] [--keep] [--log DIR] [--tattle BINARY]
#                            [--timeout MIN] [--smp N] [--mem SIZE]
#
# Without a kernel: the one Debian's linux-image-amd64 names (on Debian 12, its 6.1). Packages are fetched with
# apt-get download into $TATTLE_KERNEL_CACHE (/var/cache/tattle-kernels) and extracted there once.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${TATTLE_KERNEL_CACHE:-/var/cache/tattle-kernels}"
log_dir="$repo/bench/results"
tattle="${TATTLE_BIN:-$repo/out/tattle/tattle}"
quick=0
repeat=1
keep=0
host=1
guests=1
timeout_min=20
smp=2
mem=3G
kernels=()

usage() {
  sed -n '7,9p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2
  exit 2
}
die() {
  echo "kernel-matrix: $*" >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --kernel-pkg)
      [ $# -ge 2 ] || usage
      [[ "$2" =~ ^linux-image-[A-Za-z0-9.+~-]+(@[a-z-]+)?$ ]] || die "not a linux-image-* package name (NAME or NAME@SUITE): $2"
      kernels+=("pkg:$2")
      shift 2 ;;
    --kernel-deb) [ $# -ge 2 ] || usage; [ -f "$2" ] || die "no such file: $2"; kernels+=("deb:$(realpath "$2")"); shift 2 ;;
    --vmlinuz) [ $# -ge 2 ] || usage; [ -f "$2" ] || die "no such file: $2"; kernels+=("img:$(realpath "$2"):"); shift 2 ;;
    --modules)
      [ $# -ge 2 ] || usage
      [ -d "$2" ] || die "no such directory: $2"
      last=""
      [ ${#kernels[@]} -eq 0 ] || last="${kernels[${#kernels[@]}-1]}"
      [[ "$last" == img:*: ]] || die "--modules belongs right after its --vmlinuz"
      kernels[${#kernels[@]}-1]="$last$(realpath "$2")"
      shift 2 ;;
    --quick) quick=1; shift ;;
    --repeat)
      [ $# -ge 2 ] || usage
      [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "--repeat takes a count (1 or more): $2"
      repeat="$2"
      shift 2 ;;
    --no-host) host=0; shift ;;
    --host-only) guests=0; shift ;;
    --keep) keep=1; shift ;;
    --log) [ $# -ge 2 ] || usage; log_dir="$2"; shift 2 ;;
    --tattle) [ $# -ge 2 ] || usage; tattle="$2"; shift 2 ;;
    --timeout) [ $# -ge 2 ] || usage; timeout_min="$2"; shift 2 ;;
    --smp) [ $# -ge 2 ] || usage; smp="$2"; shift 2 ;;
    --mem) [ $# -ge 2 ] || usage; mem="$2"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "kernel-matrix: unknown argument $1" >&2; usage ;;
  esac
done

[ "$(id -u)" = 0 ] || die "run as root: the guest reads the host's whole root through 9p, and tattle needs root"
[ -x "$tattle" ] || die "no tattle binary at $tattle (build with ./tattle --version, or pass --tattle)"
tattle="$(realpath "$tattle")"
mkdir -p "$log_dir"
log_dir="$(realpath "$log_dir")"
date="$(date -u +%F)"
suffix=""
[ "$quick" -eq 1 ] && suffix="-quick"

# The guest runs the host's programs (its root is the host's), so whatever the suite drives is installed here.
need=(qemu-system-x86 busybox-static kmod tshark curl openssl python3)
"$repo/scripts/install-missing.sh" --label kernel-matrix --packages "${need[@]}"

work="$(mktemp -d /tmp/kernel-matrix.XXXXXX)"
qemu_pid=""
# shellcheck disable=SC2317 # reached through the trap
cleanup() {
  if [ -n "$qemu_pid" ]; then
    kill "$qemu_pid" 2>/dev/null || true
    wait "$qemu_pid" 2>/dev/null || true
  fi
  if [ "$keep" -eq 1 ]; then
    echo "kernel-matrix: kept $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'echo "kernel-matrix: line $LINENO failed: $BASH_COMMAND" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

# A guest run takes many minutes; a rebuild meanwhile must not swap or delete the binary under it. The guest sees
# this copy through the host's root.
tattle_version="$("$tattle" --version 2>&1 || true)"
tattle_version="${tattle_version%%$'\n'*} at $tattle"
cp -a "$(dirname "$tattle")" "$work/tattle"
# The build's objects, where a checkout keeps them: bpftool reads the whole verifier log from them.
objects="$(dirname "$tattle")/../../src/Tattle.Capture/obj/bpf"
tattle="$work/tattle/$(basename "$tattle")"
smoke_args="--tattle $tattle"
if [ -d "$objects" ]; then
  cp -a "$objects" "$work/bpf-objects"
  smoke_args+=" --bpf-objects $work/bpf-objects"
fi
[ "$quick" -eq 1 ] && smoke_args+=" --quick"
[ "$repeat" -eq 1 ] || smoke_args+=" --repeat $repeat"


seconds_since() { echo $(( $(date +%s) - $1 )); }

# --- kernels: a package name or .deb becomes an extracted tree in the cache -------------------------------------

# NAME@SUITE takes the package from another suite of the same Debian archive the host uses (bullseye: Debian 11's
# 5.10), through an apt list of its own in the cache; the host's sources are not touched.
apt_opts=()
use_suite() {
  local suite="$1" dir uri
  apt_opts=()
  [ -n "$suite" ] || return 0
  [[ "$suite" =~ ^[a-z-]+$ ]] || die "not a suite name: $suite"
  dir="$cache/apt-$suite"
  uri="$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
  [ -n "$uri" ] || uri="$(awk '$1 == "deb" && $0 !~ /security/ { print ($2 ~ /^\[/ ? $3 : $2); exit }' /etc/apt/sources.list 2>/dev/null || true)"
  [ -n "$uri" ] || die "no Debian archive in the host's apt sources to take $suite from"
  mkdir -p "$dir/lists/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main" > "$dir/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$dir/lists")
  if ! compgen -G "$dir/lists/*Packages*" > /dev/null; then
    apt-get "${apt_opts[@]}" update -qq > /dev/null || die "apt-get update of $suite failed"
  fi
}

# A metapackage (linux-image-amd64, linux-image-cloud-amd64) depends on the versioned image; follow it.
resolve_package() {
  local name="$1" next
  [[ "$name" =~ ^linux-image-[A-Za-z0-9.+~-]+$ ]] || die "not a linux-image-* package name: $name"
  if ! apt-cache "${apt_opts[@]}" show "$name" > /dev/null 2>&1; then
    apt-get "${apt_opts[@]}" update -qq > /dev/null
    apt-cache "${apt_opts[@]}" show "$name" > /dev/null 2>&1 || die "apt knows no package $name"
  fi
  next="$(apt-cache "${apt_opts[@]}" depends "$name" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }')"
  if [ -n "$next" ]; then
    resolve_package "$next"
  else
    echo "$name"
  fi
}

fetch_package() {
  local name="$1" deb
  mkdir -p "$cache"
  deb="$(find "$cache" -maxdepth 1 -name "${name}_*.deb" | sort -V | tail -n 1)"
  if [ -z "$deb" ]; then
    echo "kernel-matrix: apt-get download $name into $cache" >&2
    (cd "$cache" && apt-get "${apt_opts[@]}" download -q "$name" 2>&1 | grep -v "unsandboxed as root" >&2) || true
    deb="$(find "$cache" -maxdepth 1 -name "${name}_*.deb" | sort -V | tail -n 1)"
    [ -n "$deb" ] || die "apt-get download $name fetched nothing"
  fi
  echo "$deb"
}

extract_deb() {
  local deb="$1" dir
  dir="$cache/$(basename "$deb" .deb)"
  if [ ! -f "$dir/.extracted" ]; then
    echo "kernel-matrix: extracting $(basename "$deb")" >&2
    rm -rf "$dir"
    mkdir -p "$dir"
    dpkg-deb -x "$deb" "$dir"
    touch "$dir/.extracted"
  fi
  echo "$dir"
}

# The release string is in the bzImage itself: the setup header's kernel_version field points at it.
image_release() {
  /usr/bin/python3 - "$1" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read(65536)
if data[0x202:0x206] != b"HdrS":
    sys.exit("not a bzImage: " + sys.argv[1])
offset = struct.unpack_from("<H", data, 0x20E)[0] + 0x200
print(data[offset:data.index(b"\0", offset)].decode().split()[0])
EOF
}

# Sets vmlinuz, moddir (may be empty) and release for one entry of kernels[].
prepare_kernel() {
  local spec="$1" tree=""
  vmlinuz=""
  moddir=""
  case "$spec" in
    pkg:*)
      # One step at a time: a failure inside a nested $(...) would not stop the outer one.
      local name deb pkg="${spec#pkg:}"
      use_suite "$([[ "$pkg" == *@* ]] && echo "${pkg#*@}")"
      name="$(resolve_package "${pkg%@*}")"
      deb="$(fetch_package "$name")"
      tree="$(extract_deb "$deb")"
      origin="package ${spec#pkg:} ($(basename "$deb"))"
      ;;
    deb:*) tree="$(extract_deb "${spec#deb:}")"; origin="${spec#deb:}" ;;
    img:*)
      spec="${spec#img:}"
      vmlinuz="${spec%%:*}"
      moddir="${spec#*:}"
      origin="$vmlinuz${moddir:+ with modules from $moddir}"
      ;;
  esac
  if [ -n "$tree" ]; then
    vmlinuz="$(find "$tree/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n 1)"
    [ -n "$vmlinuz" ] || die "no boot/vmlinuz-* in $tree"
    local d
    for d in "$tree"/lib/modules/* "$tree"/usr/lib/modules/*; do
      if [ -d "$d" ]; then moddir="$d"; break; fi
    done
  fi
  if [ -n "$moddir" ]; then
    release="$(basename "$moddir")"
  else
    release="$(image_release "$vmlinuz")"
  fi
}

# --- initramfs: busybox, /init and the modules the 9p root needs, in load order --------------------------------

declare -A mod_seen mod_path mod_builtin
mod_order=()
mod_notes=()

# Module names as the kernel compares them: no directory, no .ko(.xz|.zst|.gz), '-' and '_' alike.
module_name() {
  local n="${1##*/}"
  n="${n%%.ko*}"
  echo "${n//-/_}"
}

index_modules() {
  local f n
  mod_path=()
  mod_builtin=()
  [ -n "$moddir" ] || return 0
  while read -r f; do
    n="${f##*/}"; n="${n%%.ko*}"; mod_path[${n//-/_}]="$f"
  done < <(find "$moddir" -name '*.ko*')
  if [ -f "$moddir/modules.builtin" ]; then
    while read -r f; do
      n="${f##*/}"; n="${n%%.ko*}"; mod_builtin[${n//-/_}]=1
    done < "$moddir/modules.builtin"
  fi
}

# A .deb carries no modules.dep (depmod writes it when the package is installed); modinfo reads the same
# dependencies from each module.
module_deps() {
  local rel="${1#"$moddir"/}" line d
  if [ -f "$moddir/modules.dep" ]; then
    line="$(grep -m1 -F "$rel:" "$moddir/modules.dep" || true)"
    for d in ${line#*:}; do module_name "$d"; done
  else
    modinfo -F depends "$1" | tr ',' '\n' | sed '/^$/d'
  fi
}

add_module() {
  local name file dep
  name="$(module_name "$1")"
  [ -z "${mod_seen[$name]:-}" ] || return 0
  mod_seen[$name]=1
  if [ -n "${mod_builtin[$name]:-}" ]; then
    mod_notes+=("$name built in")
    return 0
  fi
  file="${mod_path[$name]:-}"
  if [ -z "$file" ]; then
    mod_notes+=("$name not found, assumed built in")
    return 0
  fi
  for dep in $(module_deps "$file"); do add_module "$dep"; done
  mod_order+=("$file")
}

build_initramfs() {
  local ird="$work/initramfs" f name applet
  rm -rf "$ird"
  mkdir -p "$ird/bin" "$ird/dev" "$ird/proc" "$ird/sys" "$ird/modules"
  cp /bin/busybox "$ird/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$ird/bin/$applet"
  done
  install -m 0755 "$repo/scripts/kernel-matrix/init" "$ird/init"
  # The kernel opens /dev/console for /init before anything could mount devtmpfs.
  mknod -m 600 "$ird/dev/console" c 5 1

  mod_seen=()
  mod_order=()
  mod_notes=()
  : > "$ird/modules.list"
  index_modules
  for name in virtio_pci 9pnet_virtio 9p overlay; do add_module "$name"; done
  for f in "${mod_order[@]}"; do
    name="$(module_name "$f").ko"
    # busybox's insmod takes plain ELF only; newer distribution kernels compress their modules.
    case "$f" in
      *.ko.xz) xz -dc "$f" > "$ird/modules/$name" ;;
      *.ko.zst) zstd -qdc "$f" > "$ird/modules/$name" ;;
      *.ko.gz) gzip -dc "$f" > "$ird/modules/$name" ;;
      *) cp "$f" "$ird/modules/$name" ;;
    esac
    echo "$name" >> "$ird/modules.list"
  done
  (cd "$ird" && find . | /bin/busybox cpio -o -H newc 2> /dev/null) | gzip -1 > "$work/initramfs.gz"
}

# --- running the suite -------------------------------------------------------------------------------------------

failed_any=0

# report LABEL LOG SMOKE_OUTPUT SECONDS [WHY]: the one line per kernel, and the failed checks under it.
report() {
  local label="$1" log="$2" out="$3" took="$4" why="${5:-}" summary
  summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" 2> /dev/null | tail -n 1 || true)"
  if [ -z "$summary" ]; then
    local n=0
    [ -f "$out" ] && n="$(grep -c '^ok ' "$out" || true)"
    summary="$n passed, 1 failed"
    why="${why:-the suite printed no result}"
  fi
  echo "kernel $label: $summary ($took s)${why:+ — $why}"
  grep '^FAIL ' "$out" 2> /dev/null | sed 's/^/  /' || true
  echo "  log: ${log#"$repo"/}"
  if [[ "$summary" != *" 0 failed" ]] || [ -n "$why" ]; then
    failed_any=1
  fi
}

run_host() {
  local release log start status=0
  release="$(uname -r)"
  log="$log_dir/kernel-matrix-host-$release$suffix-$date.log"
  start="$(date +%s)"
  # shellcheck disable=SC2086 # smoke_args is a list of flags
  bash "$repo/scripts/kernel-matrix/smoke.sh" $smoke_args --check-timeout 120 > "$work/host.out" 2>&1 || status=$?
  local took
  took="$(seconds_since "$start")"
  {
    echo "kernel-matrix: control run on this machine's kernel $release ($(uname -v)), $(date -u -d "@$start" '+%F %T') UTC to $(date -u '+%T')"
    echo "tattle $tattle_version; suite exit $status in $took s"
    echo "host load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
    echo
    cat "$work/host.out"
  } > "$log"
  report "$release (host)" "$log" "$work/host.out" "$took"
}

run_guest() {
  local spec="$1" log start took status=0 why="" share="$work/share" cmdline notes
  start="$(date +%s)"
  prepare_kernel "$spec"
  build_initramfs
  log="$log_dir/kernel-matrix-$release$suffix-$date.log"
  local attempt crashed=""
  # A guest kernel that oopses is booted once more: under multi-threaded TCG the kernel's own live patching
  # (int3 over a static key's nop) can trip on the other vCPU's stale code, an emulation artefact rather than
  # anything the suite did. The crashed console is kept beside the log, and the log says so; a second crash fails.
  for attempt in 1 2; do
    rm -rf "$share"
    mkdir -p "$share"
    cp "$repo/scripts/kernel-matrix/guest.sh" "$share/guest.sh"
    # The guest sees the host's root read-only, so the suite and tattle run from their paths here.
    {
      echo "SMOKE=$repo/scripts/kernel-matrix/smoke.sh"
      echo "SMOKE_ARGS='$smoke_args'"
      echo "SMOKE_TIMEOUT=$((timeout_min * 60 - 60))"
    } > "$share/job.env"
    : > "$work/serial.log"
    # loglevel=5 after quiet: the boot stays quiet, but warnings print, with the stacks of a soft lockup or a hung task.
    cmdline="console=ttyS0 rdinit=/init panic=-1 quiet loglevel=5"
    # One host thread for all vCPUs: under multi-threaded TCG a vCPU can keep running its stale translation of
    # kernel text that another vCPU patched (a static key switched as tracepoint links close), and loops there or
    # oopses on an int3 the kernel no longer knows (docs/kernels.md, "What the runs found").
    local qemu=(qemu-system-x86_64 -accel 'tcg,thread=single' -cpu max -smp "$smp" -m "$mem"
      -nographic -nodefaults -no-reboot -monitor none -serial "file:$work/serial.log"
      -kernel "$vmlinuz" -initrd "$work/initramfs.gz" -append "$cmdline"
      # Read-only: nothing in the guest can change the host. remap: / spans several file systems, whose inode
      # numbers would collide in one 9p export.
      -fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap"
      -device "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot"
      -fsdev "local,id=results,path=$share,security_model=none"
      -device "virtio-9p-pci,fsdev=results,mount_tag=results")
    echo "kernel-matrix: booting $release ($origin) under TCG, up to $timeout_min min" >&2
    timeout -k 10 "$((timeout_min * 60))" "${qemu[@]}" > "$work/qemu.log" 2>&1 &
    qemu_pid=$!
    # A CPU the guest's watchdog finds stuck for two minutes will not come back: stop there rather than at the
    # timeout, and treat it as a crash.
    local hung=0
    while kill -0 "$qemu_pid" 2> /dev/null; do
      if grep -qE 'soft lockup - CPU#[0-9]+ stuck for ([0-9]{4,}|[2-9][0-9]{2}|1[2-9][0-9])s' "$work/serial.log"; then
        hung=1
        kill "$qemu_pid" 2> /dev/null || true
        break
      fi
      sleep 5
    done
    wait "$qemu_pid" || status=$?
    qemu_pid=""
    took="$(seconds_since "$start")"
    if [ "$hung" -eq 1 ]; then
      why="the guest hung (a CPU stuck for 2 min: the stacks are in the serial console below)"
    elif [ "$status" -eq 124 ]; then
      why="timed out after $timeout_min min"
    elif [ ! -f "$share/done" ]; then
      why="the guest stopped without finishing (qemu exit $status; the serial console in the log says why)"
    fi
    if [ "$attempt" -eq 1 ] && [ ! -f "$share/done" ] && { [ "$hung" -eq 1 ] || grep -qE 'Oops:|Kernel panic' "$work/serial.log"; }; then
      crashed="$log_dir/kernel-matrix-$release$suffix-$date-crashed.log"
      sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' -e 's/\r$//' "$work/serial.log" > "$crashed"
      echo "kernel-matrix: the $release guest crashed or hung (console in $crashed); booting it once more" >&2
      status=0 why=""
      continue
    fi
    break
  done
  {
    echo "kernel-matrix: $release from $origin, $(date -u -d "@$start" '+%F %T') UTC to $(date -u '+%T')"
    echo "qemu: $(qemu-system-x86_64 --version | head -n 1); ${qemu[*]}"
    notes=""
    [ ${#mod_notes[@]} -eq 0 ] || notes=" ($(printf '%s; ' "${mod_notes[@]}" | sed 's/; $//'))"
    echo "modules: $(paste -s -d ' ' "$work/initramfs/modules.list")$notes"
    echo "tattle $tattle_version; boot, suite and power-off in $took s; qemu exit $status${why:+; $why}"
    [ -z "$crashed" ] || echo "a first boot of this kernel crashed, and it was booted again: its console is $(basename "$crashed")"
    # TCG competes for the host's CPUs: the same run takes several times as long beside a build.
    echo "host load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
    echo
    echo "=== smoke suite ==="
    cat "$share/smoke.out" 2> /dev/null || echo "(no output)"
    echo
    echo "=== serial console ==="
    # SeaBIOS clears the screen with escape sequences, and a serial console ends its lines with CR LF.
    sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' -e 's/\r$//' "$work/serial.log"
    echo
    if [ -s "$work/qemu.log" ]; then
      echo
      echo "=== qemu ==="
      cat "$work/qemu.log"
    fi
  } > "$log"
  report "$release" "$log" "$share/smoke.out" "$took" "$why"
}

if [ "$host" -eq 1 ]; then
  run_host
fi
if [ "$guests" -eq 1 ]; then
  [ ${#kernels[@]} -gt 0 ] || kernels=("pkg:linux-image-amd64")
  for spec in "${kernels[@]}"; do
    run_guest "$spec"
  done
fi
exit "$failed_any"
