# shellcheck shell=bash
# Sourced by bench/overhead/run.sh (--awake) and bench/overhead/wake/run.sh, so that both keep the CPUs awake the same way.

# Keeps CPUs 0 and 1 from idling: a shell loop on each under SCHED_IDLE, which any other task preempts at once. An
# idle vCPU here halts, and its wake-up sets a paced request's latency more than its work does. Appends the loops'
# pids to the caller's spin_pids array, for it to kill.
keep_cpus_awake() {
  for cpu in 0 1; do
    chrt -i 0 taskset -c "$cpu" sh -c 'while :; do :; done' &
    spin_pids+=("$!")
  done
}
