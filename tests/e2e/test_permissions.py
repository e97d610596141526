"""Least privilege in both namespace modes, and the cleanup playbook's respect for a live run, on the real cluster."""
import contextlib
import os
import pathlib
import re
import signal
import time

import pytest
import yaml
from kubernetes import client, config, stream, utils

from conftest import NAMESPACE, ROOT, output_of, owned_objects, wait_for

PERMISSIONS = pathlib.Path(ROOT) / "docs" / "permissions"
ACCOUNT = ("default", "defender-attack-simulation")  # the identity the documented manifests bind
PROVIDED_LABEL = "defender.attack-simulation/provided"
CLAIM_LEASE = "mdc-simulation-claim"


def kubeconfig_for(token, path):
    admin = yaml.safe_load(open(os.environ["KUBECONFIG"], encoding="utf-8"))
    cluster = admin["clusters"][0]
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "least",
        "clusters": [cluster], "users": [{"name": "least", "user": {"token": token}}],
        "contexts": [{"name": "least", "context": {"cluster": cluster["name"], "user": "least"}}]}))
    return path


def delete_applied(api_client, obj):
    """Delete one object applied from a manifest; gone already is fine."""
    kind, name, namespace = obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace")
    rbac, core = client.RbacAuthorizationV1Api(api_client), client.CoreV1Api(api_client)
    deleters = {"ClusterRole": lambda: rbac.delete_cluster_role(name),
                "ClusterRoleBinding": lambda: rbac.delete_cluster_role_binding(name),
                "Role": lambda: rbac.delete_namespaced_role(name, namespace),
                "RoleBinding": lambda: rbac.delete_namespaced_role_binding(name, namespace),
                "ServiceAccount": lambda: core.delete_namespaced_service_account(name, namespace),
                "Namespace": lambda: core.delete_namespace(name)}
    try:
        deleters[kind]()
    except client.exceptions.ApiException as exc:
        if exc.status != 404:
            raise


@pytest.fixture
def apply_permissions(api_client, core, tmp_path):
    """Apply docs/permissions/<name>.yml as an administrator would; returns a kubeconfig with a token of the
    ServiceAccount it binds. Everything applied is deleted at the end, whatever the test did."""
    applied = []

    def apply(*names, skip_kinds=()):
        for name in names:
            for obj in yaml.safe_load((PERMISSIONS / ("%s.yml" % name)).read_text())["items"]:
                if obj["kind"] in skip_kinds:
                    continue
                utils.create_from_dict(api_client, obj)
                applied.append(obj)
        token = core.create_namespaced_service_account_token(
            ACCOUNT[1], ACCOUNT[0], {"spec": {"expirationSeconds": 3600}}).status.token
        return kubeconfig_for(token, tmp_path / ("%s.kubeconfig" % "-".join(names))), token

    try:
        yield apply
    finally:
        for obj in reversed(applied):
            delete_applied(api_client, obj)
        if [obj for obj in applied if obj["kind"] == "Namespace"]:  # the next test may want to create it
            wait_for(lambda: NAMESPACE not in [n.metadata.name for n in core.list_namespace().items], 120,
                     "the provided namespace %s to be gone" % NAMESPACE)


@pytest.fixture
def least_privilege_kubeconfig(apply_permissions):
    """A kubeconfig for a service account that holds only docs/permissions/create.yml's ClusterRole."""
    return apply_permissions("create")


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


def claim_leases(api_client):
    return [lease.metadata.name for lease in
            client.CoordinationV1Api(api_client).list_namespaced_lease(NAMESPACE).items]


@pytest.mark.usefixtures("leaves_nothing_behind")
def test_the_provided_mode_runs_with_a_role_in_the_administrators_namespace_and_never_deletes_it(
        simulate, apply_permissions, core, api_client):
    kubeconfig, token = apply_permissions("provided")
    core.create_namespaced_config_map(NAMESPACE, {"metadata": {"name": "admin-notes"}, "data": {"keep": "me"}})
    run = simulate(scenario="webshell", kubeconfig=str(kubeconfig), simulation_namespace_mode="provided")
    assert run.returncode == 0, run
    assert run.report["warnings"] == [], "the sensor check did not find the sensor: %s" % run.report["warnings"]
    assert run.technique("webshell.whoami")["status"] == "passed"
    assert "forbidden" not in run.output.lower(), run
    namespace = core.read_namespace(NAMESPACE)
    assert namespace.status.phase == "Active" and namespace.metadata.deletion_timestamp is None
    assert namespace.metadata.labels[PROVIDED_LABEL] == "true"
    assert "app.kubernetes.io/managed-by" not in namespace.metadata.labels, "the run changed the namespace"
    assert core.read_namespaced_config_map("admin-notes", NAMESPACE).data == {"keep": "me"}
    assert owned_objects(api_client) == [] and CLAIM_LEASE not in claim_leases(api_client)
    cleanup = simulate(playbook="cleanup.yml", kubeconfig=str(kubeconfig))
    assert cleanup.returncode == 0, cleanup
    assert core.read_namespace(NAMESPACE).status.phase == "Active"
    assert token not in run.output + cleanup.output


