# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a run does to the cluster, as RBAC: the one list the prerequisites review and docs/permissions/ renders.

Two modes (``simulation_namespace_mode``). ``create``: the run creates its namespace and deletes it at the end, so
its namespaced permissions can only come from a ClusterRole, which reaches every namespace. ``provided``: an
administrator creates the namespace, labels it PROVIDED_LABEL=PROVIDED_VALUE and binds a Role in it; the run then
needs that Role and a few cluster-scoped reads, claims the namespace with a Lease in it and never deletes it.
Secrets are needed only with registry credentials, the nodes only to find the AKS cluster's identity.

No import of the collection: tests/render_docs.py loads this file by path."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

CREATE, PROVIDED = "create", "provided"
MODES = (CREATE, PROVIDED)
# Set by an administrator on a namespace the collection may use but never delete (provided mode).
PROVIDED_LABEL = "defender.attack-simulation/provided"
PROVIDED_VALUE = "true"
# The run's claim in a provided namespace (the namespace itself is the claim in create mode).
CLAIM_LEASE = "mdc-simulation-claim"
ROLE = "defender-attack-simulation"
REGISTRY_ROLE = "defender-attack-simulation-registry"
# Provided mode's cluster-wide part: only the prerequisites' reads.
READS_ROLE = "defender-attack-simulation-reads"
# The identity the documented manifests bind; an administrator may bind another one.
SUBJECT = {"kind": "ServiceAccount", "name": "defender-attack-simulation", "namespace": "default"}
PART_OF = {"app.kubernetes.io/part-of": "defender.attack_simulation"}

# Where an action is reviewed: cluster-scoped, in the simulation namespace, or in each sensor DaemonSet's namespace.
CLUSTER, NAMESPACE, SENSOR = "cluster", "namespace", "sensor"
# When an action is needed beyond the mode: registry credentials are given, or the AKS identity is read from nodes.
REGISTRY, AKS_IDENTITY = "registry_secret", "read_aks_identity"

Need = namedtuple("Need", "verbs resource group subresource scope named modes condition used_by")


def _need(verbs, resource, used_by, group="", subresource="", scope=NAMESPACE, named=None, modes=MODES,
          condition=None):
    return Need(tuple(verbs.split()), resource, group, subresource, scope, named, modes, condition, used_by)


OBJECTS = "get list create patch delete"
APPLY = ("deploy reads each (get) and applies it server-side (patch, and create when new); cleanup lists what "
         "carries the collection's label and deletes it")
NEEDS = (
    _need("create", "selfsubjectaccessreviews", "prerequisites: this very check (every authenticated user normally "
          "has it)", group="authorization.k8s.io", scope=CLUSTER),
    _need("list", "nodes", "prerequisites: the AKS cluster's resource id from a node's providerID, to find its "
          "alerts; not needed when simulation_cluster_resource_id is given", scope=CLUSTER, condition=AKS_IDENTITY),
    _need("get", "daemonsets", "prerequisites: is the Defender sensor there with ready pods", group="apps",
          scope=SENSOR, named="sensor"),
    _need("get patch delete", "namespaces", "deploy claims the namespace (reads it, takes over a killed run's "
          "claim); cleanup and cleanup.yml read it and delete it", scope=CLUSTER, named="namespace", modes=(CREATE,)),
    _need("create", "namespaces", "deploy creates the namespace (a create names no object, so it cannot be limited "
          "by name)", scope=CLUSTER, modes=(CREATE,)),
    _need("get", "namespaces", "deploy and cleanup check that an administrator provided the namespace (its label); "
          "the run never changes or deletes it", named="namespace", modes=(PROVIDED,)),
    _need("get patch delete", "leases", "the run's claim on the namespace: deploy reads it and takes over a killed "
          "run's, cleanup deletes it last", group="coordination.k8s.io", named="lease", modes=(PROVIDED,)),
    _need("create", "leases", "deploy claims the namespace by creating the Lease", group="coordination.k8s.io",
          modes=(PROVIDED,)),
    _need(OBJECTS, "serviceaccounts", "the victim's service account: " + APPLY),
    _need(OBJECTS + " watch", "pods", "the attacker and the victim: " + APPLY + "; deploy deletes a stale pod of an earlier run, and "
          "watches the pods become Ready"),
    _need(OBJECTS, "services", "the headless services: " + APPLY),
    _need(OBJECTS, "networkpolicies", "the network policies: " + APPLY, group="networking.k8s.io"),
    _need(OBJECTS, "secrets", "the pull Secret of deploy_registry_credentials: " + APPLY, condition=REGISTRY),
    _need("create get", "pods", "techniques run in the attacker through exec (API servers before 1.31 authorize the "
          "websocket upgrade as get)", subresource="exec"),
    _need("list", "configmaps", "cleanup looks for objects the collection did not create before it deletes the "
          "namespace (which would delete them too)", modes=(CREATE,)),
    _need("list", "persistentvolumeclaims", "cleanup looks for objects the collection did not create before it "
          "deletes the namespace", modes=(CREATE,)),
)


