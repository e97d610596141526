# Two commands for a newcomer: `make simulate scenario=crypto` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# galaxy-importer pins tools (flake8<7) that conflict with ansible-test's: it gets its own environment.
IMPORTER_VENV := .venv-importer
IMPORTER_BIN := $(CURDIR)/$(IMPORTER_VENV)/bin
SITE := $(shell ls -d $(CURDIR)/$(VENV)/lib/python3*/site-packages 2>/dev/null | head -n1)
# ansible-test wants the collection at ansible_collections/<namespace>/<name>, kubernetes.core beside it.
TEST_ROOT := $(CURDIR)/.tmp/collections
TEST_COLLECTION := $(TEST_ROOT)/ansible_collections/defender/attack_simulation
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

scenario ?= crypto
SIMULATE_ARGS ?=

.PHONY: setup simulate test sanity units lint syntax manifests playbook-tests verify-tests awx-tests docs docs-check \
        docs-lint galaxy-import packaging-tests \
        harness-tests first-run-check azurite chromium history-tests \
        cluster-up cluster-down cluster-test integration e2e e2e-awx awx-up awx-down e2e-awx-lab demo bench bench-fleet bench-original bench-floor build clean

# Debian's python3 makes virtual environments only with python3-venv (not there on a fresh machine).
ENSURE_VENV = $(PYTHON) -c 'import ensurepip' 2>/dev/null || \
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null || \
  { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null; }
# ansible-test sanity skips its shellcheck test, with only a warning, when the program is missing.
ENSURE_SHELLCHECK = command -v shellcheck >/dev/null || \
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q shellcheck >/dev/null || \
  { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q shellcheck >/dev/null; }

## setup: the virtual environment with everything pinned, and this checkout importable as defender.attack_simulation
setup: $(VENV)/.installed $(IMPORTER_VENV)/.installed
$(IMPORTER_VENV)/.installed: tests/galaxy_importer/requirements.txt
	$(ENSURE_VENV)
	test -x $(IMPORTER_BIN)/python || $(PYTHON) -m venv $(IMPORTER_VENV)
	$(IMPORTER_BIN)/python -m pip install --quiet --upgrade pip
	$(IMPORTER_BIN)/python -m pip install --quiet -r tests/galaxy_importer/requirements.txt
	touch $@
$(VENV)/.installed: requirements.txt tests/requirements.txt
	$(ENSURE_VENV)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r tests/requirements.txt
	mkdir -p $(VENV)/collections/ansible_collections/defender
	ln -sfn ../../../.. $(VENV)/collections/ansible_collections/defender/attack_simulation
	mkdir -p $(HOME)/.ansible/test/cache
	cp tests/ansible-test/get_pip.py $(HOME)/.ansible/test/cache/get_pip_$$($(BIN)/python -c \
	  'from ansible_test._internal.python_requirements import get_venv_packages as p; from ansible_test._internal.host_configs import NativePythonConfig as c; print(p(c(version="3.11", path="$(BIN)/python"))["pip"].replace(".", "_"))').py
	touch $@

## simulate: run a scenario against the current kubeconfig context
simulate: setup
	$(BIN)/ansible-playbook playbooks/simulate.yml -e scenario=$(scenario) $(SIMULATE_ARGS)

## test: everything below; the end-to-end suite too when the sealed cluster is up
test: setup docs-check docs-lint galaxy-import packaging-tests syntax lint sanity units manifests playbook-tests verify-tests awx-tests \
      harness-tests first-run-check history-tests
	@if tests/cluster/up --status >/dev/null 2>&1; then $(MAKE) --no-print-directory cluster-test e2e e2e-awx; \
	else echo "== the sealed cluster is not up: end-to-end tests not run here (make cluster-up first; .ci/run does)"; fi

# The checkout's files: tracked and untracked, not ignored, and not deleted from the working tree.
CHECKOUT_FILES = git ls-files -co --exclude-standard | while read -r f; do if [ -e "$$f" ]; then echo "$$f"; fi; done

# A copy of the checkout's files, because ansible-test needs the ansible_collections/ layout. Without
# playbooks/collections: the AWX project's link to the checkout itself, not part of the collection (build_ignore).
$(TEST_COLLECTION): FORCE
	rm -rf $(TEST_COLLECTION) && mkdir -p $(TEST_COLLECTION) $(TEST_ROOT)/ansible_collections/kubernetes
	$(CHECKOUT_FILES) | grep -v -e '^tests/cluster/' -e '^playbooks/collections/' | tar -T - -cf - | tar -xf - -C $(TEST_COLLECTION)
	ln -sfn $(SITE)/ansible_collections/kubernetes/core $(TEST_ROOT)/ansible_collections/kubernetes/core
	# Its own git repository, or ansible-test would list files through the checkout's, which ignores .tmp/.
	cd $(TEST_COLLECTION) && git init -q && git add -A
