# Configuration files of the sealed cluster, all under $CONF (= $CLUSTER_STATE/conf); rewritten on every `up`.
# shellcheck shell=bash

CNI_NETWORK=defender-sim-pods

# _put FILE: write stdin to FILE only when it differs (kube-proxy exits when its config file changes under it).
_put() {
  local t; t="$(mktemp "$1.XXXXXX")"
  cat >"$t"
  if cmp -s "$t" "$1"; then rm -f "$t"; else chmod 644 "$t"; mv -f "$t" "$1"; fi
}

write_configs() {
  mkdir -p "$CONF" "$CONF/cni" "$CONF/certs.d/ghcr.io" "$CLUSTER_STATE/containerd" "$CLUSTER_STATE/cni-ipam" \
    "$CLUSTER_STATE/kubelet" "$CLUSTER_STATE/pod-logs" "$CLUSTER_STATE/kubelet-plugins" "$CLUSTER_RUN/containerd"

  # resolv.conf for pods with dnsPolicy Default (kubelet resolvConf) and for `run`: CoreDNS only, nothing else.
  _put "$CONF/resolv.conf" <<R
nameserver $CLUSTER_DNS_IP
search svc.cluster.local cluster.local
options ndots:5 timeout:2 attempts:2
R
  # kubelet's resolvConf: no search list of its own (pods get <ns>.svc.cluster.local svc.cluster.local cluster.local).
  printf 'nameserver %s\noptions timeout:2 attempts:2\n' "$CLUSTER_DNS_IP" | _put "$CONF/kubelet-resolv.conf"

  # ---------------------------------------------------------------- containerd (own root/state/socket)
  _put "$CONF/containerd.toml" <<T
version = 2
root = "$CLUSTER_STATE/containerd/root"
state = "$CLUSTER_RUN/containerd/state"
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$CONTAINERD_SOCK"

[ttrpc]
  address = "$CLUSTER_RUN/containerd.sock.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$CLUSTER_STATE/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:$PAUSE_VERSION"
  enable_selinux = false
  disable_apparmor = true
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$CLUSTER_RUN/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CONF/cni"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$CONF/certs.d"
T

  # ghcr.io is served by the local registry only: no fallback to the real ghcr.io.
  _put "$CONF/certs.d/ghcr.io/hosts.toml" <<T
server = "http://$CLUSTER_REGISTRY"

[host."http://$CLUSTER_REGISTRY"]
  capabilities = ["pull", "resolve"]
  skip_verify = true
T

  # ---------------------------------------------------------------- CNI: bridge, no masquerade
  _put "$CONF/cni/10-$CNI_NETWORK.conflist" <<J
{
  "cniVersion": "1.0.0",
  "name": "$CNI_NETWORK",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$CLUSTER_STATE/cni-ipam",
        "ranges": [[{"subnet": "$CLUSTER_POD_CIDR"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
J

  # ---------------------------------------------------------------- kubelet
  _put "$CONF/kubelet.yaml" <<Y
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
clusterDNS: [$CLUSTER_DNS_IP]
clusterDomain: cluster.local
resolvConf: $CONF/kubelet-resolv.conf
address: $CLUSTER_NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization:
  mode: Webhook
hairpinMode: hairpin-veth
podLogsDir: $CLUSTER_STATE/pod-logs
volumePluginDir: $CLUSTER_STATE/kubelet-plugins
registerNode: true
maxPods: 60
serializeImagePulls: false
# No pull rate limit: this one node stands in for a fleet of clusters, and ten runs pull twenty images at once; the
# default 5 pulls a second (burst 10) refused some with "pull QPS exceeded", which ten real clusters would not meet.
registryPullQPS: 0
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%"
  imagefs.available: "1%"
  nodefs.inodesFree: "1%"
enforceNodeAllocatable: [pods]
protectKernelDefaults: false
localStorageCapacityIsolation: true
containerLogMaxSize: 10Mi
containerLogMaxFiles: 2
nodeStatusUpdateFrequency: 5s
syncFrequency: 10s
fileCheckFrequency: 10s
runtimeRequestTimeout: 2m
shutdownGracePeriod: 0s
Y

  # ---------------------------------------------------------------- kube-proxy (iptables, inside the namespace)
  _put "$CONF/kube-proxy.yaml" <<Y
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection:
  kubeconfig: $PKI/kube-proxy.kubeconfig
hostnameOverride: $CLUSTER_NODE_NAME
bindAddress: $CLUSTER_NODE_IP
clusterCIDR: $CLUSTER_POD_CIDR
nodePortAddresses: [primary]
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  masqueradeAll: false
  syncPeriod: 10s
  minSyncPeriod: 0s
Y

  # ---------------------------------------------------------------- CoreDNS (binary, on the node IP:53)
  # Cluster names from the kubernetes plugin; every other name is NXDOMAIN (no forwarding anywhere).
  _put "$CONF/Corefile" <<C
cluster.local:53 in-addr.arpa:53 ip6.arpa:53 {
    bind $CLUSTER_NODE_IP
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $PKI/coredns.kubeconfig defender-sim
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    cache 5
}
.:53 {
    bind $CLUSTER_NODE_IP
    errors
    health 127.0.0.1:8080
    ready 127.0.0.1:8181
    template ANY ANY {
        rcode NXDOMAIN
    }
}
C
}
