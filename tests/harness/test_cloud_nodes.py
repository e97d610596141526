"""The stand-in Nodes (tests/e2e/cloud_nodes.py) as the collection's AKS identity reader sees them. No cluster."""
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / ".venv" / "collections"))
# pylint: disable=wrong-import-position,import-error
from ansible_collections.defender.attack_simulation.plugins.module_utils._aks import aks_identity  # noqa: E402
from cloud_nodes import STAND_IN_LABEL, node_manifest  # noqa: E402
from metadata_services import AzureImds  # noqa: E402


def test_the_aks_node_names_the_cluster_that_the_azure_stand_in_serves():
    identity = aks_identity([node_manifest("azure")])
    subscription, group = AzureImds.compute["subscriptionId"], AzureImds.compute["resourceGroupName"]
    assert identity["subscription_id"] == subscription
    assert identity["node_resource_group"].lower() == group.lower()
    # The original derives the cluster from the same node resource group: MC_<group>_<cluster>_<location>.
    assert identity["name"] == AzureImds.cluster == "sim-aks"
    assert identity["resource_id"] == \
        "/subscriptions/%s/resourceGroups/sim-rg/providers/Microsoft.ContainerService/managedClusters/sim-aks" % subscription


@pytest.mark.parametrize("cloud, prefix", [("aws", "aws:///"), ("gcp", "gce://")])
def test_eks_and_gke_nodes_are_not_taken_for_aks(cloud, prefix):
    node = node_manifest(cloud)
    assert node["spec"]["providerID"].startswith(prefix)
    assert aks_identity([node]) == dict(subscription_id=None, node_resource_group=None, name=None, resource_id=None)


@pytest.mark.parametrize("cloud", ["azure", "aws", "gcp"])
def test_a_stand_in_node_takes_no_pod_and_is_found_by_its_label(cloud):
    node = node_manifest(cloud)
    assert node["metadata"]["labels"][STAND_IN_LABEL] == "true"
    assert node["spec"]["unschedulable"] is True and node["spec"]["taints"][0]["effect"] == "NoExecute"
    assert "status" not in node  # no allocatable pods: the scheduler places nothing there
