# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: run_reports
short_description: Every cluster's run report that the simulate job published for the next AWX workflow node
version_added: 1.0.0
description:
  - Reads the artifacts of the C(defender.attack_simulation.simulate) playbook, which AWX passes to the next workflow
    node as extra vars, and returns each run report once, ordered by inventory host.
  - Reads every C(defender_simulation_run_*) variable (one per cluster, a key no other host or job slice writes,
    so it survives AWX's merge of a sliced job's artifacts), then C(defender_simulation_runs) and
    C(defender_simulation).
  - The reports are read as data and returned marked unsafe, never templated. A report holds the techniques'
    output, which comes from the cluster; AWX's extra vars would otherwise be rendered as templates.
author:
  - Contributors to defender.attack_simulation (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Verify every cluster of the simulate job before this node
  ansible.builtin.debug:
    msg: "{{ query('defender.attack_simulation.run_reports') | map(attribute='run_id') }}"
"""

RETURN = r"""
_raw:
  description: The run reports, each a dict as the simulate playbook writes it in its JSON report.
  type: list
  elements: dict
"""

from ansible.plugins.lookup import LookupBase
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.defender.attack_simulation.plugins.module_utils._artifacts import reports_in


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        # The variables as they were given, before any templating: a report is data.
        return [wrap_var(report) for report in reports_in(variables or {})]
