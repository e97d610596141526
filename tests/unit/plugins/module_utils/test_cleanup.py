# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cleanup's outcome (status, left_behind, message) against a fake API; on the real cluster: tests/e2e."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from types import SimpleNamespace

from kubernetes.client.rest import ApiException

from ansible_collections.defender.attack_simulation.plugins.module_utils._cleanup import Release

OURS = {"app.kubernetes.io/managed-by": "defender.attack_simulation", "defender.attack-simulation/run-id": "run1"}


def obj(name, labels=None, **extra):
    return SimpleNamespace(metadata=SimpleNamespace(name=name, labels=labels, annotations=None, resource_version="1",
                                                    uid="uid-" + name),
                           status=SimpleNamespace(phase="Active"), **extra)


class FakeApi(object):
    """Namespaced objects by plural; failures by (verb, plural) as a list of exceptions raised in turn."""

    def __init__(self, namespace_labels="ours", objects=None, failures=None, namespace_lingers=False):
        namespace_labels = OURS if namespace_labels == "ours" else namespace_labels
        self.namespace = obj("ns", dict(namespace_labels)) if namespace_labels is not None else None
        self.objects = objects or {}
        self.failures = failures or {}
        self.namespace_lingers = namespace_lingers
        self.calls = []

    def _maybe_fail(self, verb, plural):
        pending = self.failures.get((verb, plural))
        if pending:
            raise pending.pop(0)

    def read_namespace(self, name, **_kw):
        self._maybe_fail("get", "namespaces")
        if self.namespace is None:
            raise ApiException(status=404)
        return self.namespace

    def delete_namespace(self, name, body=None, **kw):
        self.calls.append(("delete", "namespaces", name, (body or {}).get("propagationPolicy")))
        self._maybe_fail("delete", "namespaces")
        if not self.namespace_lingers:
            self.namespace = None

    def list_namespace(self, **_kw):
        return SimpleNamespace(items=[])

    def __getattr__(self, attr):
        verb, _sep, kind = attr.partition("_namespaced_")
        plural = {"pod": "pods", "service": "services", "network_policy": "networkpolicies",
                  "service_account": "serviceaccounts", "secret": "secrets", "config_map": "configmaps",
                  "persistent_volume_claim": "persistentvolumeclaims"}[kind]

        def call(*args, **kw):
            self._maybe_fail(verb, plural)
            if verb == "list":
                items = self.objects.get(plural, [])
                if kw.get("label_selector"):
                    items = [o for o in items if (o.metadata.labels or {}).get("app.kubernetes.io/managed-by")]
                return SimpleNamespace(items=list(items))
            self.calls.append((verb, plural, args[0], (kw.get("body") or {}).get("gracePeriodSeconds")))
            self.objects[plural] = [o for o in self.objects.get(plural, []) if o.metadata.name != args[0]]
            return None
        return call


def release(api, **kw):
    kw.setdefault("run_id", "run1")
    now = [0.0]

    def sleep(seconds):
        now[0] += seconds
    return Release(api, api, "ns", sleep=sleep, clock=lambda: now[0], **kw).run()


def a_run():
    return {"pods": [obj("mdc-simulation-victim", OURS), obj("mdc-simulation-attacker", OURS)],
            "services": [obj("mdc-simulation-victim", OURS)],
            "serviceaccounts": [obj("default"), obj("mdc-simulation-victim", OURS)],
            "configmaps": [obj("kube-root-ca.crt")]}


def test_the_runs_objects_go_pods_first_at_once_then_the_namespace():
    api = FakeApi(objects=a_run())
    outcome = release(api)
    assert outcome["status"] == "done" and outcome["left_behind"] == []
    assert api.calls[:2] == [("delete", "pods", "mdc-simulation-victim", 0), ("delete", "pods", "mdc-simulation-attacker", 0)]
    assert ("delete", "serviceaccounts", "default", None) not in api.calls
    assert api.calls[-1] == ("delete", "namespaces", "ns", "Background")
    assert "Namespace//ns" in outcome["deleted"]


def test_transient_errors_are_retried():
    api = FakeApi(objects=a_run(), failures={("delete", "pods"): [ApiException(status=503), ApiException(status=429)],
                                             ("get", "namespaces"): [ApiException(status=500)]})
    assert release(api)["status"] == "done"


def test_a_missing_permission_leaves_the_namespace_and_says_what_is_left():
    api = FakeApi(objects=a_run(), failures={("delete", "services"): [ApiException(status=403, reason="Forbidden")]})
    outcome = release(api)
    assert outcome["status"] == "failed"
    assert "Service/ns/mdc-simulation-victim: Forbidden (HTTP 403)" in outcome["message"]
    assert outcome["left_behind"] == ["Namespace//ns", "Service/ns/mdc-simulation-victim"]
    assert not [c for c in api.calls if c[1] == "namespaces"], "the namespace is not deleted with objects left in it"


def test_objects_of_others_keep_the_namespace_unless_forced():
    objects = a_run()
    objects["configmaps"].append(obj("their-data"))
    objects["pods"].append(obj("their-pod", {"app": "theirs"}))
    api = FakeApi(objects=objects)
    outcome = release(api)
    assert outcome["status"] == "failed"
    assert outcome["left_behind"] == ["Namespace//ns", "Pod/ns/their-pod", "ConfigMap/ns/their-data"]
    assert "holds objects this collection did not create: Pod/ns/their-pod, ConfigMap/ns/their-data" in outcome["message"]
    assert "cleanup_force=true" in outcome["message"]
    assert ("delete", "pods", "mdc-simulation-victim", 0) in api.calls
    assert ("delete", "pods", "their-pod", 0) not in api.calls
    assert not [c for c in api.calls if c[1] == "namespaces"]
    assert release(FakeApi(objects=objects), force=True)["status"] == "done"


def test_a_namespace_still_terminating_at_the_deadline_is_reported():
    outcome = release(FakeApi(objects=a_run(), namespace_lingers=True), timeout=30)
    assert outcome["status"] == "failed"
    assert outcome["left_behind"] == ["Namespace//ns"]
    assert "still terminating after 30 seconds" in outcome["message"]


def test_an_unreachable_api_is_reported_not_raised():
    api = FakeApi(objects=a_run(), failures={("get", "namespaces"): [ConnectionRefusedError("refused")] * 100})
    outcome = release(api, timeout=5)
    assert outcome["status"] == "failed"
    assert outcome["left_behind"] == ["Namespace//ns"]
    assert "cannot read namespace ns: ConnectionRefusedError: refused" in outcome["message"]


def test_a_namespace_of_another_run_or_not_ours_is_skipped():
    other = dict(OURS, **{"defender.attack-simulation/run-id": "run2"})
    outcome = release(FakeApi(namespace_labels=other, objects=a_run()))
    assert (outcome["status"], outcome["left_behind"]) == ("skipped", [])
    assert "held by run run2" in outcome["message"]
    outcome = release(FakeApi(namespace_labels={"team": "x"}, objects=a_run()), run_id=None)
    assert outcome["status"] == "skipped" and "is not owned by defender.attack_simulation" in outcome["message"]


def test_a_namespace_already_gone_is_done():
    outcome = release(FakeApi(namespace_labels=None))
    assert (outcome["status"], outcome["left_behind"]) == ("done", [])


def test_check_mode_deletes_nothing():
    api = FakeApi(objects=a_run())
    outcome = release(api, check_mode=True)
    assert api.calls == [] and "Pod/ns/mdc-simulation-victim" in outcome["deleted"]
