# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's Kubernetes client: credentials never in a message, requests bounded."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.defender.attack_simulation.plugins.module_utils import _kube

KUBECONFIG = {
    "apiVersion": "v1", "kind": "Config", "current-context": "sim",
    "clusters": [{"name": "sim", "cluster": {"server": "https://10.0.0.1"}}],
    "users": [{"name": "sim", "user": {"token": "tok-0123456789"}}],
    "contexts": [{"name": "sim", "context": {"cluster": "sim", "user": "sim"}}]}


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


def test_a_kube_error_that_quotes_a_credential_fails_the_module_without_it():
    # A KubeError's message can quote what the API or the client said, a kubeconfig's token or a signed URL included.
    module = FakeModule({"kubeconfig": KUBECONFIG, "api_key": None})
    try:
        with _kube.failures_told(module):
            raise _kube.KubeError("pod mdc-simulation/p: exec failed: token tok-0123456789 refused at "
                                  "https://10.0.0.1/x?sig=abcdefghijklmnop")
    except SystemExit:
        pass
    assert "tok-0123456789" not in module.failed["msg"] and "abcdefghijklmnop" not in module.failed["msg"]
    assert module.failed["msg"].startswith("pod mdc-simulation/p: exec failed: token <redacted> refused at https://10.0.0.1/x?sig=")
