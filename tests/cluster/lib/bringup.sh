# Steps of tests/cluster/up. Sourced after common.sh, pki.sh and config.sh.
# shellcheck shell=bash

# Debian packages the cluster needs on the host (installed only when missing, non-interactively).
CLUSTER_PACKAGES=(containerd runc containernetworking-plugins iptables conntrack socat ethtool openssl curl jq util-linux iproute2 procps
  skopeo docker-registry mmdebstrap umoci  # for tests/cluster/images
  bpftrace python3  # the exec/open/connect recorder (recorder.py: standard library only)
  gcc libc6-dev)  # build.sh: the static pause binary

install_packages() {
  local missing=() p
  for p in "${CLUSTER_PACKAGES[@]}"; do
    [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == "install ok installed" ]] || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]}"
  mkdir -p "$CLUSTER_CACHE"
  # Packages with services (docker-registry, containerd) must not start them on the host: policy-rc.d says no,
  # only for the duration of this install, and only if no policy-rc.d exists already.
  local policy=/usr/sbin/policy-rc.d own_policy=0
  if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; own_policy=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >"$CLUSTER_CACHE/apt-install.log" 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$CLUSTER_CACHE/apt-install.log" 2>&1; } ||
    { ((own_policy)) && rm -f "$policy"; tail -20 "$CLUSTER_CACHE/apt-install.log" >&2; die "apt-get install failed"; }
  ((own_policy)) && rm -f "$policy"
  return 0
}

# build_binaries [--dry-run]: tests/cluster/build.sh into $CLUSTER_BIN (--dry-run: its checks only).
build_binaries() {
  local t0=$SECONDS
  if [[ ${1:-} == --dry-run ]]; then
    log "binaries: tests/cluster/build.sh --dry-run"
    "$CLUSTER_DIR/build.sh" --dry-run 2>&1 | indent
    return "${PIPESTATUS[0]}"
  fi
  if [[ "${CLUSTER_SKIP_BUILD:-0}" == 1 ]]; then log "binaries: CLUSTER_SKIP_BUILD=1, using $CLUSTER_BIN as it is"
  else
    # Never two builds at once: wait for one that is already running (someone else's) to finish first.
    while pgrep -f 'tests/cluster/build\.sh' >/dev/null || pgrep -f "go build .*-o $CLUSTER_BIN/" >/dev/null; do
      ((SECONDS - t0 < 5400)) || die "tests/cluster/build.sh has been running for 90 min (another build); giving up"
      ((SECONDS - t0 == 0)) && log "binaries: another tests/cluster/build.sh is running; waiting for it"
      sleep 5
    done
    log "binaries: tests/cluster/build.sh"
    if ! "$CLUSTER_DIR/build.sh" 2>&1 | indent; then
      warn "tests/cluster/build.sh failed; going on with the binaries already in $CLUSTER_BIN"
    fi
  fi
  local b
  for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl etcd coredns; do
    [[ -x "$CLUSTER_BIN/$b" ]] || die "$CLUSTER_BIN/$b missing after build.sh"
  done
  log "binaries ready in $(duration $((SECONDS - t0)))"
}

# build_images [--dry-run]: tests/cluster/images/build.sh into $CLUSTER_IMAGES (--dry-run: its checks only).
build_images() {
  local t0=$SECONDS
  if [[ ${1:-} == --dry-run ]]; then
    log "test images: tests/cluster/images/build.sh --dry-run"
    "$CLUSTER_DIR/images/build.sh" --dry-run 2>&1 | indent
    return "${PIPESTATUS[0]}"
  fi
  if [[ "${CLUSTER_SKIP_BUILD:-0}" == 1 ]]; then log "test images: CLUSTER_SKIP_BUILD=1, using $CLUSTER_IMAGES as it is"
  elif [[ -x "$CLUSTER_DIR/images/build.sh" ]]; then
    while pgrep -f 'tests/cluster/images/build\.sh' >/dev/null; do
      ((SECONDS - t0 < 3600)) || die "tests/cluster/images/build.sh has been running for 60 min (another build); giving up"
      ((SECONDS - t0 == 0)) && log "test images: another tests/cluster/images/build.sh is running; waiting for it"
      sleep 5
    done
    log "test images: tests/cluster/images/build.sh"
    "$CLUSTER_DIR/images/build.sh" 2>&1 | indent
    ((PIPESTATUS[0] == 0)) || die "tests/cluster/images/build.sh failed"
    log "test images ready in $(duration $((SECONDS - t0)))"
  else
    warn "tests/cluster/images/build.sh not there: no test images"
  fi
}

