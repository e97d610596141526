# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cleanup against another run that claims the namespace while the cleanup runs, on a stand-in API server on
127.0.0.1 (kube_stand_in.py) through the real kubernetes client: whatever the moment of the claim, the live run's
namespace and pods are never deleted."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from kubernetes.client import ApiClient, Configuration, CoreV1Api, NetworkingV1Api

from ansible_collections.defender.attack_simulation.plugins.module_utils import _claim, _kube
from ansible_collections.defender.attack_simulation.plugins.module_utils._cleanup import Release
from ansible_collections.defender.attack_simulation.tests.unit.plugins.module_utils.kube_stand_in import OURS, StandIn

NS = "mdc-simulation"
PODS = ("mdc-simulation-victim", "mdc-simulation-attacker")
GONE_RUN, LIVE_RUN = "20261203-100000-gone00", "20261203-101500-live00"


@pytest.fixture
def server():
    stand_in = StandIn()
    yield stand_in
    stand_in.close()


def clients(server, request_timeout=20):
    configuration = Configuration(host=server.url)
    configuration.retries = False
    client = ApiClient(configuration)
    _kube.bound_requests(client, request_timeout)
    return CoreV1Api(client), NetworkingV1Api(client)


def run_labels(run_id):
    return dict(OURS, **{_kube.RUN_ID_LABEL: run_id})


def claim_annotations(owner, expires, token):
    return {_claim.OWNER: owner, _claim.STARTED_AT: "2026-12-03T10:00:00Z", _claim.EXPIRES_AT: expires,
            _claim.CLAIM_TOKEN: token}


def a_run_left_by(server, run_id, expires="2026-12-03T10:05:00Z", token="tok-gone", owner="other-controller:1"):
    """The namespace and objects of ``run_id``, whose claim expired (2026-12-03T10:05:00Z is long past)."""
    server.add_namespace(NS, labels=dict(run_labels(run_id), name=NS),
                         annotations=claim_annotations(owner, expires, token))
    for pod in PODS:
        server.add(NS, "pods", pod, labels=run_labels(run_id), status={"phase": "Running"})
    server.add(NS, "services", PODS[0], labels=run_labels(run_id))
    server.add(NS, "serviceaccounts", PODS[0], labels=run_labels(run_id))
    server.add(NS, "serviceaccounts", "default")


def live_run_takes_over(server):
    """What a live run's claim and deploy do: patch the namespace (new run id, owner, expiry, token), replace the
    pods (new uids)."""
    server.change_namespace(NS, labels={_kube.RUN_ID_LABEL: LIVE_RUN},
                            annotations=claim_annotations("ctl:4242", "2999-01-01T00:00:00Z", "tok-live"))
    for pod in PODS:
        server.add(NS, "pods", pod, labels=run_labels(LIVE_RUN), status={"phase": "Running"})


def live_pods(server):
    return [name for name in server.names(NS, "pods")
            if server.objects[(NS, "pods")][name]["metadata"]["labels"][_kube.RUN_ID_LABEL] == LIVE_RUN]


def cleanup_playbook_release(server, **options):
    """As cleanup.yml calls it without a run id: a live holder is refused."""
    core, networking = clients(server)
    return Release(core, networking, NS, wait=False, refuse_live=True, **options).run()


def assert_the_live_run_keeps_everything(server):
    assert NS in server.namespaces, "the live run's namespace was deleted"
    assert server.namespaces[NS]["metadata"]["labels"][_kube.RUN_ID_LABEL] == LIVE_RUN
    assert live_pods(server) == sorted(PODS), "the live run's pods were deleted"


def test_a_claim_before_the_objects_are_listed_leaves_the_live_run_whole(server):
    a_run_left_by(server, GONE_RUN)
    server.before("GET", "/namespaces/%s/pods" % NS, live_run_takes_over)
    outcome = cleanup_playbook_release(server)
    assert_the_live_run_keeps_everything(server)
    assert outcome["status"] == "skipped", outcome
    assert "was claimed by run %s" % LIVE_RUN in outcome["message"]
    assert not [r for r in server.requests if r[0] == "DELETE"]


def test_a_claim_between_the_listing_and_the_deletes_leaves_the_live_run_whole(server):
    a_run_left_by(server, GONE_RUN)
    server.before("DELETE", "/pods/", live_run_takes_over)
    outcome = cleanup_playbook_release(server)
    assert_the_live_run_keeps_everything(server)
    assert outcome["status"] != "done"
    assert "Pod/%s/%s was replaced or changed by someone else" % (NS, PODS[0]) in outcome["message"]


def test_a_claim_just_before_the_namespace_is_deleted_leaves_the_live_namespace(server):
    a_run_left_by(server, GONE_RUN)
    server.before("DELETE", "/namespaces/%s$" % NS, live_run_takes_over)
    outcome = cleanup_playbook_release(server)
    assert_the_live_run_keeps_everything(server)
    assert outcome["status"] == "skipped", outcome
    assert "was claimed by run %s" % LIVE_RUN in outcome["message"]


def test_a_live_holder_is_refused_on_the_release_s_own_read(server):
    a_run_left_by(server, LIVE_RUN, expires="2999-01-01T00:00:00Z", token="tok-live", owner="ctl:4242")
    outcome = cleanup_playbook_release(server)
    assert outcome["status"] == "failed"
    assert "namespace %s is in use by run %s" % (NS, LIVE_RUN) in outcome["message"]
    assert_the_live_run_keeps_everything(server)


def test_a_run_given_the_same_run_id_never_cleans_the_other_run(server):
    # Two runs with -e simulation_run_id=fixed-run-1: the refused one's cleanup must not touch the live one.
    a_run_left_by(server, LIVE_RUN, expires="2999-01-01T00:00:00Z", token="tok-live", owner="ctl:4242")
    core, networking = clients(server)
    outcome = Release(core, networking, NS, run_id=LIVE_RUN, claim_token="tok-refused-run", wait=False).run()
    assert outcome["status"] == "skipped" and "its claim token is not this run's" in outcome["message"]
    assert_the_live_run_keeps_everything(server)


def test_the_run_s_own_cleanup_deletes_everything_of_it_when_nobody_interferes(server):
    a_run_left_by(server, LIVE_RUN, expires="2999-01-01T00:00:00Z", token="tok-live", owner="ctl:4242")
    # Someone labels the namespace meanwhile: a change, but the same run holds it.
    server.before("GET", "/namespaces/%s/pods" % NS, lambda s: s.change_namespace(NS, labels={"team": "blue"}))
    core, networking = clients(server)
    outcome = Release(core, networking, NS, run_id=LIVE_RUN, claim_token="tok-live", wait=False).run()
    assert outcome["status"] == "done", outcome
    assert NS not in server.namespaces
