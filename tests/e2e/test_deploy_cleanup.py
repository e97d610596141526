"""Deploy as Microsoft's chart has it, numbers given as strings, credentials never printed, and cleanup that
says what it left: on the real cluster."""
import os

import pytest
import yaml
from kubernetes import client

from conftest import NAMESPACE, owned_objects

PASSWORD = "e2e-registry-Pa55word-0123456789"
CREDENTIALS = {"server": "registry.example.com", "username": "e2e-user", "password": PASSWORD}


@pytest.fixture
def kept_run(simulate):
    """A webshell run whose objects are kept (keep_objects) for the test to look at and clean up."""
    def run(*extra, **variables):
        result = simulate(*extra, scenario="webshell", keep_objects=True, **variables)
        assert result.returncode == 0, result
        return result
    return run


def cleanup(simulate, *extra, **variables):
    return simulate(*extra, playbook="cleanup.yml", **variables)


@pytest.mark.usefixtures("leaves_nothing_behind")
def test_the_objects_are_named_and_labelled_as_in_microsofts_chart(kept_run, simulate, core):
    # Every -e key=value is a string: the numbers must work as such; -vvv shows every task's arguments and results.
    run = kept_run("-vvv", "-e", "deploy_ready_timeout=600", "-e", "deploy_pod_deadline=900",
                   deploy_registry_credentials=CREDENTIALS)
    assert PASSWORD not in run.output
    assert not [f for f in run.report_files + run.history_files if PASSWORD in f.read_text(errors="replace")]
    assert core.read_namespace(NAMESPACE).metadata.labels["name"] == NAMESPACE
    for name in ("mdc-simulation-victim", "mdc-simulation-attacker"):
        pod = core.read_namespaced_pod(name, NAMESPACE)
        assert [c.name for c in pod.spec.containers] == [name]
        # No pull policy set: Kubernetes' default for :latest, as with the chart.
        assert pod.spec.containers[0].image_pull_policy == "Always"
        assert pod.spec.active_deadline_seconds == 900
        assert pod.spec.image_pull_secrets == [client.V1LocalObjectReference(name="mdc-simulation-registry")]
    assert core.read_namespaced_secret("mdc-simulation-registry", NAMESPACE).type == "kubernetes.io/dockerconfigjson"
    done = cleanup(simulate)
    assert done.returncode == 0, done


@pytest.mark.usefixtures("leaves_nothing_behind")
def test_cleanup_keeps_a_namespace_holding_others_objects_unless_forced(kept_run, simulate, core, api_client):
    kept_run()
    core.create_namespaced_config_map(NAMESPACE, {"metadata": {"name": "their-data"}, "data": {"keep": "me"}})
    refused = cleanup(simulate)
    assert refused.returncode != 0
    assert ("namespace mdc-simulation holds objects this collection did not create: "
            "ConfigMap/mdc-simulation/their-data") in refused.output
    assert "left behind: Namespace//mdc-simulation, ConfigMap/mdc-simulation/their-data" in refused.output
    # The run's own objects are gone all the same; theirs and the namespace stay.
    assert owned_objects(api_client) == ["Namespace %s" % NAMESPACE]
    assert core.read_namespaced_config_map("their-data", NAMESPACE).data == {"keep": "me"}
    forced = cleanup(simulate, cleanup_force=True)
    assert forced.returncode == 0, forced


@pytest.fixture
def no_delete_services_kubeconfig(api_client, core, tmp_path):
    """A kubeconfig for a service account that may do all a cleanup does but delete services."""
    rbac = client.RbacAuthorizationV1Api(api_client)
    rules = [{"apiGroups": ["", "networking.k8s.io"], "verbs": ["get", "list", "watch", "delete"],
              "resources": ["pods", "networkpolicies", "serviceaccounts", "secrets"]},
             {"apiGroups": [""], "verbs": ["get", "list", "watch"],
              "resources": ["services", "configmaps", "persistentvolumeclaims", "namespaces"]},
             {"apiGroups": [""], "verbs": ["delete"], "resources": ["namespaces"]}]
    core.create_namespaced_service_account("default", {"metadata": {"name": "e2e-cleaner"}})
    rbac.create_cluster_role({"metadata": {"name": "e2e-cleaner"}, "rules": rules})
    rbac.create_cluster_role_binding({
        "metadata": {"name": "e2e-cleaner"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "e2e-cleaner"},
        "subjects": [{"kind": "ServiceAccount", "name": "e2e-cleaner", "namespace": "default"}]})
    token = core.create_namespaced_service_account_token(
        "e2e-cleaner", "default", {"spec": {"expirationSeconds": 3600}}).status.token
    admin = yaml.safe_load(open(os.environ["KUBECONFIG"], encoding="utf-8"))
    cluster = admin["clusters"][0]
    path = tmp_path / "cleaner.kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "cleaner", "clusters": [cluster],
        "users": [{"name": "cleaner", "user": {"token": token}}],
        "contexts": [{"name": "cleaner", "context": {"cluster": cluster["name"], "user": "cleaner"}}]}))
    yield path
    rbac.delete_cluster_role_binding("e2e-cleaner")
    rbac.delete_cluster_role("e2e-cleaner")
    core.delete_namespaced_service_account("e2e-cleaner", "default")


@pytest.mark.usefixtures("leaves_nothing_behind")
def test_a_cleanup_that_cannot_finish_says_what_it_left(kept_run, simulate, no_delete_services_kubeconfig):
    kept_run()
    stuck = cleanup(simulate, kubeconfig=str(no_delete_services_kubeconfig))
    assert stuck.returncode != 0
    assert "could not delete every object of the run in namespace mdc-simulation" in stuck.output
    assert "Service/mdc-simulation/mdc-simulation-victim" in stuck.output and "HTTP 403" in stuck.output
    assert ("left behind: Namespace//mdc-simulation, Service/mdc-simulation/mdc-simulation-attacker, "
            "Service/mdc-simulation/mdc-simulation-victim") in stuck.output
    # Everything else of the run went; an admin's cleanup finishes the job.
    done = cleanup(simulate)
    assert done.returncode == 0, done
