"""End-to-end fixtures: run the simulate playbook against the sealed local cluster and look at the cluster.

These tests run inside the cluster's network namespace (`tests/cluster/run -- pytest tests/e2e`), with
KUBECONFIG set to the cluster's admin kubeconfig, and the collection's default images and variables."""
import json
import os
import pathlib
import signal
import subprocess
import time

import pytest
from kubernetes import client, config

from metadata_services import AzureImds, in_the_sealed_namespace  # noqa: F401  (in_the_sealed_namespace: for the tests)

FakeAzureMetadata = AzureImds  # the name tests used before the stand-ins of every cloud (metadata_services.py)

ROOT = pathlib.Path(__file__).resolve().parents[2]
NAMESPACE = "mdc-simulation"
OWNED = "app.kubernetes.io/managed-by=defender.attack_simulation"


@pytest.fixture(scope="session")
def api_client():
    if not os.environ.get("KUBECONFIG"):
        pytest.fail("run the end-to-end tests through tests/cluster/run (KUBECONFIG is not set)")
    config.load_kube_config()
    return client.ApiClient()


@pytest.fixture(scope="session")
def core(api_client):
    return client.CoreV1Api(api_client)


class Run:
    """One finished ansible-playbook run: exit status, output and the JSON report it wrote."""

    def __init__(self, returncode, output, report_dir, seconds):
        self.returncode = returncode
        self.output = output
        self.seconds = seconds
        reports = sorted(report_dir.glob("defender-simulation-*.json"))
        self.report = json.loads(reports[-1].read_text()) if reports else None
        # The report directory's own files; the history (history/, issue 22) is a folder of its own there.
        self.report_files = sorted(p for p in report_dir.iterdir() if p.is_file()) if report_dir.exists() else []
        self.history_files = sorted(p for p in (report_dir / "history").rglob("*") if p.is_file())

    def technique(self, technique_id):
        matches = [t for t in self.report["techniques"] if t["id"] == technique_id]
        assert len(matches) == 1, "technique %s ran %d times" % (technique_id, len(matches))
        return matches[0]

    def __repr__(self):
        return "Run(rc=%s)\n%s" % (self.returncode, self.output[-6000:])


def playbook_command(playbook, variables, *extra):
    return ["ansible-playbook", str(ROOT / "playbooks" / playbook), "-e", json.dumps(variables)] + list(extra)


@pytest.fixture
def simulate(tmp_path):
    """Run playbooks/simulate.yml with these variables; report files go to a folder of the test's own."""
    def run(*extra, playbook="simulate.yml", env=None, timeout=900, **variables):
        report_dir = tmp_path / ("reports-%d" % time.monotonic_ns())
        variables.setdefault("report_dir", str(report_dir))
        started = time.monotonic()
        result = subprocess.run(playbook_command(playbook, variables, *extra), cwd=ROOT, capture_output=True,
                                text=True, timeout=timeout, env=dict(os.environ, **(env or {})), check=False)
        return Run(result.returncode, result.stdout + result.stderr, report_dir, time.monotonic() - started)
    return run


@pytest.fixture
def start_simulation(tmp_path):
    """Start playbooks/simulate.yml in the background (its own process group), for the kill and race tests."""
    started = []

    def start(**variables):
        variables.setdefault("report_dir", str(tmp_path / ("reports-%d" % time.monotonic_ns())))
        log = open(tmp_path / ("background-%d.log" % len(started)), "w+")  # pylint: disable=consider-using-with
        process = subprocess.Popen(playbook_command("simulate.yml", variables), cwd=ROOT, stdout=log,
                                   stderr=subprocess.STDOUT, text=True, start_new_session=True)
        process.log = log
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        process.log.close()


def output_of(process):
    process.log.seek(0)
    return process.log.read()


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    pytest.fail("timed out after %s s waiting for %s" % (timeout, what))


def owned_objects(api_client):
    """Every object in the cluster that carries the collection's label, as 'kind namespace/name'."""
    core_api, networking = client.CoreV1Api(api_client), client.NetworkingV1Api(api_client)
    found = ["Namespace %s" % n.metadata.name for n in core_api.list_namespace(label_selector=OWNED).items]
    for kind, lister in (("Pod", core_api.list_pod_for_all_namespaces),
                         ("Service", core_api.list_service_for_all_namespaces),
                         ("ServiceAccount", core_api.list_service_account_for_all_namespaces),
                         ("Secret", core_api.list_secret_for_all_namespaces),
                         ("NetworkPolicy", networking.list_network_policy_for_all_namespaces)):
        found += ["%s %s/%s" % (kind, o.metadata.namespace, o.metadata.name)
                  for o in lister(label_selector=OWNED).items]
    return found


@pytest.fixture
def leaves_nothing_behind(api_client, core):
    """After the test: every object with the collection's label is gone at once; the simulation namespace is gone or
    terminating (the run does not wait for Kubernetes' namespace grace period), and gone within a minute."""
    yield
    assert [found for found in owned_objects(api_client) if not found.startswith("Namespace ")] == []
    namespace = [n for n in core.list_namespace().items if n.metadata.name == NAMESPACE]
    assert not namespace or namespace[0].metadata.deletion_timestamp is not None, "namespace %s kept" % NAMESPACE
    wait_for(lambda: NAMESPACE not in [n.metadata.name for n in core.list_namespace().items], 60,
             "namespace %s to be removed by Kubernetes" % NAMESPACE)
    assert owned_objects(api_client) == []


@pytest.fixture
def fake_azure_metadata():
    """Azure IMDS of an AKS node on 169.254.169.254 (metadata_services.py), in the sealed namespace only."""
    if not in_the_sealed_namespace():
        pytest.fail("refusing to put an address on 169.254.169.254 outside the sealed cluster's network namespace")
    fake = AzureImds()
    yield fake
    fake.close()
