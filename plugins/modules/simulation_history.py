#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: simulation_history
short_description: Keep a history of simulation runs, find detection regressions, draw coverage and ATT&CK layers
version_added: 1.2.0
description:
  - Records each run of O(runs) (one cluster's run each) in a history store, and compares it with the same cluster's
    runs before it (the last O(window) runs).
  - "Regressions (they fail the run unless O(accept_regressions)): an alert seen in the run before and missing now
    (C(alert_regressed)); a technique that passed in the run before and failed now (C(technique_regressed)); the
    Defender sensor there before and gone now (C(sensor_lost)); a cluster that was not reached (C(cluster_unreached))."
  - "Notices: an alert missing for the last O(missing_runs) verified runs (C(missing_streak)); seen and missing
    changing at least O(flap_changes) times (C(flapping)); seen for the first time (C(first_seen)); seen again after
    missing (C(recovered)); seen more than O(latency_factor) times later than the median of the runs before, and
    at least O(latency_min_increase) seconds later (C(latency_slower)); the sensor back (C(sensor_back))."
  - Each run's report is judged again with its regressions (C(status), C(problems), as
    P(defender.attack_simulation.run_outcome#filter) does) and written to O(runs[].report_path) when given.
  - Writes to the store, per run, the history entry (C(history/<host>/<start>_<run id>.json)), the report
    (C(runs/<name>.json)), a self-contained HTML page of its coverage (C(runs/<name>.html)) and an ATT&CK Navigator
    layer (layer format 4.5, enterprise domain, C(runs/<name>.layer.json)); with O(fleet), the same page and layer of
    every cluster (C(fleet/fleet-coverage-<time>.html), C(.layer.json)).
  - An action plugin that works on the controller, whatever the host's connection.
author:
  - Contributors to defender.attack_simulation (!UNKNOWN)
extends_documentation_fragment:
  - defender.attack_simulation._attributes
attributes:
  check_mode:
    support: none
    details: The history is the record of what ran; a check-mode run ran nothing, so the role skips this module then.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Recording the same run again replaces its entry and files with the same content (but the generation time).
options:
  runs:
    description: The runs to record, one per cluster.
    type: list
    elements: dict
    default: []
    suboptions:
      host:
        description: The cluster's inventory host name, the key of its history.
        type: str
        required: true
      report:
        description: The run report (verified when verification ran); unset when the run stopped before its report.
        type: dict
      report_path:
        description: The report's JSON file, rewritten with the regressions and the new verdict.
        type: path
      failure:
        description: When the run stopped before its report, the stage that failed (C(stage), C(message)).
        type: dict
      sensor_daemonsets:
        description: The sensor DaemonSets as M(defender.attack_simulation.cluster_info) found them (C(found), C(number_ready), C(error)).
        type: list
        elements: dict
      sensor:
        description: The run plan's sensor (C(<namespace>/<name>), or empty when none was ready), when the DaemonSets are not at hand.
        type: str
      basename:
        description: The name of the run's files, without extension (default C(defender-simulation-<host>-<run id>)).
        type: str
  columns:
    description: What O(fleet) draws of clusters recorded by earlier tasks (their RV(runs[].column)).
    type: list
    elements: dict
    default: []
  unreached:
    description:
      - Inventory hosts of the fleet that left no run to record (their play ended before it); each is recorded as a
        cluster not reached, a regression.
    type: list
    elements: str
    default: []
  fleet:
    description: Also write one page and one layer of every cluster (O(columns) and O(runs)).
    type: bool
    default: false
  store:
    description: Where the history is kept.
    type: dict
    required: true
    suboptions:
      type:
        description: V(dir), a folder on the controller; V(azure_blob), an Azure Blob Storage container.
        type: str
        choices: [dir, azure_blob]
        default: dir
      path:
        description: The folder, for V(dir).
        type: path
      container:
        description: The blob container, for V(azure_blob); created when missing.
        type: str
      prefix:
        description: A folder inside the container, for V(azure_blob).
        type: str
        default: ""
      connection_string:
        description:
          - A storage connection string, for V(azure_blob); default the environment variable C(AZURE_STORAGE_CONNECTION_STRING).
        type: str
      account_url:
        description:
          - The account's blob endpoint (C(https://<account>.blob.core.windows.net)), for V(azure_blob) without a
            connection string; authenticated with O(store.sas_token), or else azure-identity's default credential
            (a managed identity, C(AZURE_CLIENT_ID)/C(AZURE_CLIENT_SECRET)/C(AZURE_TENANT_ID), C(az login)).
        type: str
      sas_token:
        description: A SAS token for O(store.account_url).
        type: str
  window:
    description: How many of a cluster's runs before this one are compared and drawn.
    type: int
    default: 10
  missing_runs:
    description: After how many verified runs in a row without an alert it is a C(missing_streak).
    type: int
    default: 3
  flap_changes:
    description: After how many changes between seen and missing in the window an alert is C(flapping).
    type: int
    default: 3
  latency_factor:
    description: How many times the median latency of the runs before makes a C(latency_slower) notice.
    type: float
    default: 2.0
  latency_min_increase:
    description: Seconds a latency must also exceed that median by for a C(latency_slower) notice.
    type: float
    default: 60.0
  accept_regressions:
    description: Record regressions in the report without failing the run.
    type: bool
    default: false
notes:
  - The connection string and the SAS token are secrets; the module never returns or prints them.
seealso:
  - module: defender.attack_simulation.simulation_verify
  - module: defender.attack_simulation.report_files
"""

EXAMPLES = r"""
- name: Record the run and compare it with the runs before, in the report directory
  defender.attack_simulation.simulation_history:
    runs:
      - host: "{{ inventory_hostname }}"
        report: "{{ simulation_report }}"
        report_path: "{{ simulation_report_path }}"
    store:
      path: "{{ report_dir }}/history"
  register: history

- name: Keep the history in an Azure Blob Storage container (a scheduled AWX job's files vanish with it)
  defender.attack_simulation.simulation_history:
    runs:
      - host: "{{ inventory_hostname }}"
        report: "{{ simulation_report }}"
    store:
      type: azure_blob
      container: defender-simulation-history
      account_url: https://examplehistory.blob.core.windows.net
"""

RETURN = r"""
runs:
  description: One result per run of O(runs).
  returned: always
  type: list
  elements: dict
  contains:
    host:
      description: The cluster's inventory host.
      type: str
    status:
      description: The run's verdict with its regressions, V(passed) or V(failed).
      type: str
    entry:
      description: The history entry recorded.
      type: dict
    report:
      description: The report with C(regressions), C(regression_notices), C(regressions_accepted), C(status) and C(problems); null without a report.
      type: dict
    regressions:
      description: The regressions, each C(host), C(cluster), C(run_id), C(kind), C(alert), C(technique) and C(message).
      type: list
      elements: dict
    notices:
      description: The notices, in the same form.
      type: list
      elements: dict
    trends:
      description: Per alert, its status and latency in each run compared, oldest first.
      type: dict
    files:
      description: Where the entry, the report, the HTML page and the layer were written (C(entry), C(report), C(html), C(layer)).
      type: dict
    column:
      description: What O(columns) of a later fleet page needs of this run.
      type: dict
regressions:
  description: Every regression of O(runs) and O(columns).
  returned: always
  type: list
  elements: dict
regressions_by_host:
  description: The regressions of each cluster of O(runs) and O(columns), by inventory host (an empty list when none).
  returned: always
  type: dict
notices:
  description: Every notice of O(runs) and O(columns).
  returned: always
  type: list
  elements: dict
fleet:
  description: Where the fleet's page and layer were written (C(html), C(layer)); null without O(fleet).
  returned: always
  type: dict
notification:
  description: A text for a notification, each cluster's verdict, then every regression and notice.
  returned: always
  type: str
"""
