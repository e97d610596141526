# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display
from ansible_collections.defender.attack_simulation.plugins.module_utils import _catalog, _expected
from ansible_collections.defender.attack_simulation.plugins.module_utils._aks import aks_identity


def technique_info(technique_id):
    try:
        return _catalog.technique(technique_id)
    except KeyError as exc:
        raise AnsibleFilterError(str(exc))


def expected_alerts(scenarios, results=None):
    """The plan of the module of the same name, in a template: no task, so no worker process per cluster."""
    try:
        plan = _expected.expected_alerts(scenarios, results)
    except (_catalog.UnknownScenarioError, _expected.ResultsError) as exc:
        raise AnsibleFilterError("expected_alerts: %s" % exc)
    unplanned = plan.pop("unplanned_results")
    if unplanned:
        Display().warning("results for techniques outside scenarios %s ignored: %s"
                          % (", ".join(plan["scenarios"]), ", ".join(unplanned)))
    return plan


class FilterModule(object):
    def filters(self):
        return {"technique_info": technique_info, "aks_identity": aks_identity, "expected_alerts": expected_alerts}