# The sealed namespace: lo, and a port-less bridge sim0 carrying the node IP with the default route on it (this
# kernel has no dummy driver; a bridge without ports has no carrier, so packets to any other address go nowhere:
# neighbour resolution fails, "no route to host"). No veth to the host, no masquerade, no route out.
setup_netns() {
  if ! netns_exists; then
    log "creating network namespace $CLUSTER_NETNS"
    ip netns add "$CLUSTER_NETNS"
  fi
  in_ns ip link set lo up
  if ! in_ns ip link show sim0 >/dev/null 2>&1; then
    in_ns ip link add sim0 type bridge
  fi
  in_ns ip link set sim0 up
  in_ns ip addr replace "$CLUSTER_NODE_IP/24" dev sim0
  in_ns ip route replace default dev sim0
  in_ns sysctl -q -w net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 \
    net.ipv4.conf.all.route_localnet=1 >/dev/null
  mkdir -p "$CLUSTER_RUN" "$LOGS"
}

# The recorder: bpftrace (root, tracefs, the kernel's BTF) under recorder.py, events in $RECORDER_DIR/events.jsonl.
# Started before the kubelet so that it sees every pod from its first process; a new file on every start.
start_recorder() {
  ((CLUSTER_RECORDER)) || return 0
  if ! mountpoint -q /sys/kernel/tracing; then
    log "mounting tracefs at /sys/kernel/tracing (bpftrace's tracepoints; down unmounts it)"
    mount -t tracefs nodev /sys/kernel/tracing || die "cannot mount tracefs at /sys/kernel/tracing"
    touch "$CLUSTER_RUN/tracefs-mounted"
  fi
  [[ -r /sys/kernel/btf/vmlinux ]] || die "the kernel has no BTF (/sys/kernel/btf/vmlinux): bpftrace cannot read its structures"
  alive recorder && { log "recorder already running (pid $(pid_of recorder))"; return 0; }
  mkdir -p "$RECORDER_DIR"
  [[ -s $RECORDER_DIR/events.jsonl ]] && mv -f "$RECORDER_DIR/events.jsonl" "$RECORDER_DIR/events.jsonl.prev"
  rm -f "$CLUSTER_RUN/recorder.status"
  start_daemon recorder "$(command -v /usr/bin/python3 python3 | head -1)" "$CLUSTER_DIR/recorder.py" record \
    --out "$RECORDER_DIR/events.jsonl" --status "$CLUSTER_RUN/recorder.status" \
    --bpftrace-pid "$CLUSTER_RUN/recorder-bpftrace.pid" --containerd-state "$CLUSTER_RUN/containerd/state"
}

# bpftrace compiles and attaches in a few seconds (longer on a busy machine): its first heartbeat says it records.
wait_recorder() {
  ((CLUSTER_RECORDER)) || return 0
  wait_for 180 recorder test -s "$CLUSTER_RUN/recorder.status" ||
    { tail -n 20 "$LOGS/recorder.log" >&2; die "recorder not recording after 180 s (log: $LOGS/recorder.log)"; }
  log "recorder: exec/open/connect of the pods into $RECORDER_DIR/events.jsonl"
}

start_etcd() {
  mkdir -p "$CLUSTER_STATE/etcd"; chmod 700 "$CLUSTER_STATE/etcd"
  start_daemon etcd "$CLUSTER_BIN/etcd" --name sim --data-dir "$CLUSTER_STATE/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster sim=http://127.0.0.1:2380 --initial-cluster-state new \
    --unsafe-no-fsync --snapshot-count 10000 --log-level warn
  wait_for 30 etcd in_ns curl -sf http://127.0.0.1:2379/health || die "etcd not healthy (log: $LOGS/etcd.log)"
}

