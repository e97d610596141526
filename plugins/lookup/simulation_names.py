# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: simulation_names
short_description: The names of the objects a simulation creates, and its ownership label
version_added: 1.0.0
description:
  - Gives playbooks and roles the names kept in the collection's one home for them
    (C(plugins/module_utils/_kube.py)), so that no YAML spells them again.
  - Without terms, returns one dictionary with every name; with terms, returns the value of each term.
author:
  - Contributors to defender.attack_simulation (!UNKNOWN)
options:
  _terms:
    description:
      - Names to return; any of C(attacker), C(victim), C(registry_secret), C(managed_by_label), C(managed_by_value),
        C(managed_by_selector), C(run_id_label). None returns the dictionary of all of them.
    type: list
    elements: str
    required: false
"""

EXAMPLES = r"""
- name: Exec in the attacker
  kubernetes.core.k8s_exec:
    namespace: mdc-simulation
    pod: "{{ lookup('defender.attack_simulation.simulation_names', 'attacker') }}"
    container: "{{ lookup('defender.attack_simulation.simulation_names', 'attacker') }}"
    command: "true"

- name: List what this collection created in a namespace
  kubernetes.core.k8s_info:
    kind: Pod
    namespace: mdc-simulation
    label_selectors:
      - "{{ lookup('defender.attack_simulation.simulation_names').managed_by_selector }}"
"""

RETURN = r"""
_raw:
  description:
    - Without terms, one dictionary with the keys C(attacker) (pod, container and headless service of the attacker,
      V(mdc-simulation-attacker)), C(victim) (pod, container, headless service and ServiceAccount of the victim,
      V(mdc-simulation-victim)), C(registry_secret) (the Secret holding the deploy role's
      C(deploy_registry_credentials)), C(managed_by_label), C(managed_by_value), C(managed_by_selector)
      (C(label=value), for label selectors) and C(run_id_label).
    - With terms, the value of each term, in order.
  type: list
  elements: raw
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import simulation_names


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        names = simulation_names()
        if not terms:
            return [names]
        unknown = [term for term in terms if term not in names]
        if unknown:
            raise AnsibleLookupError("simulation_names: unknown name(s) %s; known: %s"
                                     % (", ".join(map(str, unknown)), ", ".join(sorted(names))))
        return [names[term] for term in terms]
