# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The warning when the API server's certificate is not verified, naming why."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.defender.attack_simulation.plugins.module_utils._tls import tls_warning


class Configuration(object):
    def __init__(self, verify_ssl):
        self.verify_ssl = verify_ssl
        self.host = "https://10.200.0.2:6443"


def test_a_verified_connection_gets_no_warning():
    assert tls_warning(dict(validate_certs=None), Configuration(True), environ={}) is None


@pytest.mark.parametrize("params, environ, why", [
    (dict(validate_certs=False), {}, "validate_certs is false"),
    (dict(validate_certs=None), {"K8S_AUTH_VERIFY_SSL": "False"},
     "K8S_AUTH_VERIFY_SSL=False (set so by AWX's Kubernetes bearer token credential when it has no CA certificate)"),
    (dict(validate_certs=None), {"K8S_AUTH_VALIDATE_CERTS": "no"}, "K8S_AUTH_VALIDATE_CERTS=no"),
    (dict(validate_certs=None), {}, "the kubeconfig's insecure-skip-tls-verify"),
])
def test_the_warning_names_what_turned_verification_off(params, environ, why):
    warning = tls_warning(params, Configuration(False), environ=environ)
    assert warning.startswith("the API server's certificate is not verified (%s): " % why)
    assert "https://10.200.0.2:6443" in warning
