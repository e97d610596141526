#!/usr/bin/env bash
# The execution environment image of the AWX lab, from the collection's own execution-environment.yml, without a
# container registry: a Debian root file system (mmdebstrap, as tests/cluster/images builds the test images) with
# Debian's Python, the pip packages the definition names (ansible-core, ansible-runner, meta/ee-requirements.txt under
# the constraints of requirements.txt) and its Galaxy collections taken from the `ansible` package on PyPI (Galaxy is
# not reachable here), imported into podman as $AWX_LAB_EE_IMAGE. Also tagged as AWX's control plane execution
# environment (quay.io/ansible/awx-ee:latest, which AWX runs project updates in; git is in the image for them).
# Rebuilt only when its recipe changed. Root; needs mmdebstrap, podman, PyPI and the Debian mirrors.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
# shellcheck source=tests/awx_lab/env.sh
source "$HERE/../env.sh"
# shellcheck source=tests/awx_lab/lib.sh
source "$HERE/../lib.sh"

CONTROL_PLANE_IMAGE=quay.io/ansible/awx-ee:latest
PY=${PYTHON:-$ROOT/.venv/bin/python}
[[ -x $PY ]] || die "ee/build.sh reads execution-environment.yml with the repository's Python: run make setup first"
eval "$("$PY" "$HERE/plan.py" "$ROOT")"
ansible_pin=$(grep -E '^ansible==' "$ROOT/requirements.txt" | head -1)
[[ -n $ansible_pin ]] || die "requirements.txt pins no 'ansible' package: the collections come from it"

hash=$({ sha256sum <"$HERE/build.sh"; sha256sum <"$HERE/plan.py"; cat "$ROOT/execution-environment.yml" \
  "$EE_PYTHON_REQUIREMENTS" ${EE_CONSTRAINTS:+"$EE_CONSTRAINTS"}; echo "$ansible_pin"; } | sha256sum | cut -c1-16)
if podman image exists "$AWX_LAB_EE_IMAGE" &&
  [[ $(podman image inspect --format '{{ index .Labels "defender.recipe" }}' "$AWX_LAB_EE_IMAGE" 2>/dev/null) == "$hash" ]]; then
  podman tag "$AWX_LAB_EE_IMAGE" "$CONTROL_PLANE_IMAGE"
  log "ee: $AWX_LAB_EE_IMAGE built (recipe $hash)"
  exit 0
fi
command -v mmdebstrap >/dev/null || die "needs mmdebstrap (apt-get install mmdebstrap)"
command -v podman >/dev/null || die "needs podman (apt-get install podman)"

work=$AWX_LAB_IMAGES/ee-build
rm -rf "$work" && mkdir -p "$work/collections" "$AWX_LAB_IMAGES/wheels"
log "ee: the collections of $ansible_pin (PyPI): $EE_COLLECTIONS"
"$PY" -m pip download --quiet --no-deps --dest "$AWX_LAB_IMAGES/wheels" "$ansible_pin"
wheel=$(ls "$AWX_LAB_IMAGES"/wheels/ansible-"${ansible_pin#ansible==}"-*.whl)
for collection in $EE_COLLECTIONS; do
  name=${collection%%:*} range=${collection#*:}
  "$PY" - "$wheel" "$name" "$range" "$work/collections" <<'PY'
import json, sys, zipfile
from ansible.galaxy.dependency_resolution.versioning import meets_requirements
wheel, name, wanted, into = sys.argv[1:]
prefix = "ansible_collections/%s/" % name.replace(".", "/")
with zipfile.ZipFile(wheel) as archive:
    members = [m for m in archive.namelist() if m.startswith(prefix)]
    if not members:
        sys.exit("%s has no %s" % (wheel, name))
    version = json.loads(archive.read(prefix + "MANIFEST.json"))["collection_info"]["version"]
    if wanted != "*" and not meets_requirements(version, wanted):
        sys.exit("%s %s in %s does not meet execution-environment.yml's %s" % (name, version, wheel, wanted))
    archive.extractall(into, members)
print("==> ee: %s %s" % (name, version))
PY
done
cp "$EE_PYTHON_REQUIREMENTS" "$work/ee-requirements.txt"
if [[ -n $EE_CONSTRAINTS ]]; then cp "$EE_CONSTRAINTS" "$work/constraints.txt"; else : >"$work/constraints.txt"; fi
# Wheels made here, with this machine's access to PyPI (its proxy's CA is not in the new root file system), for the
# root file system's Python 3.11 to install without an index.
log "ee: pip wheel $EE_PIP and $(basename "$EE_PYTHON_REQUIREMENTS")"
# shellcheck disable=SC2086  # EE_PIP is a list of requirement specifiers
"$PY" -m pip wheel --quiet --wheel-dir "$work/wheels" -c "$work/constraints.txt" $EE_PIP -r "$work/ee-requirements.txt"

log "ee: mmdebstrap bookworm + python3, pip: $EE_PIP"
mmdebstrap --variant=minbase --include=python3,python3-pip,git,ca-certificates,openssh-client,tini \
  --customize-hook="copy-in $work/ee-requirements.txt $work/constraints.txt $work/wheels /tmp" \
  --customize-hook="mkdir -p \"\$1/usr/share/ansible/collections\"" \
  --customize-hook="sync-in $work/collections /usr/share/ansible/collections" \
  --customize-hook="chroot \"\$1\" env -u PIP_FIND_LINKS python3 -m pip install --quiet --no-cache-dir \
    --break-system-packages --no-index --find-links /tmp/wheels -c /tmp/constraints.txt $EE_PIP \
    -r /tmp/ee-requirements.txt" \
  --customize-hook="mkdir -p \"\$1/runner\" && chmod 0777 \"\$1/runner\" && rm -rf \"\$1\"/tmp/*.txt \"\$1/tmp/wheels\"" \
  bookworm "$work/rootfs.tar" >"$work/mmdebstrap.log" 2>&1 || { tail -30 "$work/mmdebstrap.log" >&2; die "mmdebstrap failed"; }

log "ee: podman import as $AWX_LAB_EE_IMAGE and $CONTROL_PLANE_IMAGE"
podman import --quiet --change 'WORKDIR /runner' --change 'ENV HOME=/runner' \
  --change "LABEL defender.recipe=$hash" "$work/rootfs.tar" "$AWX_LAB_EE_IMAGE" >/dev/null
podman tag "$AWX_LAB_EE_IMAGE" "$CONTROL_PLANE_IMAGE"
rm -rf "$work"
log "ee: built (recipe $hash)"
