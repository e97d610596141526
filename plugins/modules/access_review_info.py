#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: access_review_info
short_description: Ask the API server which of a list of actions the caller may do
version_added: 1.0.0
description:
  - Reviews the whole list in one module run, with one C(SelfSubjectAccessReview) per action sent side by
    side, and returns the actions that are allowed and those that are denied, each with the API server's reason.
  - Nothing is stored in the cluster; safe to run in check mode.
  - The prerequisites role uses it to name exactly the permissions a simulation run is missing.
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
  actions:
    description: The actions to review.
    type: list
    elements: dict
    required: true
    suboptions:
      verb:
        description: The API verb, for example V(create) or V(delete).
        type: str
        required: true
      resource:
        description: The resource, plural, for example V(pods) or V(networkpolicies).
        type: str
        required: true
      subresource:
        description: A subresource such as V(exec).
        type: str
        default: ''
      name:
        description:
          - The object's name, for a permission limited to named objects (C(resourceNames) in a Role); empty for
            any object.
        type: str
        default: ''
      group:
        description: The API group; empty for the core group.
        type: str
        default: ''
      namespace:
        description: The namespace; empty for cluster-scoped resources or all namespaces.
        type: str
        default: ''
requirements:
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: Check that the current context may exec into pods of mdc-simulation
  defender.attack_simulation.access_review_info:
    actions:
      - {verb: get, resource: pods, subresource: exec, namespace: mdc-simulation}
      - {verb: create, resource: pods, subresource: exec, namespace: mdc-simulation}
  register: review

- name: Fail with the missing permissions
  ansible.builtin.fail:
    msg: "missing permissions: {{ review.denied | map(attribute='action') | join(', ') }}"
  when: review.denied | length > 0
"""

RETURN = r"""
allowed:
  description: The actions the caller may do.
  returned: success
  type: list
  elements: dict
  contains:
    action:
      description: The action as text, for example C(create pods/exec in namespace mdc-simulation).
      type: str
      sample: create pods/exec in namespace mdc-simulation
    verb:
      description: The verb reviewed.
      type: str
    resource:
      description: The resource reviewed, with its subresource after a slash.
      type: str
    name:
      description: The object's name reviewed, empty for any object.
      type: str
    namespace:
      description: The namespace reviewed, empty for cluster scope.
      type: str
    reason:
      description: The authorizer's reason, when it gave one.
      type: str
denied:
  description: The actions the caller may not do, same shape as RV(allowed).
  returned: success
  type: list
  elements: dict
  sample:
    - action: delete namespaces mdc-simulation
      verb: delete
      resource: namespaces
      name: mdc-simulation
      namespace: ""
      reason: ""
"""

from ansible_collections.kubernetes.core.plugins.module_utils.ansiblemodule import AnsibleModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.defender.attack_simulation.plugins.module_utils._access_review import review_all
from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import (
    auth_argument_spec,
    authorization_api,
    failures_told,
)


def argument_spec():
    spec = auth_argument_spec()
    spec["actions"] = dict(type="list", elements="dict", required=True, options=dict(
        verb=dict(type="str", required=True),
        resource=dict(type="str", required=True),
        subresource=dict(type="str", default=""),
        name=dict(type="str", default=""),
        group=dict(type="str", default=""),
        namespace=dict(type="str", default=""),
    ))
    return spec


def execute_module(module):
    allowed, denied = review_all(authorization_api(module), module.params["actions"])
    module.exit_json(changed=False, allowed=allowed, denied=denied)


def main():
    module = AnsibleK8SModule(module_class=AnsibleModule, argument_spec=argument_spec(), supports_check_mode=True)
    with failures_told(module):
        execute_module(module)


if __name__ == "__main__":
    main()
