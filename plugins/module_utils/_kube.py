# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kubernetes access for this collection's modules, through kubernetes.core's client factory,
so that every module takes the same connection options as kubernetes.core's own."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import traceback
from contextlib import contextmanager

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.defender.attack_simulation.plugins.module_utils._deadline import DeadlinePassed, call_within
from ansible_collections.defender.attack_simulation.plugins.module_utils._redact import redact_message


class _NoKubernetesApiException(Exception):
    """Stands in for kubernetes' ApiException when the library is missing (AnsibleK8SModule reports that)."""
    status = None


def _api_exception():
    try:
        from kubernetes.client.rest import ApiException
    except ImportError:
        return _NoKubernetesApiException
    return ApiException


def _transport_error():
    try:
        from urllib3.exceptions import HTTPError
    except ImportError:
        return _NoKubernetesApiException
    return HTTPError


def __getattr__(name):
    # The kubernetes client takes a second of CPU to import: only code that talks to the API pays for it, not a
    # lookup that wants a name from this file. `from ..._kube import ApiException` still works (PEP 562).
    if name == "ApiException":
        return _api_exception()
    if name == "TransportError":
        return _transport_error()
    raise AttributeError("module %s has no attribute %s" % (__name__, name))


# The one home of the names of what a run creates (the lookup simulation_names gives them to YAML).
# Each is the pod name, the container name and the headless service name, as in Microsoft's chart;
# the victim's ServiceAccount is VICTIM too.
ATTACKER = "mdc-simulation-attacker"
VICTIM = "mdc-simulation-victim"
# The Secret a run stores deploy_registry_credentials in, for the pods to pull with.
REGISTRY_SECRET = "mdc-simulation-registry"
# The label that marks every object this collection creates; cleanup deletes only what carries it.
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "defender.attack_simulation"
MANAGED_BY_SELECTOR = "%s=%s" % (MANAGED_BY_LABEL, MANAGED_BY_VALUE)
RUN_ID_LABEL = "defender.attack-simulation/run-id"


def simulation_names():
    """The names above, keyed for YAML (lookup simulation_names)."""
    return dict(attacker=ATTACKER, victim=VICTIM, registry_secret=REGISTRY_SECRET, managed_by_label=MANAGED_BY_LABEL,
                managed_by_value=MANAGED_BY_VALUE, managed_by_selector=MANAGED_BY_SELECTOR,
                run_id_label=RUN_ID_LABEL)


# Seconds one request to the API server may take, connecting and reading the whole answer; without it a server
# that accepts the connection and never answers (or answers a byte at a time) would hold the run forever.
REQUEST_TIMEOUT = 20


def auth_argument_spec():
    """kubernetes.core's connection options, and request_timeout (documented by the kube_request fragment)."""
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec["request_timeout"] = dict(type="int", default=REQUEST_TIMEOUT)
    return spec


class KubeError(Exception):
    """An error that names the object and the reason."""


@contextmanager
def failures_told(module):
    """One exit path for errors: a KubeError's message, or any other error, with its credentials redacted. A module
    that crashed instead would print its arguments whole at -vvv, a kubeconfig dict's token included."""
    try:
        yield
    except KubeError as exc:
        module.fail_json(msg=redact_message(exc, module.params))
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg=redact_message("%s: %s" % (type(exc).__name__, exc), module.params),
                         exception=redact_message(traceback.format_exc(), module.params))


def api_client(module):
    """The kubernetes ApiClient for the module's connection options (read as kubernetes.core reads them), with
    bounded requests. Not kubernetes.core's get_api_client: its dynamic client asks the server for its version
    before any timeout can be set, so a silent server would hang the module there."""
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s import client as k8s_client
    from kubernetes.client import ApiClient

    try:
        configuration = k8s_client._create_configuration(k8s_client._create_auth_spec(module))
        # A retry would multiply the bound: urllib3 retries a timed-out GET three times.
        configuration.retries = False
        client = ApiClient(configuration)
        for header, value in k8s_client._create_headers(module).items():
            k8s_client._set_header(client, header, value)
    except Exception as exc:  # pylint: disable=broad-except  # any kubeconfig error: told without its secrets
        raise KubeError("cannot connect to the Kubernetes API: %s" % redact_message(exc, module.params))
    bound_requests(client, module.params.get("request_timeout") or REQUEST_TIMEOUT)
    return client


def bound_requests(client, seconds):
    """Every request of ``client`` that sets no timeout of its own fails after ``seconds`` without an answer, and
    one that is not a watch (whose caller bounds it) fails after that many seconds of wall clock, its whole answer
    read, however slowly the server sends it: urllib3's read timeout is per read, not per answer."""
    unbounded = client.rest_client.request

    def request(method, url, *args, **kwargs):
        if kwargs.get("_request_timeout") is None:
            kwargs["_request_timeout"] = seconds
        if "watch=" in url or kwargs.get("_preload_content", True) is False:
            return unbounded(method, url, *args, **kwargs)
        try:
            return call_within(_total_bound(kwargs["_request_timeout"]), "%s %s" % (method, url), _answered, unbounded,
                               method, url, *args, **kwargs)
        except DeadlinePassed as exc:
            from urllib3.exceptions import ReadTimeoutError  # pylint: disable=import-outside-toplevel
            raise ReadTimeoutError(None, url, str(exc))

    client.rest_client.request = request
    client.request_timeout = seconds


def api_call(method, *args, **kwargs):
    """``method(*args, **kwargs)`` of a kubernetes API object; a server that cannot be reached or does not answer
    in time raises KubeError naming the server (ApiException, an answer, goes to the caller)."""
    try:
        return method(*args, **kwargs)
    except _transport_error() as exc:
        client = method.__self__.api_client
        bound = getattr(client, "request_timeout", None)
        raise KubeError("the Kubernetes API server %s did not answer%s: %s" % (
            client.configuration.host, " within %s seconds (request_timeout)" % bound if bound else "", exc))


def _answered(request, *args, **kwargs):
    """The response of ``request`` with its body read: kubernetes 32 and later read it after request() returns
    (RESTResponse.read keeps it for that later read); earlier versions read it inside request()."""
    response = request(*args, **kwargs)
    read = getattr(response, "read", None)
    if callable(read):
        read()
    return response


def _total_bound(request_timeout):
    """The wall-clock bound of a request from its _request_timeout: seconds, or (connect, read) seconds."""
    if isinstance(request_timeout, (tuple, list)):
        return sum(part or 0 for part in request_timeout)
    return request_timeout


def core_api(module):
    from kubernetes.client import CoreV1Api

    return CoreV1Api(api_client(module))


def coordination_api(module, client=None):
    from kubernetes.client import CoordinationV1Api

    return CoordinationV1Api(client or api_client(module))


def authorization_api(module):
    from kubernetes.client import AuthorizationV1Api

    return AuthorizationV1Api(api_client(module))


def api_reason(exc):
    """The API server's own message for an ApiException, short."""
    try:
        body = json.loads(exc.body)
        return "%s (HTTP %s)" % (body.get("message") or body.get("reason"), exc.status)
    except (TypeError, ValueError, AttributeError):
        return "%s (HTTP %s)" % (getattr(exc, "reason", None) or exc, getattr(exc, "status", "?"))
