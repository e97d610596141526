# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The two namespace modes against a fake API: in a provided namespace the claim is a Lease and cleanup never
deletes the namespace; in create mode a provided namespace is refused. On the real cluster: tests/e2e."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from types import SimpleNamespace

import pytest
from kubernetes.client.rest import ApiException

from ansible_collections.defender.attack_simulation.plugins.module_utils._claim import NamespaceClaim, read_holder
from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import KubeError
from ansible_collections.defender.attack_simulation.plugins.module_utils._namespace_modes import (
    ModeRelease, claim_lock, holder_lock,
)

OURS = {"app.kubernetes.io/managed-by": "defender.attack_simulation", "defender.attack-simulation/run-id": "run1"}
PROVIDED = {"defender.attack-simulation/provided": "true"}


def meta(name, labels=None, **extra):
    return SimpleNamespace(name=name, labels=dict(labels) if labels is not None else None, annotations=None,
                           resource_version="1", uid="uid-" + name, deletion_timestamp=None, **extra)


def obj(name, labels=None):
    return SimpleNamespace(metadata=meta(name, labels), status=SimpleNamespace(phase="Active"))


class FakeCluster(object):
    """One namespace, its objects by plural and the Lease; records every write as (verb, plural, name)."""

    def __init__(self, namespace_labels=None, lease_labels=None, objects=None, forbidden=()):
        self.api_client = None
        self.namespace = obj("mdc-simulation", namespace_labels) if namespace_labels is not None else None
        self.lease = obj("mdc-simulation-claim", lease_labels) if lease_labels is not None else None
        self.objects = objects or {}
        self.forbidden = set(forbidden)
        self.writes = []

    def read_namespace(self, name, **_kw):
        if self.namespace is None:
            raise ApiException(status=404, reason="Not Found")
        return self.namespace

    def create_namespace(self, body, **_kw):
        self.writes.append(("create", "namespaces", body["metadata"]["name"]))

    def patch_namespace(self, name, body, **_kw):
        self.writes.append(("patch", "namespaces", name))

    def delete_namespace(self, name, **_kw):
        self.writes.append(("delete", "namespaces", name))

    def read_namespaced_lease(self, name, namespace, **_kw):
        if self.lease is None:
            raise ApiException(status=404, reason="Not Found")
        return self.lease

    def create_namespaced_lease(self, namespace, body, **_kw):
        self.writes.append(("create", "leases", body["metadata"]["name"]))
        self.created_lease = body

    def patch_namespaced_lease(self, name, namespace, body, **_kw):
        self.writes.append(("patch", "leases", name))
        self.patched_lease = body

    def delete_namespaced_lease(self, name, namespace, body=None, **_kw):
        self.writes.append(("delete", "leases", name))
        self.lease_delete_body = body

    def __getattr__(self, attr):
        verb, _sep, kind = attr.partition("_namespaced_")
        plural = {"pod": "pods", "service": "services", "network_policy": "networkpolicies",
                  "service_account": "serviceaccounts", "secret": "secrets", "config_map": "configmaps",
                  "persistent_volume_claim": "persistentvolumeclaims"}[kind]

        def call(*args, **_kw):
            if (verb, plural) in self.forbidden:
                raise ApiException(status=403, reason="Forbidden")
            if verb == "list":
                return SimpleNamespace(items=list(self.objects.get(plural, [])))
            self.writes.append((verb, plural, args[0]))
            self.objects[plural] = [o for o in self.objects.get(plural, []) if o.metadata.name != args[0]]
            return None
        return call


def claim(cluster, mode, run_id="this-run"):
    lock = claim_lock(mode, cluster, cluster, "mdc-simulation")
    return NamespaceClaim(lock, "mdc-simulation", run_id, "ctl:7", sleep=lambda s: None).claim()


def release(cluster, **kw):
    kw.setdefault("run_id", "run1")
    return ModeRelease(cluster, cluster, cluster, "mdc-simulation", sleep=lambda s: None, **kw).run()


def a_run():
    return {"pods": [obj("mdc-simulation-victim", OURS), obj("theirs", {"app": "admin"})],
            "serviceaccounts": [obj("default"), obj("mdc-simulation-victim", OURS)],
            "configmaps": [obj("admin-config")]}


def test_a_provided_namespace_is_claimed_with_a_lease_and_never_changed():
    cluster = FakeCluster(namespace_labels=PROVIDED)
    result = claim(cluster, "provided")
    assert result["created"] and cluster.writes == [("create", "leases", "mdc-simulation-claim")]
    assert cluster.created_lease["metadata"]["labels"]["defender.attack-simulation/run-id"] == "this-run"
    assert cluster.created_lease["spec"]["holderIdentity"] == "this-run"


def test_a_live_runs_lease_refuses_a_second_run_naming_it():
    cluster = FakeCluster(namespace_labels=PROVIDED, lease_labels=OURS)
    cluster.lease.metadata.annotations = {"defender.attack-simulation/expires-at": "2999-01-01T00:00:00Z"}
    with pytest.raises(KubeError, match="namespace mdc-simulation is in use by run run1"):
        claim(cluster, "provided")
    assert cluster.writes == []


