"""Every failure path on the real cluster: a clear message, and nothing left behind."""
import os
import re
import signal
import xml.etree.ElementTree as ET

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from conftest import NAMESPACE, OWNED, output_of, owned_objects, wait_for

SENSOR = ("kube-system", "microsoft-defender-collector-ds")


def namespace_names(core):
    return {n.metadata.name for n in core.list_namespace().items}


@pytest.mark.usefixtures("leaves_nothing_behind")
def test_an_unknown_scenario_is_refused_before_the_cluster_is_touched(simulate, core):
    before = namespace_names(core)
    run = simulate(scenario="cryptojacking")
    assert run.returncode != 0
    assert "Got no match for: cryptojacking" in run.output
    assert namespace_names(core) == before and run.report is None


@pytest.fixture
def sensor_absent(api_client):
    """Take the Defender sensor stand-in away for one test, and put it back."""
    apps = client.AppsV1Api(api_client)
    saved = api_client.sanitize_for_serialization(apps.read_namespaced_daemon_set(SENSOR[1], SENSOR[0]))
    apps.delete_namespaced_daemon_set(SENSOR[1], SENSOR[0], propagation_policy="Foreground")
    wait_for(lambda: SENSOR[1] not in [d.metadata.name for d in apps.list_namespaced_daemon_set(SENSOR[0]).items],
             120, "the sensor DaemonSet to go")
    yield
    for key in ("resourceVersion", "uid", "creationTimestamp", "managedFields", "generation"):
        saved["metadata"].pop(key, None)
    saved.pop("status", None)
    apps.create_namespaced_daemon_set(SENSOR[0], saved)
    wait_for(lambda: (apps.read_namespaced_daemon_set(SENSOR[1], SENSOR[0]).status.number_ready or 0) > 0,
             120, "the sensor stand-in to be ready again")


@pytest.mark.usefixtures("leaves_nothing_behind", "sensor_absent")
def test_a_missing_sensor_fails_and_require_sensor_false_only_warns(simulate):
    refused = simulate(scenario="webshell")
    assert refused.returncode != 0
    assert "the Defender sensor was not found with ready pods" in refused.output
    assert "kube-system/microsoft-defender-collector-ds" in refused.output
    warned = simulate(scenario="webshell", require_sensor=False)
    assert warned.returncode == 0, warned
    assert "WARNING: the Defender sensor was not found with ready pods" in warned.output
    assert warned.report["warnings"] and warned.technique("webshell.whoami")["status"] == "passed"


@pytest.fixture
def read_only_kubeconfig(api_client, core, tmp_path):
    """A kubeconfig for a service account bound to the built-in read-only role 'view'."""
    rbac = client.RbacAuthorizationV1Api(api_client)
    core.create_namespaced_service_account("default", {"metadata": {"name": "e2e-reader"}})
    rbac.create_cluster_role_binding({
        "metadata": {"name": "e2e-reader-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "e2e-reader", "namespace": "default"}]})
    token = core.create_namespaced_service_account_token(
        "e2e-reader", "default", {"spec": {"expirationSeconds": 3600}}).status.token
    admin = yaml.safe_load(open(os.environ["KUBECONFIG"], encoding="utf-8"))
    cluster = admin["clusters"][0]
    path = tmp_path / "reader.kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "reader", "clusters": [cluster],
        "users": [{"name": "reader", "user": {"token": token}}],
        "contexts": [{"name": "reader", "context": {"cluster": cluster["name"], "user": "reader"}}]}))
    yield path, token
    rbac.delete_cluster_role_binding("e2e-reader-view")
    core.delete_namespaced_service_account("e2e-reader", "default")


@pytest.mark.usefixtures("leaves_nothing_behind")
def test_read_only_credentials_are_refused_with_the_missing_permissions(simulate, read_only_kubeconfig):
    kubeconfig, token = read_only_kubeconfig
    run = simulate(scenario="crypto", kubeconfig=str(kubeconfig))
    assert run.returncode != 0
    missing = re.search(r"missing permissions: ([^\"\n]+)", run.output).group(1)
    for action in ("create namespaces", "delete namespaces", "create pods in namespace mdc-simulation",
                   "create pods/exec in namespace mdc-simulation", "delete networkpolicies in namespace mdc-simulation"):
        assert action in missing
    # 'view' may read pods: what it may do is not listed as missing.
    assert "get pods in namespace" not in missing
    assert token not in run.output


