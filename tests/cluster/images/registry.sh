#!/usr/bin/env bash
# The sealed cluster's local registry (Debian's docker-registry), the ghcr.io mirror of containerd, on $CLUSTER_REGISTRY
# inside the network namespace $CLUSTER_NETNS_PATH. Plain HTTP, no auth; storage in $CLUSTER_STATE/registry.
#   registry.sh start [--no-push]  start it detached in the namespace (PID in $CLUSTER_RUN/registry.pid, log in
#                                  $CLUSTER_STATE/logs/registry.log), wait until it answers, then push (unless --no-push)
#   registry.sh push               copy $CLUSTER_IMAGES/{victim,attacker}.tar to
#                                  $CLUSTER_REGISTRY/microsoft/defender-for-cloud/attacksimulation/{victim,attacker}:latest
#   registry.sh stop               stop the recorded PID
#   registry.sh status             exit 0 when it runs and answers
# Run from the host or from inside the namespace: commands enter the namespace themselves when needed. Root.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/cluster/env.sh
source "$HERE/../env.sh"
PIDFILE="$CLUSTER_RUN/registry.pid"
CONFIG="$CLUSTER_STATE/registry-run/config.yml"
LOG="$CLUSTER_STATE/logs/registry.log"
REPO=microsoft/defender-for-cloud/attacksimulation

log() { printf '==> %s\n' "$*"; }
die() { printf 'images/registry.sh: error: %s\n' "$*" >&2; exit 1; }

ns_inode() { stat -L -c %i "$1" 2>/dev/null; }
# ns CMD...: run CMD in the cluster's network namespace (directly when already there).
ns() {
  if [[ "$(ns_inode /proc/self/ns/net)" == "$(ns_inode "$CLUSTER_NETNS_PATH")" ]]; then "$@"
  else nsenter --net="$CLUSTER_NETNS_PATH" -- "$@"; fi
}
running() {
  local pid; pid="$(cat "$PIDFILE" 2>/dev/null)" || return 1
  kill -0 "$pid" 2>/dev/null && [[ "$(ns_inode "/proc/$pid/ns/net")" == "$(ns_inode "$CLUSTER_NETNS_PATH")" ]]
}
answers() { ns curl -sf -m 2 "http://$CLUSTER_REGISTRY/v2/" >/dev/null; }

need_ns() { [[ -e $CLUSTER_NETNS_PATH ]] || die "network namespace $CLUSTER_NETNS_PATH does not exist"; }

start() {
  need_ns
  if running && answers; then log "registry already running (pid $(cat "$PIDFILE")) on $CLUSTER_REGISTRY"; return 0; fi
  command -v docker-registry >/dev/null || die "docker-registry not installed (apt-get install docker-registry)"
  mkdir -p "$CLUSTER_STATE/registry" "${CONFIG%/*}" "${LOG%/*}" "$CLUSTER_RUN"
  cat >"$CONFIG" <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $CLUSTER_STATE/registry
  delete:
    enabled: true
http:
  addr: $CLUSTER_REGISTRY
EOF
  printf '\n===== registry start %s\n' "$(date -u +%FT%TZ)" >>"$LOG"
  # nsenter execs docker-registry: the recorded PID is the registry's, in the namespace.
  setsid "$HERE/../lib/closefds" nsenter --net="$CLUSTER_NETNS_PATH" -- docker-registry serve "$CONFIG" >>"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  local i
  for ((i = 0; i < 100; i++)); do
    answers && break
    running || { tail -n 20 "$LOG" >&2; die "docker-registry exited (log: $LOG)"; }
    sleep 0.1
  done
  answers || { tail -n 20 "$LOG" >&2; die "docker-registry does not answer on $CLUSTER_REGISTRY (log: $LOG)"; }
  log "registry running (pid $(cat "$PIDFILE")) on $CLUSTER_REGISTRY, storage $CLUSTER_STATE/registry"
}

push() {
  need_ns
  answers || die "no registry answers on $CLUSTER_REGISTRY in $CLUSTER_NETNS_PATH (registry.sh start)"
  local image tar
  for image in victim attacker; do
    tar="$CLUSTER_IMAGES/$image.tar"
    [[ -s $tar ]] || die "$tar missing (tests/cluster/images/build.sh)"
    log "push $image.tar -> $CLUSTER_REGISTRY/$REPO/$image:latest"
    ns skopeo --insecure-policy copy -q --dest-tls-verify=false "oci-archive:$tar" "docker://$CLUSTER_REGISTRY/$REPO/$image:latest"
  done
}

stop() {
  local pid i
  pid="$(cat "$PIDFILE" 2>/dev/null)" || { log "registry not running (no $PIDFILE)"; return 0; }
  # Only our docker-registry, never a recycled PID.
  if kill -0 "$pid" 2>/dev/null && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == docker-regist* ]]; then
    kill -TERM "$pid"
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    log "registry (pid $pid) stopped"
  fi
  rm -f "$PIDFILE"
}

case "${1:-}" in
  start) start; [[ "${2:-}" == --no-push ]] || push ;;
  push) push ;;
  stop) stop ;;
  status) need_ns; running && answers ;;
  *) die "usage: registry.sh start [--no-push]|push|stop|status" ;;
esac
