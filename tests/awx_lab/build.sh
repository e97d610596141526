#!/usr/bin/env bash
# Build what the AWX lab runs, into $AWX_LAB_CACHE (see env.sh); each part is skipped when already built at the
# same versions. Root; needs the sources (sources.sh), the package registries and Go.
#   venv      Python 3.11 with AWX's requirements (PyPI) and AWX with its git-only dependencies (exported sources)
#   receptor  receptor $RECEPTOR_VERSION built from the Go module proxy
#   ee        the execution environment image, from the collection's execution-environment.yml (ee/build.sh)
# Usage: tests/awx_lab/build.sh [venv|receptor|ee ...]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/awx_lab/env.sh
source "$HERE/env.sh"
# shellcheck source=tests/awx_lab/lib.sh
source "$HERE/lib.sh"

PARTS=("$@")
((${#PARTS[@]})) || PARTS=(venv receptor ee)

build_venv() {
  local stamp=$AWX_LAB_VENV/.built want
  want="$AWX_COMMIT $DAB_COMMIT $AWX_PLUGINS_COMMIT $AWX_PLUGINS_INTERFACES_COMMIT $(sha256sum <"$HERE/build.sh")"
  [[ -f $stamp && $(cat "$stamp") == "$want" ]] && { log "venv: built"; return; }
  "$HERE/sources.sh"
  apt_install python3-venv python3-dev gcc libpq5 libpq-dev git
  python3.11 --version >/dev/null 2>&1 || die "AWX $AWX_COMMIT runs on Python 3.11: python3.11 is missing"
  local pip=("$AWX_LAB_VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
  # AWX's pins, less its git lines (built from the exported sources below) and its pin of pip itself.
  grep -v -E 'git\+|^pip==' "$AWX_LAB_SRC/awx/requirements/requirements.txt" >"$AWX_LAB_CACHE/requirements.txt"
  if ! cmp -s "$AWX_LAB_CACHE/requirements.txt" "$AWX_LAB_VENV/.requirements.txt"; then
    rm -rf "$AWX_LAB_VENV" && python3.11 -m venv "$AWX_LAB_VENV"
    "${pip[@]}" --upgrade 'pip<24.1' wheel
    log "venv: AWX's requirements from PyPI"
    "${pip[@]}" -r "$AWX_LAB_CACHE/requirements.txt"
    cp "$AWX_LAB_CACHE/requirements.txt" "$AWX_LAB_VENV/.requirements.txt"
  fi
  log "venv: AWX's git-only dependencies from their exported sources"
  # requirements.txt is the whole pinned set, their dependencies included: these go in without resolving again.
  # ansible-runner is on PyPI (AWX pins its git devel branch, 2.4 at that commit); certifi replaces system-certifi.
  "${pip[@]}" --no-deps 'ansible-runner==2.4.0'
  SETUPTOOLS_SCM_PRETEND_VERSION=2024.10.22 "${pip[@]}" --no-deps "$AWX_LAB_SRC/django-ansible-base"
  SETUPTOOLS_SCM_PRETEND_VERSION=0.0.1a1 "${pip[@]}" --no-deps "$AWX_LAB_SRC/awx_plugins.interfaces"
  SETUPTOOLS_SCM_PRETEND_VERSION=0.0.1a1 "${pip[@]}" --no-deps "$AWX_LAB_SRC/awx-plugins"
  # The development settings import these (requirements_dev.txt).
  "${pip[@]}" drf-yasg 'django-debug-toolbar==3.2.4' coreapi
  log "venv: AWX $AWX_COMMIT"
  SETUPTOOLS_SCM_PRETEND_VERSION=$AWX_VERSION "${pip[@]}" --no-deps -e "$AWX_LAB_SRC/awx"
  "$AWX_LAB_VENV/bin/python" -m pip check || log "venv: pip check reports the above (AWX pins what it pins)"
  echo "$want" >"$stamp"
  log "venv: built"
}

build_receptor() {
  local out=$AWX_LAB_BIN/receptor work=$AWX_LAB_CACHE/receptor-build
  [[ -x $out && $("$out" --version 2>/dev/null) == "${RECEPTOR_VERSION#v}" ]] && { log "receptor: built"; return; }
  command -v go >/dev/null || die "receptor is built with Go (1.20 or newer on PATH): go is missing"
  # `go install module@version` is refused here (it lists the module's versions); a module that requires it builds.
  rm -rf "$work" && mkdir -p "$work" "$AWX_LAB_BIN"
  cat >"$work/go.mod" <<GOMOD
module defender.local/receptor-build

go 1.22

require github.com/ansible/receptor $RECEPTOR_VERSION
GOMOD
  log "receptor: go build $RECEPTOR_VERSION"
  (cd "$work" && GOFLAGS=-mod=mod go build -ldflags "-X github.com/ansible/receptor/internal/version.Version=${RECEPTOR_VERSION#v}" \
     -o "$out" github.com/ansible/receptor/cmd/receptor-cl)
  log "receptor: $("$out" --version)"
}

for part in "${PARTS[@]}"; do
  case $part in
    venv) build_venv ;;
    receptor) build_receptor ;;
    ee) "$HERE/ee/build.sh" ;;
    *) die "unknown part $part (venv, receptor, ee)" ;;
  esac
done