@pytest.mark.usefixtures("leaves_nothing_behind")
def test_an_unpullable_image_fails_the_deploy_at_once_and_cleanup_still_runs(simulate):
    image = "ghcr.io/microsoft/defender-for-cloud/attacksimulation/no-such-image:latest"
    run = simulate(scenario="webshell", deploy_victim_image=image)
    assert run.returncode != 0
    assert re.search(r"pod mdc-simulation/mdc-simulation-victim container mdc-simulation-victim cannot start: "
                     r"(ErrImagePull|ImagePullBackOff): .* \(image %s\)" % re.escape(image), run.output), run
    assert run.seconds < 240, "the deploy waited %.0f s: it must fail as soon as the pull fails" % run.seconds
    assert "Clean up what this run created" in run.output
    # A run that did not run its techniques is a failed run in every report, not an empty green one.
    assert run.report["status"] == "failed" and run.report["techniques"] == []
    assert run.report["failure"]["stage"] == "deploy" and image in run.report["failure"]["message"]
    assert run.report["cleanup"]["status"] == "done", run.report["cleanup"]
    junit = ET.parse(next(p for p in run.report_files if p.suffix == ".xml")).getroot()
    assert (junit.get("tests"), junit.get("errors")) == ("1", "1")
    assert junit.find(".//testcase").get("name") == "deploy" and junit.find(".//error") is not None


def test_a_namespace_the_collection_does_not_own_is_left_untouched(simulate, core):
    core.create_namespace({"metadata": {"name": NAMESPACE, "labels": {"team": "someone-else"}}})
    core.create_namespaced_config_map(NAMESPACE, {"metadata": {"name": "their-data"}, "data": {"keep": "me"}})
    try:
        run = simulate(scenario="webshell")
        assert run.returncode != 0
        assert "namespace mdc-simulation exists and is not owned by defender.attack_simulation" in run.output
        namespace = core.read_namespace(NAMESPACE)
        assert namespace.metadata.labels == {"team": "someone-else", "kubernetes.io/metadata.name": NAMESPACE}
        assert core.read_namespaced_config_map("their-data", NAMESPACE).data == {"keep": "me"}
        assert [p.metadata.name for p in core.list_namespaced_pod(NAMESPACE).items] == []
    finally:
        core.delete_namespace(NAMESPACE)
        wait_for(lambda: NAMESPACE not in namespace_names(core), 180, "the test's namespace to go")


def pods_of_the_run(core):
    try:
        return [p for p in core.list_namespaced_pod(NAMESPACE, label_selector=OWNED).items
                if p.status.phase == "Running"]
    except ApiException:
        return []


@pytest.mark.usefixtures("leaves_nothing_behind")
def test_a_run_killed_halfway_is_recovered_by_the_next_run(simulate, start_simulation, core):
    killed = start_simulation(scenario="crypto")
    wait_for(lambda: len(pods_of_the_run(core)) == 2, 240, "the first run's pods to run")
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    assert NAMESPACE in namespace_names(core)  # the killed run could not clean up
    run = simulate(scenario="crypto")
    assert run.returncode == 0, run
    assert "Possible Cryptocoinminer download detected" in [a["display_name"] for a in run.report["expected_alerts"]]


@pytest.mark.usefixtures("leaves_nothing_behind")
@pytest.mark.parametrize("run_id", [None, "fixed-run-1"], ids=["own-run-ids", "same-fixed-run-id"])
def test_a_second_run_at_the_same_time_is_refused_and_does_not_disturb_the_first(
        simulate, start_simulation, core, run_id):
    # A run id can be given (-e simulation_run_id=...): two runs given the same one are still two runs.
    same_id = {"simulation_run_id": run_id} if run_id else {}
    first = start_simulation(scenario="crypto", **same_id)
    wait_for(lambda: len(pods_of_the_run(core)) == 2, 240, "the first run's pods to run")
    holder = core.read_namespace(NAMESPACE).metadata.labels["defender.attack-simulation/run-id"]
    pods = sorted(pod.metadata.uid for pod in pods_of_the_run(core))
    # The first run's techniques take seconds now: held still (alive, so its claim is live) while the second tries.
    os.killpg(first.pid, signal.SIGSTOP)
    try:
        second = simulate(scenario="webshell", **same_id)
        # The second run's cleanup left the first run's namespace and pods as they were.
        assert sorted(pod.metadata.uid for pod in pods_of_the_run(core)) == pods
    finally:
        os.killpg(first.pid, signal.SIGCONT)
    assert second.returncode != 0
    assert "namespace mdc-simulation is in use by run %s" % holder in second.output
    assert first.wait(timeout=600) == 0, output_of(first)
    assert "failed=0" in output_of(first) and "crypto.miner_run passed" in output_of(first)


@pytest.mark.usefixtures("leaves_nothing_behind")
def test_check_mode_checks_prerequisites_prints_the_plan_and_creates_nothing(simulate, core, api_client):
    before = namespace_names(core)
    run = simulate("--check", scenario="crypto")
    assert run.returncode == 0, run
    assert "Prerequisites | ask the API server which of the run's actions are allowed" in run.output
    for planned in ("crypto.miner_run", "Digital currency mining related behavior detected"):
        assert planned in run.output
    assert namespace_names(core) == before and owned_objects(api_client) == []
    assert run.report is None
