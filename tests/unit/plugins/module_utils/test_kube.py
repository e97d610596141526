# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's Kubernetes client: credentials never in a message, requests bounded."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.defender.attack_simulation.plugins.module_utils import _kube

KUBECONFIG = {
    "apiVersion": "v1", "kind": "Config", "current-context": "sim",
    "clusters": [{"name": "sim", "cluster": {"server": "https://10.0.0.1", "certificate-authority-data": "Q0E="}}],
    "users": [{"name": "sim", "user": {"token": "tok-0123456789", "client-key-data": "S0VZLWRhdGE="}},
              {"name": "oidc", "user": {"auth-provider": {"config": {
                  "id-token": "eyJ.id.token", "client-secret": "shh-secret"}}}}],
    "contexts": [{"name": "sim", "context": {"cluster": "sim", "user": "sim"}}]}


def test_every_credential_of_a_kubeconfig_dict_is_redacted_and_nothing_else():
    text = "could not load %s" % KUBECONFIG
    redacted = _kube.redact_kubeconfig(text, {"kubeconfig": KUBECONFIG, "api_key": None})
    for secret in ("tok-0123456789", "S0VZLWRhdGE=", "eyJ.id.token", "shh-secret"):
        assert secret not in redacted
    assert "https://10.0.0.1" in redacted and "Q0E=" in redacted  # the server and the CA are not secrets


def test_the_api_key_is_redacted_and_a_kubeconfig_path_is_left_alone():
    assert _kube.redact_kubeconfig("Bearer abc123 at /k", {"kubeconfig": "/k", "api_key": "abc123"}) == \
        "Bearer <redacted> at /k"


class FakeRest:
    def __init__(self):
        self.timeouts = []

    def request(self, method, url, headers=None, _request_timeout=None, **kwargs):
        self.timeouts.append(_request_timeout)


def test_every_request_gets_the_bound_unless_it_sets_its_own():
    rest = FakeRest()
    client = type("Client", (), {})()
    client.rest_client = rest
    _kube.bound_requests(client, 7)
    client.rest_client.request("GET", "/version")
    client.rest_client.request("GET", "/version", _request_timeout=(1, 2))
    assert rest.timeouts == [7, (1, 2)] and client.request_timeout == 7


class FakeModule:
    def __init__(self, params):
        self.params = params
        self.failed = None

    def fail_json(self, **result):
        self.failed = result
        raise SystemExit(1)


def test_an_unexpected_error_fails_the_module_with_its_credentials_redacted():
    module = FakeModule({"kubeconfig": KUBECONFIG, "api_key": None})
    try:
        with _kube.failures_told(module):
            raise RuntimeError("boom while using %s" % KUBECONFIG)
    except SystemExit:
        pass
    assert module.failed["msg"].startswith("RuntimeError: boom while using")
    assert "tok-0123456789" not in module.failed["msg"] + module.failed["exception"]


def test_a_kube_error_fails_the_module_with_its_message():
    module = FakeModule({"kubeconfig": None, "api_key": None})
    try:
        with _kube.failures_told(module):
            raise _kube.KubeError("namespace mdc-simulation: cannot read it: Forbidden (HTTP 403)")
    except SystemExit:
        pass
    assert module.failed == {"msg": "namespace mdc-simulation: cannot read it: Forbidden (HTTP 403)"}
