"""Every manifest the deploy role renders is valid against the Kubernetes schemas, with the default variables
and with every optional setting a private-registry or air-gapped user would set."""
import json
import pathlib
import re
import subprocess

import kubernetes_validate
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
KUBERNETES_VERSION = "1.36.0"

PRIVATE_REGISTRY = {
    "deploy_victim_image": "registry.example.com/sec/victim:1.0",
    "deploy_attacker_image": "registry.example.com/sec/attacker:1.0",
    "deploy_image_pull_policy": "Always",
    "deploy_image_pull_secrets": ["regcred"],
    "deploy_registry_credentials": {"server": "registry.example.com", "username": "sim", "password": "s3cret"},
    "deploy_node_selector": {"kubernetes.io/os": "linux", "agentpool": "sim"},
    "deploy_tolerations": [{"key": "dedicated", "operator": "Equal", "value": "sim", "effect": "NoSchedule"}],
    "deploy_resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
    "deploy_extra_labels": {"team": "secops"},
    "deploy_extra_annotations": {"owner": "secops@example.com"},
    "deploy_pod_deadline": 900,
}


def run_render(tmp_path, extra_vars, *key_values):
    """ansible-playbook on the render entry point; key_values are passed as `-e key=value`, strings as a user types."""
    out = tmp_path / "manifests"
    out.mkdir()
    variables = dict(extra_vars, deploy_render_dir=str(out))
    command = ["ansible-playbook", str(ROOT / "tests/manifests/render.yml"), "-e", json.dumps(variables)]
    for key_value in key_values:
        command += ["-e", key_value]
    result = subprocess.run(command, cwd=ROOT, check=False, capture_output=True, text=True)
    return result, {path.name: yaml.safe_load(path.read_text()) for path in sorted(out.glob("*.yaml"))}


def render(tmp_path, extra_vars, *key_values):
    result, objects = run_render(tmp_path, extra_vars, *key_values)
    assert result.returncode == 0, result.stdout + result.stderr
    return objects


@pytest.fixture(scope="module", params=[{}, PRIVATE_REGISTRY], ids=["defaults", "private-registry"])
def manifests(request, tmp_path_factory):
    return request.param, render(tmp_path_factory.mktemp("render"), request.param)


def test_every_object_is_rendered(manifests):
    _variables, objects = manifests
    assert sorted(objects) == [
        "networkpolicy-attacker.yaml", "networkpolicy-victim.yaml", "pod-attacker.yaml", "pod-victim.yaml",
        "service-attacker.yaml", "service-victim.yaml", "serviceaccount-victim.yaml"]


def test_every_object_validates_against_the_kubernetes_schema(manifests):
    _variables, objects = manifests
    for name, obj in objects.items():
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail("%s: %s" % (name, exc.message))


def test_every_object_carries_the_ownership_label_and_the_run_id(manifests):
    variables, objects = manifests
    for name, obj in objects.items():
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "defender.attack_simulation", name
        assert labels["defender.attack-simulation/run-id"] == "20261128-101500-test01", name
        for key, value in variables.get("deploy_extra_labels", {}).items():
            assert labels[key] == value, name


def test_pods_follow_the_original_chart_and_the_variables(manifests):
    variables, objects = manifests
    victim, attacker = objects["pod-victim.yaml"], objects["pod-attacker.yaml"]
    assert (victim["spec"]["hostname"], victim["spec"]["subdomain"]) == ("victim", "mdc-simulation-victim")
    assert victim["spec"]["serviceAccountName"] == "mdc-simulation-victim"
    # A detection may key on the container name: the chart's, the pod's own name.
    assert [c["name"] for c in victim["spec"]["containers"]] == ["mdc-simulation-victim"]
    assert [c["name"] for c in attacker["spec"]["containers"]] == ["mdc-simulation-attacker"]
    assert attacker["spec"]["automountServiceAccountToken"] is False
    assert attacker["spec"]["containers"][0]["command"] == ["python3", "-m", "http.server", "80"]
    assert attacker["spec"]["containers"][0]["env"] == [{"name": "SCENARIO", "value": "recon,crypto"}]
    for pod in (victim, attacker):
        spec = pod["spec"]
        assert spec["activeDeadlineSeconds"] == variables.get("deploy_pod_deadline", 3600)
        expected_secrets = variables.get("deploy_image_pull_secrets", []) + (
            ["mdc-simulation-registry"] if variables.get("deploy_registry_credentials") else [])
        assert spec["imagePullSecrets"] == [{"name": s} for s in expected_secrets]
        assert spec["nodeSelector"] == variables.get("deploy_node_selector", {})
        assert spec["tolerations"] == variables.get("deploy_tolerations", [])
    assert victim["spec"]["containers"][0]["image"] == variables.get(
        "deploy_victim_image", "ghcr.io/microsoft/defender-for-cloud/attacksimulation/victim:latest")
    assert attacker["spec"]["containers"][0]["image"] == variables.get(
        "deploy_attacker_image", "ghcr.io/microsoft/defender-for-cloud/attacksimulation/attacker:latest")
    # Unset, the pull policy is Kubernetes' default (Always for :latest), as in Microsoft's chart.
    for pod in (victim, attacker):
        container = pod["spec"]["containers"][0]
        if "deploy_image_pull_policy" in variables:
            assert container["imagePullPolicy"] == variables["deploy_image_pull_policy"]
        else:
            assert "imagePullPolicy" not in container


