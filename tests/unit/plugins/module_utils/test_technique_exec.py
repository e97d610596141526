# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""exec_in_pod against a stand-in API server on 127.0.0.1: one that accepts the connection and never answers ends
the exec within its connect timeout, with an error that names the pod and the reason, instead of holding the
technique; once the exec runs, the technique's own timeout bounds it, however long it stays silent."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import socket
import threading
import time

import pytest

from ansible_collections.defender.attack_simulation.plugins.module_utils import _technique

pytest.importorskip("kubernetes")
websocket = pytest.importorskip("websocket")

CONNECT_TIMEOUT = 1
TIMEOUT = 2
# websocket-client's close waits this long for the server's close frame (WebSocket.close's default).
CLOSE_WAIT = 3
# The exec must be over by then; the test itself gives up later, so that a regression fails instead of hanging.
BOUND = 5
HARD_BOUND = 15
WEBSOCKET_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Server:
    """A listening socket on 127.0.0.1 (nothing else is ever connected to); ``answer(connection, server)`` runs for
    each accepted connection in the server's thread."""

    def __init__(self, answer):
        self.answer = answer
        self.requests = []
        self.connections = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopped.is_set():
            try:
                connection, _address = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections.append(connection)
            connection.settimeout(HARD_BOUND)
            try:
                self.answer(connection, self)
            except OSError:
                pass

    def read_request(self, connection):
        request = b""
        while b"\r\n\r\n" not in request:
            request += connection.recv(65536)
        self.requests.append(request)
        return request

    def close(self):
        self.stopped.set()
        self.thread.join(HARD_BOUND)
        for connection in self.connections + [self.listener]:
            connection.close()


def silent(_connection, _server):
    """Accepts, and never sends a byte: a TLS client waits for the handshake, a plain one for the upgrade."""


def silent_after_the_request(connection, server):
    server.read_request(connection)


def frame(channel, data):
    """A server's (unmasked) binary websocket frame on a kubernetes exec channel; short payloads only."""
    payload = bytes([channel]) + data
    return bytes([0x82, len(payload)]) + payload


def upgrade(connection, server):
    """Reads the exec's websocket upgrade and accepts it, as the API server does (v4 channel protocol)."""
    request = server.read_request(connection)
    key = [line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
           if line.lower().startswith(b"sec-websocket-key:")][0]
    accept = base64.b64encode(hashlib.sha1(key + WEBSOCKET_GUID).digest())
    connection.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       b"Sec-WebSocket-Accept: " + accept + b"\r\nSec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n")


def technique_silent_for(seconds):
    """A technique that prints nothing for ``seconds``, then its output, exits 0 and the API server closes."""
    def answer(connection, server):
        upgrade(connection, server)
        time.sleep(seconds)
        connection.sendall(frame(1, b"done\n") + frame(3, b'{"metadata":{},"status":"Success"}')
                           + bytes([0x88, 0x02, 0x03, 0xE8]))
    return answer


def technique_that_never_ends(connection, server):
    upgrade(connection, server)


@pytest.fixture
def server(request):
    served = Server(request.param)
    yield served
    served.close()


def api_client_for(host):
    from kubernetes.client import ApiClient, Configuration

    configuration = Configuration(host=host)
    configuration.verify_ssl = False
    configuration.api_key = {"authorization": "Bearer test-token"}
    return ApiClient(configuration)


def websocket_class():
    from kubernetes.stream import ws_client

    return ws_client.WebSocket


def exec_bounded(server, scheme="http"):
    """exec_in_pod in a thread: (its result, the seconds it took); fails the test when it does not end."""
    api_client = api_client_for("%s://127.0.0.1:%s" % (scheme, server.port))
    outcome = {}

    def call():
        outcome["result"] = _technique.exec_in_pod(api_client, "sim", "attacker", "attacker", ["true"], TIMEOUT,
                                                   connect_timeout=CONNECT_TIMEOUT)

    started = time.monotonic()
    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(HARD_BOUND)
    elapsed = time.monotonic() - started
    assert not thread.is_alive(), "exec_in_pod still waits on the API server after %s s" % HARD_BOUND
    return outcome["result"], elapsed


