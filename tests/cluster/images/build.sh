#!/usr/bin/env bash
# Build the test images of the sealed cluster, from Debian packages, as OCI archives in $CLUSTER_IMAGES (see env.sh):
#   victim.tar    ghcr.io/microsoft/defender-for-cloud/attacksimulation/victim:latest    (nginx + php-fpm + ws.php)
#   attacker.tar  ghcr.io/microsoft/defender-for-cloud/attacksimulation/attacker:latest  (python3 http.server, xmrig stand-in)
#   pause.tar     registry.k8s.io/pause:$PAUSE_VERSION                                   ($CLUSTER_BIN/pause, from build.sh)
# victim/attacker: mmdebstrap --variant=minbase from the Debian mirrors of the host's own apt configuration, + <image>/rootfs,
# + <image>/setup.sh run in the chroot; one layer, made an OCI image with umoci. Downloaded .debs are kept in
# $CLUSTER_IMAGES/.debs. An image is rebuilt only when the hash of its recipe (this script, <image>/, versions) changed.
# Usage: tests/cluster/images/build.sh [--force | --dry-run] [victim|attacker|pause ...]  (root; needs mmdebstrap umoci)
#   PAUSE_BIN=/path/to/pause   use another static pause binary than $CLUSTER_BIN/pause
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/cluster/env.sh
source "$HERE/../env.sh"
: "${PAUSE_BIN:=$CLUSTER_BIN/pause}"
GHCR=ghcr.io/microsoft/defender-for-cloud/attacksimulation

log() { printf '==> %s\n' "$*"; }
die() { printf 'images/build.sh: error: %s\n' "$*" >&2; exit 1; }

FORCE=0 DRY_RUN=0
IMAGES=()
for a in "$@"; do
  case $a in
    --force) FORCE=1 ;;
    --dry-run) DRY_RUN=1 ;;  # the checks of a first build (tools, Debian sources, folders), then stop
    victim | attacker | pause) IMAGES+=("$a") ;;
    *) die "unknown argument $a (usage: build.sh [--force | --dry-run] [victim|attacker|pause ...])" ;;
  esac
