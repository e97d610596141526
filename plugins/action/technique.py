# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run one technique: exec curl in the attacker pod through the Kubernetes API's websocket, in the controller's
worker (no module round trip), then record, print and judge, in one task."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible.errors import AnsibleActionFail
from ansible.utils.display import Display

from ansible_collections.defender.attack_simulation.plugins.module_utils import _records, _technique
from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import (
    ATTACKER,
    KubeError,
    api_client,
    auth_argument_spec,
)
from ansible_collections.defender.attack_simulation.plugins.module_utils._redact import redact_message
from ansible_collections.defender.attack_simulation.plugins.plugin_utils._in_process import (
    HAS_KUBERNETES,
    InProcessModule,
    ModuleAction,
)

display = Display()

# The facts the records accumulate in, per run (the fact cache of an earlier run must not leak into this one).
RECORDS_FACT = "techniques_records"

ARGUMENT_SPEC = dict(
    id=dict(type="str", required=True),
    script=dict(type="str", required=True),
    namespace=dict(type="str", required=True),
    pod=dict(type="str", default=ATTACKER),
    container=dict(type="str", default=ATTACKER),
    webshell_url=dict(type="str", default=_records.DEFAULT_WEBSHELL_URL),
    timeout=dict(type="int", default=60),
    run_id=dict(type="str", default=""),
)
ARGUMENT_SPEC.update(auth_argument_spec())


def result_line(host, record):
    """The one line a person watching the run reads for a technique."""
    detail = record["message"] if record["status"] != _records.STATUS_PASSED else record["output"]
    first = next((line.strip() for line in (detail or "").splitlines() if line.strip()), "")
    return "%s | %s %s in %.2f s%s" % (host, record["id"], record["status"], record["duration"],
                                       (": " + first[:200]) if first else "")


class ActionModule(ModuleAction):
    """Always in the worker: the exec goes through the Kubernetes API, wherever the task's connection points."""

    def run(self, tmp=None, task_vars=None):
        super(ModuleAction, self).run(tmp, task_vars)  # ActionBase's checks; not ModuleAction's module run
        task_vars = task_vars or {}
        params = self.validated_args(ARGUMENT_SPEC)
        technique_id = params["id"]
        try:
            _records.technique(technique_id)
        except KeyError as exc:
            raise AnsibleActionFail("technique: %s" % exc.args[0])
        host = task_vars.get("inventory_hostname", "localhost")

        attempts = 0
        if self._task.check_mode:
            record = _records.skipped_record(technique_id, params["script"], "check mode runs no technique",
                                             started=time.time())
        else:
            if not HAS_KUBERNETES:
                raise AnsibleActionFail("technique: the kubernetes Python library and kubernetes.core are required "
                                        "on the controller (pip install kubernetes)")
            record, attempts = self._deliver(params)

        display.display(result_line(host, record),
                        color="green" if record["status"] in (_records.STATUS_PASSED, _records.STATUS_SKIPPED)
                        else "red")
        facts = task_vars.get("ansible_facts", {}).get(RECORDS_FACT) or {}
        run_records = (facts.get(params["run_id"]) if isinstance(facts, dict) else None) or []
        # attempts: more than one when the attacker's first requests did not reach the web shell (until_connected).
        result = dict(changed=record["status"] != _records.STATUS_SKIPPED, record=record, attempts=attempts,
                      msg=result_line(host, record),
                      ansible_facts={RECORDS_FACT: {params["run_id"]: list(run_records) + [record]}})
        if record["status"] == _records.STATUS_UNREACHABLE:
            # The web shell (or the attacker) is not there: every later technique would fail the same way. Facts of
            # a failed task are not kept: the role's rescue records the technique from the result's record.
            result.update(failed=True, msg=record["message"])
            del result["ansible_facts"]
        return result

    def _deliver(self, params):
        self.apply_task_environment()
        command = _technique.webshell_command(params["id"], params["script"])
        argv = _technique.attacker_argv(command, params["webshell_url"], params["timeout"])
        started = time.time()
        try:
            # The collection's one client factory: requests bounded by request_timeout, errors without secrets.
            client = api_client(InProcessModule(params, self._task.check_mode))
        except KubeError as exc:
            delivery, attempts = dict(error=str(exc)), 1
        else:
            delivery, attempts = _technique.until_connected(lambda: _technique.exec_in_pod(
                client, params["namespace"], params["pod"], params["container"], argv,
                params["timeout"] + _technique.EXEC_GRACE, connect_timeout=params["request_timeout"]))
            if delivery.get("error"):
                delivery["error"] = redact_message(delivery["error"], params)
        finished = time.time()
        return _records.delivery_record(params["id"], params["script"], delivery, started, finished,
                                        webshell_url=params["webshell_url"], timeout=params["timeout"]), attempts
