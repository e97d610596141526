# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read an AKS cluster's Azure identity from its nodes, so that verification finds the cluster's alerts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# azure:///subscriptions/<sub>/resourceGroups/<node resource group>/providers/Microsoft.Compute/...
_PROVIDER_ID = re.compile(r"^azure:///subscriptions/([^/]+)/resourceGroups/([^/]+)/", re.IGNORECASE)


def aks_identity(nodes):
    """dict(subscription_id, node_resource_group, name, resource_id) from the first AKS node, each None when unknown.

    The resource id is derived only from the default node resource group name MC_<group>_<cluster>_<location>,
    and only when that split is unambiguous; give it explicitly otherwise."""
    identity = dict(subscription_id=None, node_resource_group=None, name=None, resource_id=None)
    for node in nodes or []:
        match = _PROVIDER_ID.match(node.get("spec", {}).get("providerID") or "")
        if not match:
            continue
        identity.update(subscription_id=match.group(1), node_resource_group=match.group(2))
        labels = node.get("metadata", {}).get("labels", {})
        location = labels.get("topology.kubernetes.io/region") or labels.get("failure-domain.beta.kubernetes.io/region")
        group_and_name = _strip_default_group(match.group(2), location)
        if group_and_name and group_and_name.count("_") == 1:
            group, name = group_and_name.split("_")
            resource_id = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ContainerService/managedClusters/%s"
            identity.update(name=name, resource_id=resource_id % (match.group(1), group, name))
        break
    return identity


def _strip_default_group(node_group, location):
    prefix, suffix = "mc_", "_%s" % (location or "").lower()
    lowered = node_group.lower()
    if not location or not lowered.startswith(prefix) or not lowered.endswith(suffix):
        return None
    return node_group[len(prefix):len(node_group) - len(suffix)]
