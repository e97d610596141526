# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The technique action: connection options, arguments as strings, facts per run, and what it returns."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.defender.attack_simulation.plugins.action import technique as action_module
from ansible_collections.defender.attack_simulation.plugins.module_utils._catalog import TECHNIQUES

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJlLWJ5dGVz"


class FakeTask:
    def __init__(self, args, check_mode=False, environment=None):
        self.args = args
        self.check_mode = check_mode
        self.environment = environment
        self.action = self.resolved_action = "defender.attack_simulation.technique"
        self.module_defaults = []
        self.async_val = 0


def make_action(args, **task):
    plugin = action_module.ActionModule.__new__(action_module.ActionModule)
    plugin._task = FakeTask(args, **task)
    plugin._templar = mock.Mock(template=lambda value: value)
    plugin._display = mock.Mock()
    return plugin


def run(plugin, task_vars=None):
    with mock.patch("ansible.plugins.action.ActionBase.run", return_value={}), \
            mock.patch.object(action_module, "display"):
        return plugin.run(task_vars=task_vars or {"inventory_hostname": "cluster-a"})


ARGS = dict(id="recon.network_scan", script="nmap -Pn --open kubernetes.default/24 -p 443", namespace="sim",
            timeout="2", run_id="r1", kubeconfig="/tmp/k", context="ctx-a")


@pytest.fixture
def exec_in_pod():
    with mock.patch.object(action_module, "api_client") as client, \
            mock.patch.object(action_module._technique, "exec_in_pod") as execute:
        yield client, execute


def test_connection_options_and_string_numbers_reach_the_client_and_the_exec(exec_in_pod):
    client, execute = exec_in_pod
    execute.return_value = dict(stdout="Nmap done: 256 IP addresses (1 host up) scanned in 1.41 seconds\n"
                                       "@@technique-exit=0\n@@http-status=200\n@@duration=1.5\n", rc=0)
    result = run(make_action(dict(ARGS)))
    client.assert_called_once()
    given = client.call_args[0][0].params
    assert (given["kubeconfig"], given["context"], given["request_timeout"]) == ("/tmp/k", "ctx-a", 20)
    assert execute.call_args[1] == {"connect_timeout": 20}
    api_client, namespace, pod, container, argv, bound = execute.call_args[0]
    assert (namespace, pod, container) == ("sim", "mdc-simulation-attacker", "mdc-simulation-attacker")
    assert argv[argv.index("-m") + 1] == "2" and bound == 2 + action_module._technique.EXEC_GRACE
    assert api_client is client.return_value
    assert result["record"]["status"] == "passed" and not result.get("failed")
    assert result["msg"] == ("cluster-a | recon.network_scan passed in 1.50 s: "
                             "Nmap done: 256 IP addresses (1 host up) scanned in 1.41 seconds")


def test_k8s_auth_environment_of_the_task_reaches_kubernetes_cores_client_as_a_modules_would(exec_in_pod):
    client, execute = exec_in_pod
    execute.return_value = dict(stdout="@@technique-exit=0\n@@http-status=200\n", rc=0)
    args = dict(ARGS)
    del args["kubeconfig"], args["context"]
    seen = {}
    client.side_effect = lambda module: seen.update(kubeconfig=module.params["kubeconfig"],
                                                    env=os.environ.get("K8S_AUTH_KUBECONFIG"))
    with mock.patch.dict(os.environ):
        run(make_action(args, environment=[{"K8S_AUTH_KUBECONFIG": "/env/k", "K8S_AUTH_VALIDATE_CERTS": "false"}]))
    assert seen == {"kubeconfig": None, "env": "/env/k"}


def test_a_timed_out_technique_is_recorded_and_the_task_is_ok_so_the_run_goes_on(exec_in_pod):
    _client, execute = exec_in_pod
    execute.return_value = dict(stdout="@@http-status=000\n@@duration=2.002\n", rc=28,
                                stderr="curl: (28) Operation timed out after 2002 milliseconds with 0 bytes received")
    result = run(make_action(dict(ARGS)))
    assert not result.get("failed")
    assert result["record"]["status"] == "timed_out"
    assert result["ansible_facts"]["techniques_records"]["r1"][-1]["status"] == "timed_out"


def test_an_unreachable_web_shell_fails_the_task_with_the_url_and_curls_error(exec_in_pod):
    _client, execute = exec_in_pod
    execute.return_value = dict(stdout="@@http-status=000\n", rc=7,
                                stderr="curl: (7) Failed to connect to mdc-simulation-victim port 80: Connection refused")
    result = run(make_action(dict(ARGS)))
    assert result["failed"] is True
    assert result["msg"] == ("web shell http://mdc-simulation-victim/ws.php not reachable from the attacker: curl exit 7: "
                             "Failed to connect to mdc-simulation-victim port 80: Connection refused")
    assert result["record"]["status"] == "unreachable"


def test_records_accumulate_per_run_and_an_earlier_runs_cached_facts_are_dropped(exec_in_pod):
    _client, execute = exec_in_pod
    execute.return_value = dict(stdout="@@technique-exit=0\n@@http-status=200\n", rc=0)
    earlier = {"old-run": [{"id": "webshell.whoami"}], "r1": [{"id": "recon.access_review"}]}
    result = run(make_action(dict(ARGS)), {"inventory_hostname": "h", "ansible_facts": {"techniques_records": earlier}})
    facts = result["ansible_facts"]["techniques_records"]
    assert list(facts) == ["r1"]
    assert [r["id"] for r in facts["r1"]] == ["recon.access_review", "recon.network_scan"]


