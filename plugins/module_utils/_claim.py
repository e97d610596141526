# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The simulation namespace as a run's lock: who holds it, whether that run is gone, and what a claim does.

``decide`` is the whole judgement, a pure function of what was read (``Holder``), the clock and the wait so far;
``NamespaceClaim`` reads, acts on the decision and loops. ``namespace_claim`` and ``namespace_claim_info`` (the
cleanup playbook's check) share both, so a claim and a cleanup judge a live run the same way."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import socket
import time
from collections import namedtuple

from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import (
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    RUN_ID_LABEL,
    ApiException,
    KubeError,
    api_call,
    api_reason,
)
from ansible_collections.defender.attack_simulation.plugins.module_utils._time import (
    format_time,
    parse_time_or_none,
    utcnow,
)

OWNER = "defender.attack-simulation/owner"
STARTED_AT = "defender.attack-simulation/started-at"
EXPIRES_AT = "defender.attack-simulation/expires-at"
# A value unique to one run invocation: a run id can be given (-e simulation_run_id=...) and so can repeat.
CLAIM_TOKEN = "defender.attack-simulation/claim-token"
POLL_SECONDS = 3
# How much longer than for a live run to wait for a namespace an earlier cleanup is still deleting.
TERMINATING_GRACE = 300
# Each 409 means another run changed the namespace between our read and our write; a few in a row is a fight.
MAX_CONFLICTS = 5

CREATE, KEEP, TAKE_OVER, WAIT, REFUSE = "create", "keep", "take_over", "wait", "refuse"
Decision = namedtuple("Decision", "action reason")


class Holder(namedtuple("Holder", "name owned run_id owner started_at expires_at terminating resource_version "
                                  "labels annotations claim_token uid")):
    """What the namespace says about the run that holds it."""

    @classmethod
    def of(cls, namespace):
        """The holder read from a V1Namespace, or None when there is no namespace."""
        if namespace is None:
            return None
        labels = dict(namespace.metadata.labels or {})
        annotations = dict(namespace.metadata.annotations or {})
        return cls(name=namespace.metadata.name, owned=labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE,
                   run_id=labels.get(RUN_ID_LABEL), owner=annotations.get(OWNER),
                   started_at=annotations.get(STARTED_AT), expires_at=annotations.get(EXPIRES_AT),
                   terminating=getattr(namespace.status, "phase", None) == "Terminating",
                   resource_version=namespace.metadata.resource_version, labels=labels, annotations=annotations,
                   claim_token=annotations.get(CLAIM_TOKEN), uid=getattr(namespace.metadata, "uid", None))

    def is_held_by(self, run_id, owner, claim_token):
        """This invocation holds it: the same run id, owner and claim token (a repeated run id alone is not enough)."""
        return self.run_id == run_id and self.owner == owner and self.claim_token == claim_token

    def describe(self):
        return "run %s (started %s by %s, claim expires %s)" % (
            self.run_id or "?", self.started_at or "?", self.owner or "?", self.expires_at or "?")


def owner_is_gone(owner, hostname=None):
    """True when ``owner`` (host:pid) ran on this controller and its process no longer exists.

    A run on another controller cannot be checked from here: it counts as alive until its claim expires."""
    host, _sep, pid = (owner or "").rpartition(":")
    if host != (hostname or socket.gethostname()) or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # the process exists, under another user
        return False
    return False


def is_abandoned(holder, now, owner_gone):
    """The holding run is gone: its claim expired, or its process on this controller no longer exists."""
    expires = parse_time_or_none(holder.expires_at)
    return (expires is not None and expires < now) or owner_gone


def decide(holder, run_id, now, owner_gone, waited, wait_timeout, owner=None, claim_token=None):
    """What a claim by ``run_id`` (its ``owner`` and ``claim_token``) does with the namespace as read (``holder``,
    None when there is none), after ``waited`` of ``wait_timeout`` seconds; ``owner_gone`` is
    ``owner_is_gone(holder.owner)``."""
    if holder is None:
        return Decision(CREATE, "the namespace does not exist")
    if not holder.owned:
        return Decision(REFUSE, "namespace %s exists and is not owned by %s (it lacks the label %s=%s): refusing to "
                                "use or change it; choose another namespace with the variable simulation_namespace"
                        % (holder.name, MANAGED_BY_VALUE, MANAGED_BY_LABEL, MANAGED_BY_VALUE))
    if holder.terminating:
        if waited >= wait_timeout + TERMINATING_GRACE:
            return Decision(REFUSE, "namespace %s is still terminating after %s seconds"
                            % (holder.name, wait_timeout + TERMINATING_GRACE))
        return Decision(WAIT, "namespace %s is being deleted" % holder.name)
    if holder.is_held_by(run_id, owner, claim_token):
        return Decision(KEEP, "namespace %s is already held by this run" % holder.name)
    if is_abandoned(holder, now, owner_gone):
        return Decision(TAKE_OVER, "namespace %s is held by %s, which is gone" % (holder.name, holder.describe()))
    if waited >= wait_timeout:
        same_id = " (another run with the same run id)" if holder.run_id == run_id else ""
        return Decision(REFUSE, "namespace %s is in use by %s%s: another simulation is running against this cluster; "
                                "wait for it to finish, use another namespace, or let this run wait (wait_timeout; "
                                "deploy_wait_timeout in the deploy role)" % (holder.name, holder.describe(), same_id))
    return Decision(WAIT, "namespace %s is in use by %s" % (holder.name, holder.describe()))


def claimed_metadata(name, run_id, owner, expires_in, labels, annotations, now, claim_token=None):
    labels = dict(labels)
    labels.update({MANAGED_BY_LABEL: MANAGED_BY_VALUE, RUN_ID_LABEL: run_id})
    annotations = dict(annotations)
    annotations.update({OWNER: owner, STARTED_AT: format_time(now),
                        EXPIRES_AT: format_time(now + datetime.timedelta(seconds=expires_in))})
    if claim_token:
        annotations[CLAIM_TOKEN] = claim_token
    return {"name": name, "labels": labels, "annotations": annotations}


def summary(metadata):
    return {"name": metadata["name"], "labels": metadata["labels"], "annotations": metadata["annotations"]}


def holder_info(holder, now):
    """The holder as the info module returns it, with ``live`` judged as a claim would judge it."""
    if holder is None:
        return None
    return {"run_id": holder.run_id, "owner": holder.owner, "started_at": holder.started_at,
            "expires_at": holder.expires_at, "owned": holder.owned, "terminating": holder.terminating,
            "live": holder.owned and not holder.terminating
            and not is_abandoned(holder, now, owner_is_gone(holder.owner)),
            "description": holder.describe()}


def read_holder(api, name):
    """The namespace's holder, None when the namespace does not exist."""
    try:
        return Holder.of(api_call(api.read_namespace, name))
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise KubeError("namespace %s: cannot read it: %s" % (name, api_reason(exc)))


class NamespaceClaim:
    """Claims namespace ``name`` for ``run_id``: reads, decides, acts, and reads again after a wait or a 409."""

    def __init__(self, api, name, run_id, owner, expires_in=3600, wait_timeout=0, labels=None, annotations=None,
                 check_mode=False, sleep=time.sleep, clock=time.monotonic, claim_token=None):
        self.api = api
        self.name = name
        self.run_id = run_id
        self.owner = owner
        self.claim_token = claim_token
        self.expires_in = expires_in
        self.wait_timeout = wait_timeout
        self.labels = labels or {}
        self.annotations = annotations or {}
        self.check_mode = check_mode
        self.sleep = sleep
        self.clock = clock

    def metadata(self):
        return claimed_metadata(self.name, self.run_id, self.owner, self.expires_in, self.labels, self.annotations,
                                utcnow(seconds_only=True), claim_token=self.claim_token)

    def create(self):
        metadata = self.metadata()
        if not self.check_mode:
            api_call(self.api.create_namespace, {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata})
        return dict(changed=True, created=True, taken_over=None, namespace=summary(metadata))

    def take_over(self, holder):
        metadata = self.metadata()
        metadata["resourceVersion"] = holder.resource_version
        patch = {"metadata": dict(metadata, annotations=dict(metadata["annotations"]))}
        # A patch changes only what it names: the gone run's token is removed, or a run without one would keep it.
        patch["metadata"]["annotations"].setdefault(CLAIM_TOKEN, None)
        if not self.check_mode:
            # resourceVersion makes this a compare-and-swap: of two runs taking over, one gets 409.
            api_call(self.api.patch_namespace, self.name, patch)
        return dict(changed=True, created=False, taken_over=holder.run_id, namespace=summary(metadata))

    def keep(self, holder):
        return dict(changed=False, created=False, taken_over=None,
                    namespace=summary({"name": self.name, "labels": holder.labels, "annotations": holder.annotations}))

    def claim(self):
        started = self.clock()
        conflicts = 0
        while True:
            holder = read_holder(self.api, self.name)
            decision = decide(holder, self.run_id, utcnow(), holder is not None and owner_is_gone(holder.owner),
                              self.clock() - started, self.wait_timeout, owner=self.owner,
                              claim_token=self.claim_token)
            if decision.action == REFUSE:
                raise KubeError(decision.reason)
            if decision.action == WAIT:
                self.sleep(POLL_SECONDS)
                continue
            try:
                if decision.action == CREATE:
                    return self.create()
                if decision.action == TAKE_OVER:
                    return self.take_over(holder)
                return self.keep(holder)
            except ApiException as exc:
                if exc.status != 409:
                    raise KubeError("namespace %s: cannot claim it: %s" % (self.name, api_reason(exc)))
                conflicts += 1  # another run won the race: look again
                if conflicts >= MAX_CONFLICTS:
                    raise KubeError("namespace %s: changed by another run %d times while this run claimed it"
                                    % (self.name, conflicts))
