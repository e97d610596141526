#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: namespace_claim
short_description: Claim the simulation namespace for one run, so that two runs never share it
version_added: 1.0.0
description:
  - Creates the namespace labelled as owned by this collection and stamped with the run id, the owner
    (controller host and C(ansible-playbook) process id) and the time after which the claim expires.
  - The namespace is the lock. Creation is atomic, so of two runs started at once only one gets it.
  - A namespace that exists without this collection's label is never used or changed; the module fails.
  - A namespace held by another run that is still alive makes the module wait up to O(wait_timeout)
    seconds, then fail with the holder's run id, start time and owner.
  - A namespace held by a run that is gone (its claim expired, or its C(ansible-playbook) process on this
    same controller no longer exists, as after a killed run) is taken over; RV(taken_over) names that run
    so that the caller replaces its leftover objects.
author:
  - Contributors to defender.attack_simulation (!UNKNOWN)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
  - defender.attack_simulation.attributes
attributes:
  check_mode:
    details: Reads the namespace and reports what a real run would do; creates and changes nothing.
options:
  name:
    description: The namespace.
    type: str
    required: true
  run_id:
    description: The run that claims the namespace.
    type: str
    required: true
  owner:
    description:
      - Who runs the simulation, as C(host:pid) of the C(ansible-playbook) process.
      - Used to tell a killed run from a live one on the same controller.
    type: str
    required: true
  expires_in:
    description: Seconds after which the claim counts as abandoned even if its owner cannot be checked.
    type: int
    default: 3600
  wait_timeout:
    description: Seconds to wait for another live run to release the namespace; V(0) refuses at once.
    type: int
    default: 0
  labels:
    description: Extra labels for the namespace.
    type: dict
    default: {}
  annotations:
    description: Extra annotations for the namespace.
    type: dict
    default: {}
requirements:
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: Claim mdc-simulation for this run
  defender.attack_simulation.namespace_claim:
    name: mdc-simulation
    run_id: "{{ simulation_run_id }}"
    owner: "{{ lookup('defender.attack_simulation.run_owner') }}"
  register: claim
"""

RETURN = r"""
namespace:
  description: The claimed namespace's name, labels and annotations.
  returned: success
  type: dict
  sample:
    name: mdc-simulation
    labels:
      app.kubernetes.io/managed-by: defender.attack_simulation
      defender.attack-simulation/run-id: 20261128-101500-ab12cd
created:
  description: Whether the namespace was created by this call (or would be, in check mode).
  returned: success
  type: bool
taken_over:
  description: The run id of an abandoned earlier run whose namespace this run took over, else null.
  returned: success
  type: str
  sample: 20261128-090000-ff00aa
