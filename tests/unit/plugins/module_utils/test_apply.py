# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Server-side apply of a deploy's objects against a fake API server that keeps objects as the real one does:
a write that changes nothing keeps the resourceVersion, a dry run stores nothing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
from types import SimpleNamespace
from unittest import mock

import pytest

from ansible_collections.defender.attack_simulation.plugins.module_utils import _apply, _manifests
from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import (
    ATTACKER, MANAGED_BY_LABEL, RUN_ID_LABEL, VICTIM, ApiException, KubeError,
)

NAMESPACE = "mdc-simulation"
RUN = "run-2"


def deploy(run_id=RUN):
    settings = _manifests.settings(dict(
        simulation_namespace=NAMESPACE, simulation_run_id=run_id, simulation_plan=dict(scenarios=["webshell"]),
        deploy_victim_image="ghcr.io/microsoft/defender-for-cloud/attacksimulation/victim:latest",
        deploy_attacker_image="ghcr.io/microsoft/defender-for-cloud/attacksimulation/attacker:latest"))
    return _manifests.manifests(settings)


def stored(data):
    """What the kubernetes client returns: attributes for the fields the code reads, the dict for the rest."""
    metadata = data["metadata"]
    return SimpleNamespace(
        data=data,
        metadata=SimpleNamespace(name=metadata["name"], labels=metadata.get("labels"), uid=metadata["uid"],
                                 resource_version=metadata["resourceVersion"],
                                 deletion_timestamp=metadata.get("deletionTimestamp")),
        status=SimpleNamespace(phase=(data.get("status") or {}).get("phase")))


def forbidden(resource, name):
    exc = ApiException(status=403, reason="Forbidden")
    message = ('%s "%s" is forbidden: User "sim" cannot patch resource "%s" in API group "" in the namespace "%s"'
               % (resource, name, resource, NAMESPACE))
    exc.body = json.dumps(dict(reason="Forbidden", message=message))
    return exc


class FakeServer(object):
    """Objects by (method suffix, name); records every call. ``lingering`` reads show a deleted pod still there."""

    def __init__(self, lingering=0, errors=None):
        self.objects = {}
        self.calls = []
        self.lingering = lingering
        self.errors = errors or {}
        self.version = 100
        self.api_client = SimpleNamespace(sanitize_for_serialization=lambda obj: copy.deepcopy(obj.data),
                                          configuration=SimpleNamespace(host="https://sim:6443"))

    def put(self, suffix, data, run_id=RUN, phase=None, managed=True):
        data = copy.deepcopy(data)
        self.version += 1
        data["metadata"].update(uid="uid-%d" % self.version, resourceVersion=str(self.version))
        data["metadata"]["labels"][RUN_ID_LABEL] = run_id
        if not managed:
            del data["metadata"]["labels"][MANAGED_BY_LABEL]
        if phase:
            data["status"] = dict(phase=phase)
        self.objects[(suffix, data["metadata"]["name"])] = data
        return data

    def method(self, kind, api_client, verb):
        def call(*args, **kwargs):
            self.calls.append((verb, kind.name, args, kwargs))
            error = self.errors.get((verb, kind.name))
            if error is not None:
                raise error
            return getattr(self, verb)(kind.suffix, *args, **kwargs)
        call.__self__ = self
        return call

    def read(self, suffix, name, namespace):
        data = self.objects.get((suffix, name))
        if data is None:
            raise ApiException(status=404, reason="Not Found")
        if data["metadata"].get("deletionTimestamp"):
            if self.lingering == 0:
                del self.objects[(suffix, name)]
                raise ApiException(status=404, reason="Not Found")
            self.lingering -= 1
        return stored(data)

    def patch(self, suffix, name, namespace, body, field_manager, force, dry_run, _content_type):
        assert (field_manager, force, _content_type) == ("defender.attack_simulation", True, "application/apply-patch+yaml")
        old = self.objects.get((suffix, name))
        new = copy.deepcopy(body)
        new["metadata"].update((key, old["metadata"][key]) for key in ("uid", "resourceVersion") if old)
        new.setdefault("status", (old or {}).get("status"))
        if old is None or new != old:
            self.version += 1
            new["metadata"].setdefault("uid", "uid-%d" % self.version)
            if not dry_run:
                new["metadata"]["resourceVersion"] = str(self.version)
        new["metadata"].setdefault("resourceVersion", str(self.version))
        if not dry_run:
            self.objects[(suffix, name)] = new
        return stored(new)

    def delete(self, suffix, name, namespace, body, grace_period_seconds, dry_run):
        assert grace_period_seconds == 0 and body.grace_period_seconds == 0
        data = self.objects.get((suffix, name))
        if data is None or data["metadata"]["uid"] != body.preconditions.uid:
            raise ApiException(status=404 if data is None else 409)
        if not dry_run:
            data["metadata"]["deletionTimestamp"] = "2026-11-29T11:00:00Z"

    def writes(self):
        return [(verb, kind, args[0]) for verb, kind, args, _kwargs in self.calls if verb != "read"]