api_ready() { in_ns curl -sf --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
  "https://$CLUSTER_NODE_IP:6443/readyz" >/dev/null; }

start_apiserver() {
  start_daemon kube-apiserver "$CLUSTER_BIN/kube-apiserver" \
    --advertise-address="$CLUSTER_NODE_IP" --bind-address="$CLUSTER_NODE_IP" --secure-port=6443 \
    --etcd-servers=http://127.0.0.1:2379 \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction --allow-privileged=true \
    --client-ca-file="$PKI/ca.crt" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$PKI/ca.crt" --kubelet-preferred-address-types=InternalIP,Hostname \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-cluster-ip-range="$CLUSTER_SERVICE_CIDR" --service-node-port-range=30000-32767 \
    --profiling=false --v=1
  wait_for 90 kube-apiserver api_ready || die "kube-apiserver not ready (log: $LOGS/kube-apiserver.log)"
}

start_controllers() {
  start_daemon kube-controller-manager "$CLUSTER_BIN/kube-controller-manager" \
    --kubeconfig="$PKI/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$PKI/controller-manager.kubeconfig" --authorization-kubeconfig="$PKI/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
    --allocate-node-cidrs=true --cluster-cidr="$CLUSTER_POD_CIDR" --node-cidr-mask-size="${CLUSTER_POD_CIDR#*/}" \
    --service-cluster-ip-range="$CLUSTER_SERVICE_CIDR" \
    --root-ca-file="$PKI/ca.crt" --service-account-private-key-file="$PKI/sa.key" \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --profiling=false --v=1
  start_daemon kube-scheduler "$CLUSTER_BIN/kube-scheduler" \
    --kubeconfig="$PKI/scheduler.kubeconfig" \
    --authentication-kubeconfig="$PKI/scheduler.kubeconfig" --authorization-kubeconfig="$PKI/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false --profiling=false --v=1
}

containerd_ready() { in_ns ctr --address "$CONTAINERD_SOCK" version >/dev/null; }

start_containerd() {
  local bin; bin="$(containerd_bin)"
  # PATH: the shim (containerd-shim-runc-v2) is looked up next to containerd first, then on PATH.
  start_daemon containerd env PATH="$(dirname "$bin"):/usr/sbin:/usr/bin:/sbin:/bin" \
    "$bin" --config "$CONF/containerd.toml" --log-level warn
  wait_for 30 containerd containerd_ready || die "containerd not ready (log: $LOGS/containerd.log)"
}

# containerd: Debian's unless a containerd built into $CLUSTER_BIN exists (CLUSTER_CONTAINERD overrides).
containerd_bin() {
  if [[ -n "${CLUSTER_CONTAINERD:-}" ]]; then echo "$CLUSTER_CONTAINERD"
  elif [[ -x "$CLUSTER_BIN/containerd" ]]; then echo "$CLUSTER_BIN/containerd"
  else command -v containerd; fi
}

# Import the OCI archives of $CLUSTER_IMAGES that containerd does not have yet (pause.tar at least).
import_images() {
  local tar want have
  have="$(ctr_ -n k8s.io images ls -q 2>/dev/null || true)"
  want="registry.k8s.io/pause:$PAUSE_VERSION"
  if ! grep -qx "$want" <<<"$have"; then
    tar="$CLUSTER_IMAGES/pause.tar"
    [[ -s $tar ]] || die "$want is not in containerd and $tar does not exist (tests/cluster/images/build.sh makes it)"
    log "importing $tar into containerd"
    ctr_ -n k8s.io images import "$tar" >/dev/null
    # Capture, then match: `ctr ... | grep -q` SIGPIPEs ctr when grep stops early, and pipefail fails the pipe.
    have="$(ctr_ -n k8s.io images ls -q)"
    grep -qx "$want" <<<"$have" || die "$tar did not give $want"
  fi
}

