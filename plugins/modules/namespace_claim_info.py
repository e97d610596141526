#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: namespace_claim_info
short_description: Tell which run holds the simulation namespace, and whether that run is still alive
version_added: 1.0.0
description:
  - Reads the namespace's claim as M(defender.attack_simulation.namespace_claim) wrote it and judges it the way
    a claim does, so that the cleanup playbook refuses to delete a live run's namespace.
  - A run is live while its claim has not expired and, when it ran on this controller, its C(ansible-playbook)
    process still exists.
  - In a namespace an administrator provided (labelled C(defender.attack-simulation/provided=true)), the claim
    is read from the Lease C(mdc-simulation-claim) in it; V(null) when there is none.
  - Reads only; safe in check mode.
author:
  - Contributors to defender.attack_simulation (!UNKNOWN)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - defender.attack_simulation._attributes
  - defender.attack_simulation._attributes.info_module
  - defender.attack_simulation._attributes.idempotent_not_modify_state
  - defender.attack_simulation._attributes.actiongroup_k8s
  - defender.attack_simulation.kube_request
options:
  name:
    description: The namespace.
    type: str
    required: true
requirements:
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: Look at who holds mdc-simulation
  defender.attack_simulation.namespace_claim_info:
    name: mdc-simulation
  register: claim

- name: Refuse to clean up a live run
  ansible.builtin.fail:
    msg: "namespace mdc-simulation is in use by {{ claim.holder.description }}"
  when: claim.holder.live | default(false)
"""

RETURN = r"""
holder:
  description: The run that holds the namespace, or null when the namespace does not exist.
  returned: success
  type: dict
  contains:
    run_id:
      description: The holding run's id, null when the namespace carries none.
      type: str
      sample: 20261128-101500-ab12cd
    owner:
      description: The C(host:pid) of the holding run's C(ansible-playbook) process.
      type: str
    started_at:
      description: When the holding run claimed the namespace (UTC).
      type: str
    expires_at:
      description: When the claim counts as abandoned (UTC).
      type: str
    owned:
      description: Whether the namespace carries this collection's label.
      type: bool
    terminating:
      description: Whether the namespace is being deleted.
      type: bool
    live:
      description: Whether the holding run is still alive, as M(defender.attack_simulation.namespace_claim) judges it.
      type: bool
    description:
      description: The holder in words, for messages.
      type: str
      sample: run 20261128-101500-ab12cd (started 2026-11-28T10:15:00Z by ctl:4242, claim expires 2026-11-28T11:15:00Z)
"""

from ansible_collections.kubernetes.core.plugins.module_utils.ansiblemodule import AnsibleModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.defender.attack_simulation.plugins.module_utils._claim import holder_info, read_holder
from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import (
    auth_argument_spec,
    core_api,
    coordination_api,
    failures_told,
)
from ansible_collections.defender.attack_simulation.plugins.module_utils._namespace_modes import holder_lock
from ansible_collections.defender.attack_simulation.plugins.module_utils._time import utcnow


def argument_spec():
    spec = auth_argument_spec()
    spec["name"] = dict(type="str", required=True)
    return spec


def execute_module(module):
    core = core_api(module)
    lock = holder_lock(core, coordination_api(module, core.api_client), module.params["name"])
    holder = read_holder(lock, module.params["name"])
    module.exit_json(changed=False, holder=holder_info(holder, utcnow()))


def main():
    module = AnsibleK8SModule(module_class=AnsibleModule, argument_spec=argument_spec(), supports_check_mode=True)
    with failures_told(module):
        execute_module(module)


if __name__ == "__main__":
    main()
