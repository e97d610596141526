"""Least privilege and the cleanup playbook's respect for a live run, on the real cluster."""
import contextlib
import os
import pathlib
import signal
import time

import pytest
import yaml
from kubernetes import client

from conftest import NAMESPACE, ROOT, output_of, wait_for

MANIFEST = pathlib.Path(ROOT) / "docs" / "permissions.yml"
ACCOUNT = ("default", "e2e-least-privilege")


def kubeconfig_for(token, path):
    admin = yaml.safe_load(open(os.environ["KUBECONFIG"], encoding="utf-8"))
    cluster = admin["clusters"][0]
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "least",
        "clusters": [cluster], "users": [{"name": "least", "user": {"token": token}}],
        "contexts": [{"name": "least", "context": {"cluster": cluster["name"], "user": "least"}}]}))
    return path


@pytest.fixture
def least_privilege_kubeconfig(api_client, core, tmp_path):
    """A kubeconfig for a service account that holds only docs/permissions.yml's ClusterRole."""
    rbac = client.RbacAuthorizationV1Api(api_client)
    role = yaml.safe_load(MANIFEST.read_text())
    core.create_namespaced_service_account(ACCOUNT[0], {"metadata": {"name": ACCOUNT[1]}})
    rbac.create_cluster_role(role)
    rbac.create_cluster_role_binding({
        "metadata": {"name": ACCOUNT[1]},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role["metadata"]["name"]},
        "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT[1], "namespace": ACCOUNT[0]}]})
    token = core.create_namespaced_service_account_token(
        ACCOUNT[1], ACCOUNT[0], {"spec": {"expirationSeconds": 3600}}).status.token
    yield kubeconfig_for(token, tmp_path / "least.kubeconfig"), token
    rbac.delete_cluster_role_binding(ACCOUNT[1])
    rbac.delete_cluster_role(role["metadata"]["name"])
    core.delete_namespaced_service_account(ACCOUNT[1], ACCOUNT[0])


@pytest.mark.usefixtures("leaves_nothing_behind")
def test_the_documented_cluster_role_is_enough_for_a_whole_run_and_for_cleanup(simulate, least_privilege_kubeconfig):
    kubeconfig, token = least_privilege_kubeconfig
    run = simulate(scenario="webshell", kubeconfig=str(kubeconfig))
    assert run.returncode == 0, run
    assert "missing permissions" not in run.output
    assert run.report["warnings"] == [], "the sensor check did not find the sensor: %s" % run.report["warnings"]
    assert run.technique("webshell.whoami")["status"] == "passed"
    assert "forbidden" not in run.output.lower(), run
    cleanup = simulate(playbook="cleanup.yml", kubeconfig=str(kubeconfig))
    assert cleanup.returncode == 0, cleanup
    assert token not in run.output + cleanup.output


def pods_running(core):
    try:
        return [p for p in core.list_namespaced_pod(NAMESPACE).items if p.status.phase == "Running"]
    except client.exceptions.ApiException:
        return []


def pods_created(core):
    try:
        return core.list_namespaced_pod(NAMESPACE).items
    except client.exceptions.ApiException:
        return []


@contextlib.contextmanager
def frozen(process):
    """A run in progress, held still (SIGSTOP of its process group) until the block ends: it stays alive, and its
    claim live, however fast it would have finished."""
    os.killpg(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(process.pid, signal.SIGCONT)


@pytest.mark.usefixtures("leaves_nothing_behind")
def test_cleanup_without_a_run_id_refuses_a_live_runs_namespace_unless_forced(simulate, start_simulation, core):
    live = start_simulation(scenario="crypto", deploy_ready_timeout=60)
    deadline = time.monotonic() + 120
    while len(pods_created(core)) < 2:  # the pods are created seconds before they are Ready: look often
        assert time.monotonic() < deadline and live.poll() is None, output_of(live)
        time.sleep(0.05)
    with frozen(live):
        holder = core.read_namespace(NAMESPACE).metadata.labels["defender.attack-simulation/run-id"]
        wait_for(lambda: len(pods_running(core)) == 2, 240, "the live run's pods to run")

        refused = simulate(playbook="cleanup.yml")
        assert refused.returncode != 0
        assert "namespace %s is in use by run %s" % (NAMESPACE, holder) in refused.output, refused
        assert "force=true" in refused.output
        assert core.read_namespace(NAMESPACE).status.phase == "Active"
        assert len(pods_running(core)) == 2, "cleanup.yml touched the live run's pods"

        forced = simulate(playbook="cleanup.yml", force=True)
        assert forced.returncode == 0, forced
        assert NAMESPACE not in [n.metadata.name for n in core.list_namespace().items]
    live.wait(timeout=600)  # the live run lost its namespace; it ends, and cleans up what is left of it
    assert "Clean up what this run created" in output_of(live)
