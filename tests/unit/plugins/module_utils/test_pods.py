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
