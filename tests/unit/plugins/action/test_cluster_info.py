# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""cluster_info, run as the prerequisites run it (its action plugin, in the worker), against a fake API server
behind the kubernetes client's REST layer: the typed APIs build the real requests, the fake answers by path."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from unittest import mock

import pytest
import urllib3
from kubernetes.client import rest

from ansible_collections.defender.attack_simulation.plugins.action import cluster_info as cluster_info_action

SERVER = "https://api.cluster-a.example:6443"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2VuLXZhbHVl.c2lnbmF0dXJl"
VERSION = {"major": "1", "minor": "31", "gitVersion": "v1.31.2", "platform": "linux/amd64"}
SENSOR = {"namespace": "kube-system", "name": "microsoft-defender-collector-ds"}
OTHER_SENSOR = {"namespace": "mdc", "name": "microsoft-defender-collectors-ds"}
SENSOR_PATH = "/apis/apps/v1/namespaces/kube-system/daemonsets/microsoft-defender-collector-ds"
OTHER_SENSOR_PATH = "/apis/apps/v1/namespaces/mdc/daemonsets/microsoft-defender-collectors-ds"
AKS_NODE = {"metadata": {"name": "aks-nodepool1-0", "labels": {"topology.kubernetes.io/region": "westeurope"}},
            "spec": {"providerID": "azure:///subscriptions/0000-sub/resourceGroups/MC_rg-sim_aks-sim_westeurope/"
                                   "providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1/virtualMachines/0"}}
KIND_NODE = {"metadata": {"name": "kind-control-plane", "labels": {}}, "spec": {"providerID": "kind://docker/kind"}}


def status(code, message):
    reason = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 500: "InternalError"}[code]
    return code, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
                  "reason": reason, "code": code}


class FakeApiServer:
    """Answers each path (query string aside) from ``answers``: (status, body), a list of them (one per request),
    or an exception to raise, as urllib3 does for a server that never answers. Records each request."""

    def __init__(self, answers):
        self.answers = answers
        self.requests = []

    def request(self, _rest_client, method, url, headers=None, body=None, post_params=None, _request_timeout=None):
        self.requests.append(dict(method=method, url=url, headers=headers, timeout=_request_timeout))
        path = url[len(SERVER):].split("?")[0]
        answer = self.answers.get(path, status(404, "the server could not find the requested resource"))
        if isinstance(answer, list):
            answer = answer.pop(0)
        if isinstance(answer, Exception):
            raise answer
        code, payload = answer
        return rest.RESTResponse(urllib3.HTTPResponse(body=json.dumps(payload).encode(), status=code,
                                                      headers={"Content-Type": "application/json"},
                                                      preload_content=False))

    def paths(self):
        return [request["url"][len(SERVER):] for request in self.requests]


class FakeTask:
    def __init__(self, args):
        self.action = self.resolved_action = "defender.attack_simulation.cluster_info"
        self.args = args
        self.check_mode = False
        self.environment = None
        self.delegate_to = None
        self.async_val = 0


def run_cluster_info(server, **args):
    """The module's result, run by its action plugin on a local connection, against ``server``."""
    plugin = cluster_info_action.ActionModule.__new__(cluster_info_action.ActionModule)
    plugin._task = FakeTask(dict(dict(host=SERVER, api_key=TOKEN, validate_certs=False), **args))
    plugin._templar = mock.Mock(template=lambda value: value)
    plugin._play_context = mock.Mock(connection="local")
    with mock.patch("ansible.plugins.action.ActionBase.run", return_value={}), \
            mock.patch.object(rest.RESTClientObject, "request", autospec=True, side_effect=server.request):
        return plugin.run(task_vars={"inventory_hostname": "cluster-a"})


def daemonset(number_ready):
    return 200, {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "x"},
                 "status": {"numberReady": number_ready, "desiredNumberScheduled": 3}}


def test_the_version_and_a_ready_sensor_are_read_and_a_missing_one_is_not_found_in_bounded_requests():
    server = FakeApiServer({"/version/": (200, VERSION), SENSOR_PATH: daemonset(3)})
    result = run_cluster_info(server, sensor_daemonsets=[SENSOR, OTHER_SENSOR], request_timeout=7)
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert result["server_version"]["gitVersion"] == "v1.31.2"
    assert result["client_version"] == __import__("kubernetes").__version__
    assert result["sensor_daemonsets"] == [
        dict(SENSOR, found=True, number_ready=3, error=None),
        dict(OTHER_SENSOR, found=False, number_ready=None, error=None),
    ]
    assert "aks_identity" not in result  # not asked: the nodes are not listed
    assert server.paths() == ["/version/", SENSOR_PATH, OTHER_SENSOR_PATH]
    assert all(request["method"] == "GET" and request["timeout"] == 7 for request in server.requests)
    assert server.requests[0]["headers"]["authorization"] == "Bearer " + TOKEN


