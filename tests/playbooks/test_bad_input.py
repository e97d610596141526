"""Bad input fails fast, with a message that says what is wrong, before the cluster is called.

A listener on loopback stands where the API server would be, so that each test can check that nothing connected."""
import json
import pathlib
import socket
import subprocess
import threading

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHOICES = "recon, lateral_movement, secrets, crypto, webshell, ti_domain, all, lateral-mov, ti-domain"


class Listener:
    """Counts the TCP connections made to it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self.accept, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.sock.getsockname()[1]

    def accept(self):
        while self.running:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


@pytest.fixture
def api_server():
    listener = Listener()
    yield listener
    listener.close()


def simulate(*extra, **variables):
    result = subprocess.run(
        ["ansible-playbook", "playbooks/simulate.yml", "-e", json.dumps(variables)] + list(extra),
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    return result.returncode, output


@pytest.mark.parametrize("scenario, rejected", [
    ("mining", "foo"),
    (["crypto", "phishing"], "phishing"),
    ("crypto,lateral_mov", "lateral_mov"),
], ids=["unknown-name", "one-bad-in-a-list", "comma-separated-typo"])
def test_an_unknown_scenario_is_refused_with_the_valid_choices_and_no_cluster_call(api_server, scenario, rejected):
    rejected = scenario if isinstance(scenario, str) and "," not in scenario else rejected
    rc, output = simulate(scenario=scenario, host=api_server.url, api_key="not-a-real-token")
    assert rc != 0
    assert "must be one or more of: %s. Got no match for: %s" % (CHOICES, rejected) in output
    assert api_server.connections == 0


def test_a_missing_scenario_is_refused_with_no_cluster_call(api_server):
    rc, output = simulate(host=api_server.url)
    assert rc != 0
    assert "simulation_scenarios" in output and "must be one of: %s" % CHOICES in output
    assert api_server.connections == 0


@pytest.mark.parametrize("namespace", ["Bad_Name", "-starts-with-dash", "x" * 64, "kube system", "mdc-simulation\n",
                                       "\nmdc-simulation"])
def test_an_invalid_namespace_name_is_refused_with_no_cluster_call(api_server, namespace):
    rc, output = simulate(scenario="crypto", simulation_namespace=namespace, host=api_server.url)
    assert rc != 0
    told = "namespace '%s' is not a valid Kubernetes namespace name" % namespace
    assert told in output or json.dumps(told)[1:-1] in output  # the callback prints a newline as \\n
    assert api_server.connections == 0


def test_a_missing_kubeconfig_is_named(tmp_path):
    missing = tmp_path / "no-such-kubeconfig"
    rc, output = simulate(scenario="crypto", kubeconfig=str(missing))
    assert rc != 0
    assert "kubeconfig %s does not exist or is not a file" % missing in output


def test_an_api_server_that_does_not_answer_is_reported_clearly(api_server):
    rc, output = simulate(scenario="webshell", host=api_server.url, api_key="not-a-real-token", validate_certs=False)
    assert rc != 0
    assert "cannot reach the Kubernetes API server with the given credentials" in output
    assert "not-a-real-token" not in output
