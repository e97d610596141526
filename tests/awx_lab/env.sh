# shellcheck shell=bash
# Settings of the AWX lab (AWX from source beside the sealed cluster); sourced by every script under tests/awx_lab/.
# Override any of them in the environment.

# AWX and its git-only dependencies, pinned. They are not on PyPI at these versions: their git repositories must be
# on this machine, as bare or normal git directories named <owner>+<name>/repo under $AWX_LAB_MIRROR
# (the layout the search library's fetch makes), or already exported under $AWX_LAB_SRC/<name>.
: "${AWX_COMMIT:=e21dd0a0933fd544d1fe2513c54fe41203775eb5}"                      # ansible/awx, 2024-10-23
: "${DAB_COMMIT:=b082f48acf27bc78ae7fa6ec1791a6f078cde56f}"                      # ansible/django-ansible-base
: "${AWX_PLUGINS_COMMIT:=c7fc0a10a5267638f1f26452c17d16e937f98ed1}"              # ansible/awx-plugins
: "${AWX_PLUGINS_INTERFACES_COMMIT:=2b29da62f30bdf3c1b34409fa2e1b832537b490f}"  # ansible/awx_plugins.interfaces
: "${AWX_VERSION:=24.6.2.dev0}"  # what AWX says it is (its VERSION file; no git history in an export)
: "${RECEPTOR_VERSION:=v1.4.4}"  # github.com/ansible/receptor, from the Go module proxy
: "${AWX_LAB_MIRROR:=/work/.mirror}"

# Build outputs outside the repository, so that a fresh clone reuses them.
: "${AWX_LAB_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/defender-awx-lab}"
: "${AWX_LAB_SRC:=$AWX_LAB_CACHE/src}"            # exported sources
: "${AWX_LAB_VENV:=$AWX_LAB_CACHE/venv}"          # Python 3.11 with AWX and its requirements
: "${AWX_LAB_BIN:=$AWX_LAB_CACHE/bin}"            # receptor
: "${AWX_LAB_IMAGES:=$AWX_LAB_CACHE/images}"      # OCI archive of the execution environment

# Runtime state of one running AWX (database, settings, projects, logs, PIDs).
: "${AWX_LAB_STATE:=/var/lib/defender-awx-lab}"
: "${AWX_LAB_RUN:=/run/defender-awx-lab}"
: "${AWX_LAB_PORT:=8013}"                         # the API (uwsgi), on 127.0.0.1 of the sealed namespace
: "${AWX_LAB_ADMIN_PASSWORD:=lab-admin-password}" # the lab's own superuser; the API listens inside the namespace only
: "${AWX_LAB_EE_IMAGE:=localhost/defender-simulation-ee:lab}"

export AWX_COMMIT DAB_COMMIT AWX_PLUGINS_COMMIT AWX_PLUGINS_INTERFACES_COMMIT AWX_VERSION RECEPTOR_VERSION \
  AWX_LAB_MIRROR AWX_LAB_CACHE AWX_LAB_SRC AWX_LAB_VENV AWX_LAB_BIN AWX_LAB_IMAGES AWX_LAB_STATE AWX_LAB_RUN \
  AWX_LAB_PORT AWX_LAB_ADMIN_PASSWORD AWX_LAB_EE_IMAGE