done
((${#IMAGES[@]})) || IMAGES=(victim attacker pause)

ref_of() { case $1 in pause) echo "registry.k8s.io/pause:$PAUSE_VERSION" ;; *) echo "$GHCR/$1:latest" ;; esac; }

# Hash of everything an image is made from.
recipe_hash() {
  {
    echo "$1 $(ref_of "$1")"
    sha256sum <"$HERE/build.sh"  # content only: a fresh clone elsewhere must not rebuild
    if [[ $1 == pause ]]; then sha256sum <"$PAUSE_BIN"
    else (cd "$HERE/$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum && find . -type f -perm -u+x | sort); fi
  } | sha256sum | cut -d' ' -f1
}

# The host's Debian sources (deb822 .sources and one-line .list), main component of the host's release suites only,
# as one-line entries for mmdebstrap (read from stdin there). No mirror is named in this repository.
host_sources() {
  local codename files=()
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:?}")"
  [[ -f /etc/apt/sources.list ]] && files+=(/etc/apt/sources.list)
  files+=(/etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)
  for f in "${files[@]}"; do
    [[ -f $f ]] || continue
    if [[ $f == *.sources ]]; then
      awk -v RS= -v FS='\n' -v cn="$codename" '
        { delete v; for (i = 1; i <= NF; i++) { l = $i; if (l ~ /^[ \t]*#/ || l !~ /:/) continue
            k = tolower(substr(l, 1, index(l, ":") - 1)); s = substr(l, index(l, ":") + 1); gsub(/^[ \t]+|[ \t]+$/, "", s); v[k] = s }
          if (v["types"] !~ /(^| )deb( |$)/ || tolower(v["enabled"]) == "no" || v["components"] !~ /(^| )main( |$)/) next
          o = (v["signed-by"] ~ /^\//) ? "[signed-by=" v["signed-by"] "] " : ""
          nu = split(v["uris"], u, / +/); ns = split(v["suites"], su, / +/)
          for (a = 1; a <= nu; a++) for (b = 1; b <= ns; b++)
            if (su[b] ~ "^" cn "(-updates|-security)?$") print "deb " o u[a] " " su[b] " main" }' "$f"
    else
      awk -v cn="$codename" '$1 == "deb" { o = ""; i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) { o = o $i " "; i++ } o = o $i " "; i++ }
          if ($(i + 1) ~ "^" cn "(-updates|-security)?$") for (j = i + 2; j <= NF; j++) if ($j == "main") print "deb " o $i " " $(i + 1) " main" }' "$f"
    fi
  done | awk '!seen[$0]++'
}

# oci_finish IMAGE LAYOUT: name the image in index.json the way ctr/skopeo read it, and tar the layout to IMAGE.tar.
oci_finish() {
  local image="$1" layout="$2" ref out="$CLUSTER_IMAGES/$1.tar"
  ref="$(ref_of "$image")"
  python3 - "$layout/index.json" "$ref" <<'EOF'
import json, sys
path, ref = sys.argv[1], sys.argv[2]
idx = json.load(open(path))
assert len(idx["manifests"]) == 1, idx
# ref.name: skopeo (oci-archive:), containerd's import; io.containerd.image.name: ctr images import's name.
idx["manifests"][0].setdefault("annotations", {}).update(
    {"org.opencontainers.image.ref.name": ref, "io.containerd.image.name": ref})
json.dump(idx, open(path, "w"))
EOF
  tar -C "$layout" --owner=0 --group=0 --numeric-owner -cf "$out.tmp" oci-layout index.json blobs
  mv -f "$out.tmp" "$out"
}

build_debian() {
  local image="$1" work="$2" debs="$CLUSTER_IMAGES/.debs/$1" pkgs sources
  command -v mmdebstrap >/dev/null && command -v umoci >/dev/null || die "needs mmdebstrap and umoci (apt-get install mmdebstrap umoci)"
  pkgs="$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$HERE/$image/packages" | tr -s ' \n' ',' | sed 's/,$//')"
  sources="$(host_sources)"
  [[ -n $sources ]] || die "no Debian source for this release found in /etc/apt/sources.list{,.d/*}"
  log "$image: mmdebstrap minbase + $pkgs (from $(awk '{print $(NF-2)}' <<<"$sources" | sort -u | paste -sd' '))"
  mkdir -p "$debs"
  local hooks=(
    --setup-hook='mkdir -p "$1"/var/cache/apt/archives'
    --setup-hook="sync-in $debs /var/cache/apt/archives/"
    --customize-hook="sync-out /var/cache/apt/archives $debs"
  )
  # rootfs/: owned by root, modes normalised (the checkout's owner and umask do not matter), existing dirs untouched.
  [[ -d "$HERE/$image/rootfs" ]] && hooks+=(--customize-hook="tar -C '$HERE/$image/rootfs' --owner=0 --group=0 --numeric-owner \
    --mode=u+rwX,go+rX,go-w -c . | tar -C \"\$1\" --no-overwrite-dir -x")
  [[ -f "$HERE/$image/setup.sh" ]] && hooks+=(--customize-hook="chroot \"\$1\" /bin/sh -s < '$HERE/$image/setup.sh'")
  hooks+=(--customize-hook='rm -rf "$1"/var/log/apt/* "$1"/var/log/dpkg.log "$1"/var/cache/debconf/*-old "$1"/var/lib/dpkg/*-old')
  # merged-usr hook: /usr merged with symlinks, as debootstrap does, instead of the usrmerge package (and its perl).
  mmdebstrap --mode=root --variant=minbase --format=tar --skip=essential/unlink \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --include="$pkgs" "${hooks[@]}" \
    "$(. /etc/os-release && echo "$VERSION_CODENAME")" "$work/rootfs.tar" - <<<"$sources" >"$work/log" 2>&1 ||
    { tail -n 30 "$work/log" >&2; die "$image: mmdebstrap failed (log: $work/log)"; }
  log "$image: rootfs $(du -m "$work/rootfs.tar" | cut -f1) MB; OCI image with umoci"
}

build_pause_rootfs() {
  local work="$1"
  [[ -x $PAUSE_BIN ]] || die "pause: $PAUSE_BIN missing (tests/cluster/build.sh compiles it; or set PAUSE_BIN)"
  mkdir -p "$work/root"
  install -m 0755 "$PAUSE_BIN" "$work/root/pause"
  tar -C "$work/root" --owner=0 --group=0 --numeric-owner -cf "$work/rootfs.tar" pause
  log "pause: /pause from $PAUSE_BIN ($("$PAUSE_BIN" -v 2>&1 | head -n1))"
}

build_one() {
  local image="$1" want stamp="$CLUSTER_IMAGES/.$1.stamp" work t0=$SECONDS
  [[ $image != pause || -x $PAUSE_BIN ]] || die "pause: $PAUSE_BIN missing (tests/cluster/build.sh compiles it; or set PAUSE_BIN)"
  want="$(recipe_hash "$image")"
  if ((!FORCE)) && [[ -s "$CLUSTER_IMAGES/$image.tar" && "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then
    log "$image: up to date ($CLUSTER_IMAGES/$image.tar)"
    return 0
  fi
  work="$CLUSTER_IMAGES/.work/$image"
  rm -rf "$work"; mkdir -p "$work"
  if [[ $image == pause ]]; then build_pause_rootfs "$work"; else build_debian "$image" "$work"; fi

  local L="$work/oci:img" cfg=()
  umoci init --layout "$work/oci"
  umoci new --image "$L"
  umoci raw add-layer --image "$L" --history.created_by "tests/cluster/images/build.sh $image" "$work/rootfs.tar"
  case $image in
    victim) cfg=(--config.entrypoint /usr/local/bin/entrypoint.sh --config.workingdir /var/www/html --config.exposedports 80/tcp
      --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --config.stopsignal SIGQUIT) ;;
    attacker) cfg=(--config.cmd python3 --config.cmd -m --config.cmd http.server --config.cmd 80 --config.workingdir /simulation
      --config.exposedports 80/tcp --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin) ;;
    pause) cfg=(--config.entrypoint /pause --config.user 65535:65535) ;;
  esac
  umoci config --image "$L" --no-history --os linux --architecture "$(dpkg --print-architecture)" "${cfg[@]}"
  umoci gc --layout "$work/oci"
  oci_finish "$image" "$work/oci"
  echo "$want" >"$stamp"
  rm -rf "$work"
  log "$image: $CLUSTER_IMAGES/$image.tar ($(du -m "$CLUSTER_IMAGES/$image.tar" | cut -f1) MB, $(ref_of "$image")) in $((SECONDS - t0)) s"
}

[[ $EUID == 0 ]] || die "must run as root (mmdebstrap --mode=root, chroot)"
mkdir -p "$CLUSTER_IMAGES/.work" "$CLUSTER_IMAGES/.debs"
if ((DRY_RUN)); then
  command -v mmdebstrap >/dev/null && command -v umoci >/dev/null || die "needs mmdebstrap and umoci (apt-get install mmdebstrap umoci)"
  sources="$(host_sources)"
  [[ -n $sources ]] || die "no Debian source for this release found in /etc/apt/sources.list{,.d/*}"
  log "dry run: Debian sources $(awk '{print $(NF-2)}' <<<"$sources" | sort -u | paste -sd' '); would build ${IMAGES[*]} into $CLUSTER_IMAGES (pause after build.sh made $PAUSE_BIN)"
  exit 0
fi
total=${#IMAGES[@]} i=0
for image in "${IMAGES[@]}"; do
  i=$((i + 1)); log "image $image ($i/$total)"
  build_one "$image"
done
