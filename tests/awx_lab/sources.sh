#!/usr/bin/env bash
# Export AWX and its git-only dependencies at the commits pinned in env.sh into $AWX_LAB_SRC/<name>.
# They come from git directories on this machine ($AWX_LAB_MIRROR/<owner>+<name>/repo): the package registries,
# the only network reachable here, do not have them at these versions. Fails naming what is missing.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/awx_lab/env.sh
source "$HERE/env.sh"

die() { printf 'awx_lab/sources.sh: error: %s\n' "$*" >&2; exit 1; }

export_one() {  # NAME OWNER/REPO COMMIT: into $AWX_LAB_SRC/NAME
  local repo=$2 commit=$3 git_dir into=$AWX_LAB_SRC/$1
  if [[ -f $into/.exported && $(cat "$into/.exported") == "$commit" ]]; then return; fi
  git_dir=$AWX_LAB_MIRROR/${repo/\//+}/repo
  [[ -d $git_dir/.git ]] && git_dir=$git_dir/.git
  git --git-dir="$git_dir" cat-file -e "$commit^{commit}" 2>/dev/null || die "$repo at $commit is not on this \
machine: put a git clone of https://github.com/$repo that has this commit at $AWX_LAB_MIRROR/${repo/\//+}/repo \
(or the exported tree at $into with the commit in $into/.exported)"
  rm -rf "$into" && mkdir -p "$into"
  # AWX's swagger folder is a blob some snapshots lack; nothing here needs it.
  git --git-dir="$git_dir" archive "$commit" -- . ':(exclude)docs/docsite/rst/rest_api/_swagger' | tar -x -C "$into"
  echo "$commit" >"$into/.exported"
  printf '==> %s %s exported\n' "$repo" "${commit:0:10}"
}

mkdir -p "$AWX_LAB_SRC"
export_one awx ansible/awx "$AWX_COMMIT"
export_one django-ansible-base ansible/django-ansible-base "$DAB_COMMIT"
export_one awx-plugins ansible/awx-plugins "$AWX_PLUGINS_COMMIT"
export_one awx_plugins.interfaces ansible/awx_plugins.interfaces "$AWX_PLUGINS_INTERFACES_COMMIT"
echo "$AWX_VERSION" >"$AWX_LAB_SRC/awx/VERSION"
