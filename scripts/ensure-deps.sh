#!/usr/bin/env bash
# Installs the Debian packages Tattle needs when any is missing: "build" for ./tattle, "test" adds what the
# end-to-end tests drive (real clients and servers). Quiet when everything is there.
set -euo pipefail
build_pkgs=(clang llvm libbpf-dev libbpf1 libelf-dev zlib1g-dev pkg-config iproute2 util-linux libpcap0.8 nftables)
test_pkgs=(curl python3 netcat-openbsd socat bpftool procps nginx dnsmasq-base bind9-dnsutils openssl tcpdump tshark binutils gcc libc6-dev wget nodejs libnspr4 libnss3-tools netbase apache2-utils strace nghttp2-server nghttp2-client python3-grpcio python3-h2)
test_pkgs+=(redis-server redis-tools)
test_pkgs+=(postgresql python3-psycopg2)
test_pkgs+=(python3-zmq)
test_pkgs+=(memcached python3-pymemcache libmemcached-tools)
test_pkgs+=(python3-websockets)
test_pkgs+=(mariadb-server mariadb-client)
test_pkgs+=(golang-go)
test_pkgs+=(systemtap-sdt-dev)
test_pkgs+=(qemu-system-x86 busybox-static kmod) # scripts/kernel-matrix.sh boots Debian 12's own kernel
test_pkgs+=(chromium iptables)
test_pkgs+=(prometheus protobuf-compiler systemd)
want=("${build_pkgs[@]}")
[ "${1:-build}" = test ] && want+=("${test_pkgs[@]}")

# The stamp records the package set last found installed; it holds while dpkg's database and this list are
# older than it (an install or removal rewrites /var/lib/dpkg/status), so the check below runs once, not on
# every ./tattle (it took ~300 ms: a dpkg-query per package).
script="${BASH_SOURCE[0]}"
stamp="${script%/*}/../out/.deps-${1:-build}"
if [ -f "$stamp" ] && [ ! /var/lib/dpkg/status -nt "$stamp" ] && [ ! "$script" -nt "$stamp" ] \
    && command -v dotnet >/dev/null 2>&1; then
  exit 0
fi

"${script%/*}/install-missing.sh" --label tattle --packages "${want[@]}"
if ! command -v dotnet >/dev/null 2>&1; then
  echo "tattle: the .NET 10 SDK is missing (dotnet not on PATH)" >&2
  exit 2
fi
# Best effort: without a writable out/ the check simply runs again next time.
{ mkdir -p "${stamp%/*}" && echo "${want[*]}" > "$stamp"; } 2>/dev/null || true
