#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

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
  - With O(mode=provided) the namespace is one an administrator created and labelled
    C(defender.attack-simulation/provided=true); the claim is then the Lease C(mdc-simulation-claim) in it,
    created, waited for and taken over the same way, and the namespace itself is never changed. A namespace
    that does not exist or lacks that label is refused, naming what the administrator must do. In O(mode=create)
    a namespace with that label is refused (the run's cleanup would delete it).
  - A namespace held by another run that is still alive makes the module wait up to O(wait_timeout)
    seconds, then fail with the holder's run id, start time and owner.
  - The namespace counts as this run's own only when its run id, owner and O(claim_token) are all this run's. A run
    id can be given (C(-e simulation_run_id=...)) and so can repeat; a second run with the same run id is another
    run.
  - A namespace held by a run that is gone (its claim expired, or its C(ansible-playbook) process on this
    same controller no longer exists, as after a killed run) is taken over; RV(taken_over) names that run
    so that the caller replaces its leftover objects.
author:
  - Contributors to defender.attack_simulation (!UNKNOWN)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - defender.attack_simulation._attributes
  - defender.attack_simulation._attributes.actiongroup_k8s
  - defender.attack_simulation.kube_request
attributes:
  check_mode:
    support: full
    details: Reads the namespace and reports what a real run would do; creates and changes nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: A second claim by the run that holds the namespace changes nothing and reports no change.
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
  claim_token:
    description:
      - A value unique to this run invocation (the prerequisites role makes one, C(simulation_claim_token)), stored
        in the annotation C(defender.attack-simulation/claim-token).
      - A namespace is this run's own only when it carries this token, whatever the run id; give the same token to
        M(defender.attack_simulation.namespace_release).
      - Without it, the run id and the owner decide.
    type: str
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
  mode:
    description:
      - V(create), the run creates the namespace (or takes it over from a run that is gone); the namespace holds
        the claim.
      - V(provided), an administrator created the namespace for simulations; a Lease in it holds the claim.
    type: str
    choices: [create, provided]
    default: create
requirements:
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: Claim mdc-simulation for this run
  defender.attack_simulation.namespace_claim:
    name: mdc-simulation
    run_id: "{{ simulation_run_id }}"
    owner: "{{ lookup('defender.attack_simulation.run_owner') }}"
    claim_token: "{{ simulation_claim_token }}"
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

from ansible_collections.kubernetes.core.plugins.module_utils.ansiblemodule import AnsibleModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.defender.attack_simulation.plugins.module_utils._claim import NamespaceClaim
from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import (
    auth_argument_spec,
    core_api,
    coordination_api,
    failures_told,
)
from ansible_collections.defender.attack_simulation.plugins.module_utils._namespace_modes import claim_lock
from ansible_collections.defender.attack_simulation.plugins.module_utils._permissions import MODES


def argument_spec():
    spec = auth_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        run_id=dict(type="str", required=True),
        owner=dict(type="str", required=True),
        claim_token=dict(type="str", no_log=False),
        expires_in=dict(type="int", default=3600),
        wait_timeout=dict(type="int", default=0),
        labels=dict(type="dict", default={}),
        annotations=dict(type="dict", default={}),
        mode=dict(type="str", choices=list(MODES), default=MODES[0]),
    )
    return spec


def execute_module(module):
    params = module.params
    core = core_api(module)
    lock = claim_lock(params["mode"], core, coordination_api(module, core.api_client), params["name"])
    result = NamespaceClaim(lock, params["name"], params["run_id"], params["owner"],
                            expires_in=params["expires_in"], wait_timeout=params["wait_timeout"],
                            labels=params["labels"], annotations=params["annotations"],
                            check_mode=module.check_mode, claim_token=params["claim_token"]).claim()
    module.exit_json(**result)


def main():
    module = AnsibleK8SModule(module_class=AnsibleModule, argument_spec=argument_spec(), supports_check_mode=True)
    with failures_told(module):
        execute_module(module)


if __name__ == "__main__":
    main()
