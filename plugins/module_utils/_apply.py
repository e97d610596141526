# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Server-side apply of the objects a deploy creates, in one namespace, replacing pods that cannot be changed in place.

Each object is read first (is it new, is it ours, is a pod stale), then applied with server-side apply under the
collection's field manager; check mode is the API server's own dry run. Every error names the object
(Kind/namespace/name) and the API's reason."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import (
    MANAGED_BY_LABEL, MANAGED_BY_VALUE, RUN_ID_LABEL, KubeError, api_call, api_reason,
)

FIELD_MANAGER = MANAGED_BY_VALUE
APPLY_PATCH = "application/apply-patch+yaml"
ENDED_PHASES = ("Succeeded", "Failed")
# Seconds between two reads of a pod being deleted: a grace-0 deletion takes well under a second.
DELETE_POLL_INTERVAL = 0.2


class Kind(object):
    """A kind this collection creates: its apiVersion, the kubernetes client API class and the methods' suffix."""

    def __init__(self, name, api_version, api_class, suffix):
        self.name, self.api_version, self.api_class, self.suffix = name, api_version, api_class, suffix

    def method(self, api_client, verb):
        import kubernetes.client

        return getattr(getattr(kubernetes.client, self.api_class)(api_client), "%s_%s" % (verb, self.suffix))


KINDS = dict((kind.name, kind) for kind in (
    Kind("ServiceAccount", "v1", "CoreV1Api", "namespaced_service_account"),
    Kind("Service", "v1", "CoreV1Api", "namespaced_service"),
    Kind("Pod", "v1", "CoreV1Api", "namespaced_pod"),
    Kind("Secret", "v1", "CoreV1Api", "namespaced_secret"),
    Kind("NetworkPolicy", "networking.k8s.io/v1", "NetworkingV1Api", "namespaced_network_policy"),
))


def object_label(kind, namespace, name):
    return "%s/%s/%s" % (kind, namespace, name)


def checked_manifests(manifests, namespace):
    """The manifests with their namespace set, or KubeError naming the first one this module will not apply: all of
    them are checked before anything is sent."""
    result = []
    for index, manifest in enumerate(manifests):
        metadata = manifest.get("metadata") if isinstance(manifest, dict) else None
        name = metadata.get("name") if isinstance(metadata, dict) else None
        kind_name = manifest.get("kind") if isinstance(manifest, dict) else None
        label = object_label(kind_name, (metadata or {}).get("namespace") or namespace, name)
        if not name:
            raise KubeError("manifest %d (%s): metadata.name is missing" % (index + 1, label))
        kind = KINDS.get(kind_name)
        if kind is None:
            raise KubeError("manifest %d (%s): kind %s is not one this module applies (%s)"
                            % (index + 1, label, kind_name, ", ".join(KINDS)))
        if manifest.get("apiVersion") != kind.api_version:
            raise KubeError("manifest %d (%s): apiVersion %s is not %s"
                            % (index + 1, label, manifest.get("apiVersion"), kind.api_version))
        if metadata.get("namespace") not in (None, namespace):
            raise KubeError("manifest %d (%s): its namespace is not %s, the namespace being applied"
                            % (index + 1, label, namespace))
        manifest = dict(manifest, metadata=dict(metadata, namespace=namespace))
        result.append((kind, manifest))
    return result


def _labels(obj):
    return (obj.metadata.labels or {}) if obj is not None else {}


def _comparable(api_client, obj):
    """The object as stored, without what the API server changes on every write or dry run, and without the status
    (the kubelet's, not the apply's)."""
    data = api_client.sanitize_for_serialization(obj)
    data.pop("status", None)
    for field in ("managedFields", "resourceVersion", "generation"):
        data.get("metadata", {}).pop(field, None)
    return data