def test_only_the_attacker_may_reach_the_victims_web_port(manifests):
    _variables, objects = manifests
    policy = objects["networkpolicy-victim.yaml"]["spec"]
    assert policy["podSelector"] == {"matchLabels": {"name": "mdc-simulation-victim"}}
    assert policy["ingress"] == [{"from": [{"podSelector": {"matchLabels": {"name": "mdc-simulation-attacker"}}}],
                                  "ports": [{"protocol": "TCP", "port": 80}]}]


def test_services_are_headless(manifests):
    _variables, objects = manifests
    for role in ("victim", "attacker"):
        service = objects["service-%s.yaml" % role]
        assert service["spec"]["clusterIP"] == "None"
        assert service["spec"]["selector"] == {"name": "mdc-simulation-%s" % role}


# ---------------------------------------------------------------- hostile and string input (issue 13)
PRIVILEGED = ("\n      securityContext: {privileged: true}\n  hostPID: true\n  hostNetwork: true\n"
              "  volumes: [{name: root, hostPath: {path: /}}]")
HOSTILE = {
    "deploy_victim_image": "ghcr.io/microsoft/defender-for-cloud/attacksimulation/victim:latest" + PRIVILEGED,
    "deploy_attacker_image": "registry.example.com/attacker:1.0" + PRIVILEGED,
    "deploy_extra_labels": {"team\n  hostPID: true": "secops"},
    "deploy_node_selector": {"agentpool": "sim\nhostNetwork: true"},
}


def assert_not_privileged(objects):
    for name, obj in objects.items():
        spec = obj.get("spec", {})
        assert not {"hostPID", "hostNetwork", "hostIPC", "volumes"} & set(spec), name
        for container in spec.get("containers", []):
            assert "securityContext" not in container, name


@pytest.mark.parametrize("variable", sorted(HOSTILE))
def test_a_value_that_would_change_the_pod_is_refused_naming_the_variable(tmp_path, variable):
    result, objects = run_render(tmp_path, {variable: HOSTILE[variable]})
    assert result.returncode != 0
    assert objects == {}, "nothing is rendered from hostile input"
    assert re.search(r"%s: .* is not a valid" % variable, result.stdout + result.stderr)


def test_a_valid_image_reference_reaches_the_pod_unchanged(tmp_path):
    image = "localhost:5000/sec/victim:v1.2_x@sha256:" + "0" * 64
    objects = render(tmp_path, {"deploy_victim_image": image})
    assert objects["pod-victim.yaml"]["spec"]["containers"][0]["image"] == image


def test_annotations_and_tolerations_are_data_not_yaml(tmp_path):
    """Values with no syntax of their own in Kubernetes reach the objects as the same strings, inert."""
    annotation = "secops" + PRIVILEGED
    toleration = {"key": "dedicated", "operator": "Equal", "value": "sim" + PRIVILEGED, "effect": "NoSchedule"}
    objects = render(tmp_path, {"deploy_extra_annotations": {"owner": annotation}, "deploy_tolerations": [toleration]})
    assert_not_privileged(objects)
    for name, obj in objects.items():
        assert obj["metadata"]["annotations"] == {"owner": annotation}, name
    assert objects["pod-victim.yaml"]["spec"]["tolerations"] == [toleration]


def test_label_syntax_is_checked_naming_the_variable(tmp_path):
    """Other keys and values: tests/unit/plugins/module_utils/test_manifests.py."""
    result, _objects = run_render(tmp_path, {"deploy_extra_labels": {"team": 7}})
    assert result.returncode != 0
    assert re.search(r"deploy_extra_labels: the value of team, 7 \(a number\), is not a valid Kubernetes label value",
                     result.stdout + result.stderr)


def test_numbers_given_as_strings_work(tmp_path):
    objects = render(tmp_path, {}, "deploy_pod_deadline=900", "deploy_ready_timeout=600")
    for role in ("victim", "attacker"):
        assert objects["pod-%s.yaml" % role]["spec"]["activeDeadlineSeconds"] == 900


def test_a_number_that_is_not_one_is_refused(tmp_path):
    result, _objects = run_render(tmp_path, {}, "deploy_pod_deadline=15m")
    assert result.returncode != 0
    assert "deploy_pod_deadline" in result.stdout + result.stderr
