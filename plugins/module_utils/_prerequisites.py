# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The prerequisites role's judgement, as pure functions of its variables and of what the cluster answered.

``before_cluster`` is what is known before any call (bad input, the connection in words, the access reviews the
run's options need); ``verdict`` judges the answers of cluster_info and access_review_info. The role only calls
them (filters prerequisites_input and prerequisites_verdict) and fails with the problems."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.compat.version import LooseVersion

from ansible_collections.defender.attack_simulation.plugins.module_utils._manifests import _DNS_LABEL, _full
from ansible_collections.defender.attack_simulation.plugins.module_utils._permissions import (
    CREATE, PROVIDED, actions,
)
from ansible_collections.defender.attack_simulation.plugins.module_utils._records import redact

REVIEW_FIELDS = ("verb", "resource", "subresource", "name", "group", "namespace")
MANIFESTS = {CREATE: "the ClusterRole of docs/permissions/create.yml",
             PROVIDED: "the Role in namespace %s and the ClusterRole of docs/permissions/provided.yml"}


def connection(variables):
    """Where the cluster came from, in words for error messages, in kubernetes.core's order: the play's variables,
    the K8S_AUTH_* environment (an AWX Kubernetes credential injects K8S_AUTH_HOST), then the kubeconfig of
    KUBECONFIG or ~/.kube/config. A kubeconfig given as a dict holds credentials: it is named by its servers."""
    environment = variables.get("environment") or {}
    kubeconfig = variables.get("simulation_kubeconfig")
    if variables.get("host"):
        return "host %s" % variables["host"]
    if environment.get("K8S_AUTH_HOST"):
        return "host %s (K8S_AUTH_HOST)" % environment["K8S_AUTH_HOST"]
    if isinstance(kubeconfig, dict):
        servers = [(entry.get("cluster") or {}).get("server") or "?" if isinstance(entry, dict) else "?"
                   for entry in kubeconfig.get("clusters") or []]
        where = "kubeconfig given as a dict, server %s" % (", ".join(servers) or "?")
    else:
        where = "kubeconfig %s" % (kubeconfig or _from_environment(environment, ("K8S_AUTH_KUBECONFIG", "KUBECONFIG"))
                                   or "~/.kube/config")
    context = variables.get("context")
    if context is None:
        context = _from_environment(environment, ("K8S_AUTH_CONTEXT",)) or "its current-context"
    return "%s, context %s" % (where, context)


def _from_environment(environment, names):
    """The first of ``names`` set in ``environment``, told with its name, or None."""
    for name in names:
        if environment.get(name):
            return "%s (%s)" % (environment[name], name)
    return None


def input_problems(variables):
    """What is wrong with the namespace name and the kubeconfig file, before any cluster call."""
    problems = []
    namespace = variables.get("simulation_namespace")
    # Matched whole: "mdc-simulation\n" is not a name (Jinja's match let a final newline through).
    if not isinstance(namespace, str) or not _full(_DNS_LABEL, namespace):
        problems.append("namespace '%s' is not a valid Kubernetes namespace name: use at most 63 lower-case letters, "
                        "digits and '-', starting and ending with a letter or digit" % (namespace,))
    kubeconfig = variables.get("simulation_kubeconfig")
    if isinstance(kubeconfig, str) and kubeconfig and not os.path.isfile(os.path.expanduser(kubeconfig)):
        problems.append("kubeconfig %s does not exist or is not a file" % kubeconfig)
    return problems


def mode_of(variables):
    return variables.get("simulation_namespace_mode") or CREATE


def needed_actions(variables):
    """The actions the run's options need (with ``used_by``), then the caller's own prerequisites_permissions."""
    needed = actions(mode_of(variables), variables.get("simulation_namespace"),
                     variables.get("prerequisites_sensor_daemonsets") or [],
                     registry_secret=bool(variables.get("deploy_registry_credentials")),
                     read_aks_identity=variables.get("simulation_cluster_resource_id") is None)
    return needed + list(variables.get("prerequisites_permissions") or [])


def review_actions(variables):
    """needed_actions as access_review_info takes them."""
    return [dict((key, action.get(key) or "") for key in REVIEW_FIELDS) for action in needed_actions(variables)]


def before_cluster(variables):
    """dict(problems, connection, actions): the input's problems, the connection in words, the reviews to ask."""
    problems = input_problems(variables)
    return dict(problems=problems, connection=connection(variables),
                actions=[] if problems else review_actions(variables))


def sensor_message(sensor_daemonsets, found):
    looked = " and ".join("%s/%s" % (d["namespace"], d["name"]) for d in sensor_daemonsets)
    without = "; found %s without ready pods" % ", ".join(d["name"] for d in found) if found else ""
    return ("the Defender sensor was not found with ready pods (looked for DaemonSet %s%s): Defender for Containers "
            "will raise no runtime alerts; enable the sensor, or set require_sensor=false to run anyway"
            % (looked, without))


def denied_message(variables, denied):
    """The missing permissions, each as 'verb resource [name] [in namespace ...]', and the mode that needs them."""
    mode = mode_of(variables)
    needs = MANIFESTS[mode] % variables.get("simulation_namespace") if mode == PROVIDED else MANIFESTS[mode]
    if any(entry.get("resource") == "secrets" for entry in denied):
        needs += ", and for deploy_registry_credentials docs/permissions/%s-registry.yml" % mode
    return ("the credentials in use may not do everything a simulation run does with simulation_namespace_mode=%s "
            "(%s; docs/permissions.md says why each is needed); missing permissions: %s"
            % (mode, needs, ", ".join(entry["action"] for entry in denied)))


def _older(version, minimum):
    try:
        return LooseVersion(str(version)) < LooseVersion(str(minimum))
    except TypeError:  # LooseVersion cannot order "1.a" against "1.2"
        return False


def verdict(variables, cluster, access):
    """dict(problems, sensor, warning) from cluster_info's answer and access_review_info's, problems in the order a
    user fixes them: the controller's client, the permissions, the sensor."""
    sensor_daemonsets = variables.get("prerequisites_sensor_daemonsets") or []
    states = (cluster or {}).get("sensor_daemonsets") or []
    found = [state for state in states if state.get("found")]
    ready = [state for state in found if (state.get("number_ready") or 0) > 0]
    message = sensor_message(sensor_daemonsets, found)
    problems = []
    client, minimum = (cluster or {}).get("client_version"), variables.get("prerequisites_min_kubernetes_client")
    if client and minimum and _older(client, minimum):
        problems.append("the controller's kubernetes Python package is %s; %s or newer is needed (pip install "
                        "'kubernetes>=%s')" % (client, minimum, minimum))
    denied = (access or {}).get("denied") or []
    if denied:
        problems.append(denied_message(variables, denied))
    errors = [state["error"] for state in states if state.get("error")]
    if errors:
        problems.append("cannot look for the Defender sensor (%s): %s"
                        % (connection(variables), "; ".join(redact(error) for error in errors)))
    elif variables.get("prerequisites_require_sensor", True) and not ready:
        problems.append(message)
    return dict(problems=problems, sensor="%s/%s" % (ready[0]["namespace"], ready[0]["name"]) if ready else None,
                warning=None if ready else message)
