# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Record simulation runs in the history and compare them with the runs before (module_utils/_coverage.py), on the
controller: the history, the reports and the pictures are the controller's, whatever the cluster's connection."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.basic import env_fallback

from ansible_collections.defender.attack_simulation.plugins.action.report_files import write_atomically
from ansible_collections.defender.attack_simulation.plugins.module_utils._coverage import record_runs, unreached_run
from ansible_collections.defender.attack_simulation.plugins.module_utils._history import HistoryError
from ansible_collections.defender.attack_simulation.plugins.module_utils._history_store import (
    HistoryStoreError,
    open_store,
)
from ansible_collections.defender.attack_simulation.plugins.plugin_utils._in_process import ModuleAction

ARGUMENT_SPEC = dict(
    runs=dict(type="list", elements="dict", default=[], options=dict(
        host=dict(type="str", required=True),
        report=dict(type="dict"),
        report_path=dict(type="path"),
        failure=dict(type="dict"),
        sensor_daemonsets=dict(type="list", elements="dict"),
        sensor=dict(type="str"),
        basename=dict(type="str"),
    )),
    columns=dict(type="list", elements="dict", default=[]),
    unreached=dict(type="list", elements="str", default=[]),
    fleet=dict(type="bool", default=False),
    store=dict(type="dict", required=True, options=dict(
        type=dict(type="str", choices=["dir", "azure_blob"], default="dir"),
        path=dict(type="path"),
        container=dict(type="str"),
        prefix=dict(type="str", default=""),
        connection_string=dict(type="str", no_log=True, fallback=(env_fallback, ["AZURE_STORAGE_CONNECTION_STRING"])),
        account_url=dict(type="str"),
        sas_token=dict(type="str", no_log=True),
    ), required_if=[("type", "dir", ["path"]), ("type", "azure_blob", ["container"])]),
    window=dict(type="int", default=10),
    missing_runs=dict(type="int", default=3),
    flap_changes=dict(type="int", default=3),
    latency_factor=dict(type="float", default=2.0),
    latency_min_increase=dict(type="float", default=60.0),
    accept_regressions=dict(type="bool", default=False),
)


def rewrite_report(path, report):
    """The report file, rewritten with its regressions and verdict, as the verify role rewrites it verified."""
    try:
        write_atomically(path, (json.dumps(report, indent=4) + "\n").encode("utf-8"), 0o644)
    except (IOError, OSError) as exc:
        raise AnsibleActionFail("simulation_history: cannot rewrite the report %s: %s" % (path, exc))


class ActionModule(ModuleAction):
    # A check-mode run ran nothing to record: ActionBase skips the task, as the module's docs say.
    _supports_check_mode = False

    def run(self, tmp=None, task_vars=None):
        result = super(ModuleAction, self).run(tmp, task_vars)  # ActionBase's checks; there is no module to run
        params = self.validated_args(ARGUMENT_SPEC)
        store = params["store"]
        options = dict((k, params[k]) for k in ("window", "missing_runs", "flap_changes", "latency_factor",
                                                "latency_min_increase"))
        try:
            opened = open_store(store["type"], path=store["path"], container=store["container"],
                                connection_string=store["connection_string"], account_url=store["account_url"],
                                credential=store["sas_token"], prefix=store["prefix"])
            runs = params["runs"] + [unreached_run(host) for host in params["unreached"]]
            recorded = record_runs(opened, runs, options, accept=params["accept_regressions"],
                                   fleet=params["fleet"], columns=params["columns"])
        except (HistoryError, HistoryStoreError) as exc:
            raise AnsibleActionFail("simulation_history: %s" % exc)
        for run, outcome in zip(runs, recorded["runs"]):
            if run.get("report_path") and outcome["report"] and os.path.exists(run["report_path"]):
                rewrite_report(run["report_path"], outcome["report"])
        result.update(recorded, changed=bool(runs) or bool(recorded["fleet"]))
        return result