@pytest.mark.usefixtures("leaves_nothing_behind")
def test_a_missing_role_in_the_provided_namespace_is_named_before_anything_is_created(simulate, apply_permissions,
                                                                                      api_client):
    kubeconfig, _token = apply_permissions("provided", skip_kinds=("RoleBinding",))
    run = simulate(scenario="webshell", kubeconfig=str(kubeconfig), simulation_namespace_mode="provided")
    assert run.returncode != 0
    assert ("may not do everything a simulation run does with simulation_namespace_mode=provided (the Role in "
            "namespace %s" % NAMESPACE) in run.output
    missing = re.search(r"missing permissions: ([^\"\n]+)", run.output).group(1)
    for action in ("create pods in namespace %s" % NAMESPACE, "create pods/exec in namespace %s" % NAMESPACE,
                   "create leases in namespace %s" % NAMESPACE):
        assert action in missing
    assert [verb for verb in ("create", "patch", "delete") if "%s namespaces" % verb in missing] == [], \
        "provided mode asks for no namespace verb but get"
    assert "secrets" not in missing and "list nodes" not in missing
    assert claim_leases(api_client) == [] and owned_objects(api_client) == []


@pytest.mark.usefixtures("leaves_nothing_behind")
def test_provided_mode_refuses_a_namespace_no_administrator_created(simulate, core):
    run = simulate(scenario="webshell", simulation_namespace_mode="provided")
    assert run.returncode != 0
    assert ("namespace %s does not exist: with simulation_namespace_mode=provided an administrator creates it"
            % NAMESPACE) in run.output
    assert NAMESPACE not in [n.metadata.name for n in core.list_namespace().items]


@pytest.fixture
def kube_system_secret(core):
    core.create_namespaced_secret("kube-system", {"metadata": {"name": "e2e-not-yours"}, "stringData": {"k": "v"}})
    try:
        yield "e2e-not-yours"
    finally:
        core.delete_namespaced_secret("e2e-not-yours", "kube-system")


def test_the_namespace_scoped_account_cannot_read_a_secret_or_exec_into_a_pod_in_kube_system(
        apply_permissions, core, kube_system_secret):
    # Even with the registry credentials' Role: its secrets are the provided namespace's only.
    kubeconfig, _token = apply_permissions("provided", "provided-registry")
    scoped = client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
    with pytest.raises(client.exceptions.ApiException) as read:
        scoped.read_namespaced_secret(kube_system_secret, "kube-system")
    assert read.value.status == 403
    with pytest.raises(client.exceptions.ApiException) as listed:
        scoped.list_namespaced_secret("kube-system")
    assert listed.value.status == 403
    sensor = [p for p in core.list_namespaced_pod("kube-system").items
              if p.metadata.name.startswith("microsoft-defender-collector-ds") and p.status.phase == "Running"]
    assert sensor, "the sensor stand-in has no running pod in kube-system"
    with pytest.raises(client.exceptions.ApiException) as exec_:
        stream.stream(scoped.connect_get_namespaced_pod_exec, sensor[0].metadata.name, "kube-system",
                      command=["id"], stderr=True, stdin=False, stdout=True, tty=False)
    assert "403" in str(exec_.value) or exec_.value.status == 403, exec_.value
    # The same account may read its own namespace: the refusals above are its scope, not a broken token.
    assert scoped.read_namespace(NAMESPACE).metadata.name == NAMESPACE


def test_the_create_mode_account_reads_no_secret_anywhere(apply_permissions, kube_system_secret):
    # Before, the documented ClusterRole let it read every token of the cluster: only registry runs need secrets.
    kubeconfig, _token = apply_permissions("create")
    scoped = client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
    with pytest.raises(client.exceptions.ApiException) as read:
        scoped.read_namespaced_secret(kube_system_secret, "kube-system")
    assert read.value.status == 403
    assert scoped.list_namespaced_pod("kube-system").items, "the account works, and may read pods"


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
