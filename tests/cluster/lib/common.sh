# Helpers shared by tests/cluster/{up,down,run}. Sourced, never executed.
# shellcheck shell=bash

CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER_LIB="$CLUSTER_DIR/lib"
# shellcheck source=tests/cluster/env.sh
source "$CLUSTER_DIR/env.sh"

PKI="$CLUSTER_STATE/pki"
LOGS="$CLUSTER_STATE/logs"
CONF="$CLUSTER_STATE/conf"
CONTAINERD_SOCK="$CLUSTER_RUN/containerd.sock"
# Every daemon we start, in start order (down stops them in reverse order).
CLUSTER_DAEMONS=(recorder etcd kube-apiserver kube-controller-manager kube-scheduler containerd registry coredns kubelet kube-proxy)
# The eBPF recorder of the pods' exec/open/connect events (recorder.py); CLUSTER_RECORDER=0: none.
: "${CLUSTER_RECORDER:=1}"
RECORDER_DIR="$CLUSTER_STATE/recorder"

log() { printf '==> %s\n' "$*"; }
# indent: a sub-step's output, shifted right, line by line as it comes (sed -u: no holding back when the output is a
# pipe or a file, as in CI, AWX or `| tee`).
indent() { sed -u 's/^/    /'; }
# duration SECONDS: "84 s", "13 min 48 s"
duration() { if (($1 < 60)); then echo "$1 s"; else echo "$(($1 / 60)) min $(($1 % 60)) s"; fi; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }

need_root() { [[ $EUID == 0 ]] || die "must run as root (network namespace, mounts, cgroups)"; }

netns_exists() { [[ -e "$CLUSTER_NETNS_PATH" ]] && grep -qw "^$CLUSTER_NETNS" <<<"$(ip netns list)"; }

# in_ns CMD...: run CMD in the cluster's network namespace (same mount namespace as the host).
in_ns() { nsenter --net="$CLUSTER_NETNS_PATH" -- "$@"; }

# running PID: the process exists and is not a zombie (PID 1 here reaps orphans late).
running() { local st; st="$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null)" && [[ -n $st && ${st:0:1} != Z ]]; }

pid_of() { local f="$CLUSTER_RUN/$1.pid"; [[ -s $f ]] && cat "$f"; }

# alive NAME: the recorded PID of NAME runs and lives in our network namespace.
alive() {
  local pid; pid="$(pid_of "$1")" || return 1
  running "$pid" || return 1
  [[ "$(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null)" == "$(stat -L -c %i "$CLUSTER_NETNS_PATH" 2>/dev/null)" ]]
}

# start_daemon NAME CMD...: start CMD in the namespace, detached (own session), log + pid file.
start_daemon() {
  local name="$1"; shift
  if alive "$name"; then log "$name already running (pid $(pid_of "$name"))"; return 0; fi
  log "starting $name"
  mkdir -p "$LOGS" "$CLUSTER_RUN"
  printf '\n===== %s start %s\n%s\n' "$name" "$(date -u +%FT%TZ)" "$*" >>"$LOGS/$name.log"
  rm -f "$CLUSTER_RUN/$name.pid"
  # The child writes its own PID (setsid forks when the caller has job control, so $! would be wrong), then
  # nsenter execs the daemon in that same process.
  setsid "$CLUSTER_LIB/closefds" sh -c 'echo $$ >"$0"; exec "$@"' "$CLUSTER_RUN/$name.pid" \
    nsenter --net="$CLUSTER_NETNS_PATH" -- "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  local i
  for ((i = 0; i < 50; i++)); do [[ -s "$CLUSTER_RUN/$name.pid" ]] && break; sleep 0.05; done
  sleep 0.2
  alive "$name" || { tail -n 30 "$LOGS/$name.log" >&2; die "$name exited at once (log: $LOGS/$name.log)"; }
}

# stop_pid PID [NAME]: TERM, wait up to 10 s, then KILL.
stop_pid() {
  local pid="$1" name="${2:-$1}" i
  running "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do running "$pid" || return 0; sleep 0.1; done
  warn "$name (pid $pid) ignored TERM; killing"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 30; i++)); do running "$pid" || return 0; sleep 0.1; done
}

# wait_for SECONDS WHAT CMD...: poll CMD every half second until it succeeds.
wait_for() {
  local timeout="$1" what="$2" deadline; shift 2
  deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

kctl() { in_ns "$CLUSTER_BIN/kubectl" --kubeconfig "$CLUSTER_KUBECONFIG" "$@"; }
ctr_() { ctr --address "$CONTAINERD_SOCK" "$@"; }