start_registry() {
  local s
  local s
  for s in "$CLUSTER_DIR/images/registry.sh"; do
    if [[ -x $s ]]; then
      log "registry: ${s#"$CLUSTER_DIR"/} (on $CLUSTER_REGISTRY inside the namespace)"
      "$s" start | indent
      return 0
    fi
  done
  warn "no registry script under tests/cluster/images/: ghcr.io images cannot be pulled"
}

coredns_ready() { in_ns curl -sf http://127.0.0.1:8181/ready >/dev/null; }

start_coredns() {
  sed -e "s/@DNS_IP@/$CLUSTER_DNS_IP/g" -e "s/@NODE_IP@/$CLUSTER_NODE_IP/g" -e "s/@NODE_NAME@/$CLUSTER_NODE_NAME/g" \
    "$CLUSTER_LIB/manifests/coredns.yaml" | kctl apply -f - >/dev/null
  start_daemon coredns "$CLUSTER_BIN/coredns" -conf "$CONF/Corefile"
  wait_for 60 coredns coredns_ready || die "coredns not ready (log: $LOGS/coredns.log)"
}

# The kubelet sets these host-wide sysctls (not per network namespace); down puts back the values saved here.
KUBELET_SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)

start_kubelet() {
  local k f="$CLUSTER_STATE/host-sysctls"
  if [[ ! -s $f ]]; then
    for k in "${KUBELET_SYSCTLS[@]}"; do echo "$k=$(sysctl -n "$k")"; done >"$f.tmp" && mv -f "$f.tmp" "$f"
  fi
  start_daemon kubelet "$CLUSTER_BIN/kubelet" --config="$CONF/kubelet.yaml" \
    --kubeconfig="$PKI/node.kubeconfig" --root-dir="$CLUSTER_STATE/kubelet" \
    --hostname-override="$CLUSTER_NODE_NAME" --node-ip="$CLUSTER_NODE_IP" --v=1
}

start_kube_proxy() {
  start_daemon kube-proxy "$CLUSTER_BIN/kube-proxy" --config="$CONF/kube-proxy.yaml" --v=1
}

node_ready() {
  [[ "$(kctl get node "$CLUSTER_NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}

wait_node_ready() {
  log "waiting for node $CLUSTER_NODE_NAME Ready (up to ${CLUSTER_UP_TIMEOUT}s)"
  wait_for "$CLUSTER_UP_TIMEOUT" node node_ready ||
    { kctl describe node "$CLUSTER_NODE_NAME" 2>&1 | tail -30 >&2; die "node not Ready (logs: $LOGS/kubelet.log)"; }
}

# The Defender sensor stand-in, present unless CLUSTER_SENSOR=0 (then removed if there).
ensure_sensor() {
  if [[ "${CLUSTER_SENSOR:-1}" == 0 ]]; then
    if kctl -n kube-system get ds microsoft-defender-collector-ds >/dev/null 2>&1; then
      log "removing the sensor stand-in (CLUSTER_SENSOR=0)"
      kctl -n kube-system delete ds microsoft-defender-collector-ds --wait=true >/dev/null
    fi
    return 0
  fi
  log "sensor stand-in: DaemonSet kube-system/microsoft-defender-collector-ds"
  sed -e "s/@PAUSE_VERSION@/$PAUSE_VERSION/g" "$CLUSTER_LIB/manifests/sensor.yaml" | kctl apply -f - >/dev/null
  kctl -n kube-system rollout status ds/microsoft-defender-collector-ds --timeout="${CLUSTER_UP_TIMEOUT}s" >/dev/null ||
    die "sensor stand-in pod not Ready"
}

# Healthy: every daemon alive, API ready, node Ready.
cluster_healthy() {
  netns_exists || return 1
  local d
  for d in "${CLUSTER_DAEMONS[@]}"; do
    [[ $d == registry ]] && continue
    [[ $d == recorder ]] && ! ((CLUSTER_RECORDER)) && continue
    alive "$d" || return 1
  done
  if [[ -x "$CLUSTER_DIR/images/registry.sh" ]]; then "$CLUSTER_DIR/images/registry.sh" status || return 1; fi
  api_ready && coredns_ready && node_ready
}
