# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The two namespace modes (module_utils/_permissions.py) for the claim and the cleanup.

In create mode the namespace is the run's lock and cleanup deletes it. In provided mode an administrator created
the namespace and labelled it PROVIDED_LABEL=PROVIDED_VALUE: the lock is the Lease CLAIM_LEASE inside it, and
cleanup deletes the run's objects and that Lease, never the namespace. The locks present themselves to
``NamespaceClaim`` (_claim.py) with the three calls it makes on namespaces, so a claim judges the same way in both
modes; ``ModeRelease`` is ``Release`` (_cleanup.py) that leaves a provided namespace standing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.defender.attack_simulation.plugins.module_utils._cleanup import CallFailed, Release, is_ours
from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import (
    RUN_ID_LABEL, ApiException, KubeError, api_call, api_reason,
)
from ansible_collections.defender.attack_simulation.plugins.module_utils._permissions import (
    CLAIM_LEASE, PROVIDED, PROVIDED_LABEL, PROVIDED_VALUE,
)

DOCS = "docs/permissions.md"


def is_provided(namespace):
    return (namespace.metadata.labels or {}).get(PROVIDED_LABEL) == PROVIDED_VALUE


class _Phase(object):
    def __init__(self, phase):
        self.phase = phase


class _LockView(object):
    """The Lease as the claim reads a namespace: its metadata under the namespace's name, no phase."""

    def __init__(self, lease, namespace_name):
        self.metadata = copy.copy(lease.metadata)
        self.metadata.name = namespace_name
        self.status = _Phase(None)


class CreatedLock(object):
    """Create mode: the namespace itself, refused when an administrator provided it (cleanup would delete it)."""

    def __init__(self, core):
        self.core = core
        self.api_client = core.api_client

    def read_namespace(self, name, **kwargs):
        namespace = self.core.read_namespace(name, **kwargs)
        if is_provided(namespace):
            raise KubeError("namespace %s was provided by an administrator (label %s=%s): run with "
                            "simulation_namespace_mode=provided; a run in create mode would delete it at the end"
                            % (name, PROVIDED_LABEL, PROVIDED_VALUE))
        return namespace

    def create_namespace(self, body, **kwargs):
        return self.core.create_namespace(body, **kwargs)

    def patch_namespace(self, name, body, **kwargs):
        return self.core.patch_namespace(name, body, **kwargs)


class ProvidedLock(object):
    """Provided mode: the Lease CLAIM_LEASE in the namespace, once the namespace is checked to be provided."""

    def __init__(self, core, coordination, name):
        self.core, self.coordination, self.name = core, coordination, name
        self.api_client = core.api_client

    def check_namespace(self):
        """The provided namespace; KubeError naming what the administrator must do when it is not usable."""
        try:
            namespace = api_call(self.core.read_namespace, self.name)
        except ApiException as exc:
            if exc.status == 404:
                raise KubeError("namespace %s does not exist: with simulation_namespace_mode=provided an "
                                "administrator creates it, labelled %s=%s, and binds the run's Role in it (%s)"
                                % (self.name, PROVIDED_LABEL, PROVIDED_VALUE, DOCS))
            raise KubeError("namespace %s: cannot read it: %s (simulation_namespace_mode=provided needs get on it, "
                            "%s)" % (self.name, api_reason(exc), DOCS))
        if not is_provided(namespace):
            raise KubeError("namespace %s was not provided for simulations: it lacks the label %s=%s that an "
                            "administrator sets (%s); refusing to use it with simulation_namespace_mode=provided"
                            % (self.name, PROVIDED_LABEL, PROVIDED_VALUE, DOCS))
        if namespace.metadata.deletion_timestamp is not None:
            raise KubeError("namespace %s is being deleted" % self.name)
        return namespace

    def read_namespace(self, name, **kwargs):
        self.check_namespace()
        return _LockView(self.coordination.read_namespaced_lease(CLAIM_LEASE, name, **kwargs), name)

    def create_namespace(self, body, **kwargs):
        return self.coordination.create_namespaced_lease(self.name, self.lease(body), **kwargs)

    def patch_namespace(self, name, body, **kwargs):
        return self.coordination.patch_namespaced_lease(CLAIM_LEASE, name, self.lease(body), **kwargs)

    @staticmethod
    def lease(body):
        metadata = dict(body["metadata"], name=CLAIM_LEASE)
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata,
                "spec": {"holderIdentity": metadata.get("labels", {}).get(RUN_ID_LABEL)}}


