#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: manifests_apply
short_description: Apply the simulation's objects in one namespace with server-side apply, replacing stale pods
version_added: 1.0.0
description:
  - Applies each manifest of O(manifests) in O(namespace) with server-side apply (field manager
    C(defender.attack_simulation), conflicts forced), in the order given.
  - Applies only the kinds a simulation creates (ServiceAccount, Service, Pod, Secret, NetworkPolicy); any other kind,
    a manifest without a name or one for another namespace is refused before anything is sent.
  - An object of the same name that exists without the label C(app.kubernetes.io/managed-by=defender.attack_simulation)
    is not this collection's; the module fails naming it and leaves it as it is.
  - Pods cannot be changed in place. A pod of the same name that belongs to another run (its label
    C(defender.attack-simulation/run-id) is not O(run_id)), has ended (V(Succeeded) or V(Failed)) or is being deleted
    is deleted at once (grace period 0) and waited gone, up to O(pod_delete_timeout) seconds, before the new one is
    applied.
  - Errors name the object (C(Kind/namespace/name)) and the API server's reason.
  - The result never contains the manifests, so a Secret's data is not shown; apply a Secret in a task with
    C(no_log) all the same, so that its arguments are not shown either.
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
    details: The API server's dry run (C(dryRun=All)) of each apply and of each pod deletion; nothing is written.
      A pod that would be replaced is reported in RV(replaced) and its new manifest is not dry-run, since the old
      pod is still there; nor is a new pod whose ServiceAccount is new too (the API server would not admit it before
      the account exists).
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Applying the same manifests again for the same run changes nothing and reports no change.
options:
  namespace:
    description: The namespace of every object; a manifest may leave its namespace out.
    type: str
    required: true
  manifests:
    description: The objects to apply, as dictionaries with C(apiVersion), C(kind) and C(metadata.name).
    type: list
    elements: dict
    required: true
  run_id:
    description: The run the objects belong to; a pod of the same name labelled with another run is replaced.
    type: str
    required: true
  pod_delete_timeout:
    description: Seconds to wait for a replaced pod to be gone.
    type: int
    default: 120
requirements:
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: Apply the victim's service account, services, network policies and pods
  defender.attack_simulation.manifests_apply:
    namespace: mdc-simulation
    run_id: "{{ simulation_run_id }}"
    manifests: "{{ deploy_variables | defender.attack_simulation.deploy_manifests }}"
  register: applied

- name: Store registry credentials for the pods, keeping them out of the output
  defender.attack_simulation.manifests_apply:
    namespace: mdc-simulation
    run_id: "{{ simulation_run_id }}"
    manifests:
      - "{{ deploy_variables | defender.attack_simulation.deploy_registry_secret }}"
  no_log: true
"""

RETURN = r"""
created:
  description: The objects created (or that would be, in check mode), as C(Kind/namespace/name).
  returned: success
  type: list
  elements: str
  sample: [ServiceAccount/mdc-simulation/mdc-simulation-victim, Pod/mdc-simulation/mdc-simulation-victim]
updated:
  description: The objects that existed and were changed by the apply (or would be, in check mode).
  returned: success
  type: list
  elements: str
unchanged:
  description: The objects that existed and were already as applied.
  returned: success
  type: list
  elements: str
replaced:
  description:
    - The pods of another run, ended or being deleted that were deleted before their new manifest was applied
      (or would be, in check mode).
    - A replaced pod is also in RV(created) once its new manifest is applied.
  returned: success
  type: list
  elements: str
  sample: [Pod/mdc-simulation/mdc-simulation-attacker]
"""

from ansible_collections.kubernetes.core.plugins.module_utils.ansiblemodule import AnsibleModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.defender.attack_simulation.plugins.module_utils._apply import apply_manifests
from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import (
    api_client,
    auth_argument_spec,
    failures_told,
)


def argument_spec():
    spec = auth_argument_spec()
    spec.update(
        namespace=dict(type="str", required=True),
        manifests=dict(type="list", elements="dict", required=True),
        run_id=dict(type="str", required=True),
        pod_delete_timeout=dict(type="int", default=120),
    )
    return spec


def execute_module(module):
    params = module.params
    result = apply_manifests(api_client(module), params["manifests"], params["namespace"], params["run_id"],
                             check_mode=module.check_mode, delete_timeout=params["pod_delete_timeout"])
    module.exit_json(**result)


def main():
    module = AnsibleK8SModule(module_class=AnsibleModule, argument_spec=argument_spec(), supports_check_mode=True)
    with failures_told(module):
        execute_module(module)


if __name__ == "__main__":
    main()