def apply(server, manifests, run_id=RUN, check_mode=False, delete_timeout=120):
    clock = iter(range(10000))
    applier = _apply.Applier(server.api_client, NAMESPACE, run_id, check_mode=check_mode, delete_timeout=delete_timeout,
                             sleep=lambda seconds: None, clock=lambda: next(clock))

    def method(kind, api_client, verb):
        return server.method(kind, api_client, verb)

    with mock.patch.object(_apply.Kind, "method", method):
        return applier.run(manifests)


def label(kind, name):
    return "%s/%s/%s" % (kind, NAMESPACE, name)


ALL = [label("ServiceAccount", VICTIM)] + [label(kind, name) for name in (VICTIM, ATTACKER)
                                           for kind, name in (("Service", name), ("NetworkPolicy", name + "-ingress"),
                                                              ("Pod", name))]


def test_new_objects_are_created_with_server_side_apply_in_order():
    server = FakeServer()
    outcome = apply(server, deploy())
    assert outcome["changed"] is True
    assert outcome["created"] == ALL
    assert outcome["updated"] == outcome["unchanged"] == outcome["replaced"] == []
    assert [(verb, kind) for verb, kind, _name in server.writes()] == [("patch", entry.split("/")[0]) for entry in ALL]
    assert len(server.objects) == 7
    assert all(data["metadata"]["namespace"] == NAMESPACE for data in server.objects.values())


def test_applying_the_same_manifests_again_changes_nothing():
    server = FakeServer()
    apply(server, deploy())
    outcome = apply(server, deploy())
    assert outcome["changed"] is False
    assert outcome["unchanged"] == ALL and outcome["created"] == outcome["updated"] == []


class KubeletWritesStatus(FakeServer):
    """The kubelet writes a pod's status (a new resourceVersion) between the module's read and its apply."""

    def read(self, suffix, name, namespace):
        before = super(KubeletWritesStatus, self).read(suffix, name, namespace)
        data = self.objects[(suffix, name)]
        if suffix == "namespaced_pod":
            self.version += 1
            data["metadata"]["resourceVersion"] = str(self.version)
            data["status"] = dict(phase="Running", conditions=[dict(type="Ready", status="True")])
        return before


def test_a_status_the_kubelet_wrote_meanwhile_is_not_a_change_of_the_apply():
    server = KubeletWritesStatus()
    apply(server, deploy())
    outcome = apply(server, deploy())
    assert outcome["changed"] is False
    assert outcome["unchanged"] == ALL and outcome["updated"] == []


def test_a_changed_object_is_updated():
    server = FakeServer()
    apply(server, deploy())
    manifests = deploy()
    manifests[1]["spec"]["ports"][0]["port"] = 8080
    outcome = apply(server, manifests)
    assert outcome["changed"] is True and outcome["updated"] == [label("Service", VICTIM)]


def test_a_pod_of_an_earlier_run_is_deleted_at_once_waited_gone_and_created_again():
    server = FakeServer(lingering=2)
    old = server.put("namespaced_pod", deploy(run_id="run-1")[3], run_id="run-1", phase="Running")
    outcome = apply(server, deploy()[3:4])
    assert outcome["replaced"] == [label("Pod", VICTIM)] and outcome["created"] == [label("Pod", VICTIM)]
    assert outcome["changed"] is True
    deletes = [kwargs for verb, _kind, _args, kwargs in server.calls if verb == "delete"]
    assert deletes[0]["body"].preconditions.uid == old["metadata"]["uid"]
    # read to judge, two reads while it lingers, one that finds it gone, then the apply
    assert [verb for verb, _kind, _args, _kwargs in server.calls] == ["read", "delete", "read", "read", "read", "patch"]
    assert server.objects[("namespaced_pod", VICTIM)]["metadata"]["labels"][RUN_ID_LABEL] == RUN


@pytest.mark.parametrize("phase", ["Succeeded", "Failed"])
def test_a_pod_of_this_run_that_has_ended_is_replaced(phase):
    server = FakeServer()
    server.put("namespaced_pod", deploy()[3], phase=phase)
    outcome = apply(server, deploy()[3:4])
    assert outcome["replaced"] == [label("Pod", VICTIM)]
    assert [verb for verb, _kind, _name in server.writes()] == ["delete", "patch"]


