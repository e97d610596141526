# Shared settings of the sealed test cluster; sourced by every script under tests/cluster/.
# Override any of them in the environment.

# Versions (the build cache is keyed by them).
: "${K8S_VERSION:=v1.36.3}"
: "${ETCD_VERSION:=v3.6.16}"
: "${COREDNS_VERSION:=v1.14.7}"
: "${PAUSE_VERSION:=3.10}"

# Build outputs and Go caches live outside the repository, so a fresh clone reuses them.
: "${CLUSTER_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/defender-attack-simulation}"
: "${CLUSTER_BIN:=$CLUSTER_CACHE/bin/k8s-$K8S_VERSION}"      # kube-*, kubelet, kubectl, etcd, coredns
: "${CLUSTER_IMAGES:=$CLUSTER_CACHE/images}"                # OCI archives of the test images

# Runtime state of one running cluster (certificates, kubeconfigs, data, logs, PIDs).
: "${CLUSTER_STATE:=/var/lib/defender-sim-cluster}"
: "${CLUSTER_RUN:=/run/defender-sim-cluster}"
: "${CLUSTER_NETNS:=defender-sim}"                           # ip netns name: /run/netns/$CLUSTER_NETNS
CLUSTER_NETNS_PATH="/run/netns/$CLUSTER_NETNS"
CLUSTER_KUBECONFIG="$CLUSTER_STATE/pki/admin.kubeconfig"

# Addresses, all inside the sealed namespace only.
: "${CLUSTER_NODE_IP:=10.200.0.2}"
: "${CLUSTER_POD_CIDR:=10.244.0.0/24}"
: "${CLUSTER_SERVICE_CIDR:=10.96.0.0/16}"
: "${CLUSTER_API_SERVICE_IP:=10.96.0.1}"
: "${CLUSTER_DNS_IP:=10.96.0.10}"
: "${CLUSTER_REGISTRY:=127.0.0.1:5000}"                      # local registry, mirror of ghcr.io
: "${CLUSTER_NODE_NAME:=sim-node}"

export K8S_VERSION ETCD_VERSION COREDNS_VERSION PAUSE_VERSION CLUSTER_CACHE CLUSTER_BIN CLUSTER_IMAGES \
  CLUSTER_STATE CLUSTER_RUN CLUSTER_NETNS CLUSTER_NETNS_PATH CLUSTER_KUBECONFIG CLUSTER_NODE_IP \
  CLUSTER_POD_CIDR CLUSTER_SERVICE_CIDR CLUSTER_API_SERVICE_IP CLUSTER_DNS_IP CLUSTER_REGISTRY CLUSTER_NODE_NAME
