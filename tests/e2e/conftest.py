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


def in_the_sealed_namespace():
    """True only when this process runs in the test cluster's own network namespace, never on the host's."""
    sealed = "/run/netns/%s" % os.environ.get("CLUSTER_NETNS", "defender-sim")
    return os.path.exists(sealed) and os.stat("/proc/self/ns/net").st_ino == os.stat(sealed).st_ino


class FakeAzureMetadata:
    """A small Azure instance metadata endpoint on 169.254.169.254, inside the sealed namespace only."""

    ADDRESS = "169.254.169.254"
    token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tIn0.ZmFrZS1zaWduYXR1cmU"
    compute = {"subscriptionId": "00000000-1111-2222-3333-444444444444",
               "resourceGroupName": "MC_sim-rg_sim-aks_westeurope", "location": "westeurope"}

    def __init__(self):
        import http.server  # pylint: disable=import-outside-toplevel
        import threading  # pylint: disable=import-outside-toplevel

        fake = self
        self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest's output clean
                pass

            def answer(self, status, body, content_type="text/plain"):
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                fake.requests.append(self.path)
                if self.headers.get("Metadata") != "true":
                    return self.answer(400, '{"error": "Bad request. Required metadata header not specified"}')
                path = self.path.split("?")[0]
                name = path.rsplit("/", 1)[-1]
                if path.startswith("/metadata/instance/compute/") and name in fake.compute:
                    return self.answer(200, fake.compute[name])
                if path == "/metadata/identity/oauth2/token":
                    return self.answer(200, json.dumps({"access_token": fake.token, "token_type": "Bearer",
                                                        "resource": "https://management.azure.com"}),
                                       "application/json")
                return self.answer(404, "not found")

            def do_PUT(self):  # noqa: N802  (AWS IMDSv2 session: not Azure)
                fake.requests.append("PUT " + self.path)
                self.answer(405, "method not allowed")

        subprocess.run(["ip", "address", "add", self.ADDRESS + "/32", "dev", "lo"], check=True)
        self.server = http.server.ThreadingHTTPServer((self.ADDRESS, 80), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        subprocess.run(["ip", "address", "del", self.ADDRESS + "/32", "dev", "lo"], check=True)


@pytest.fixture
def fake_azure_metadata():
    if not in_the_sealed_namespace():
        pytest.fail("refusing to put an address on 169.254.169.254 outside the sealed cluster's network namespace")
    fake = FakeAzureMetadata()
    yield fake
    fake.close()