def test_a_running_pod_of_this_run_is_kept():
    server = FakeServer()
    server.put("namespaced_pod", dict(deploy()[3], status=dict(phase="Running")), phase="Running")
    outcome = apply(server, deploy()[3:4])
    assert outcome["replaced"] == [] and outcome["unchanged"] == [label("Pod", VICTIM)]
    assert outcome["changed"] is False


def test_a_pod_that_does_not_go_fails_naming_it_after_the_timeout():
    server = FakeServer(lingering=10 ** 6)
    server.put("namespaced_pod", deploy()[3], run_id="run-1")
    with pytest.raises(KubeError, match="Pod/mdc-simulation/mdc-simulation-victim: still there 5 seconds after it "
                                        r"was deleted \(pod_delete_timeout\)"):
        apply(server, deploy()[3:4], delete_timeout=5)


def test_an_unknown_kind_is_refused_naming_it_before_anything_is_sent():
    server = FakeServer()
    config_map = dict(apiVersion="v1", kind="ConfigMap", metadata=dict(name="settings"))
    with pytest.raises(KubeError) as error:
        apply(server, deploy() + [config_map])
    assert str(error.value) == ("manifest 8 (ConfigMap/mdc-simulation/settings): kind ConfigMap is not one this module "
                                "applies (ServiceAccount, Service, Pod, Secret, NetworkPolicy)")
    assert server.calls == []


def test_a_manifest_for_another_namespace_or_without_a_name_is_refused():
    server = FakeServer()
    elsewhere = dict(deploy()[0], metadata=dict(deploy()[0]["metadata"], namespace="default"))
    with pytest.raises(KubeError, match="ServiceAccount/default/mdc-simulation-victim.*not mdc-simulation"):
        apply(server, [elsewhere])
    with pytest.raises(KubeError, match="manifest 1 .*metadata.name is missing"):
        apply(server, [dict(apiVersion="v1", kind="Secret", metadata={})])
    assert server.calls == []


def test_a_refused_apply_names_the_object_and_the_api_servers_reason():
    server = FakeServer(errors={("patch", "Pod"): forbidden("pods", VICTIM)})
    with pytest.raises(KubeError) as error:
        apply(server, deploy())
    assert str(error.value) == (
        'Pod/mdc-simulation/mdc-simulation-victim: cannot apply it: pods "mdc-simulation-victim" is forbidden: User '
        '"sim" cannot patch resource "pods" in API group "" in the namespace "mdc-simulation" (HTTP 403)')


def test_an_object_this_collection_did_not_create_is_left_as_it_is():
    server = FakeServer()
    server.put("namespaced_pod", deploy()[3], run_id="run-1", managed=False)
    with pytest.raises(KubeError, match="Pod/mdc-simulation/mdc-simulation-victim exists and was not created by this "
                                        "collection"):
        apply(server, deploy()[3:4])
    assert server.writes() == []


def test_check_mode_is_the_servers_dry_run_and_stores_nothing():
    server = FakeServer()
    outcome = apply(server, deploy(), check_mode=True)
    assert outcome["created"] == ALL and outcome["changed"] is True
    assert server.objects == {}
    assert all(kwargs["dry_run"] == "All" for verb, _kind, _args, kwargs in server.calls if verb == "patch")
    # The victim's pod needs its ServiceAccount to exist: a dry run of it would be refused; the attacker's has none.
    assert [args[0] for verb, kind, args, _kwargs in server.calls if verb == "patch" and kind == "Pod"] == [ATTACKER]


def test_check_mode_tells_an_unchanged_object_from_a_changed_one():
    server = FakeServer()
    apply(server, deploy())
    manifests = deploy()
    manifests[1]["spec"]["ports"][0]["port"] = 8080
    outcome = apply(server, manifests, check_mode=True)
    assert outcome["updated"] == [label("Service", VICTIM)]
    assert len(outcome["unchanged"]) == 6
    assert server.objects[("namespaced_service", VICTIM)]["spec"]["ports"][0]["port"] == 80


def test_check_mode_reports_a_stale_pod_as_replaced_and_keeps_it():
    server = FakeServer()
    server.put("namespaced_pod", deploy()[3], run_id="run-1")
    outcome = apply(server, deploy()[3:4], check_mode=True)
    assert outcome["replaced"] == [label("Pod", VICTIM)] and outcome["changed"] is True
    assert [(verb, kwargs["dry_run"]) for verb, _kind, _args, kwargs in server.calls if verb != "read"] == [
        ("delete", "All")]
    assert "deletionTimestamp" not in server.objects[("namespaced_pod", VICTIM)]["metadata"]
