#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: simulation_verify
short_description: Check a simulation run's expected alerts against the alerts Defender for Cloud raised
version_added: 1.0.0
description:
  - Takes a run report of the C(simulate) playbook and the alerts listed by
    M(defender.attack_simulation.defender_alerts_info), and says for every expected alert whether it was seen.
  - An alert counts only when it matches the catalog alert (display name, case-insensitive, a trailing
    C( (Preview)) and older spellings ignored, or its documented alert type), started at or after the run's start,
    and names the run's cluster (the AKS resource id when the report has one, else the cluster name).
  - Expected alerts whose techniques did not pass are V(not_triggered); expected alerts that depend on a cluster
    setting (the drift alert) and were not seen are V(needs_cluster_setting), not misses.
  - Makes no network call; the C(defender.attack_simulation.verify) role polls the alerts and calls this module.
author:
  - Contributors to defender.attack_simulation (!UNKNOWN)
extends_documentation_fragment:
  - defender.attack_simulation._attributes
  - defender.attack_simulation._attributes.info_module
  - defender.attack_simulation._attributes.idempotent_not_modify_state
options:
  report:
    description:
      - The run report (the C(simulate) playbook's JSON report, or its AWX set_stats variable C(defender_simulation)).
      - Needs C(started) and C(scenarios); C(cluster), C(techniques) and C(expected_alerts) are used when present.
        Without C(expected_alerts) the catalog's alerts for C(scenarios) are expected.
    type: dict
    required: true
  alerts:
    description:
      - The alerts to check against, as returned by M(defender.attack_simulation.defender_alerts_info) or
        raw ARM alert resources (with C(properties)).
    type: list
    elements: dict
    default: []
  deadline:
    description:
      - Seconds after the run's start until which alerts are awaited; used for RV(verification.deadline)
        and RV(remaining_seconds).
    type: int
    default: 3600
  on_missing:
    description:
      - What to do when an expected, triggered alert is missing.
      - V(fail) fails naming the missing alerts, V(warn) warns, V(ignore) only reports.
      - Alerts that need a cluster setting never fail.
    type: str
    default: fail
    choices: [fail, warn, ignore]
seealso:
  - module: defender.attack_simulation.defender_alerts_info
"""

EXAMPLES = r"""
- name: List the alerts of the run's cluster
  defender.attack_simulation.defender_alerts_info:
    since: "{{ report.started }}"
    cluster_resource_id: "{{ report.cluster.aks_resource_id }}"
  register: listed

- name: Check the run's expected alerts
  defender.attack_simulation.simulation_verify:
    report: "{{ report }}"
    alerts: "{{ listed.alerts }}"
    on_missing: warn
  register: checked

- name: Show the result
  ansible.builtin.debug:
    msg: "{{ checked.verification.lines }}"
"""

RETURN = r"""
verification:
  description: The verification, as the verify role writes it into the report's C(verification).
  returned: always
  type: dict
  contains:
    checked_at:
      description: When the check ran (UTC).
      type: str
      sample: "2026-11-28T10:40:02Z"
    deadline:
      description: The run's start plus O(deadline) (UTC).
      type: str
      sample: "2026-11-28T11:15:00Z"
    seen:
      description: How many expected alerts were seen.
      type: int
      sample: 4
    expected:
      description: How many alerts the run expected.
      type: int
      sample: 5
    summary:
      description: One line for people.
      type: str
      sample: "4 of 5 expected alerts seen (needs a cluster setting: A drift binary detected executing in the container)"
    missing:
      description: Display names of the expected, triggered alerts not seen.
      type: list
      elements: str
    pending:
      description: The alerts still worth waiting for (the missing ones; not those needing a cluster setting).
      type: list
      elements: str
    needs_cluster_setting:
      description: Display names of the unseen alerts that need a cluster setting to fire.
      type: list
      elements: str
    not_triggered:
      description: Display names of the unseen alerts whose techniques did not pass.
      type: list
      elements: str
    lines:
      description: One line per expected alert, then the summary.
      type: list
      elements: str
    alerts:
      description: One entry per expected alert.
      type: list
      elements: dict
      contains:
        display_name:
          description: The catalog display name.
          type: str
        status:
          description: V(seen), V(missing), V(needs_cluster_setting) or V(not_triggered).
          type: str
        seen:
          description: Whether a matching alert of this run was found.
          type: bool
        alert_id:
          description: The matching alert's resource id (the earliest one generated).
          type: str
        time_generated:
          description: The matching alert's C(timeGeneratedUtc).
          type: str
        latency_seconds:
          description: Seconds from the start of the earliest passed technique that triggers it
            (the run's start if none is recorded) to C(timeGeneratedUtc).
          type: float
        portal_link:
          description: The matching alert's C(alertUri).
          type: str
        condition:
          description: What the cluster needs for this alert to fire, when anything.
          type: str
report:
  description: The report with RV(verification) stored in its C(verification) key.
  returned: always
  type: dict
remaining_seconds:
  description: Seconds from now to the deadline, 0 when it has passed.
  returned: always
  type: int
scope:
  description: What ties alerts to the run, for M(defender.attack_simulation.defender_alerts_info)'s filters.
  returned: always
  type: dict
  contains:
    since:
      description: The run's start.
      type: str
    cluster_resource_id:
      description: The AKS cluster's resource id, or null.
      type: str
    cluster_name:
      description: The cluster name, or null.
      type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.defender.attack_simulation.plugins.module_utils._report import ReportError
from ansible_collections.defender.attack_simulation.plugins.module_utils._time import format_time
from ansible_collections.defender.attack_simulation.plugins.module_utils._verification import run_scope, verify

# Kept out of the stored report: they only make sense at the moment of the check.
_TRANSIENT = ("lines", "pending", "remaining_seconds")


def execute_module(module):
    report = module.params["report"]
    try:
        result = verify(report, module.params["alerts"], deadline_seconds=module.params["deadline"])
        scope = run_scope(report)
    except (ReportError, ValueError) as exc:
        module.fail_json(msg="run report %s: %s" % (report.get("run_id"), exc))
    stored = dict((k, v) for k, v in result.items() if k not in _TRANSIENT)
    outcome = dict(changed=False, verification=result, report=dict(report, verification=stored),
                   remaining_seconds=result["remaining_seconds"],
                   scope=dict(scope, since=format_time(scope["since"])))
    if result["missing"] and module.params["on_missing"] == "fail":
        module.fail_json(msg="run %s: %s" % (report.get("run_id"), result["summary"]), **outcome)
    if result["missing"] and module.params["on_missing"] == "warn":
        module.warn("run %s: %s" % (report.get("run_id"), result["summary"]))
    module.exit_json(**outcome)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            report=dict(type="dict", required=True),
            alerts=dict(type="list", elements="dict", default=[]),
            deadline=dict(type="int", default=3600),
            on_missing=dict(type="str", default="fail", choices=["fail", "warn", "ignore"]),
        ),
        supports_check_mode=True,
    )
    execute_module(module)


if __name__ == "__main__":
    main()
