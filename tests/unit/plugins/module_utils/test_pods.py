# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.defender.attack_simulation.plugins.module_utils._pods import readiness

IMAGE = "ghcr.io/microsoft/defender-for-cloud/attacksimulation/victim:latest"


def pod(name, ready=False, waiting=None, terminated=None, phase="Pending", conditions=None):
    state = {"waiting": waiting} if waiting else ({"terminated": terminated} if terminated else {"running": {}})
    return {
        "metadata": {"name": name, "namespace": "mdc-simulation"},
        "spec": {"containers": [{"name": "victim", "image": IMAGE}]},
        "status": {
            "phase": phase,
            "conditions": (conditions or []) + [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [{"name": "victim", "image": IMAGE, "state": state}],
        },
    }


def test_both_pods_ready():
    summary = readiness([pod("victim", ready=True, phase="Running"), pod("attacker", ready=True, phase="Running")],
                        ["victim", "attacker"])
    assert summary["ready"] and summary["not_ready"] == [] and summary["problems"] == []


def test_a_pod_still_creating_is_waited_for_not_failed():
    summary = readiness([pod("victim", waiting={"reason": "ContainerCreating"})], ["victim", "attacker"])
    assert not summary["ready"]
    assert summary["not_ready"] == ["victim", "attacker"]
    assert summary["problems"] == []


def test_an_image_pull_error_names_pod_container_reason_message_and_image():
    summary = readiness([pod("victim", waiting={"reason": "ErrImagePull", "message": "not found"})], ["victim"])
    assert summary["messages"] == [
        "pod mdc-simulation/victim container victim cannot start: ErrImagePull: not found (image %s)" % IMAGE]


def test_a_crash_and_an_unschedulable_pod_are_problems():
    crashed = pod("victim", terminated={"reason": "Error", "exitCode": 127}, phase="Failed")
    unschedulable = pod("attacker", conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                                 "message": "0/1 nodes are available"}])
    unschedulable["status"]["containerStatuses"] = []
    problems = readiness([crashed, unschedulable], ["victim", "attacker"])["problems"]
    assert [(p["pod"], p["reason"]) for p in problems] == [
        ("mdc-simulation/victim", "Error"), ("mdc-simulation/attacker", "Unschedulable")]


# ---------------------------------------------------------------- wait_ready: list, then watch
class FakeV1Pod(object):
    def __init__(self, as_dict):
        self.as_dict = as_dict
        self.metadata = type("Meta", (), {"name": as_dict["metadata"]["name"], "resource_version": "2"})()


class FakeCore(object):
    def __init__(self, listed):
        self.listed = listed
        self.api_client = type("Client", (), {"sanitize_for_serialization": staticmethod(lambda pod: pod.as_dict)})()
        self.lists = 0

    def list_namespaced_pod(self, namespace, **_kw):
        self.lists += 1
        return type("List", (), {"items": [FakeV1Pod(p) for p in self.listed],
                                 "metadata": type("Meta", (), {"resource_version": "1"})()})()


def fake_watch(events):
    class Watch(object):
        def stream(self, *_args, **kwargs):
            assert kwargs["resource_version"] and kwargs["timeout_seconds"] >= 1
            for event_type, as_dict in events:
                yield {"type": event_type, "object": FakeV1Pod(as_dict)}
    return Watch


def test_wait_ready_returns_when_the_watch_shows_both_ready():
    from ansible_collections.defender.attack_simulation.plugins.module_utils._pods import wait_ready
    core = FakeCore([pod("victim", waiting={"reason": "ContainerCreating"})])
    events = [("ADDED", pod("attacker", waiting={"reason": "ContainerCreating"})),
              ("MODIFIED", pod("victim", ready=True, phase="Running")),
              ("MODIFIED", pod("attacker", ready=True, phase="Running")),
              ("MODIFIED", pod("attacker", waiting={"reason": "ErrImagePull"}))]  # never read: it returned before
    summary = wait_ready(core, fake_watch(events), "mdc-simulation", ["victim", "attacker"], "sel", 60)
    assert summary["ready"] and summary["problems"] == []
    assert core.lists == 1


def test_wait_ready_stops_at_the_first_pod_that_cannot_start():
    from ansible_collections.defender.attack_simulation.plugins.module_utils._pods import wait_ready
    core = FakeCore([])
    events = [("ADDED", pod("victim", waiting={"reason": "ErrImagePull", "message": "not found"}))]
    summary = wait_ready(core, fake_watch(events), "mdc-simulation", ["victim"], "sel", 60)
    assert not summary["ready"] and summary["problems"][0]["reason"] == "ErrImagePull"


def test_wait_ready_gives_up_at_the_deadline():
    from ansible_collections.defender.attack_simulation.plugins.module_utils._pods import wait_ready
    now = [0.0]

    class Watch(object):
        def stream(self, *_args, **kwargs):
            now[0] += kwargs["timeout_seconds"]  # the server ends the watch after timeout_seconds
            return iter(())
    summary = wait_ready(FakeCore([]), Watch, "mdc-simulation", ["victim"], "sel", 30, clock=lambda: now[0])
    assert not summary["ready"] and summary["not_ready"] == ["victim"] and now[0] == 30
