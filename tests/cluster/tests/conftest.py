"""Fixtures of the cluster harness tests. Run them inside the sealed namespace:

    tests/cluster/run -- .venv/bin/python -m pytest tests/cluster/tests
"""
import os
import time
import uuid

import pytest
from kubernetes import client, config

ATTACKER_IMAGE = "ghcr.io/microsoft/defender-for-cloud/attacksimulation/attacker:latest"
VICTIM_IMAGE = "ghcr.io/microsoft/defender-for-cloud/attacksimulation/victim:latest"


def pytest_collection_modifyitems(config, items):  # noqa: ARG001
    if os.environ.get("CLUSTER_RUN_INSIDE") != "1":
        skip = pytest.mark.skip(reason="run through tests/cluster/run (inside the sealed namespace)")
        for item in items:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def api():
    config.load_kube_config(config_file=os.environ["KUBECONFIG"])
    return client.ApiClient()


@pytest.fixture(scope="session")
def core(api):
    return client.CoreV1Api(api)


@pytest.fixture
def namespace(core):
    """A namespace of the test's own, deleted afterwards."""
    name = "t-" + uuid.uuid4().hex[:8]
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    # The service account token controller must have made 'default' before pods can be created.
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            core.read_namespaced_service_account("default", name)
            break
        except client.ApiException:
            time.sleep(0.3)
    yield name
    core.delete_namespace(name, body=client.V1DeleteOptions(grace_period_seconds=0, propagation_policy="Background"))
