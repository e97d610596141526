# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The prerequisites' judgement (filters prerequisites_input and prerequisites_verdict): bad input, the actions the
run's options need, and the verdict on what the cluster answered; on a real cluster: tests/e2e."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.defender.attack_simulation.plugins.filter.prerequisites import FilterModule
from ansible_collections.defender.attack_simulation.plugins.module_utils._prerequisites import before_cluster, verdict

SENSORS = [{"namespace": "kube-system", "name": "microsoft-defender-collector-ds"},
           {"namespace": "mdc", "name": "microsoft-defender-collectors-ds"}]


def variables(**changes):
    values = dict(simulation_namespace="mdc-simulation", simulation_namespace_mode="create", simulation_kubeconfig="",
                  simulation_cluster_resource_id=None, deploy_registry_credentials={},
                  prerequisites_sensor_daemonsets=SENSORS, prerequisites_require_sensor=True,
                  prerequisites_min_kubernetes_client="24.2.0", prerequisites_permissions=[], host=None, context=None,
                  environment={})
    values.update(changes)
    return values


def cluster(client="37.0.2", ready=1, error=None):
    return {"client_version": client, "sensor_daemonsets": [
        dict(SENSORS[0], found=ready is not None, number_ready=ready, error=error),
        dict(SENSORS[1], found=False, number_ready=None, error=None)]}


def reviewed(found):
    return {"%s %s%s" % (a["verb"], a["resource"], "/" + a["subresource"] if a["subresource"] else "")
            + (" in namespace %s" % a["namespace"] if a["namespace"] else "") for a in found["actions"]}


@pytest.mark.parametrize("name", ["mdc-simulation\n", "Bad_Name", "-dash", "x" * 64, "kube system", ""])
def test_a_bad_namespace_name_is_a_problem_and_nothing_is_reviewed(name):
    found = before_cluster(variables(simulation_namespace=name))
    assert found["problems"] == ["namespace '%s' is not a valid Kubernetes namespace name: use at most 63 lower-case "
                                 "letters, digits and '-', starting and ending with a letter or digit" % name]
    assert found["actions"] == []


def test_a_good_name_and_the_default_kubeconfig_are_no_problem():
    assert before_cluster(variables(simulation_namespace="a" * 63))["problems"] == []


def test_a_missing_kubeconfig_file_is_named(tmp_path):
    missing = str(tmp_path / "nowhere")
    assert before_cluster(variables(simulation_kubeconfig=missing))["problems"] == [
        "kubeconfig %s does not exist or is not a file" % missing]


def test_a_kubeconfig_dict_is_described_by_its_server_never_printed():
    kubeconfig = {"clusters": [{"cluster": {"server": "https://aks.example:443"}}],
                  "users": [{"user": {"token": "sekret-token"}}]}
    text = before_cluster(variables(simulation_kubeconfig=kubeconfig, context="aks"))["connection"]
    assert text == "kubeconfig given as a dict, server https://aks.example:443, context aks"
    assert before_cluster(variables())["connection"] == "kubeconfig ~/.kube/config, context its current-context"
    assert before_cluster(variables(host="https://h:6443"))["connection"] == "host https://h:6443"
    from_awx = variables(environment={"K8S_AUTH_HOST": "https://h:6443", "KUBECONFIG": "/k"})
    assert before_cluster(from_awx)["connection"] == "host https://h:6443 (K8S_AUTH_HOST)"
    from_env = variables(environment={"KUBECONFIG": "/k", "K8S_AUTH_CONTEXT": "c"})
    assert before_cluster(from_env)["connection"] == "kubeconfig /k (KUBECONFIG), context c (K8S_AUTH_CONTEXT)"


def test_the_reviews_follow_the_options():
    create = reviewed(before_cluster(variables()))
    assert "create namespaces" in create and "create pods/exec in namespace mdc-simulation" in create
    assert not [a for a in create if "secrets" in a]
    assert "list nodes" in create
    provided = reviewed(before_cluster(variables(simulation_namespace_mode="provided",
                                                 simulation_cluster_resource_id="/subscriptions/x",
                                                 deploy_registry_credentials={"server": "r"})))
    assert "create namespaces" not in provided and "delete namespaces" not in provided
    assert "create leases in namespace mdc-simulation" in provided
    assert "create secrets in namespace mdc-simulation" in provided
    assert "list nodes" not in provided


