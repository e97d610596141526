# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Whether the connection to the API server verifies its certificate, and a warning naming why not.

AWX's "OpenShift or Kubernetes API Bearer Token" credential injects K8S_AUTH_VERIFY_SSL=False when it has no CA
certificate: the run then sends its token to whatever answers at the host, which deserves a warning."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

FALSE_WORDS = ("0", "false", "no")


def _unverified_because(params, environ):
    """What turned verification off, read in kubernetes.core's order (the option, then its environment variables)."""
    if params.get("validate_certs") is False:
        return "validate_certs is false"
    if params.get("validate_certs") is None:
        for name in ("K8S_AUTH_VALIDATE_CERTS", "K8S_AUTH_VERIFY_SSL"):
            if (environ.get(name) or "").lower() in FALSE_WORDS and environ.get(name):
                return "%s=%s%s" % (name, environ[name], " (set so by AWX's Kubernetes bearer token credential "
                                    "when it has no CA certificate)" if name == "K8S_AUTH_VERIFY_SSL" else "")
    return "the kubeconfig's insecure-skip-tls-verify"


def tls_warning(params, configuration, environ=None):
    """A warning when ``configuration`` (a kubernetes client Configuration) does not verify the server, else None."""
    if configuration.verify_ssl:
        return None
    because = _unverified_because(params, os.environ if environ is None else environ)
    return ("the API server's certificate is not verified (%s): the token goes to whoever answers at %s; give the "
            "cluster's CA certificate instead (ca_cert, K8S_AUTH_SSL_CA_CERT, or the credential's Certificate "
            "Authority data)" % (because, configuration.host))
