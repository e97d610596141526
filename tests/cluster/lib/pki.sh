# Certificates and kubeconfigs of the sealed cluster, made with openssl under $PKI.
# Existing files are reused; delete $PKI (or run `down --purge`) to make new ones.
# shellcheck shell=bash

API_URL="https://$CLUSTER_NODE_IP:6443"

# cert NAME CN O [SAN]: key + cert signed by the cluster CA (client+server usage when SAN given).
_cert() {
  local name="$1" cn="$2" o="$3" san="${4:-}" subj ext
  [[ -s "$PKI/$name.crt" && -s "$PKI/$name.key" ]] && return 0
  subj="/CN=$cn"; [[ -n $o ]] && subj="/O=$o$subj"
  ext="$PKI/$name.ext"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [[ -n $san ]]; then
      echo "extendedKeyUsage=serverAuth,clientAuth"
      echo "subjectAltName=$san"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
  } >"$ext"
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$ext"
}

# kubeconfig NAME USER: $PKI/NAME.kubeconfig with the certs embedded.
_kubeconfig() {
  local name="$1" user="$2" f="$PKI/$1.kubeconfig"
  [[ -s $f ]] && return 0
  cat >"$f" <<KC
apiVersion: v1
kind: Config
clusters:
- name: defender-sim
  cluster:
    server: $API_URL
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 "$PKI/$name.crt")
    client-key-data: $(base64 -w0 "$PKI/$name.key")
contexts:
- name: defender-sim
  context:
    cluster: defender-sim
    user: $user
current-context: defender-sim
KC
  chmod 600 "$f"
}

make_pki() {
  mkdir -p "$PKI"; chmod 700 "$PKI"
  if [[ ! -s "$PKI/ca.crt" || ! -s "$PKI/ca.key" ]]; then
    openssl genrsa -out "$PKI/ca.key" 2048 2>/dev/null
    openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=defender-sim-ca" -days 3650 -sha256 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out "$PKI/ca.crt" 2>/dev/null
  fi
  _cert apiserver kube-apiserver "" \
    "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:$CLUSTER_API_SERVICE_IP,IP:$CLUSTER_NODE_IP,IP:127.0.0.1"
  _cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
  _cert admin admin system:masters
  _cert controller-manager system:kube-controller-manager ""
  _cert scheduler system:kube-scheduler ""
  _cert kube-proxy system:kube-proxy ""
  _cert coredns system:coredns ""
  _cert node "system:node:$CLUSTER_NODE_NAME" system:nodes
  _cert kubelet-serving "system:node:$CLUSTER_NODE_NAME" system:nodes "DNS:$CLUSTER_NODE_NAME,IP:$CLUSTER_NODE_IP,IP:127.0.0.1"
  if [[ ! -s "$PKI/sa.key" ]]; then
    openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
    openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  fi
  _kubeconfig admin admin
  _kubeconfig controller-manager system:kube-controller-manager
  _kubeconfig scheduler system:kube-scheduler
  _kubeconfig kube-proxy system:kube-proxy
  _kubeconfig coredns system:coredns
  _kubeconfig node "system:node:$CLUSTER_NODE_NAME"
  chmod 600 "$PKI"/*.key
}
