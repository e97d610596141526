#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: expected_alerts
short_description: List the techniques a simulation runs and the Defender for Containers alerts they should raise
version_added: 1.0.0
description:
  - Expands the requested scenarios (V(all) and the original tool's spellings V(lateral-mov) and V(ti-domain)
    included) and returns the techniques they run, in order, and the alerts Microsoft Defender for Containers
    should raise for them, from the collection's alert catalog.
  - Given the technique results of a run (O(results)), tells for each alert whether it was triggered, that is
    whether at least one of the techniques that raise it passed, and when.
  - Talks to nothing and changes nothing; safe to run in check mode.
author:
  - Contributors to defender.attack_simulation (!UNKNOWN)
extends_documentation_fragment:
  - defender.attack_simulation._attributes
  - defender.attack_simulation._attributes.info_module
  - defender.attack_simulation._attributes.idempotent_not_modify_state
options:
  scenarios:
    description:
      - The scenarios of the run. V(all) is every scenario but V(webshell), in the order V(recon),
        V(lateral_movement), V(secrets), V(crypto), V(ti_domain).
      - A single name or a comma-separated string is accepted.
    type: list
    elements: str
    required: true
    choices: [recon, lateral_movement, secrets, crypto, webshell, ti_domain, all, lateral-mov, ti-domain]
  results:
    description:
      - The technique result records of a run, as P(defender.attack_simulation.technique#module) makes them.
      - Each record needs C(id) and C(status) (V(passed), V(failed), V(unreachable), V(timed_out) or V(skipped)); C(started)
        gives RV(alerts[].triggered_at).
      - Records of techniques outside the requested scenarios are ignored with a warning.
    type: list
    elements: dict
notes:
  - Microsoft stopped documenting alert type ids for most Kubernetes runtime alerts, so RV(alerts[].alert_type) is
    often V(null); match alerts by display name first.
  - Some alerts fire in near real time, others up to an hour after the technique (RV(alerts[].latency)).
seealso:
  - name: Defender for Containers alerts reference
    description: Microsoft's list of container alerts.
    link: https://learn.microsoft.com/en-us/azure/defender-for-cloud/alerts-containers
"""

EXAMPLES = r"""
- name: Plan the reconnaissance and cryptomining scenarios
  defender.attack_simulation.expected_alerts:
    scenarios: [recon, crypto]
  register: plan

- name: Show the alerts that need up to an hour
  ansible.builtin.debug:
    msg: "{{ plan.alerts | selectattr('latency', 'equalto', 'up_to_one_hour') | map(attribute='display_name') }}"

- name: Join the technique results of a run with the alerts they should raise
  defender.attack_simulation.expected_alerts:
    scenarios: all
    results: "{{ simulation_techniques }}"
  register: expected

- name: Alerts that cannot come because none of their techniques passed
  ansible.builtin.debug:
    msg: "{{ expected.alerts | rejectattr('triggered') | map(attribute='display_name') }}"
"""

RETURN = r"""
scenarios:
  description: The canonical scenario names, expanded and de-duplicated, in the order they run.
  returned: always
  type: list
  elements: str
  sample: [recon, crypto]
techniques:
  description: The techniques of the scenarios, in the order they run.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The technique id, C(<scenario>.<technique>).
      type: str
      sample: crypto.miner_run
    scenario:
      description: The scenario the technique belongs to.
      type: str
      sample: crypto
    name:
      description: What the technique does, in words.
      type: str
      sample: run the downloaded xmrig
    mitre:
      description: The MITRE ATT&CK technique id.
      type: str
      sample: T1496
    summary:
      description: How the technique does it.
      type: str
      sample: run ./xmrig (a copy of /bin/true that drifted from the image)
alerts:
  description: The alerts Defender for Containers should raise, each once, in catalog order.
  returned: always
  type: list
  elements: dict
  contains:
    display_name:
      description: The alert's display name, the primary key for matching.
      type: str
      sample: Possible Cryptocoinminer download detected
    alert_type:
      description: The alert type id Microsoft documents for this alert, V(null) when it documents none.
      type: str
      sample: K8S.NODE_CryptoCoinMinerDownload
    closest_documented_type:
      description: When RV(alerts[].alert_type) is V(null), the documented type of the closest alert, if any.
      type: str
      sample: K8S.NODE_Webshell
    severity:
      description: The severity (V(Low), V(Medium), V(High)), V(null) when unknown.
      type: str
      sample: Medium
    tactics:
      description: The MITRE tactics, V(null) when unknown.
      type: list
      elements: str
      sample: [Defense Evasion, Command and Control]
    latency:
      description: When to expect the alert after its technique.
      type: str
      choices: [near_real_time, up_to_one_hour]
      sample: near_real_time
    condition:
      description: A condition the cluster must meet for the alert to fire, V(null) when there is none.
      type: str
      sample: fires only when the cluster's drift policy has a 'Drift detection alert' rule
    scenarios:
      description: The requested scenarios that raise the alert.
      type: list
      elements: str
      sample: [crypto]
    triggered_by:
      description: The ids of the requested techniques that raise the alert.
      type: list
      elements: str
      sample: [crypto.miner_download, crypto.miner_run]
    aliases:
      description: Older spellings of the display name that Defender may still use.
      type: list
      elements: str
      sample: [Possible Crypto miners download detected]
    triggered:
      description: Whether at least one of RV(alerts[].triggered_by) passed.
      returned: when O(results) is given
      type: bool
      sample: true
    triggered_at:
      description: The earliest C(started) of the passed techniques in RV(alerts[].triggered_by), V(null) if none.
      returned: when O(results) is given
      type: str
      sample: "2026-11-28T10:00:00.123Z"
    trigger_status:
      description: The status of each technique in RV(alerts[].triggered_by), V(null) when no record was given.
      returned: when O(results) is given
      type: dict
      sample: {crypto.miner_download: passed, crypto.miner_run: failed}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.defender.attack_simulation.plugins.module_utils._catalog import (
    SCENARIO_CHOICES,
    UnknownScenarioError,
)
from ansible_collections.defender.attack_simulation.plugins.module_utils._expected import (
    ResultsError,
    expected_alerts,
)


def argument_spec():
    return dict(
        scenarios=dict(type="list", elements="str", required=True, choices=list(SCENARIO_CHOICES)),
        results=dict(type="list", elements="dict"),
    )


def execute_module(module):
    try:
        plan = expected_alerts(module.params["scenarios"], module.params["results"])
    except (UnknownScenarioError, ResultsError) as exc:
        module.fail_json(msg=str(exc), scenarios=module.params["scenarios"])
    unplanned = plan.pop("unplanned_results")
    if unplanned:
        module.warn("results for techniques outside scenarios %s ignored: %s"
                    % (", ".join(plan["scenarios"]), ", ".join(unplanned)))
    module.exit_json(changed=False, **plan)


def main():
    execute_module(AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True))


if __name__ == "__main__":
    main()