def test_an_expired_lease_is_taken_over_by_compare_and_swap_on_the_lease():
    cluster = FakeCluster(namespace_labels=PROVIDED, lease_labels=OURS)
    cluster.lease.metadata.annotations = {"defender.attack-simulation/expires-at": "2000-01-01T00:00:00Z"}
    result = claim(cluster, "provided")
    assert result["taken_over"] == "run1"
    assert cluster.writes == [("patch", "leases", "mdc-simulation-claim")]
    assert cluster.patched_lease["metadata"]["name"] == "mdc-simulation-claim"
    assert cluster.patched_lease["metadata"]["resourceVersion"] == "1"


@pytest.mark.parametrize("labels, message", [
    (None, "namespace mdc-simulation does not exist: with simulation_namespace_mode=provided an administrator "
           "creates it, labelled defender.attack-simulation/provided=true"),
    ({}, "namespace mdc-simulation was not provided for simulations: it lacks the label "
         "defender.attack-simulation/provided=true"),
    (OURS, "namespace mdc-simulation was not provided for simulations"),
], ids=["missing", "unlabelled", "created-by-a-run"])
def test_provided_mode_refuses_a_namespace_no_administrator_provided(labels, message):
    cluster = FakeCluster(namespace_labels=labels)
    with pytest.raises(KubeError, match=message):
        claim(cluster, "provided")
    assert cluster.writes == []


def test_create_mode_refuses_a_provided_namespace_which_its_cleanup_would_delete():
    cluster = FakeCluster(namespace_labels=dict(OURS, **PROVIDED))
    with pytest.raises(KubeError, match="was provided by an administrator .* run with simulation_namespace_mode=provided"):
        claim(cluster, "create", run_id="run1")
    assert cluster.writes == []


def test_create_mode_still_creates_its_namespace():
    cluster = FakeCluster()
    assert claim(cluster, "create")["created"]
    assert cluster.writes == [("create", "namespaces", "mdc-simulation")]


def test_the_holder_of_a_provided_namespace_is_read_from_its_lease():
    cluster = FakeCluster(namespace_labels=PROVIDED, lease_labels=OURS)
    holder = read_holder(holder_lock(cluster, cluster, "mdc-simulation"), "mdc-simulation")
    assert holder.run_id == "run1" and holder.owned and holder.name == "mdc-simulation"
    assert read_holder(holder_lock(cluster, cluster, "mdc-simulation"), "mdc-simulation") is not None
    unclaimed = FakeCluster(namespace_labels=PROVIDED)
    assert read_holder(holder_lock(unclaimed, unclaimed, "mdc-simulation"), "mdc-simulation") is None
    created = FakeCluster(namespace_labels=OURS)
    assert read_holder(holder_lock(created, created, "mdc-simulation"), "mdc-simulation").run_id == "run1"


def test_cleanup_of_a_provided_namespace_deletes_the_runs_objects_and_its_lease_never_the_namespace():
    cluster = FakeCluster(namespace_labels=PROVIDED, lease_labels=OURS, objects=a_run())
    outcome = release(cluster)
    assert outcome["status"] == "done" and outcome["left_behind"] == []
    assert "the namespace is left as it is" in outcome["message"]
    assert cluster.writes == [("delete", "pods", "mdc-simulation-victim"),
                              ("delete", "serviceaccounts", "mdc-simulation-victim"),
                              ("delete", "leases", "mdc-simulation-claim")]
    assert cluster.lease_delete_body == {"preconditions": {"uid": "uid-mdc-simulation-claim"}}


def test_cleanup_of_a_provided_namespace_held_by_another_run_leaves_everything():
    cluster = FakeCluster(namespace_labels=PROVIDED, lease_labels=dict(OURS, **{"defender.attack-simulation/run-id": "other"}),
                          objects=a_run())
    outcome = release(cluster)
    assert outcome["status"] == "skipped" and "held by run other" in outcome["message"]
    assert cluster.writes == []


def test_cleanup_of_a_provided_namespace_that_fails_keeps_the_claim_and_says_what_is_left():
    cluster = FakeCluster(namespace_labels=PROVIDED, lease_labels=OURS, objects=a_run(),
                          forbidden=[("delete", "pods")])
    outcome = release(cluster)
    assert outcome["status"] == "failed"
    assert outcome["left_behind"] == ["Pod/mdc-simulation/mdc-simulation-victim", "Lease/mdc-simulation/mdc-simulation-claim"]
    assert ("delete", "leases", "mdc-simulation-claim") not in cluster.writes


def test_create_mode_cleanup_skips_secrets_it_may_not_list_and_still_deletes_its_namespace():
    cluster = FakeCluster(namespace_labels=OURS, objects={"pods": [obj("mdc-simulation-victim", OURS)]},
                          forbidden=[("list", "secrets")])
    outcome = release(cluster, wait=False)
    assert outcome["status"] == "done", outcome
    assert ("delete", "namespaces", "mdc-simulation") in cluster.writes


def test_create_mode_cleanup_still_fails_when_another_kind_cannot_be_listed():
    cluster = FakeCluster(namespace_labels=OURS, objects={}, forbidden=[("list", "services")])
    outcome = release(cluster, wait=False)
    assert outcome["status"] == "failed" and "cannot list services" in outcome["message"]
    assert ("delete", "namespaces", "mdc-simulation") not in cluster.writes