def test_extra_permissions_are_reviewed_after_the_runs_own():
    extra = {"verb": "get", "resource": "configmaps", "namespace": "tools", "name": "", "group": "", "subresource": ""}
    found = before_cluster(variables(prerequisites_permissions=[extra]))["actions"]
    assert found[-1] == extra
    assert set(found[0]) == {"verb", "resource", "subresource", "name", "group", "namespace"}


def test_a_cluster_that_meets_every_prerequisite_passes():
    assert verdict(variables(), cluster(), {"denied": []}) == dict(
        problems=[], sensor="kube-system/microsoft-defender-collector-ds", warning=None)


def test_missing_permissions_name_verb_resource_namespace_and_the_mode_that_needs_them():
    denied = [{"action": "create pods in namespace mdc-simulation", "resource": "pods"},
              {"action": "create secrets in namespace mdc-simulation", "resource": "secrets"}]
    problems = verdict(variables(simulation_namespace_mode="provided"), cluster(), {"denied": denied})["problems"]
    assert problems == [
        "the credentials in use may not do everything a simulation run does with simulation_namespace_mode=provided "
        "(the Role in namespace mdc-simulation and the ClusterRole of docs/permissions/provided.yml, and for "
        "deploy_registry_credentials docs/permissions/provided-registry.yml; docs/permissions.md says why each is "
        "needed); missing permissions: create pods in namespace mdc-simulation, create secrets in namespace "
        "mdc-simulation"]
    create = verdict(variables(), cluster(), {"denied": denied[:1]})["problems"][0]
    assert "simulation_namespace_mode=create (the ClusterRole of docs/permissions/create.yml;" in create


def test_problems_come_in_the_order_a_user_fixes_them():
    denied = [{"action": "create namespaces", "resource": "namespaces"}]
    problems = verdict(variables(), cluster(client="12.0.0", ready=None), {"denied": denied})["problems"]
    assert problems[0] == ("the controller's kubernetes Python package is 12.0.0; 24.2.0 or newer is needed "
                           "(pip install 'kubernetes>=24.2.0')")
    assert problems[1].endswith("missing permissions: create namespaces")
    assert problems[2].startswith("the Defender sensor was not found with ready pods")
    assert len(problems) == 3


def test_a_missing_sensor_fails_and_require_sensor_false_only_warns():
    message = ("the Defender sensor was not found with ready pods (looked for DaemonSet "
               "kube-system/microsoft-defender-collector-ds and mdc/microsoft-defender-collectors-ds; found "
               "microsoft-defender-collector-ds without ready pods): Defender for Containers will raise no runtime "
               "alerts; enable the sensor, or set require_sensor=false to run anyway")
    assert verdict(variables(), cluster(ready=0), {})["problems"] == [message]
    warned = verdict(variables(prerequisites_require_sensor=False), cluster(ready=0), {})
    assert warned == dict(problems=[], sensor=None, warning=message)


def test_a_sensor_that_cannot_be_read_is_told_with_the_connection_and_redacted():
    error = "DaemonSet kube-system/x: Unauthorized (HTTP 401) Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
    problems = verdict(variables(), cluster(ready=None, error=error), {})["problems"]
    assert problems[0].startswith("cannot look for the Defender sensor (kubeconfig ~/.kube/config, context its current-context): "
                                  "DaemonSet kube-system/x: Unauthorized (HTTP 401)")
    assert "eyJzdWIiOiJ4In0" not in problems[0]


def test_the_filters_are_the_judgement():
    filters = FilterModule().filters()
    assert filters["prerequisites_input"](variables(simulation_namespace="Bad"))["problems"]
    assert filters["prerequisites_verdict"](variables(), cluster(), {"denied": []})["problems"] == []