FORCE:

sanity: setup $(TEST_COLLECTION)
	$(ENSURE_SHELLCHECK)
	cd $(TEST_COLLECTION) && $(BIN)/ansible-test sanity --local --python 3.11 --color no

## units: the unit tests, then their coverage of plugins/ (README "Tests"). Every plugin file is named to the
# report, so a file no unit test imports counts as 0% instead of vanishing (ansible-test's own `coverage report
# --all` adds such files as empty stubs, which coverage 7 drops).
units: setup $(TEST_COLLECTION)
	cd $(TEST_COLLECTION) && $(BIN)/ansible-test units --local --python 3.11 --color no --coverage
	cd $(TEST_COLLECTION) && $(BIN)/ansible-test coverage combine --color no >/dev/null && \
	  $(BIN)/coverage report --data-file=tests/output/coverage/coverage $$(find plugins -name '*.py' | sort)

lint: setup
	$(BIN)/ansible-lint --profile production --offline
	$(BIN)/antsibull-changelog lint

syntax: setup
	for playbook in playbooks/*.yml; do $(BIN)/ansible-playbook --syntax-check "$$playbook" || exit 1; done

manifests: setup
	$(BIN)/python -m pytest -q tests/manifests

playbook-tests: setup
	$(BIN)/python -m pytest -q tests/playbooks

verify-tests: setup
	$(BIN)/python -m pytest -q tests/verify

awx-tests: setup
	$(BIN)/python -m pytest -q tests/awx

packaging-tests: setup
	$(BIN)/python -m pytest -q tests/packaging

## docs: regenerate every generated page (run it after changing plugin docs, argument specs or the catalog)
docs: setup
	$(BIN)/python tests/render_docs.py
	$(BIN)/python tests/render_role_docs.py
	mkdir -p docs/plugins && chmod go-w docs/plugins
	$(ANTSIBULL_DOCS) --dest-dir docs/plugins

# Module, filter, lookup and role pages from the plugins' own documentation and the roles' argument specs.
ANTSIBULL_DOCS = $(BIN)/antsibull-docs --config-file tests/antsibull-docs.cfg collection-plugins \
	--use-current --output-format simplified-rst --no-add-antsibull-docs-version --fail-on-error --cleanup everything \
	defender.attack_simulation
DOCS_CHECK_DIR := $(CURDIR)/.tmp/docs-check

docs-check: setup
	$(BIN)/python tests/render_docs.py --check
	$(BIN)/python tests/render_role_docs.py --check
	rm -rf $(DOCS_CHECK_DIR) && mkdir -p -m 755 $(DOCS_CHECK_DIR)
	$(ANTSIBULL_DOCS) --dest-dir $(DOCS_CHECK_DIR)
	diff -r docs/plugins $(DOCS_CHECK_DIR) || { echo "docs/plugins is out of date: run make docs"; exit 1; }
	for example in docs/examples/*.yml; do $(BIN)/ansible-playbook --syntax-check "$$example" || exit 1; done

# The linter antsibull-docs gives collections: plugin and role docs, their markup and references.
# GIT_CEILING_DIRECTORIES: kubernetes.core lives in .venv inside this git checkout; without it the linter copies the
# dependency as git-tracked files only, that is none.
docs-lint: setup
	GIT_CEILING_DIRECTORIES=$(SITE) $(BIN)/antsibull-docs lint-collection-docs --plugin-docs .

# galaxy-importer, as Galaxy and Automation Hub run it on an upload, on the collection as `make build` builds it.
GALAXY_IMPORT_DIR := $(CURDIR)/.tmp/galaxy-import
galaxy-import: setup
	rm -rf $(GALAXY_IMPORT_DIR) && mkdir -p $(GALAXY_IMPORT_DIR)
	$(call build_collection,$(GALAXY_IMPORT_DIR),$(or $(REPOSITORY),file://$(CURDIR)))
	cd $(GALAXY_IMPORT_DIR) && GALAXY_IMPORTER_CONFIG=$(CURDIR)/tests/galaxy_importer/galaxy-importer.cfg \
	  PATH=$(IMPORTER_BIN):$$PATH $(IMPORTER_BIN)/python -m galaxy_importer.main defender-attack_simulation-*.tar.gz \
	  2>&1 | tee import.log; test $${PIPESTATUS[0]} -eq 0
	@! grep -E '^(ERROR|WARNING)' $(GALAXY_IMPORT_DIR)/import.log || \
	  { echo "galaxy-importer reported the errors or warnings above"; exit 1; }

## azurite: Microsoft's Azure Storage emulator from npm, into tests/azurite/node_modules (the history store's tests)
azurite: tests/azurite/node_modules/.installed
tests/azurite/node_modules/.installed: tests/azurite/package.json tests/azurite/package-lock.json
	cd tests/azurite && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian's Chromium: the end-to-end tests open the coverage page in a real headless browser.
chromium:
	command -v chromium >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null || \
	  { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }

## history-tests: the history in an Azure Blob Storage container, against Azurite on 127.0.0.1 (no cluster)
history-tests: setup azurite
	$(BIN)/python -m pytest -q tests/history

## harness-tests: the cluster recorder's translation and the signal matcher, on a recorded sample (no cluster)
harness-tests: setup
	$(BIN)/python -m pytest -q tests/harness

## first-run-check: tests/cluster/up's first-run path (a new HOME, an empty cache) up to where it would build
first-run-check:
	home=$$(mktemp -d) && trap 'rm -rf "$$home"' EXIT && \
	  env -u XDG_CACHE_HOME -u CLUSTER_CACHE -u CLUSTER_BIN -u CLUSTER_IMAGES HOME=$$home tests/cluster/up --dry-run

## The sealed local cluster (tests/cluster/README.md)
cluster-up: setup
	tests/cluster/up
cluster-down:
	tests/cluster/down
cluster-test: setup
	tests/cluster/run -- $(BIN)/python -m pytest -q tests/cluster/tests

## integration: one ansible-test integration target per module (tests/integration/targets), on the sealed cluster.
# ansible-test passes no KUBECONFIG to the targets; its kubeconfig provider (cloud/openshift, a name kept from
# history) exports K8S_AUTH_KUBECONFIG from tests/integration/cloud-config-openshift.kubeconfig, linked here
# (without that file it would start an OpenShift container instead: hence the test -s).
integration: setup $(TEST_COLLECTION)
	cd $(TEST_COLLECTION) && $(CURDIR)/tests/cluster/run -- sh -c \
	  'test -s "$$KUBECONFIG" && ln -sfn "$$KUBECONFIG" tests/integration/cloud-config-openshift.kubeconfig && \
	   exec $(BIN)/ansible-test integration --local --python 3.11 --color no $(INTEGRATION_ARGS)'

e2e: setup azurite chromium integration
	tests/cluster/run -- $(BIN)/python -m pytest -q tests/e2e

e2e-awx: setup
	tests/cluster/run -- $(BIN)/python -m pytest -q tests/e2e_awx

## AWX from source beside the sealed cluster, in its network namespace (tests/awx_lab/README.md), and its suite
awx-up: setup
	tests/awx_lab/up
awx-down:
	tests/awx_lab/down
e2e-awx-lab: setup
	tests/cluster/run -- $(BIN)/python -m pytest -q tests/e2e_awx_lab

## demo: bring the sealed cluster up if needed, then run a scenario on it
demo: setup
	tests/cluster/up
	tests/cluster/run -- $(BIN)/ansible-playbook playbooks/simulate.yml -e scenario=$(scenario) $(SIMULATE_ARGS)

## Benches (tests/bench/; figures for the README, not tests). They use the shared sealed cluster: on a shared
## machine hold its lock, e.g. `flock /tmp/sim-cluster.lock make bench`. BENCH_ARGS passes options (--runs 3 ...).
BENCH_ARGS ?=
bench: setup
	tests/cluster/run -- $(BIN)/python tests/bench/scenario_timing.py $(BENCH_ARGS)

bench-fleet: setup
	tests/cluster/run -- $(BIN)/python tests/bench/fleet_timing.py $(BENCH_ARGS)

bench-original: setup
	tests/cluster/run -- $(BIN)/python tests/bench/original_flow.py $(BENCH_ARGS)

# Ansible's own cost per task and host (no cluster): the floor under bench-fleet.
bench-floor: setup
	$(BIN)/python tests/bench/ansible_floor.py $(BENCH_ARGS)

# galaxy.yml names no repository: the collection is not published anywhere yet. Galaxy requires one, so a build for
# an upload gives it: make build REPOSITORY=https://<where it is published>. The import check uses this checkout.
REPOSITORY ?=
BUILD_SOURCE := $(CURDIR)/.tmp/build-source
define build_collection
	rm -rf $(BUILD_SOURCE) && mkdir -p $(BUILD_SOURCE) $(1)
	$(CHECKOUT_FILES) | tar -cf - -T - | tar -xf - -C $(BUILD_SOURCE)
	$(if $(2),printf 'repository: %s\n' '$(2)' >> $(BUILD_SOURCE)/galaxy.yml)
	$(BIN)/ansible-galaxy collection build --force --output-path $(1) $(BUILD_SOURCE)
endef

build: setup
	$(call build_collection,$(CURDIR),$(REPOSITORY))

clean:
	rm -rf .tmp reports *.tar.gz
