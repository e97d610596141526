# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""manifests_apply through its action plugin, as the deploy role runs it: in the controller's worker."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from unittest import mock

from ansible_collections.defender.attack_simulation.plugins.action import manifests_apply as action
from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import KubeError

TOKEN = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2VuLXZhbHVl.c2lnbmF0dXJl"
KUBECONFIG = dict(clusters=[dict(name="sim", cluster=dict(server="https://sim:6443"))],
                  users=[dict(name="sim", user=dict(token=TOKEN))],
                  contexts=[dict(name="sim", context=dict(cluster="sim", user="sim"))], **{"current-context": "sim"})
SECRET = dict(apiVersion="v1", kind="Secret", metadata=dict(name="mdc-simulation-registry"), data={"x": "c2VjcmV0"})


def run(args, check_mode=False):
    plugin = action.ActionModule.__new__(action.ActionModule)
    plugin._task = mock.Mock(action="defender.attack_simulation.manifests_apply", args=args, check_mode=check_mode,
                             environment=None, delegate_to=None)
    plugin._task.resolved_action = plugin._task.action
    plugin._templar = mock.Mock(template=lambda value: value)
    plugin._play_context = mock.Mock(connection="local")
    plugin._execute_module = mock.Mock(side_effect=AssertionError("a module process was started"))
    with mock.patch("ansible.plugins.action.ActionBase.run", return_value={}), \
            mock.patch.object(action.manifests_apply, "api_client") as api_client, \
            mock.patch.object(action.manifests_apply, "apply_manifests") as apply_manifests:
        calls = dict(api_client=api_client, apply_manifests=apply_manifests)
        apply_manifests.side_effect = args.pop("_apply", None)
        if apply_manifests.side_effect is None:
            apply_manifests.return_value = dict(changed=True, created=["Secret/sim/mdc-simulation-registry"],
                                                updated=[], unchanged=[], replaced=[])
        result = plugin.run(task_vars={})
    return result, calls


def test_the_module_runs_in_the_worker_with_its_validated_arguments_and_check_mode():
    result, calls = run(dict(namespace="sim", run_id="r1", manifests=[SECRET], pod_delete_timeout="30",
                             kubeconfig=KUBECONFIG), check_mode=True)
    assert result["changed"] is True and result["created"] == ["Secret/sim/mdc-simulation-registry"]
    args, kwargs = calls["apply_manifests"].call_args
    assert args[1:] == ([SECRET], "sim", "r1") and kwargs == dict(check_mode=True, delete_timeout=30)
    # The result never carries the manifests: a Secret's data stays out of it.
    assert "c2VjcmV0" not in repr(result)


def test_a_failure_names_the_object_and_never_shows_the_kubeconfigs_token():
    refused = KubeError("Secret/sim/mdc-simulation-registry: cannot apply it: forbidden (HTTP 403)")
    result, _calls = run(dict(namespace="sim", run_id="r1", manifests=[SECRET], kubeconfig=KUBECONFIG, _apply=refused))
    assert result["failed"] is True and result["msg"] == str(refused)
    crashed = RuntimeError("cannot load kubeconfig %r" % KUBECONFIG)
    result, _calls = run(dict(namespace="sim", run_id="r1", manifests=[SECRET], kubeconfig=KUBECONFIG, _apply=crashed))
    assert result["failed"] is True and "<redacted>" in result["msg"]
    assert TOKEN not in repr(result)