"""

import datetime
import os
import socket
import time

from ansible_collections.kubernetes.core.plugins.module_utils.ansiblemodule import AnsibleModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import (
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    RUN_ID_LABEL,
    ApiException,
    KubeError,
    api_reason,
    auth_argument_spec,
    core_api,
)

OWNER = "defender.attack-simulation/owner"
STARTED_AT = "defender.attack-simulation/started-at"
EXPIRES_AT = "defender.attack-simulation/expires-at"
POLL_SECONDS = 3
# How much longer than for a live run to wait for a namespace an earlier cleanup is still deleting.
TERMINATING_GRACE = 300


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def isoformat(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text):
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def owner_is_gone(owner):
    """True when ``owner`` (host:pid) ran on this controller and its process no longer exists."""
    host, _sep, pid = (owner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def is_abandoned(namespace):
    annotations = namespace.metadata.annotations or {}
    expires = parse_time(annotations.get(EXPIRES_AT))
    return (expires is not None and expires < utcnow()) or owner_is_gone(annotations.get(OWNER))


def describe_holder(namespace):
    annotations = namespace.metadata.annotations or {}
    return "run %s (started %s by %s, claim expires %s)" % (
        (namespace.metadata.labels or {}).get(RUN_ID_LABEL, "?"), annotations.get(STARTED_AT, "?"),
        annotations.get(OWNER, "?"), annotations.get(EXPIRES_AT, "?"))


def claimed_metadata(params):
    now = utcnow()
    labels = dict(params["labels"])
    labels.update({MANAGED_BY_LABEL: MANAGED_BY_VALUE, RUN_ID_LABEL: params["run_id"]})
    annotations = dict(params["annotations"])
    annotations.update({OWNER: params["owner"], STARTED_AT: isoformat(now),
                        EXPIRES_AT: isoformat(now + datetime.timedelta(seconds=params["expires_in"]))})
    return {"name": params["name"], "labels": labels, "annotations": annotations}


def summary(metadata):
    return {"name": metadata["name"], "labels": metadata["labels"], "annotations": metadata["annotations"]}


class NamespaceClaim:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.api = core_api(module)
        self.name = self.params["name"]

    def read(self):
        try:
            return self.api.read_namespace(self.name)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise KubeError("namespace %s: cannot read it: %s" % (self.name, api_reason(exc)))

    def create(self):
        metadata = claimed_metadata(self.params)
        if not self.module.check_mode:
            self.api.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": metadata})
        return dict(changed=True, created=True, taken_over=None, namespace=summary(metadata))

    def take_over(self, namespace):
        previous = (namespace.metadata.labels or {}).get(RUN_ID_LABEL)
        metadata = claimed_metadata(self.params)
        metadata["resourceVersion"] = namespace.metadata.resource_version
        if not self.module.check_mode:
            # resourceVersion makes this a compare-and-swap: of two runs taking over, one gets 409.
            self.api.patch_namespace(self.name, {"metadata": metadata})
        return dict(changed=True, created=False, taken_over=previous, namespace=summary(metadata))

    def claim(self):
        deadline = time.monotonic() + self.params["wait_timeout"]
        while True:
            namespace = self.read()
            try:
                if namespace is None:
                    return self.create()
                labels = namespace.metadata.labels or {}
                if labels.get(MANAGED_BY_LABEL) != MANAGED_BY_VALUE:
                    raise KubeError(
                        "namespace %s exists and is not owned by %s (it lacks the label %s=%s): refusing to use "
                        "or change it; choose another namespace with the variable simulation_namespace"
                        % (self.name, MANAGED_BY_VALUE, MANAGED_BY_LABEL, MANAGED_BY_VALUE))
                if namespace.status.phase == "Terminating":
                    if time.monotonic() >= deadline + TERMINATING_GRACE:
                        raise KubeError("namespace %s is still terminating after %s seconds"
                                        % (self.name, self.params["wait_timeout"] + TERMINATING_GRACE))
                elif labels.get(RUN_ID_LABEL) == self.params["run_id"]:
                    return dict(changed=False, created=False, taken_over=None,
                                namespace=summary({"name": self.name, "labels": labels,
                                                   "annotations": namespace.metadata.annotations or {}}))
                elif is_abandoned(namespace):
                    return self.take_over(namespace)
                elif time.monotonic() >= deadline:
                    raise KubeError(
                        "namespace %s is in use by %s: another simulation is running against this cluster; "
                        "wait for it to finish, use another namespace, or let this run wait (wait_timeout; deploy_wait_timeout "
                        "in the deploy role)"
                        % (self.name, describe_holder(namespace)))
            except ApiException as exc:
                if exc.status != 409:  # 409: another run won the race; look again
                    raise KubeError("namespace %s: cannot claim it: %s" % (self.name, api_reason(exc)))
            time.sleep(POLL_SECONDS)


def main():
    spec = auth_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        run_id=dict(type="str", required=True),
        owner=dict(type="str", required=True),
        expires_in=dict(type="int", default=3600),
        wait_timeout=dict(type="int", default=0),
        labels=dict(type="dict", default={}),
        annotations=dict(type="dict", default={}),
    )
    module = AnsibleK8SModule(module_class=AnsibleModule, argument_spec=spec, supports_check_mode=True)
    try:
        result = NamespaceClaim(module).claim()
    except KubeError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
