"""An API server that is unreachable, refuses the credentials or never answers: the run stops in bounded time,
with a message naming the server, and never prints a credential, at any verbosity.

Every server here is on loopback: a listener that closes each connection, one that accepts and never answers,
and an HTTP server that answers 401 to everything."""
import http.server
import json
import pathlib
import socket
import subprocess
import threading
import time

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOKEN = "FAKE-TOKEN-c0ffee-5ecret-0123456789abcdef"


class Silent:
    """Accepts every connection and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.held = []
        self.sock.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self.accept, daemon=True)
        self.thread.start()

    url = property(lambda self: "https://127.0.0.1:%d" % self.sock.getsockname()[1])

    def accept(self):
        while self.running:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                continue

    def close(self):
        self.running = False
        self.thread.join()
        for conn in self.held:
            conn.close()
        self.sock.close()


class Closing(Silent):
    """Closes every connection at once."""

    def accept(self):
        while self.running:
            try:
                self.sock.accept()[0].close()
            except OSError:
                continue


class Unauthorized:
    """Answers 401, as an API server does to a token it does not know."""

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self):
                body = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                   "message": "Unauthorized", "reason": "Unauthorized", "code": 401}).encode()
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    url = property(lambda self: "http://127.0.0.1:%d" % self.server.server_address[1])

    def close(self):
        self.server.shutdown()
        self.server.server_close()


SERVERS = {"closing": Closing, "silent": Silent, "unauthorized": Unauthorized}


@pytest.fixture
def server(request):
    listener = SERVERS[request.param]()
    yield listener
    listener.close()


def kubeconfig_dict(server_url):
    # Distinctive names: modules mask every value of a kubeconfig dict (it is no_log) wherever it appears.
    return {"apiVersion": "v1", "kind": "Config", "current-context": "loopback-context",
            "clusters": [{"name": "loopback-cluster", "cluster": {"server": server_url,
                                                                  "insecure-skip-tls-verify": True}}],
            "users": [{"name": "loopback-user", "user": {"token": TOKEN}}],
            "contexts": [{"name": "loopback-context",
                          "context": {"cluster": "loopback-cluster", "user": "loopback-user"}}]}


def ansible_playbook(playbook, variables, *extra, timeout=300):
    started = time.monotonic()
    result = subprocess.run(["ansible-playbook", str(playbook), "-e", json.dumps(variables)] + list(extra),
                            cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)
    return result.returncode, result.stdout + result.stderr, time.monotonic() - started


@pytest.mark.parametrize("server", ["closing", "unauthorized"], indirect=True)
@pytest.mark.parametrize("verbosity", [[], ["-vvv"]], ids=["default-verbosity", "vvv"])
def test_a_kubeconfig_dict_is_never_printed_when_the_api_server_fails(server, verbosity):
    rc, output, _seconds = ansible_playbook(
        "playbooks/simulate.yml", {"scenario": "webshell", "kubeconfig": kubeconfig_dict(server.url)}, *verbosity)
    assert rc != 0
    assert ("cannot reach the Kubernetes API server with the given credentials (kubeconfig given as a dict, "
            "server %s, context its current-context)" % server.url) in output
    assert TOKEN not in output
    assert TOKEN[:20] not in output  # not even cut short


@pytest.mark.parametrize("server", ["silent"], indirect=True)
def test_an_api_server_that_never_answers_stops_the_run_within_the_connection_bound(server):
    rc, output, seconds = ansible_playbook(
        "playbooks/simulate.yml", {"scenario": "webshell", "host": server.url, "api_key": TOKEN,
                                   "validate_certs": False, "prerequisites_connection_timeout": 10})
    assert rc != 0
    assert "cannot reach the Kubernetes API server with the given credentials (host %s" % server.url in output
    assert seconds < 60, "the run took %.0f s" % seconds
    assert TOKEN not in output


MODULE_CALLS = {
    "access_review_info": {"actions": [{"verb": "get", "resource": "pods", "namespace": "mdc-simulation"}]},
    "namespace_claim": {"name": "mdc-simulation", "run_id": "r1", "owner": "ctl:1"},
    "namespace_claim_info": {"name": "mdc-simulation"},
}


@pytest.mark.parametrize("server", ["silent"], indirect=True)
@pytest.mark.parametrize("module", sorted(MODULE_CALLS))
def test_the_collections_own_client_gives_up_on_a_silent_api_server_within_request_timeout(server, module, tmp_path):
    playbook = tmp_path / "call.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "connection": "local", "gather_facts": False,
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "tasks": [{"name": "call " + module, "defender.attack_simulation." + module: dict(
            MODULE_CALLS[module], host=server.url, api_key=TOKEN, validate_certs=False, request_timeout=3)}]}]))
    rc, output, seconds = ansible_playbook(playbook, {}, "-vvv")
    assert rc != 0
    assert "the Kubernetes API server %s did not answer within 3 seconds (request_timeout)" % server.url in output
    assert seconds < 30, "%s took %.0f s against a silent server" % (module, seconds)
    assert server.held, "the module never connected"
    assert TOKEN not in output


@pytest.mark.parametrize("server", ["silent", "unauthorized"], indirect=True)
def test_cleanup_stops_when_it_cannot_tell_who_holds_the_namespace_and_never_prints_the_kubeconfig(server):
    rc, output, seconds = ansible_playbook(
        "playbooks/cleanup.yml", {"kubeconfig": kubeconfig_dict(server.url)}, "-vvv")
    assert rc != 0
    assert "cannot tell which run holds namespace mdc-simulation, so nothing was deleted: " in output
    assert ("did not answer within 20 seconds (request_timeout)" if isinstance(server, Silent)
            else "namespace mdc-simulation: cannot read it: Unauthorized (HTTP 401)") in output
    assert "Cleanup | delete" not in output  # the cleanup role never ran
    assert TOKEN not in output and seconds < 90
