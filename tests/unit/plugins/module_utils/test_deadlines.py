# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every bound is wall clock: an API server on 127.0.0.1 that answers one byte at a time, or never, holds no call,
watch or cleanup past its bound (plus a small margin), through the real kubernetes client."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

import pytest
from kubernetes.client import ApiClient, Configuration, CoreV1Api, NetworkingV1Api
from kubernetes.watch import Watch

from ansible_collections.defender.attack_simulation.plugins.module_utils import _deadline, _kube
from ansible_collections.defender.attack_simulation.plugins.module_utils._cleanup import Release
from ansible_collections.defender.attack_simulation.plugins.module_utils._pods import wait_ready
from ansible_collections.defender.attack_simulation.tests.unit.plugins.module_utils.kube_stand_in import OURS, StandIn

NS = "mdc-simulation"
MARGIN = 2.5


@pytest.fixture
def server():
    stand_in = StandIn()
    stand_in.add_namespace(NS, labels=OURS)
    for pod in ("mdc-simulation-victim", "mdc-simulation-attacker"):
        stand_in.add(NS, "pods", pod, labels=OURS, spec={"containers": [{"name": pod, "image": "victim:1"}]},
                     status={"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}]})
    yield stand_in
    stand_in.close()


def core_api(server, request_timeout):
    configuration = Configuration(host=server.url)
    configuration.retries = False
    client = ApiClient(configuration)
    _kube.bound_requests(client, request_timeout)
    return CoreV1Api(client)


def timed(function, *args, **kwargs):
    started = time.monotonic()
    try:
        return function(*args, **kwargs), time.monotonic() - started
    except Exception as exc:  # pylint: disable=broad-except  # the test looks at it
        return exc, time.monotonic() - started


def test_a_call_answered_one_byte_at_a_time_ends_at_request_timeout(server):
    server.slow("GET", "/namespaces/%s" % NS, 0.5)  # a namespace of ~400 bytes: 200 s at this pace
    core = core_api(server, request_timeout=2)
    error, seconds = timed(_kube.api_call, core.read_namespace, NS)
    assert isinstance(error, _kube.KubeError), error
    assert "did not answer within 2 seconds (request_timeout)" in str(error)
    assert seconds < 2 + MARGIN, "a slow answer held the call %.1f s" % seconds


def test_a_cleanup_whose_deletes_hang_ends_at_cleanup_timeout(server):
    server.hang("DELETE", "/pods/")
    core = core_api(server, request_timeout=20)
    outcome, seconds = timed(Release(core, NetworkingV1Api(core.api_client), NS, timeout=4, wait=False).run)
    assert seconds < 4 + MARGIN, "cleanup_timeout=4 took %.1f s" % seconds
    assert outcome["status"] == "failed" and "no complete answer within" in outcome["message"]
    assert "Namespace//%s" % NS in outcome["left_behind"]


def test_a_cleanup_answered_one_byte_at_a_time_ends_at_cleanup_timeout(server):
    server.slow("GET", "/pods", 1)
    core = core_api(server, request_timeout=20)
    outcome, seconds = timed(Release(core, NetworkingV1Api(core.api_client), NS, timeout=4, wait=False).run)
    assert seconds < 4 + MARGIN, "cleanup_timeout=4 took %.1f s" % seconds
    assert outcome["status"] == "failed"


def test_the_pods_ready_watch_answered_one_byte_at_a_time_ends_at_its_timeout(server):
    server.slow("GET", "watch=", 1)
    core = core_api(server, request_timeout=20)
    summary, seconds = timed(wait_ready, core, Watch, NS, ["mdc-simulation-victim", "mdc-simulation-attacker"],
                             "app.kubernetes.io/managed-by=defender.attack_simulation", 3)
    assert seconds < 3 + MARGIN, "pods_ready with timeout 3 took %.1f s" % seconds
    assert not summary["ready"] and summary["not_ready"] == ["mdc-simulation-victim", "mdc-simulation-attacker"]


def test_the_pods_ready_list_answered_one_byte_at_a_time_ends_at_its_timeout(server):
    server.slow("GET", "/pods?labelSelector", 1)
    core = core_api(server, request_timeout=20)
    error, seconds = timed(wait_ready, core, Watch, NS, ["mdc-simulation-victim"], "a=b", 3)
    assert seconds < 3 + MARGIN, "pods_ready with timeout 3 took %.1f s" % seconds
    assert isinstance(error, _kube.KubeError) and "cannot list pods in namespace %s" % NS in str(error)


def test_call_within_hands_back_the_value_or_the_error_in_time():
    assert _deadline.call_within(1, "add", lambda a, b: a + b, 1, 2) == 3
    with pytest.raises(ZeroDivisionError):
        _deadline.call_within(1, "divide", lambda: 1 / 0)
    started = time.monotonic()
    with pytest.raises(_deadline.DeadlinePassed, match="sleep: no complete answer within 0.2 seconds"):
        _deadline.call_within(0.2, "sleep", time.sleep, 5)
    assert time.monotonic() - started < 1


def test_stream_until_stops_a_slow_stream_at_the_deadline():
    def slow_events():
        yield 1
        time.sleep(5)
        yield 2
    started = time.monotonic()
    assert list(_deadline.stream_until(slow_events(), time.monotonic() + 0.5, time.monotonic)) == [1]
    assert time.monotonic() - started < 1.5
