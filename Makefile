# Two commands for a newcomer: `make simulate scenario=crypto` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
SITE := $(shell ls -d $(CURDIR)/$(VENV)/lib/python3*/site-packages 2>/dev/null | head -n1)
# ansible-test wants the collection at ansible_collections/<namespace>/<name>, kubernetes.core beside it.
TEST_ROOT := $(CURDIR)/.tmp/collections
TEST_COLLECTION := $(TEST_ROOT)/ansible_collections/defender/attack_simulation
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

scenario ?= crypto
SIMULATE_ARGS ?=

.PHONY: setup simulate test sanity units lint syntax manifests playbook-tests verify-tests awx-tests docs-check \
        cluster-up cluster-down cluster-test e2e e2e-awx demo bench bench-fleet build clean

## setup: the virtual environment with everything pinned, and this checkout importable as defender.attack_simulation
setup: $(VENV)/.installed
$(VENV)/.installed: requirements.txt tests/requirements.txt
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
test: setup docs-check syntax lint sanity units manifests playbook-tests verify-tests awx-tests
	@if tests/cluster/up --status >/dev/null 2>&1; then $(MAKE) --no-print-directory cluster-test e2e e2e-awx; \
	else echo "== the sealed cluster is not up: end-to-end tests not run here (make cluster-up first; .ci/run does)"; fi

# A copy of the checkout's files, because ansible-test needs the ansible_collections/ layout.
$(TEST_COLLECTION): FORCE
	rm -rf $(TEST_COLLECTION) && mkdir -p $(TEST_COLLECTION) $(TEST_ROOT)/ansible_collections/kubernetes
	git ls-files -co --exclude-standard | grep -v '^tests/cluster/' | rsync -a --files-from=- ./ $(TEST_COLLECTION)/
	ln -sfn $(SITE)/ansible_collections/kubernetes/core $(TEST_ROOT)/ansible_collections/kubernetes/core
	# Its own git repository, or ansible-test would list files through the checkout's, which ignores .tmp/.
	cd $(TEST_COLLECTION) && git init -q && git add -A
FORCE:

sanity: setup $(TEST_COLLECTION)
	cd $(TEST_COLLECTION) && $(BIN)/ansible-test sanity --local --python 3.11 --color no

units: setup $(TEST_COLLECTION)
	cd $(TEST_COLLECTION) && $(BIN)/ansible-test units --local --python 3.11 --color no

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

docs-check: setup
	$(BIN)/python tests/render_docs.py --check

## The sealed local cluster (tests/cluster/README.md)
cluster-up: setup
	tests/cluster/up
cluster-down:
	tests/cluster/down
cluster-test: setup
	tests/cluster/run -- $(BIN)/python -m pytest -q tests/cluster/tests

e2e: setup
	tests/cluster/run -- $(BIN)/python -m pytest -q tests/e2e

e2e-awx: setup
	tests/cluster/run -- $(BIN)/python -m pytest -q tests/e2e_awx

## demo: bring the sealed cluster up if needed, then run a scenario on it
demo: setup
	tests/cluster/up
	tests/cluster/run -- $(BIN)/ansible-playbook playbooks/simulate.yml -e scenario=$(scenario) $(SIMULATE_ARGS)

bench: setup
	tests/cluster/run -- $(BIN)/python tests/bench/scenario_timing.py

bench-fleet: setup
	tests/cluster/run -- $(BIN)/python tests/bench/fleet_timing.py

build: setup
	$(BIN)/ansible-galaxy collection build --force

clean:
	rm -rf .tmp reports *.tar.gz