def claim_lock(mode, core, coordination, name):
    """What a claim in ``mode`` reads and writes in place of the namespace API."""
    return ProvidedLock(core, coordination, name) if mode == PROVIDED else CreatedLock(core)


def holder_lock(core, coordination, name):
    """For reading a claim whatever the mode: the Lease when the namespace is provided, else the namespace."""
    try:
        namespace = api_call(core.read_namespace, name)
    except ApiException:
        return core  # the claim's reader tells a missing namespace, or why it cannot be read
    return ProvidedLock(core, coordination, name) if is_provided(namespace) else core


class ModeRelease(Release):
    """Release (_cleanup.py); a provided namespace keeps standing: the run's objects go, then its Lease."""

    def __init__(self, core, networking, coordination, name, **kwargs):
        super(ModeRelease, self).__init__(core, networking, name, **kwargs)
        self.coordination = coordination
        self.provided = False

    def _run(self):
        namespace = self.read_namespace()
        if namespace is None or not is_provided(namespace):
            return super(ModeRelease, self)._run()
        self.provided = True
        # Only the kinds a run creates: the Role of provided mode lists nothing else, and nothing else is deleted.
        self.kinds = [kind for kind in self.kinds if kind.deleter]
        lease = self.read_lease()
        holder = (lease.metadata.labels or {}).get(RUN_ID_LABEL) if lease is not None else None
        if self.run_id is not None and lease is not None and holder != self.run_id:
            return self.outcome("skipped", [], "namespace %s is held by run %s, not this run (%s): left as it is"
                                % (self.name, holder or "?", self.run_id))
        ours, _foreign, unknown = self.inventory()
        problems = self.delete_ours(ours) + unknown
        if problems:
            return self.outcome("failed", self.what_may_remain(),
                                "could not delete every object of the run in namespace %s, so its claim is kept: %s"
                                % (self.name, "; ".join(problems)))
        if lease is not None:
            self.delete_lease(lease)
        return self.outcome("done", [], "namespace %s was provided by an administrator: the run's objects and its "
                                        "claim are deleted, the namespace is left as it is" % self.name)

    def read_lease(self):
        try:
            lease = self.call("read lease %s/%s" % (self.name, CLAIM_LEASE), self.coordination.read_namespaced_lease,
                              CLAIM_LEASE, self.name)
        except ApiException:  # 404: no claim
            return None
        return lease if is_ours(lease) else None

    def delete_lease(self, lease):
        label = "Lease/%s/%s" % (self.name, CLAIM_LEASE)
        if not self.check_mode:
            try:
                # The Lease read, no other: a run that claimed the namespace since keeps its claim (409).
                self.call("delete %s" % label, self.coordination.delete_namespaced_lease, CLAIM_LEASE, self.name,
                          body={"preconditions": {"uid": lease.metadata.uid}})
            except ApiException:  # 404: already gone
                pass
        self.deleted.append(label)

    def what_may_remain(self):
        if not self.provided:
            return super(ModeRelease, self).what_may_remain()
        left = []
        for kind in self.kinds:
            try:
                left += ["%s/%s/%s" % (kind.kind, self.name, obj.metadata.name) for obj in self.listed(kind)
                         if is_ours(obj)]
            except CallFailed:
                continue
        return left + (["Lease/%s/%s" % (self.name, CLAIM_LEASE)] if self.read_lease() is not None else [])
