# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.defender.attack_simulation.plugins.module_utils._aks import aks_identity

SUB = "00000000-1111-2222-3333-444444444444"


def node(provider_id, region="westeurope"):
    return {"metadata": {"labels": {"topology.kubernetes.io/region": region}}, "spec": {"providerID": provider_id}}


def test_the_resource_id_comes_from_the_default_node_resource_group():
    vmss = "azure:///subscriptions/%s/resourceGroups/MC_rg-sec_aks-prod_westeurope/providers/Microsoft.Compute/" \
           "virtualMachineScaleSets/aks-nodepool1-1/virtualMachines/0" % SUB
    assert aks_identity([node(vmss)]) == dict(
        subscription_id=SUB, node_resource_group="MC_rg-sec_aks-prod_westeurope", name="aks-prod",
        resource_id="/subscriptions/%s/resourceGroups/rg-sec/providers/Microsoft.ContainerService/managedClusters/aks-prod"
                    % SUB)


def test_an_ambiguous_or_custom_node_resource_group_gives_no_resource_id():
    for group in ("MC_rg_sec_aks-prod_westeurope", "my-custom-nodes"):
        identity = aks_identity([node("azure:///subscriptions/%s/resourceGroups/%s/providers/x" % (SUB, group))])
        assert identity["subscription_id"] == SUB and identity["resource_id"] is None


def test_a_cluster_that_is_not_aks_gives_nothing():
    assert aks_identity([node("kind://docker/kind/kind-control-plane"), {"spec": {}}]) == dict(
        subscription_id=None, node_resource_group=None, name=None, resource_id=None)
