#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cluster_info
short_description: Ask the API server what a simulation run needs to know before it starts
version_added: 1.0.0
description:
  - In one module run, asks the API server for its version, looks for the Defender sensor's DaemonSets given in
    O(sensor_daemonsets) and, with O(read_aks_identity), reads the cluster's Azure identity from its nodes; returns
    the controller's kubernetes Python package version too.
  - An API server that cannot be reached, does not answer within O(request_timeout) or refuses the credentials
    fails the module with a message naming the server. A DaemonSet that cannot be read, or nodes that cannot be
    listed, do not fail it; the reason is returned for the caller to judge.
  - Warns when the connection does not verify the API server's certificate, naming why (V(validate_certs=false),
    E(K8S_AUTH_VERIFY_SSL=False) as AWX's Kubernetes bearer token credential injects it without a CA certificate,
    or the kubeconfig's C(insecure-skip-tls-verify)).
  - The prerequisites role uses it; each request is bounded, so a silent server cannot hold the run.
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
  sensor_daemonsets:
    description: DaemonSets to look for (the Defender sensor's), each read with C(get).
    type: list
    elements: dict
    default: []
    suboptions:
      namespace:
        description: The DaemonSet's namespace.
        type: str
        required: true
      name:
        description: The DaemonSet's name.
        type: str
        required: true
  read_aks_identity:
    description:
      - Also list the nodes (a page at a time, until an AKS node is found) and return the cluster's Azure identity
        read from the first AKS node's C(spec.providerID), as the filter P(defender.attack_simulation.aks_identity#filter)
        does.
      - Nodes that cannot be listed do not fail the module; RV(aks_identity.error) tells why.
    type: bool
    default: false
requirements:
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: Ask the API server for its version, the Defender sensor and the cluster's Azure identity
  defender.attack_simulation.cluster_info:
    sensor_daemonsets:
      - {namespace: kube-system, name: microsoft-defender-collector-ds}
    read_aks_identity: true
    request_timeout: 30
  register: cluster

- name: Fail when the sensor has no ready pods
  ansible.builtin.fail:
    msg: "the Defender sensor is not ready on Kubernetes {{ cluster.server_version.gitVersion }}"
  when: cluster.sensor_daemonsets | selectattr('number_ready', 'gt', 0) | list | length == 0
"""

RETURN = r"""
server_version:
  description: The API server's C(/version), as it answered.
  returned: success
  type: dict
  sample:
    gitVersion: v1.31.2
    major: "1"
    minor: "31"
    platform: linux/amd64
client_version:
  description: The version of the controller's kubernetes Python package (where the module ran).
  returned: success
  type: str
  sample: 31.0.0
sensor_daemonsets:
  description: One entry per DaemonSet of O(sensor_daemonsets), in the same order.
  returned: success
  type: list
  elements: dict
  contains:
    namespace:
      description: The DaemonSet's namespace.
      type: str
    name:
      description: The DaemonSet's name.
      type: str
    found:
      description: Whether the DaemonSet exists.
      type: bool
    number_ready:
      description: Its C(status.numberReady) when found, null otherwise.
      type: int
    error:
      description:
        - Why the DaemonSet could not be read (forbidden, server error), with the API server's reason; null when
          it was read or is not there.
      type: str
  sample:
    - {namespace: kube-system, name: microsoft-defender-collector-ds, found: true, number_ready: 3, error: null}
    - {namespace: mdc, name: microsoft-defender-collectors-ds, found: false, number_ready: null, error: null}
aks_identity:
  description: The cluster's Azure identity, each field null when unknown (not AKS, or not derivable).
  returned: when O(read_aks_identity) is true
  type: dict
  contains:
    subscription_id:
      description: The Azure subscription.
      type: str
    node_resource_group:
      description: The node resource group.
      type: str
    name:
      description: The AKS cluster's name.
      type: str
    resource_id:
      description: The AKS cluster's Azure resource id.
      type: str
    error:
      description: Why the nodes could not be listed; null when they were.
      type: str
"""

from ansible_collections.kubernetes.core.plugins.module_utils.ansiblemodule import AnsibleModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.defender.attack_simulation.plugins.module_utils._cluster_info import (
    daemonset_state,
    nodes_aks_identity,
    server_version,
)
from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import (
    api_client,
    auth_argument_spec,
    failures_told,
)
from ansible_collections.defender.attack_simulation.plugins.module_utils._tls import tls_warning

try:
    import kubernetes
    from kubernetes.client import AppsV1Api, CoreV1Api, VersionApi
except ImportError:  # reported by AnsibleK8SModule's own check of the kubernetes library
    kubernetes = AppsV1Api = CoreV1Api = VersionApi = None


def argument_spec():
    spec = auth_argument_spec()
    spec.update(
        sensor_daemonsets=dict(type="list", elements="dict", default=[], options=dict(
            namespace=dict(type="str", required=True),
            name=dict(type="str", required=True),
        )),
        read_aks_identity=dict(type="bool", default=False),
    )
    return spec


def execute_module(module):
    client = api_client(module)
    warning = tls_warning(module.params, client.configuration)
    if warning:
        module.warn(warning)
    # The version first: a server that cannot be reached fails here, after one request_timeout at most.
    result = dict(server_version=server_version(VersionApi(client)), client_version=kubernetes.__version__)
    apps = AppsV1Api(client)
    result["sensor_daemonsets"] = [daemonset_state(apps, daemonset["namespace"], daemonset["name"])
                                   for daemonset in module.params["sensor_daemonsets"]]
    if module.params["read_aks_identity"]:
        result["aks_identity"] = nodes_aks_identity(CoreV1Api(client))
    module.exit_json(changed=False, **result)


def main():
    module = AnsibleK8SModule(module_class=AnsibleModule, argument_spec=argument_spec(), supports_check_mode=True)
    with failures_told(module):
        execute_module(module)


if __name__ == "__main__":
    main()
