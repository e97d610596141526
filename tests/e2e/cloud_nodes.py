"""The sealed cluster seen as an AKS, EKS or GKE cluster: a Node object as that platform registers its nodes.

cluster_info (plugins/module_utils/_cluster_info.py, _aks.py) reads a cluster's Azure identity from its nodes'
``spec.providerID`` and region label. The sealed node's own providerID cannot serve: Kubernetes refuses to change
it once set, so setting it would make the shared node an AKS node for every later test. Instead a test that asks
for a cloud gets a second Node, named, labelled and with the providerID that platform gives its nodes, beside the
real one, and deleted when the test ends (a stale one left by a killed test is removed first).

Nothing runs on it: it never has a kubelet, its status is never posted (so it has no allocatable pods: the
scheduler places no pod there), it is cordoned and tainted. Only a DaemonSet that tolerates everything (the sensor
stand-in, as Defender's sensor does) gets a pod bound to it, which stays Pending and goes with the Node; ``close``
waits until it is gone, so the cluster is left as it was found.
"""
import time

from kubernetes.client.rest import ApiException

from metadata_services import AwsImdsV2, AzureImds, GcpMetadata

STAND_IN_LABEL = "defender-sim.test/cloud-node-stand-in"
TAINT = {"key": STAND_IN_LABEL, "value": "true", "effect": "NoExecute"}


def _aks():
    compute = AzureImds.compute
    # AKS writes the node resource group in lower case in the provider ID, as-is in the label.
    provider_id = ("azure:///subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachineScaleSets/"
                   "%s/virtualMachines/0" % (compute["subscriptionId"], compute["resourceGroupName"].lower(),
                                             compute["vmScaleSetName"]))
    labels = {"agentpool": "nodepool1", "kubernetes.azure.com/agentpool": "nodepool1",
              "kubernetes.azure.com/cluster": compute["resourceGroupName"], "kubernetes.azure.com/mode": "system",
              "kubernetes.azure.com/role": "agent", "kubernetes.io/role": "agent", "kubernetes.azure.com/os-sku": "Ubuntu",
              "node.kubernetes.io/instance-type": compute["vmSize"], "topology.kubernetes.io/region": compute["location"],
              "topology.kubernetes.io/zone": "0", "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
    return "%s000000" % compute["vmScaleSetName"], provider_id, labels


def _eks():
    ip_name = "ip-192-168-12-34.%s.compute.internal" % AwsImdsV2.region
    labels = {"eks.amazonaws.com/nodegroup": "ng-1", "eks.amazonaws.com/capacityType": "ON_DEMAND",
              "eks.amazonaws.com/nodegroup-image": "ami-0a1b2c3d4e5f60718", "alpha.eksctl.io/cluster-name": "sim-eks",
              "alpha.eksctl.io/nodegroup-name": "ng-1", "node.kubernetes.io/instance-type": "m5.large",
              "topology.kubernetes.io/region": AwsImdsV2.region, "topology.kubernetes.io/zone": AwsImdsV2.zone,
              "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
    return ip_name, "aws:///%s/%s" % (AwsImdsV2.zone, AwsImdsV2.instance_id), labels


def _gke():
    name = "gke-%s-default-pool-1a2b3c4d-x1y2" % GcpMetadata.cluster
    region = GcpMetadata.zone.rsplit("-", 1)[0]
    labels = {"cloud.google.com/gke-nodepool": "default-pool", "cloud.google.com/gke-os-distribution": "cos",
              "cloud.google.com/gke-boot-disk": "pd-balanced", "cloud.google.com/machine-family": "e2",
              "node.kubernetes.io/instance-type": "e2-medium", "topology.kubernetes.io/region": region,
              "topology.kubernetes.io/zone": GcpMetadata.zone, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
    return name, "gce://%s/%s/%s" % (GcpMetadata.project, GcpMetadata.zone, name), labels


PLATFORMS = {"azure": _aks, "aws": _eks, "gcp": _gke}


def node_manifest(cloud):
    name, provider_id, labels = PLATFORMS[cloud]()
    labels = dict(labels, **{"kubernetes.io/hostname": name, STAND_IN_LABEL: "true"})
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels},
            "spec": {"providerID": provider_id, "unschedulable": True, "taints": [TAINT]}}


def _pods_on(core, name):
    """Pods bound to the node, or pending with a DaemonSet's affinity to it."""
    found = []
    for pod in core.list_pod_for_all_namespaces().items:
        affinity = pod.spec.affinity and pod.spec.affinity.node_affinity
        terms = (affinity and affinity.required_during_scheduling_ignored_during_execution
                 and affinity.required_during_scheduling_ignored_during_execution.node_selector_terms) or []
        targets = [value for term in terms for field in (term.match_fields or []) for value in (field.values or [])]
        if pod.spec.node_name == name or name in targets:
            found.append("%s/%s" % (pod.metadata.namespace, pod.metadata.name))
    return found


def remove_stand_in_nodes(core, timeout=90):
    """Delete every stand-in Node and wait until it and the pods bound to it are gone. Kubernetes removes such a
    pod by itself (the DaemonSet controller, or the pod garbage collector); one still there after half the time,
    bound to a Node that no longer exists, is deleted."""
    names = [n.metadata.name for n in core.list_node(label_selector=STAND_IN_LABEL + "=true").items]
    for name in names:
        _delete(core.delete_node, name)
    started = time.monotonic()
    while names:
        left = [n.metadata.name for n in core.list_node(label_selector=STAND_IN_LABEL + "=true").items]
        pods = [pod for name in names for pod in _pods_on(core, name)]
        if not left and not pods:
            return
        waited = time.monotonic() - started
        if waited > timeout:
            raise AssertionError("stand-in nodes or their pods still there after %s s: %s" % (timeout, left + pods))
        if not left and waited > timeout / 2:
            for pod in pods:
                namespace, name = pod.split("/", 1)
                _delete(core.delete_namespaced_pod, name, namespace, grace_period_seconds=0)
        time.sleep(1)


def _delete(method, *args, **kwargs):
    try:
        method(*args, **kwargs)
    except ApiException as exc:
        if exc.status != 404:
            raise


class CloudNode:
    """A stand-in Node of ``cloud`` in the cluster, until ``close``."""

    def __init__(self, core, cloud):
        self.core, self.cloud = core, cloud
        remove_stand_in_nodes(core)
        self.manifest = node_manifest(cloud)
        self.name = self.manifest["metadata"]["name"]
        core.create_node(self.manifest)

    def close(self):
        remove_stand_in_nodes(self.core)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
