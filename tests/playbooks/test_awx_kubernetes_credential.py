"""The cluster as AWX's built-in "OpenShift or Kubernetes API Bearer Token" credential injects it: K8S_AUTH_HOST,
K8S_AUTH_API_KEY, and either K8S_AUTH_VERIFY_SSL=True with K8S_AUTH_SSL_CA_CERT (a CA given) or
K8S_AUTH_VERIFY_SSL=False (none given), as ansible/awx-plugins' injectors.kubernetes_bearer_token sets them.
The run must name where its cluster came from, and warn when the API server's certificate is not verified."""
import importlib.util
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("connection", ROOT / "tests" / "playbooks" / "test_connection.py")
connection = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(connection)
TOKEN = connection.TOKEN
NOT_VERIFIED = "the API server's certificate is not verified"


def awx_bearer_token_env(host, ca_file=None):
    """The environment AWX gives a job with this credential (verify_ssl left at its default, True)."""
    env = dict(K8S_AUTH_HOST=host, K8S_AUTH_API_KEY=TOKEN)
    if ca_file:
        env.update(K8S_AUTH_VERIFY_SSL="True", K8S_AUTH_SSL_CA_CERT=str(ca_file))
    else:
        env.update(K8S_AUTH_VERIFY_SSL="False")
    return env


def simulate(extra_env, variables=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("K8S_AUTH_") and k != "KUBECONFIG"}
    env.update(extra_env)
    ansible_playbook = str(pathlib.Path(sys.executable).parent / "ansible-playbook")
    result = subprocess.run([ansible_playbook, "playbooks/simulate.yml", "-e", "scenario=webshell"]
                            + (["-e", variables] if variables else []), cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300, check=False)
    return result.returncode, result.stdout + result.stderr


@pytest.fixture
def server():
    listener = connection.Unauthorized()
    yield listener
    listener.close()


def test_without_a_ca_the_run_names_k8s_auth_host_and_warns_that_tls_is_not_verified(server):
    rc, output = simulate(awx_bearer_token_env(server.url))
    assert rc != 0
    assert ("cannot reach the Kubernetes API server with the given credentials (host %s (K8S_AUTH_HOST))"
            % server.url) in output, output[-3000:]
    assert "[WARNING]: %s (K8S_AUTH_VERIFY_SSL=False" % NOT_VERIFIED in output
    assert TOKEN not in output


def test_with_a_ca_nothing_warns(server, tmp_path):
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("not used: the listener speaks plain HTTP\n")
    rc, output = simulate(awx_bearer_token_env(server.url, ca_file))
    assert rc != 0
    assert "(host %s (K8S_AUTH_HOST))" % server.url in output
    assert NOT_VERIFIED not in output


def test_validate_certs_false_is_named_in_the_warning(server):
    rc, output = simulate({}, '{"host": "%s", "api_key": "%s", "validate_certs": false}' % (server.url, TOKEN))
    assert rc != 0
    assert "(host %s, " not in output and "(host %s)" % server.url in output
    assert "%s (validate_certs is false)" % NOT_VERIFIED in output


def test_a_kubeconfig_from_the_environment_is_named_with_its_variable_and_context(server, tmp_path):
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(__import__("yaml").safe_dump(connection.kubeconfig_dict(server.url)))
    rc, output = simulate({"KUBECONFIG": str(kubeconfig)})
    assert rc != 0
    assert "(kubeconfig %s (KUBECONFIG), context its current-context)" % kubeconfig in output, output[-3000:]
    rc, output = simulate({"K8S_AUTH_KUBECONFIG": str(kubeconfig), "K8S_AUTH_CONTEXT": "loopback-context"})
    assert "(kubeconfig %s (K8S_AUTH_KUBECONFIG), context loopback-context (K8S_AUTH_CONTEXT))" % kubeconfig in output
