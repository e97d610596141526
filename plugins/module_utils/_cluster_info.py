# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the prerequisites ask the API server, in one module run: its version, the Defender sensor's DaemonSets and
the nodes' AKS identity. Answers are read as JSON (no model objects): the same fields the API documents, for less CPU."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.defender.attack_simulation.plugins.module_utils._aks import aks_identity
from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import (
    ApiException,
    KubeError,
    api_call,
    api_reason,
)

# Nodes read per request while looking for an AKS node: the first one tells the identity, a big cluster is not
# read whole.
NODE_PAGE = 50


def _json(method, *args, **kwargs):
    return json.loads(api_call(method, *args, _preload_content=False, **kwargs).data)


def server_version(version_api):
    """The API server's /version (gitVersion, major, minor, platform...); KubeError naming the server otherwise."""
    try:
        return _json(version_api.get_code)
    except ApiException as exc:
        raise KubeError("the Kubernetes API server %s refused to tell its version: %s"
                        % (version_api.api_client.configuration.host, api_reason(exc)))


def daemonset_state(apps_api, namespace, name):
    """dict(namespace, name, found, number_ready, error): a DaemonSet that is not there is not found; any other
    answer than the DaemonSet (forbidden, server error) is its error, told with the API server's reason."""
    state = dict(namespace=namespace, name=name, found=False, number_ready=None, error=None)
    try:
        daemonset = _json(apps_api.read_namespaced_daemon_set, name, namespace)
    except ApiException as exc:
        if exc.status != 404:
            state["error"] = "DaemonSet %s/%s: %s" % (namespace, name, api_reason(exc))
        return state
    state.update(found=True, number_ready=(daemonset.get("status") or {}).get("numberReady") or 0)
    return state


def nodes_aks_identity(core_api):
    """The AKS identity of the first AKS node (module_utils/_aks.py), reading nodes a page at a time, with
    ``error`` None; an error is told in ``error`` and the identity left unknown: only verification needs it."""
    unknown = aks_identity([])
    page_token = None
    try:
        while True:
            page = _json(core_api.list_node, limit=NODE_PAGE, **({"_continue": page_token} if page_token else {}))
            identity = aks_identity(page.get("items") or [])
            page_token = (page.get("metadata") or {}).get("continue")
            if identity["subscription_id"] or not page_token:
                return dict(identity, error=None)
    except ApiException as exc:
        return dict(unknown, error="cannot list the nodes: %s" % api_reason(exc))
    except KubeError as exc:
        return dict(unknown, error="cannot list the nodes: %s" % exc)
