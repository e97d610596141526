# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Release a simulation namespace: delete what the run created, then the namespace, and say what was left.

The outcome is data (status, left_behind, message) rather than an exception, so that the caller can write the
report whatever happened. Transient API errors are retried until the deadline, which is a wall-clock bound on
the whole release: each call gets only the time that is left.

Another run may take the namespace over while the release runs (its claim expired, or cleanup.yml judged it
gone a moment before). So every delete is conditional on what was read: the namespace is read once, judged,
its objects listed, then read again; when it changed in between (another run's claim), nothing is deleted. The
objects are deleted by uid (and resourceVersion, for those that can be changed in place), the namespace by uid
and resourceVersion: an object or a namespace another run took or replaced since is never deleted (409)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.defender.attack_simulation.plugins.module_utils._claim import (
    Holder, is_abandoned, owner_is_gone,
)
from ansible_collections.defender.attack_simulation.plugins.module_utils._deadline import (
    DeadlinePassed, call_within, stream_until,
)
from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import (
    MANAGED_BY_LABEL, MANAGED_BY_SELECTOR, MANAGED_BY_VALUE, ApiException, api_reason,
)
from ansible_collections.defender.attack_simulation.plugins.module_utils._time import utcnow

# Answers worth asking again: throttled, or the API server (or what is in front of it) briefly unavailable.
TRANSIENT_STATUS = frozenset((429, 500, 502, 503, 504))
# Between two reads of a terminating namespace, when the user may not watch it.
POLL_SECONDS = 0.5
# How many times the namespace may change under a delete before the cleanup gives up (a fight, not a change).
MAX_CONFLICTS = 5
# Objects Kubernetes itself puts in every namespace: not someone else's.
BUILT_IN = frozenset((("ServiceAccount", "default"), ("ConfigMap", "kube-root-ca.crt")))


class Kind(object):
    def __init__(self, kind, plural, group_api, lister, deleter):
        self.kind, self.plural, self.group_api, self.lister, self.deleter = kind, plural, group_api, lister, deleter


def kinds(core, networking):
    """The kinds a run creates (first) and the other common kinds someone may have added to the namespace."""
    return [
        Kind("Pod", "pods", "", core.list_namespaced_pod, core.delete_namespaced_pod),
        Kind("Service", "services", "", core.list_namespaced_service, core.delete_namespaced_service),
        Kind("NetworkPolicy", "networkpolicies", "networking.k8s.io", networking.list_namespaced_network_policy,
             networking.delete_namespaced_network_policy),
        Kind("ServiceAccount", "serviceaccounts", "", core.list_namespaced_service_account,
             core.delete_namespaced_service_account),
        Kind("Secret", "secrets", "", core.list_namespaced_secret, core.delete_namespaced_secret),
        Kind("ConfigMap", "configmaps", "", core.list_namespaced_config_map, None),
        Kind("PersistentVolumeClaim", "persistentvolumeclaims", "", core.list_namespaced_persistent_volume_claim,
             None),
    ]


def is_transient(exc):
    if isinstance(exc, DeadlinePassed):
        return True
    if isinstance(exc, ApiException):
        return exc.status in TRANSIENT_STATUS or exc.status is None or exc.status == 0
    # urllib3's connection errors (refused, reset, timed out) reach here as OSError subclasses or HTTPError.
    return isinstance(exc, (OSError, IOError)) or type(exc).__module__.startswith("urllib3")


def reason(exc):
    return api_reason(exc) if isinstance(exc, ApiException) else "%s: %s" % (type(exc).__name__, exc)


def is_ours(obj):
    return (obj.metadata.labels or {}).get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE


def is_built_in(kind, obj):
    if (kind, obj.metadata.name) in BUILT_IN:
        return True
    # A token Secret Kubernetes generated for a ServiceAccount (clusters before 1.24, or on request).
    return kind == "Secret" and getattr(obj, "type", None) == "kubernetes.io/service-account-token" and \
        (obj.metadata.annotations or {}).get("kubernetes.io/service-account.name") == "default"


def secrets_not_granted(kind, error):
    """Secrets forbidden: only runs with registry credentials hold that permission (docs/permissions.md), and
    credentials that may not list secrets could not have created one."""
    return kind.kind == "Secret" and isinstance(error, ApiException) and error.status == 403


class Release(object):
    """One release of ``name``: call run(); it returns dict(status, left_behind, message, deleted)."""

    def __init__(self, core, networking, name, run_id=None, force=False, timeout=180, wait=True, check_mode=False,
                 sleep=time.sleep, clock=time.monotonic, watch=None, claim_token=None, refuse_live=False):
        self.core, self.name, self.run_id, self.force, self.wait = core, name, run_id, force, wait
        self.check_mode, self.sleep, self.clock, self.watch = check_mode, sleep, clock, watch
        self.claim_token, self.refuse_live = claim_token, refuse_live
        self.namespace_read = None
        self.kinds = kinds(core, networking)
        self.deadline = clock() + timeout
        self.timeout = timeout
        self.deleted = []

    # ------------------------------------------------------------ calls, retried while transient
    def call(self, what, function, *args, **kwargs):
        """function(*args, **kwargs), retried with back-off while the error is transient and time remains; each
        attempt gets only the time left before the deadline, however slowly the API server answers."""
        delay = 0.5
        while True:
            try:
                remaining = self.deadline - self.clock()
                if remaining <= 0:
                    raise DeadlinePassed(what, 0)
                return call_within(remaining, what, function, *args, **kwargs)
            except Exception as exc:  # pylint: disable=broad-except  # sorted by is_transient, re-raised otherwise
                if isinstance(exc, ApiException) and exc.status == 404:
                    raise
                if not is_transient(exc) or self.clock() + delay > self.deadline:
                    raise CallFailed(what, exc)
                self.sleep(delay)
                delay = min(delay * 2, 5)

    def read_namespace(self):
        try:
            return self.call("read namespace %s" % self.name, self.core.read_namespace, self.name)
        except ApiException:  # 404
            return None

    def listed(self, kind, **selector):
        return self.call("list %s in namespace %s" % (kind.plural, self.name), kind.lister, self.name, **selector).items

    # ------------------------------------------------------------ the steps
    def run(self):
        try:
            return self._run()
        except CallFailed as exc:
            return self.outcome("failed", self.what_may_remain(), "cannot %s: %s" % (exc.what, reason(exc.error)))

    def _run(self):
        namespace = self.read_namespace()
        if namespace is None:
            return self.outcome("done", [], "namespace %s does not exist: nothing to delete" % self.name)
        refusal = self.refusal(Holder.of(namespace))
        if refusal:
            return refusal
        if Holder.of(namespace).terminating:
            return self.wait_for_terminating()

        ours, foreign, unknown = self.inventory()
        # What was listed is this holder's only if no other run claimed the namespace meanwhile.
        namespace, taken = self.still_held(namespace)
        if taken:
            return taken
        problems = self.delete_ours(ours) + unknown
        if problems:
            return self.outcome("failed", self.what_may_remain(),
                                "could not delete every object of the run in namespace %s, so the namespace is left: "
                                "%s" % (self.name, "; ".join(problems)))
        if foreign and not self.force:
            return self.outcome(
                "failed", ["Namespace//%s" % self.name] + foreign,
                "namespace %s holds objects this collection did not create: %s. The run's own objects are deleted; "
                "the namespace is left so that they are not deleted with it. Move or delete them, or run the cleanup "
                "again with cleanup_force=true to delete the namespace with them"
                % (self.name, ", ".join(foreign)))
        return self.delete_namespace()

    def refusal(self, holder):
        """The outcome when this release must leave the namespace to whoever holds it, else None."""
        if not holder.owned:
            return self.outcome("skipped", [], "namespace %s is not owned by %s (no label %s): left as it is"
                                % (self.name, MANAGED_BY_VALUE, MANAGED_BY_SELECTOR))
        if self.run_id is not None and holder.run_id != self.run_id:
            return self.outcome("skipped", [], "namespace %s is held by run %s, not this run (%s): left as it is"
                                % (self.name, holder.run_id or "?", self.run_id))
        if self.claim_token is not None and holder.claim_token != self.claim_token:
            return self.outcome("skipped", [], "namespace %s is held by another run with the same run id (%s): its "
                                "claim token is not this run's; left as it is" % (self.name, holder.describe()))
        live = not holder.terminating and not is_abandoned(holder, utcnow(), owner_is_gone(holder.owner))
        if self.refuse_live and live:
            return self.outcome("failed", [], "namespace %s is in use by %s: that run is still alive and cleans up "
                                "after itself; nothing was deleted" % (self.name, holder.describe()))
        return None

    def still_held(self, namespace):
        """(the namespace read again, None) while the holder first read still holds it, else (None, the outcome):
        another run claimed it, or it is gone."""
        now = self.read_namespace()
        if now is None:
            return None, self.outcome("done", [], "namespace %s was deleted meanwhile: nothing to delete" % self.name)
        if same_holder(namespace, now):
            self.namespace_read = now
            return now, None
        return None, self.outcome("skipped", [], "namespace %s was claimed by %s while the cleanup ran: nothing more "
                                  "is deleted, the namespace is left to that run" % (self.name, Holder.of(now).describe()))

    def wait_for_terminating(self):
        if not self.wait:
            return self.outcome("done", [], "namespace %s is already being deleted" % self.name)
        if self.wait_until_gone():
            return self.outcome("done", [], "namespace %s, already being deleted, is gone" % self.name)
        return self.outcome("failed", self.what_may_remain(), "namespace %s is still terminating after %s seconds "
                            "(cleanup_timeout)" % (self.name, self.timeout))

    def inventory(self):
        """This collection's objects, others' objects ("<Kind>/<namespace>/<name>"), and the kinds that could not
        be listed (with the reason): what cannot be seen cannot be said to be ours."""
        ours, foreign, unknown = [], [], []
        for kind in self.kinds:
            try:
                objects = self.listed(kind)
            except CallFailed as exc:
                if not secrets_not_granted(kind, exc.error):
                    unknown.append("cannot list %s: %s" % (kind.plural, reason(exc.error)))
                continue
            for obj in objects:
                if is_ours(obj) and kind.deleter:
                    ours.append((kind, obj))
                elif not is_ours(obj) and not is_built_in(kind.kind, obj):
                    foreign.append("%s/%s/%s" % (kind.kind, self.name, obj.metadata.name))
        return ours, foreign, unknown

    def delete_ours(self, ours):
        """Delete the run's objects as listed, pods first and at once (grace 0: nothing in them needs saving)."""
        problems = []
        for kind, obj in ours:
            label = "%s/%s/%s" % (kind.kind, self.name, obj.metadata.name)
            if self.check_mode:
                self.deleted.append(label)
                continue
            try:
                self.call("delete %s" % label, kind.deleter, obj.metadata.name, self.name,
                          body=delete_options(kind, obj))
                self.deleted.append(label)
            except ApiException:  # 404: already gone
                self.deleted.append(label)
            except CallFailed as exc:
                if isinstance(exc.error, ApiException) and exc.error.status == 409:
                    problems.append("%s was replaced or changed by someone else since it was listed: left to them"
                                    % label)
                else:
                    problems.append("%s: %s" % (label, reason(exc.error)))
        return problems

    def delete_namespace(self):
        if self.check_mode:
            self.deleted.append("Namespace//%s" % self.name)
            return self.outcome("done", [], "namespace %s and the run's objects would be deleted" % self.name)
        for _attempt in range(MAX_CONFLICTS):
            read = self.namespace_read.metadata
            try:
                self.call("delete namespace %s" % self.name, self.core.delete_namespace, self.name,
                          body={"propagationPolicy": "Background",
                                "preconditions": {"uid": read.uid, "resourceVersion": read.resource_version}})
                break
            except ApiException:  # 404: already gone
                break
            except CallFailed as exc:
                if not (isinstance(exc.error, ApiException) and exc.error.status == 409):
                    raise
            # 409: the namespace changed since it was read; deleted only while the same run still holds it.
            unused_namespace, taken = self.still_held(self.namespace_read)
            if taken:
                return taken
        else:
            return self.outcome("failed", self.what_may_remain(), "namespace %s changed %d times while the cleanup "
                                "deleted it: left as it is" % (self.name, MAX_CONFLICTS))
        self.deleted.append("Namespace//%s" % self.name)
        if not self.wait:
            return self.outcome("done", [], "namespace %s deleted; Kubernetes finishes removing it in the background"
                                % self.name)
        if self.wait_until_gone():
            return self.outcome("done", [], "namespace %s and the run's objects deleted" % self.name)
        return self.outcome("failed", self.what_may_remain(),
                            "namespace %s is still terminating after %s seconds (cleanup_timeout): Kubernetes may "
                            "still remove it; check it with: kubectl get namespace %s -o yaml"
                            % (self.name, self.timeout, self.name))

    def wait_until_gone(self):
        """Watch the namespace until it is gone or the deadline passes; True when gone."""
        while self.clock() < self.deadline:
            namespace = self.read_namespace()
            if namespace is None:
                return True
            remaining = max(1, int(self.deadline - self.clock()))
            if self.watch is None:
                self.sleep(POLL_SECONDS)
                continue
            try:
                # The server ends the watch after timeout_seconds; stream_until, however slowly it sends events.
                events = self.watch(self.core.list_namespace, field_selector="metadata.name=%s" % self.name,
                                    resource_version=namespace.metadata.resource_version,
                                    timeout_seconds=remaining, _request_timeout=remaining + 5)
                for event in stream_until(events, self.deadline, self.clock):
                    if event["type"] == "DELETED":
                        return True
            except ApiException as exc:
                if exc.status in (401, 403):  # allowed to read it but not to watch it: read it again and again
                    self.watch = None
            except Exception as exc:  # pylint: disable=broad-except  # a broken watch: read again
                if not is_transient(exc):
                    raise CallFailed("watch namespace %s" % self.name, exc)
        try:
            return self.read_namespace() is None
        except CallFailed:
            return False

    def what_may_remain(self):
        """What is still there, as far as the API says; the namespace alone when even that cannot be read."""
        try:
            namespace = self.call("read namespace %s" % self.name, self.core.read_namespace, self.name)
        except ApiException:
            return []
        except CallFailed:
            return ["Namespace//%s" % self.name]
        left = ["Namespace//%s" % self.name]
        for kind in self.kinds:
            try:
                left += ["%s/%s/%s" % (kind.kind, self.name, obj.metadata.name)
                         for obj in self.listed(kind, label_selector=MANAGED_BY_SELECTOR)]
            except CallFailed:
                continue
        return left

    def outcome(self, status, left_behind, message):
        return dict(status=status, left_behind=left_behind, message=message, deleted=list(self.deleted))


def same_holder(before, after):
    """The same namespace (uid) held by the same run: same run id, claim token, owner and start."""
    def identity(namespace):
        holder = Holder.of(namespace)
        return (getattr(namespace.metadata, "uid", None), holder.owned, holder.run_id, holder.claim_token,
                holder.owner, holder.started_at)
    return identity(before) == identity(after)


def delete_options(kind, obj):
    """DeleteOptions that delete ``obj`` only as it was listed: the same object (uid), and for kinds that can be
    changed in place, the same version (resourceVersion) too; a pod's status changes all the time, its spec not."""
    preconditions = {"uid": obj.metadata.uid}
    if kind.kind != "Pod":
        preconditions["resourceVersion"] = obj.metadata.resource_version
    options = {"preconditions": preconditions}
    if kind.kind == "Pod":
        options["gracePeriodSeconds"] = 0
    return options


class CallFailed(Exception):
    def __init__(self, what, error):
        super(CallFailed, self).__init__("%s: %s" % (what, error))
        self.what, self.error = what, error