def test_nothing_raw_leaves_the_action(exec_in_pod):
    _client, execute = exec_in_pod
    secret = "https://%s@github.com" % ("ghp_" + "Z" * 36)
    execute.return_value = dict(stdout="%s\n%s\n@@technique-exit=0\n@@http-status=200\n" % (JWT, secret), rc=0,
                                stderr="Authorization: Bearer %s" % JWT)
    result = run(make_action(dict(ARGS, id="secrets.git_credentials")))
    dumped = json.dumps(result)
    assert JWT not in dumped and "Z" * 36 not in dumped


def test_check_mode_sends_nothing_and_records_skipped(exec_in_pod):
    client, execute = exec_in_pod
    result = run(make_action(dict(ARGS), check_mode=True))
    assert not client.called and not execute.called
    assert result["record"]["status"] == "skipped" and result["changed"] is False


def test_bad_arguments_are_refused_with_the_reason():
    with pytest.raises(AnsibleActionFail, match="timeout"):
        run(make_action(dict(ARGS, timeout="two minutes")))
    with pytest.raises(AnsibleActionFail, match="unknown technique"):
        run(make_action(dict(ARGS, id="crypto.nothing")))


# --- issue 17, case 4: a web shell that answers without executing proves nothing -----------------------------------

PHP_SOURCE = "<?php\n  echo shell_exec($_GET['cmd']);\n?>\n"


@pytest.mark.parametrize("answer", [PHP_SOURCE, "Warning: shell_exec() has been disabled for security reasons",
                                    "<html><head><title>404 Not Found</title></head><body>404 Not Found</body></html>",
                                    ""])
def test_a_web_shell_answering_without_running_whoami_is_unreachable_and_stops_the_run(exec_in_pod, answer):
    unused_client, execute = exec_in_pod
    execute.return_value = dict(stdout="%s\n@@http-status=200\n@@duration=0.01\n" % answer, rc=0)
    result = run(make_action(dict(ARGS, id="webshell.whoami", script="whoami")))
    assert result["failed"] and result["record"]["status"] == "unreachable"
    assert "answered without running the command: " in result["msg"]
    assert (answer.split()[0] if answer else "nothing") in result["msg"]  # an excerpt of what it answered


def test_a_script_the_web_shell_served_instead_of_running_is_unreachable(exec_in_pod):
    unused_client, execute = exec_in_pod
    execute.return_value = dict(stdout=PHP_SOURCE + "@@http-status=200\n@@duration=0.01\n", rc=0)
    result = run(make_action(dict(ARGS)))
    assert result["failed"] and result["record"]["status"] == "unreachable" and "<?php" in result["msg"]


def test_a_script_that_exits_0_without_its_success_line_failed(exec_in_pod):
    unused_client, execute = exec_in_pod
    execute.return_value = dict(stdout="something else\n@@technique-exit=0\n@@http-status=200\n", rc=0)
    result = run(make_action(dict(ARGS)))
    assert result["record"]["status"] == "failed" and not result.get("failed")
    assert "without the line its script prints when it did its part" in result["record"]["message"]


def test_whoami_passes_on_one_user_name():
    record = action_module._records.delivery_record("webshell.whoami", "whoami", dict(
        stdout="<!-- header -->\nnginx\n@@http-status=200\n", rc=0), 1.0, 2.0)
    assert (record["status"], record["output"]) == ("passed", "nginx")


# What the scripts print in the sealed cluster (tests/e2e/test_scenarios.py checks these outputs).
PRINTED = {
    "recon.access_review": 'SelfSubjectAccessReview "status":{"allowed":false}',
    "recon.network_scan": "443/tcp open  https\n\nNmap done: 256 IP addresses (2 hosts up) scanned in 3.05 seconds",
    "lateral_movement.metadata_token": "No token found",
    "secrets.git_credentials": "found /var/www/.git-credentials:\nhttps://u...(cut)@somegit.com",
    "secrets.service_account_token": "service-account token: eyJhbGciOiJSUzI1NiIsImtpZCI6...(cut)",
    "secrets.cloud_secret_env": "AZURE_CREDENTIAL_FILE is not set",
    "crypto.cpu_optimization": "modprobe msr allow_writes=on: exit 1 (refusal is expected in a container)",
    "crypto.ld_so_preload": "ld.so.preload: refused for nginx",
    "crypto.miner_download": "downloaded xmrig to /var/www/html/xmrig (14640 bytes)",
    "crypto.miner_run": "/var/www/html/xmrig exited 0",
    "ti_domain.test_domain": "request to mdc-eicar.alerts.security.azure.com sent: curl exit 6",
}


def test_every_technique_of_the_catalog_has_a_success_line_but_whoami():
    ids = [t["id"] for t in TECHNIQUES]
    assert sorted(action_module._records.SUCCESS_LINES) == sorted(i for i in ids if i != "webshell.whoami")


@pytest.mark.parametrize("technique_id", sorted(PRINTED))
def test_each_script_s_success_line_is_recognised(technique_id):
    assert action_module._records.has_success_line(technique_id, PRINTED[technique_id])
    assert not action_module._records.has_success_line(technique_id, "<?php echo shell_exec($_GET['cmd']); ?>")
