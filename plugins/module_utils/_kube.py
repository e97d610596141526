# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes access for this collection's modules, through kubernetes.core's client factory,
so that every module takes the same connection options as kubernetes.core's own."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC

try:
    from kubernetes.client import AuthorizationV1Api, CoreV1Api
    from kubernetes.client.rest import ApiException  # pylint: disable=unused-import  # re-exported for the modules
except ImportError:  # reported by AnsibleK8SModule's own check of the kubernetes library
    AuthorizationV1Api = CoreV1Api = None

    class ApiException(Exception):
        status = None


# The one home of the names of what a run creates (the lookup simulation_names gives them to YAML).
# Each is the pod name, the container name and the headless service name, as in Microsoft's chart;
# the victim's ServiceAccount is VICTIM too.
ATTACKER = "mdc-simulation-attacker"
VICTIM = "mdc-simulation-victim"
# The label that marks every object this collection creates; cleanup deletes only what carries it.
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "defender.attack_simulation"
MANAGED_BY_SELECTOR = "%s=%s" % (MANAGED_BY_LABEL, MANAGED_BY_VALUE)
RUN_ID_LABEL = "defender.attack-simulation/run-id"


def simulation_names():
    """The names above, keyed for YAML (lookup simulation_names)."""
    return dict(attacker=ATTACKER, victim=VICTIM, managed_by_label=MANAGED_BY_LABEL,
                managed_by_value=MANAGED_BY_VALUE, managed_by_selector=MANAGED_BY_SELECTOR,
                run_id_label=RUN_ID_LABEL)


def auth_argument_spec():
    return copy.deepcopy(AUTH_ARG_SPEC)


class KubeError(Exception):
    """An error that names the object and the reason."""


def api_client(module):
    """The kubernetes ApiClient for the module's connection options."""
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException

    try:
        return get_api_client(module=module).client.client
    except CoreException as exc:
        raise KubeError("cannot connect to the Kubernetes API: %s" % exc)


def core_api(module):
    return CoreV1Api(api_client(module))


def authorization_api(module):
    return AuthorizationV1Api(api_client(module))


def api_reason(exc):
    """The API server's own message for an ApiException, short."""
    try:
        body = json.loads(exc.body)
        return "%s (HTTP %s)" % (body.get("message") or body.get("reason"), exc.status)
    except (TypeError, ValueError, AttributeError):
        return "%s (HTTP %s)" % (getattr(exc, "reason", None) or exc, getattr(exc, "status", "?"))
