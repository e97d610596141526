# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A module of the collection run in the controller's worker: the same arguments, results and failures as a module
process, and the module process itself on a connection that is not local."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.defender.attack_simulation.plugins.action import expected_alerts as expected_alerts_action
from ansible_collections.defender.attack_simulation.plugins.action import pods_ready as pods_ready_action

TOKEN = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2VuLXZhbHVl.c2lnbmF0dXJl"


class FakeTask:
    def __init__(self, action, args, check_mode=False, environment=None, delegate_to=None):
        self.action = self.resolved_action = action
        self.args = args
        self.check_mode = check_mode
        self.environment = environment
        self.delegate_to = delegate_to
        self.async_val = 0


def make_action(plugin_module, args, connection="local", **task):
    plugin = plugin_module.ActionModule.__new__(plugin_module.ActionModule)
    plugin._task = FakeTask("defender.attack_simulation." + plugin_module.__name__.rsplit(".", 1)[-1], args, **task)
    plugin._templar = mock.Mock(template=lambda value: value)
    plugin._play_context = mock.Mock(connection=connection)
    plugin._execute_module = mock.Mock(return_value=dict(changed=False, from_module_process=True))
    return plugin


def run(plugin):
    with mock.patch("ansible.plugins.action.ActionBase.run", return_value={}):
        return plugin.run(task_vars={"inventory_hostname": "cluster-a"})


def test_a_local_connection_runs_the_module_in_the_worker_with_its_result_and_warnings():
    records = [{"id": "webshell.whoami", "status": "passed"}, {"id": "crypto.miner_run", "status": "passed"}]
    plugin = make_action(expected_alerts_action, dict(scenarios=["webshell"], results=records))
    result = run(plugin)
    assert not plugin._execute_module.called
    assert result["changed"] is False and not result.get("failed")
    assert [technique["id"] for technique in result["techniques"]] == ["webshell.whoami"]
    assert result["alerts"] and all(alert["display_name"] for alert in result["alerts"])
    assert result["warnings"] == ["results for techniques outside scenarios webshell ignored: crypto.miner_run"]


def test_a_module_failure_is_a_failed_result_with_the_modules_message():
    result = run(make_action(expected_alerts_action, dict(scenarios=["webshell"], results=[{"status": "passed"}])))
    assert result["failed"] is True and "id" in result["msg"]


def test_arguments_are_checked_and_typed_by_the_modules_spec():
    with pytest.raises(AnsibleActionFail, match="scenarios"):
        run(make_action(expected_alerts_action, dict(scenarios=["mining"])))
    with mock.patch.object(pods_ready_action.pods_ready, "wait_ready") as wait_ready, \
            mock.patch.object(pods_ready_action.pods_ready, "api_client"):
        wait_ready.return_value = dict(ready=True, not_ready=[], problems=[], messages=[])
        result = run(make_action(pods_ready_action, dict(namespace="sim", names=["a"], timeout="45")))
    assert wait_ready.call_args[0][-1] == 45
    assert result["ready"] is True and result["changed"] is False


def test_another_connection_or_a_delegation_runs_the_module_as_a_process():
    for plugin in (make_action(expected_alerts_action, dict(scenarios=["webshell"]), connection="ssh"),
                   make_action(expected_alerts_action, dict(scenarios=["webshell"]), delegate_to="jump")):
        result = run(plugin)
        assert result["from_module_process"] is True
        plugin._execute_module.assert_called_once_with(module_name="defender.attack_simulation.expected_alerts",
                                                       module_args=dict(scenarios=["webshell"]), task_vars=mock.ANY)


def test_the_tasks_environment_is_where_kubernetes_cores_client_reads_it():
    seen = {}

    def api_client(module):
        seen.update(env=os.environ.get("K8S_AUTH_CONTEXT"), params=module.params["context"])
        raise RuntimeError("stop here")

    with mock.patch.dict(os.environ), mock.patch.object(pods_ready_action.pods_ready, "api_client", api_client):
        run(make_action(pods_ready_action, dict(namespace="sim", names=["a"]), environment=[{"K8S_AUTH_CONTEXT": "ctx-b"}]))
    assert seen == {"env": "ctx-b", "params": None}


def test_an_unexpected_error_is_a_failed_result_without_the_kubeconfigs_secrets():
    kubeconfig = {"users": [{"name": "u", "user": {"token": TOKEN}}]}

    def api_client(module):
        raise ValueError("invalid kubeconfig %s" % module.params["kubeconfig"])

    with mock.patch.object(pods_ready_action.pods_ready, "api_client", api_client):
        result = run(make_action(pods_ready_action, dict(namespace="sim", names=["a"], kubeconfig=kubeconfig)))
    assert result["failed"] is True and result["msg"].startswith("ValueError: invalid kubeconfig")
    assert TOKEN not in json.dumps(result)