def test_a_sensor_without_ready_pods_is_found_with_zero_ready():
    server = FakeApiServer({"/version/": (200, VERSION), SENSOR_PATH: (200, {"kind": "DaemonSet", "status": {}})})
    result = run_cluster_info(server, sensor_daemonsets=[SENSOR])
    assert result["sensor_daemonsets"] == [dict(SENSOR, found=True, number_ready=0, error=None)]


def test_a_daemonset_the_caller_may_not_read_is_reported_with_the_servers_reason_without_failing():
    forbidden = ('daemonsets.apps "microsoft-defender-collector-ds" is forbidden: User "system:serviceaccount:ci:runner" '
                 'cannot get resource "daemonsets" in API group "apps" in the namespace "kube-system"')
    server = FakeApiServer({"/version/": (200, VERSION), SENSOR_PATH: status(403, forbidden),
                            OTHER_SENSOR_PATH: status(500, "etcdserver: request timed out")})
    result = run_cluster_info(server, sensor_daemonsets=[SENSOR, OTHER_SENSOR])
    assert not result.get("failed"), result
    first, second = result["sensor_daemonsets"]
    assert first["found"] is False and first["number_ready"] is None
    assert first["error"] == "DaemonSet kube-system/microsoft-defender-collector-ds: %s (HTTP 403)" % forbidden
    assert second["error"] == "DaemonSet mdc/microsoft-defender-collectors-ds: etcdserver: request timed out (HTTP 500)"


def test_a_server_that_never_answers_fails_the_module_naming_it_after_one_request():
    timeout = urllib3.exceptions.ReadTimeoutError(None, SERVER + "/version/", "Read timed out. (read timeout=3)")
    server = FakeApiServer({"/version/": timeout})
    result = run_cluster_info(server, sensor_daemonsets=[SENSOR], read_aks_identity=True, request_timeout=3)
    assert result["failed"] is True
    assert result["msg"].startswith("the Kubernetes API server %s did not answer within 3 seconds "
                                    "(request_timeout): " % SERVER)
    assert server.paths() == ["/version/"]  # nothing else waited for
    assert TOKEN not in json.dumps(result)


def test_credentials_the_server_refuses_fail_the_module_with_its_reason():
    server = FakeApiServer({"/version/": status(401, "Unauthorized")})
    result = run_cluster_info(server, sensor_daemonsets=[SENSOR])
    assert result["failed"] is True
    assert result["msg"] == ("the Kubernetes API server %s refused to tell its version: Unauthorized (HTTP 401)"
                             % SERVER)


def test_the_aks_identity_is_read_from_the_first_aks_node_a_page_at_a_time():
    first_page = (200, {"kind": "NodeList", "metadata": {"continue": "page-2"}, "items": [KIND_NODE]})
    second_page = (200, {"kind": "NodeList", "metadata": {"continue": "page-3"}, "items": [AKS_NODE]})
    server = FakeApiServer({"/version/": (200, VERSION), "/api/v1/nodes": [first_page, second_page]})
    result = run_cluster_info(server, read_aks_identity=True)
    assert result["aks_identity"] == dict(
        subscription_id="0000-sub", node_resource_group="MC_rg-sim_aks-sim_westeurope", name="aks-sim",
        resource_id="/subscriptions/0000-sub/resourceGroups/rg-sim/providers/Microsoft.ContainerService/"
                    "managedClusters/aks-sim",
        error=None)
    node_requests = [path for path in server.paths() if path.startswith("/api/v1/nodes")]
    assert node_requests == ["/api/v1/nodes?limit=50", "/api/v1/nodes?continue=page-2&limit=50"]  # not page 3


def test_a_cluster_that_is_not_aks_has_an_unknown_identity():
    server = FakeApiServer({"/version/": (200, VERSION),
                            "/api/v1/nodes": (200, {"kind": "NodeList", "metadata": {}, "items": [KIND_NODE]})})
    result = run_cluster_info(server, read_aks_identity=True)
    assert result["aks_identity"] == dict(subscription_id=None, node_resource_group=None, name=None,
                                          resource_id=None, error=None)


@pytest.mark.parametrize("answer, reason", [
    (status(403, 'nodes is forbidden: User "runner" cannot list resource "nodes"'),
     'cannot list the nodes: nodes is forbidden: User "runner" cannot list resource "nodes" (HTTP 403)'),
    (urllib3.exceptions.ReadTimeoutError(None, SERVER + "/api/v1/nodes", "Read timed out."),
     "cannot list the nodes: the Kubernetes API server %s did not answer within 20 seconds" % SERVER),
], ids=["forbidden", "silent"])
def test_nodes_that_cannot_be_listed_leave_the_identity_unknown_without_failing(answer, reason):
    server = FakeApiServer({"/version/": (200, VERSION), SENSOR_PATH: daemonset(1), "/api/v1/nodes": answer})
    result = run_cluster_info(server, sensor_daemonsets=[SENSOR], read_aks_identity=True)
    assert not result.get("failed"), result
    assert result["sensor_daemonsets"][0]["number_ready"] == 1
    assert result["aks_identity"]["resource_id"] is None
    assert result["aks_identity"]["error"].startswith(reason)