def applies(need, mode, registry_secret=False, read_aks_identity=True):
    if mode not in need.modes:
        return False
    return {None: True, REGISTRY: registry_secret, AKS_IDENTITY: read_aks_identity}[need.condition]


def _places(need, namespace, sensor_daemonsets):
    """(namespace, name) of each object the need reaches: '' for cluster-scoped or any object."""
    if need.scope == SENSOR:
        return [(daemonset["namespace"], daemonset["name"]) for daemonset in sensor_daemonsets]
    name = {"namespace": namespace, "lease": CLAIM_LEASE}.get(need.named, "")
    return [("" if need.scope == CLUSTER else namespace, name)]


def actions(mode, namespace, sensor_daemonsets, registry_secret=False, read_aks_identity=True):
    """Every action the run does with these options, as SelfSubjectAccessReview attributes plus ``used_by``."""
    found = []
    for need in NEEDS:
        if not applies(need, mode, registry_secret, read_aks_identity):
            continue
        for place_namespace, name in _places(need, namespace, sensor_daemonsets):
            found += [dict(verb=verb, resource=need.resource, group=need.group, subresource=need.subresource,
                           namespace=place_namespace, name=name, used_by=need.used_by) for verb in need.verbs]
    return found


def describe(action):
    """As the access review module describes an action: 'create pods/exec in namespace mdc-simulation'."""
    resource = action["resource"] + ("/" + action["subresource"] if action.get("subresource") else "")
    text = "%s %s" % (action["verb"], resource) + (" %s" % action["name"] if action.get("name") else "")
    return text + (" in namespace %s" % action["namespace"] if action.get("namespace") else "")


def rules(needs, sensor_daemonsets, namespace):
    """RBAC rules for ``needs``: one per (group, resource, names), verbs in the order first needed."""
    merged = {}
    for need in needs:
        resource = need.resource + ("/" + need.subresource if need.subresource else "")
        names = [name for _ns, name in _places(need, namespace, sensor_daemonsets) if name]
        rule = merged.setdefault((need.group, resource, bool(names)), {
            "apiGroups": [need.group], "resources": [resource], "resourceNames": [], "verbs": []})
        rule["resourceNames"] += [name for name in names if name not in rule["resourceNames"]]
        rule["verbs"] += [verb for verb in need.verbs if verb not in rule["verbs"]]
    return [dict((key, value) for key, value in rule.items() if value or key != "resourceNames")
            for rule in merged.values()]


def _metadata(name, namespace=None, labels=None):
    metadata = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    metadata["labels"] = dict(PART_OF)
    metadata["labels"].update(labels or {})
    return metadata


def _role(kind, name, role_rules, namespace=None):
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": _metadata(name, namespace),
            "rules": role_rules}


def _binding(kind, role_kind, name, namespace=None, subject=None):
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": _metadata(name, namespace),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": name},
            "subjects": [dict(subject or SUBJECT)]}


def _service_account(subject):
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": _metadata(subject["name"], subject["namespace"])}


def manifests(mode, namespace, sensor_daemonsets, subject=None):
    """What an administrator applies for ``mode``: the identity, its roles and bindings (and, in provided mode, the
    labelled namespace)."""
    subject = subject or SUBJECT
    needs = [need for need in NEEDS if mode in need.modes and need.condition != REGISTRY]
    if mode == CREATE:
        return [_service_account(subject), _role("ClusterRole", ROLE, rules(needs, sensor_daemonsets, namespace)),
                _binding("ClusterRoleBinding", "ClusterRole", ROLE, subject=subject)]
    cluster = [need for need in needs if need.scope != NAMESPACE]
    inside = [need for need in needs if need.scope == NAMESPACE]
    return [{"apiVersion": "v1", "kind": "Namespace",
             "metadata": _metadata(namespace, labels={PROVIDED_LABEL: PROVIDED_VALUE})},
            _service_account(subject),
            _role("ClusterRole", READS_ROLE, rules(cluster, sensor_daemonsets, namespace)),
            _binding("ClusterRoleBinding", "ClusterRole", READS_ROLE, subject=subject),
            _role("Role", ROLE, rules(inside, sensor_daemonsets, namespace), namespace),
            _binding("RoleBinding", "Role", ROLE, namespace, subject)]


def registry_manifests(mode, namespace, subject=None):
    """The secrets permission, for runs with deploy_registry_credentials only: in every namespace in create mode."""
    needs = [need for need in NEEDS if mode in need.modes and need.condition == REGISTRY]
    if mode == CREATE:
        return [_role("ClusterRole", REGISTRY_ROLE, rules(needs, [], namespace)),
                _binding("ClusterRoleBinding", "ClusterRole", REGISTRY_ROLE, subject=subject)]
    return [_role("Role", REGISTRY_ROLE, rules(needs, [], namespace), namespace),
            _binding("RoleBinding", "Role", REGISTRY_ROLE, namespace, subject)]
