#!/usr/bin/env bash
# Check the victim and attacker images without a container engine: unpack each archive of $CLUSTER_IMAGES, start its
# command in a chroot inside fresh mount + PID + network namespaces (loopback only), and ask harmless things only:
#   victim:   ws.php?cmd= whoami (nginx), id, the planted git credentials, touch /etc/ld.so.preload (refused)
#   attacker: python3 -m http.server 80 in /simulation serves xmrig (a copy of /bin/true)
# PID 1 of each new PID namespace is an inner bash: when it exits the kernel kills everything started in there, and
# the mount and network namespaces go with it; the unpacked rootfs are removed on exit. Root.
# Usage: tests/cluster/images/verify.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/cluster/env.sh
source "$HERE/../env.sh"
TMP="$(mktemp -d /tmp/verify-images.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT

# unpack IMAGE: the layers of $CLUSTER_IMAGES/IMAGE.tar into $TMP/IMAGE/root.
unpack() {
  local tar="$CLUSTER_IMAGES/$1.tar" d="$TMP/$1" layers
  [[ -s $tar ]] || { echo "verify.sh: $tar missing (build.sh)" >&2; exit 1; }
  mkdir -p "$d/oci" "$d/root"
  tar -C "$d/oci" -xf "$tar"
  layers="$(python3 -c '
import json, sys
d = sys.argv[1]
blob = lambda desc: d + "/blobs/" + desc["digest"].replace(":", "/")
manifest = json.load(open(blob(json.load(open(d + "/index.json"))["manifests"][0])))
print("\n".join(blob(layer) for layer in manifest["layers"]))' "$d/oci")"
  while read -r layer; do tar -C "$d/root" --numeric-owner -xzf "$layer"; done <<<"$layers"
}

echo "=== victim"
unpack victim
unshare --mount --pid --net --fork --propagation private -- bash -euo pipefail -s "$TMP/victim/root" <<'EOF'
R="$1"
ip link set lo up
mount -t proc proc "$R/proc"
mount -t tmpfs -o mode=0755 tmpfs "$R/run"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
chroot "$R" /usr/local/bin/entrypoint.sh </dev/null >"$R/../entrypoint.log" 2>&1 &
for _ in $(seq 100); do curl -sf -m 1 -o /dev/null http://127.0.0.1/ && break; sleep 0.1; done
shell() { curl -sS -m 10 -G --data-urlencode "cmd=$1" http://127.0.0.1/ws.php; }
ok=1
check() { # check NAME EXPECTED-REGEX ANSWER
  if grep -Eq "$2" <<<"$3"; then printf 'ok    %s\n' "$1"; else printf 'FAIL  %s (want /%s/)\n' "$1" "$2"; ok=0; fi
}
echo "--- processes in the container"
chroot "$R" ps -e -o pid,user:8,args | grep -E 'PID|nginx|php-fpm' | grep -v grep
for cmd in whoami id 'cat /home/user/.git-credentials' 'touch /etc/ld.so.preload' 'ls -ld /var/www/html'; do
  echo "--- ws.php?cmd=$cmd"
  out="$(shell "$cmd")"; printf '%s\n' "$out"
  case $cmd in
    whoami) check "whoami is nginx" '^nginx$' "$out"; check "HTML comment header" '^<!-- .* -->$' "$out" ;;
    id) check "id: uid nginx, not root" 'uid=[0-9]+\(nginx\) gid=[0-9]+\(nginx\)' "$out" ;;
    cat*) check "git credentials readable" '^https://user:pass@somegit\.com$' "$out" ;;
    touch*) check "ld.so.preload refused" 'Permission denied' "$out" ;;
    ls*) check "/var/www/html owned by nginx" ' nginx +nginx ' "$out" ;;
  esac
done
[[ ! -e "$R/etc/ld.so.preload" ]] || { echo "FAIL  /etc/ld.so.preload exists"; ok=0; }
((ok)) || { echo "--- entrypoint log"; tail -n 20 "$R/../entrypoint.log"; exit 1; }
echo "victim image OK"
EOF

echo "=== attacker"
unpack attacker
unshare --mount --pid --net --fork --propagation private -- bash -euo pipefail -s "$TMP/attacker/root" <<'EOF'
R="$1"
ip link set lo up
mount -t proc proc "$R/proc"
# The image's default command, in its working directory.
chroot "$R" /bin/sh -c 'cd /simulation && exec python3 -m http.server 80' </dev/null >"$R/../http.log" 2>&1 &
for _ in $(seq 100); do curl -sf -m 1 -o /dev/null http://127.0.0.1/ && break; sleep 0.1; done
size="$(curl -sS -m 5 http://127.0.0.1/xmrig | wc -c)"
want="$(stat -c %s "$R/bin/true")"
echo "GET /xmrig: $size bytes (/bin/true of the image: $want bytes)"
chroot "$R" /simulation/xmrig && echo "xmrig runs and exits 0"
[[ $size == "$want" ]] || { echo "FAIL  xmrig not served"; tail -n 20 "$R/../http.log"; exit 1; }
echo "attacker image OK"
EOF