class Applier(object):
    """One apply of a list of manifests in ``namespace`` for run ``run_id``; run() returns the outcome."""

    def __init__(self, api_client, namespace, run_id, check_mode=False, delete_timeout=120,
                 sleep=time.sleep, clock=time.monotonic):
        self.api_client, self.namespace, self.run_id = api_client, namespace, run_id
        self.check_mode, self.delete_timeout, self.sleep, self.clock = check_mode, delete_timeout, sleep, clock
        self.dry_run = "All" if check_mode else None
        self.outcome = dict(created=[], updated=[], unchanged=[], replaced=[])

    def call(self, kind, verb, label, *args, **kwargs):
        from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import ApiException

        try:
            return api_call(kind.method(self.api_client, verb), *args, **kwargs)
        except ApiException as exc:
            if verb in ("read", "delete") and exc.status == 404:
                return None
            raise KubeError("%s: cannot %s it: %s" % (label, "apply" if verb == "patch" else verb, api_reason(exc)))

    def read(self, kind, label, name):
        return self.call(kind, "read", label, name, self.namespace)

    def run(self, manifests):
        for kind, manifest in checked_manifests(manifests, self.namespace):
            self.apply(kind, manifest)
        self.outcome["changed"] = any(self.outcome[key] for key in ("created", "updated", "replaced"))
        return self.outcome

    def apply(self, kind, manifest):
        name = manifest["metadata"]["name"]
        label = object_label(kind.name, self.namespace, name)
        before = self.read(kind, label, name)
        if before is not None and _labels(before).get(MANAGED_BY_LABEL) != MANAGED_BY_VALUE:
            raise KubeError("%s exists and was not created by this collection (no label %s=%s): it is left as it is; "
                            "delete it or use another namespace" % (label, MANAGED_BY_LABEL, MANAGED_BY_VALUE))
        if kind.name == "Pod" and before is not None and self.stale(before):
            self.replace(kind, label, before)
            if self.check_mode:  # the old pod is still there: a dry run of the new one would be judged against it
                return
            before = None
        if before is None and self.needs_dry_created_account(kind, manifest):
            self.outcome["created"].append(label)
            return
        after = self.call(kind, "patch", label, name, self.namespace, manifest, field_manager=FIELD_MANAGER,
                          force=True, dry_run=self.dry_run, _content_type=APPLY_PATCH)
        if before is None:
            self.outcome["created"].append(label)
        elif self.changed(before, after):
            self.outcome["updated"].append(label)
        else:
            self.outcome["unchanged"].append(label)

    def needs_dry_created_account(self, kind, manifest):
        """In check mode, a new pod whose ServiceAccount this dry run would create: the API server refuses to admit
        it, the account not existing, so it is reported as created without its own dry run."""
        account = (manifest.get("spec") or {}).get("serviceAccountName")
        return self.check_mode and kind.name == "Pod" and account is not None and \
            object_label("ServiceAccount", self.namespace, account) in self.outcome["created"]

    def changed(self, before, after):
        # An apply that changes nothing writes nothing; a dry run never writes, and a new resourceVersion may be the
        # kubelet's status write between the read and the apply: then the object itself tells.
        if not self.check_mode and before.metadata.resource_version == after.metadata.resource_version:
            return False
        return _comparable(self.api_client, before) != _comparable(self.api_client, after)

    def stale(self, pod):
        """Pods cannot be changed in place: one of another run, one that has ended or one being deleted is replaced."""
        return (_labels(pod).get(RUN_ID_LABEL) != self.run_id or (pod.status and pod.status.phase) in ENDED_PHASES
                or pod.metadata.deletion_timestamp is not None)

    def replace(self, kind, label, pod):
        """Delete ``pod`` at once (nothing in it needs saving) and wait until it is gone, so that its name is free."""
        from kubernetes.client import V1DeleteOptions, V1Preconditions

        # The precondition: only the pod that was judged stale, never one created since under the same name.
        options = V1DeleteOptions(grace_period_seconds=0, preconditions=V1Preconditions(uid=pod.metadata.uid))
        self.call(kind, "delete", label, pod.metadata.name, self.namespace, body=options, grace_period_seconds=0,
                  dry_run=self.dry_run)
        self.outcome["replaced"].append(label)
        if not self.check_mode:
            self.wait_gone(kind, label, pod)

    def wait_gone(self, kind, label, pod):
        deadline = self.clock() + self.delete_timeout
        while True:
            current = self.read(kind, label, pod.metadata.name)
            if current is None or current.metadata.uid != pod.metadata.uid:
                return
            if self.clock() >= deadline:
                raise KubeError("%s: still there %s seconds after it was deleted (pod_delete_timeout)"
                                % (label, self.delete_timeout))
            self.sleep(DELETE_POLL_INTERVAL)


def apply_manifests(api_client, manifests, namespace, run_id, check_mode=False, delete_timeout=120):
    return Applier(api_client, namespace, run_id, check_mode, delete_timeout).run(manifests)
