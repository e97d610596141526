#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pods_ready
short_description: Wait, by watching, until pods are Ready, and fail at once when one cannot start
version_added: 1.0.0
description:
  - Lists the pods that match O(label_selector) in O(namespace), then watches them (no polling interval) until every
    pod of O(names) is Ready.
  - Fails at once when a pod will not start without someone changing something (image pull error, crash loop,
    bad configuration, unschedulable, failed), naming the pod, container, reason, message and image; and when
    O(timeout) passes, naming the pods that are not Ready.
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
  namespace:
    description: The pods' namespace.
    type: str
    required: true
  names:
    description: The pods that must be Ready.
    type: list
    elements: str
    required: true
  label_selector:
    description: Selects the pods to watch; problems of any of them fail the wait.
    type: str
    default: app.kubernetes.io/managed-by=defender.attack_simulation
  timeout:
    description:
      - Seconds to wait, wall clock, the list and the watch of the pods included, however slowly the API server
        sends them.
    type: int
    default: 300
requirements:
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: Wait for the victim and the attacker
  defender.attack_simulation.pods_ready:
    namespace: mdc-simulation
    names: [mdc-simulation-victim, mdc-simulation-attacker]
    timeout: 300
"""

RETURN = r"""
ready:
  description: Whether every pod of O(names) is Ready.
  returned: always
  type: bool
not_ready:
  description: The pods of O(names) that are not Ready.
  returned: always
  type: list
  elements: str
problems:
  description: One entry per pod that cannot start, with pod, container, reason, message and image.
  returned: always
  type: list
  elements: dict
messages:
  description: The problems as sentences.
  returned: always
  type: list
  elements: str
waited:
  description: Seconds waited.
  returned: always
  type: float
"""

import time

from ansible_collections.kubernetes.core.plugins.module_utils.ansiblemodule import AnsibleModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import (
    MANAGED_BY_SELECTOR, KubeError, api_client, auth_argument_spec, failures_told,
)
from ansible_collections.defender.attack_simulation.plugins.module_utils._pods import wait_ready

try:
    from kubernetes.client import CoreV1Api
    from kubernetes.watch import Watch
except ImportError:  # reported by AnsibleK8SModule's own check of the kubernetes library
    CoreV1Api = Watch = None


def argument_spec():
    spec = auth_argument_spec()
    spec.update(
        namespace=dict(type="str", required=True),
        names=dict(type="list", elements="str", required=True),
        label_selector=dict(type="str", default=MANAGED_BY_SELECTOR),
        timeout=dict(type="int", default=300),
    )
    return spec


def execute_module(module):
    params = module.params
    started = time.monotonic()
    try:
        core = CoreV1Api(api_client(module))
        summary = wait_ready(core, Watch, params["namespace"], params["names"], params["label_selector"],
                             params["timeout"])
    except KubeError as exc:
        module.fail_json(msg=str(exc))
    summary["waited"] = round(time.monotonic() - started, 3)
    if summary["problems"]:
        module.fail_json(msg="; ".join(summary["messages"]), **summary)
    if not summary["ready"]:
        module.fail_json(msg="pods %s in namespace %s not Ready after %s seconds"
                         % (", ".join(summary["not_ready"]), params["namespace"], params["timeout"]), **summary)
    module.exit_json(changed=False, **summary)


def main():
    module = AnsibleK8SModule(module_class=AnsibleModule, argument_spec=argument_spec(), supports_check_mode=True)
    with failures_told(module):
        execute_module(module)


if __name__ == "__main__":
    main()
