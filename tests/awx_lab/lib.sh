# shellcheck shell=bash
# Functions shared by the AWX lab's scripts (sourced after env.sh).

log() { printf '==> %s\n' "$*"; }
die() { printf 'awx_lab: error: %s\n' "$*" >&2; exit 1; }

# apt_install PKG...: only what is missing, without starting any service on the host (policy-rc.d says no).
apt_install() {
  local missing=() p
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  log "apt-get install ${missing[*]}"
  mkdir -p "$AWX_LAB_CACHE"
  local policy=/usr/sbin/policy-rc.d own_policy=0
  if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; own_policy=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
    >"$AWX_LAB_CACHE/apt-install.log" 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      --no-install-recommends "${missing[@]}" >>"$AWX_LAB_CACHE/apt-install.log" 2>&1; } ||
    { ((own_policy)) && rm -f "$policy"; tail -20 "$AWX_LAB_CACHE/apt-install.log" >&2; die "apt-get install failed"; }
  ((own_policy)) && rm -f "$policy"
  return 0
}