@pytest.mark.parametrize("server, scheme", [
    (silent, "https"),  # TCP accepted, the TLS handshake never answered
    (silent, "http"),  # TCP accepted, the websocket upgrade never answered
    (silent_after_the_request, "http"),  # the upgrade request read, never answered
], indirect=["server"], ids=["tls-handshake", "http-upgrade", "request-read"])
def test_a_silent_api_server_ends_the_exec_within_its_connect_timeout(server, scheme):
    result, elapsed = exec_bounded(server, scheme)
    assert elapsed < BOUND
    assert result["error"].startswith("the exec in pod sim/attacker container attacker failed: the API server "
                                      "%s://127.0.0.1:%s did not answer within 1 seconds: " % (scheme, server.port))
    assert result["error"].endswith("timed out")
    assert (result["rc"], result["timed_out"], result["stdout"]) == (None, False, "")
    if server.answer is silent_after_the_request:
        assert server.requests[0].startswith(b"GET /api/v1/namespaces/sim/pods/attacker/exec?")
    assert websocket_class() is websocket.WebSocket  # the bound is the exec's own, not left to others


@pytest.mark.parametrize("server", [technique_silent_for(CONNECT_TIMEOUT + 0.5)], indirect=True, ids=["silent-1.5s"])
def test_a_technique_may_stay_silent_longer_than_the_connect_timeout(server):
    result, elapsed = exec_bounded(server)
    assert result == dict(stdout="done\n", stderr="", rc=0, timed_out=False, error=None)
    assert CONNECT_TIMEOUT + 0.5 <= elapsed < TIMEOUT


@pytest.mark.parametrize("server", [technique_that_never_ends], indirect=True, ids=["never-ends"])
def test_a_technique_that_never_ends_times_out_at_its_bound(server):
    result, elapsed = exec_bounded(server)
    assert (result["timed_out"], result["rc"], result["error"]) == (True, None, None)
    assert TIMEOUT <= elapsed < TIMEOUT + CLOSE_WAIT + 1


def technique_whose_frame_comes_a_byte_at_a_time(connection, server):
    """Output in one frame sent a byte every half second: each read gets an answer within the connect timeout."""
    upgrade(connection, server)
    for byte in frame(1, b"x" * 100):  # 51 s at this pace; the server's socket gives up after HARD_BOUND anyway
        connection.sendall(bytes([byte]))
        if server.stopped.wait(0.5):
            return


@pytest.mark.parametrize("server", [technique_whose_frame_comes_a_byte_at_a_time], indirect=True, ids=["trickle"])
def test_a_frame_sent_a_byte_at_a_time_times_out_at_the_exec_s_wall_clock_bound(server):
    result, elapsed = exec_bounded(server)
    assert (result["timed_out"], result["rc"], result["error"]) == (True, None, None)
    assert elapsed < 2 * CONNECT_TIMEOUT + TIMEOUT + CLOSE_WAIT + 1


def web_shell_that_does_not_execute(connection, server):
    """The attacker's curl got HTTP 200 from a web shell that printed what PHP says when shell_exec is disabled."""
    upgrade(connection, server)
    connection.sendall(frame(1, b"Warning: shell_exec() has been disabled for security reasons\n@@http-status=200\n")
                       + frame(3, b'{"metadata":{},"status":"Success"}') + bytes([0x88, 0x02, 0x03, 0xE8]))


@pytest.mark.parametrize("server", [web_shell_that_does_not_execute], indirect=True, ids=["shell-exec-disabled"])
def test_a_web_shell_that_answers_without_executing_is_unreachable_with_an_excerpt(server):
    from ansible_collections.defender.attack_simulation.plugins.module_utils import _records

    delivery, unused_elapsed = exec_bounded(server)
    record = _records.delivery_record("webshell.whoami", "whoami", delivery, 1.0, 2.0)
    assert record["status"] == "unreachable"
    assert record["message"] == ("webshell.whoami: the web shell http://mdc-simulation-victim/ws.php answered without "
                                 "running the command: 'Warning: shell_exec() has been disabled for security reasons'")
