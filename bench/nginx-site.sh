# shellcheck shell=bash
# Sourced by the benchmarks: the nginx they measure. One worker pinned to CPU 0, in the foreground, sendfile off (so
# payloads pass through the calls tattle reads), keep-alive without a request limit.
# nginx_site DIR ACCESS_LOG SERVER...: writes DIR/nginx.conf (pid and error log in DIR); ACCESS_LOG is a path or
# "off"; each SERVER is the inside of a server block, e.g. "listen 127.0.0.1:18080; root $dir/www;".
nginx_site() {
  local dir=$1 log=$2 server
  shift 2
  {
    cat <<CONF
user root;
worker_processes 1;
worker_cpu_affinity 01;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 1024; }
http {
    access_log $log;
    keepalive_requests 1000000;
    sendfile off;
CONF
    for server in "$@"; do
      echo "    server { $server }"
    done
    echo "}"
  } > "$dir/nginx.conf"
}

# nginx_page DIR BYTES PORT: serves BYTES bytes of "x" as DIR/www/index.html on 127.0.0.1:PORT, without an access
# log, in the background; sets nginx_pid. The caller stops it and removes DIR.
nginx_page() {
  local dir=$1 bytes=$2 port=$3
  mkdir -p "$dir/www"
  head -c "$bytes" /dev/zero | tr '\0' 'x' > "$dir/www/index.html"
  nginx_site "$dir" off "listen 127.0.0.1:$port; root $dir/www;"
  nginx -c "$dir/nginx.conf" &
  # shellcheck disable=SC2034 # read by the script that sources this file
  nginx_pid=$!
}

# nginx_worker DIR: waits up to 5 s for the worker of the nginx whose master is $nginx_pid (started with DIR's
# nginx.conf) and sets worker; without one, prints nginx's error log and exits.
nginx_worker() {
  local dir=$1
  for _ in $(seq 50); do
    worker=$(pgrep -P "$nginx_pid" || true)
    [ -n "$worker" ] && return 0
    sleep 0.1
  done
  echo "nginx did not start: $(cat "$dir/error.log" 2>/dev/null)" >&2
  exit 1
}

# trace_started FILE: waits up to 5 s for the first record of a trace writing JSON Lines to FILE (its programs loaded
# and the traced process announced), so that what is measured next is traced from its start.
trace_started() {
  for _ in $(seq 100); do grep -q '"process.start"' "$1" 2>/dev/null && return 0; sleep 0.05; done
}

# load_started URL SECS FILE: wrk on CPU 1 (one thread, 16 connections) for SECS + 2 s in the background, its report
# in FILE, its pid in wrk_pid; returns after its first second, so that a SECS-long measurement begun next sees only
# the steady load.
load_started() {
  taskset -c 1 wrk -t1 -c16 -d"$(($2 + 2))s" "$1" > "$3" &
  # shellcheck disable=SC2034 # read by the script that sources this file
  wrk_pid=$!
  sleep 1
}
