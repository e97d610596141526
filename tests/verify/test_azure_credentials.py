# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""defender_alerts_info with the environment AWX's built-in "Microsoft Azure Resource Manager" credential injects
(ansible/awx-plugins, credentials/injectors.py, azure_rm): a service principal (AZURE_CLIENT_ID, AZURE_SECRET,
AZURE_TENANT) or, when the credential has no client id and tenant, a user (AZURE_AD_USER, AZURE_PASSWORD); and
AZURE_CLOUD_ENVIRONMENT when the credential names a cloud.

The user signs in at the local fake ARM server. The sovereign clouds' hosts are never contacted: the module goes
through a local proxy that records where each connection was headed and refuses it."""

from __future__ import absolute_import, division, print_function

import importlib.util
import os
import socket
import threading

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = importlib.util.spec_from_file_location("verify_tests", os.path.join(HERE, "test_verify.py"))
verify_tests = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(verify_tests)
arm, env, run_module, alert = verify_tests.arm, verify_tests.env, verify_tests.run_module, verify_tests.alert
SUB, CLUSTER = verify_tests.SUB, verify_tests.CLUSTER
USER, PASSWORD = "reader@contoso.example", "p4ssw0rd-value-do-not-print"
AZURE_CLI_CLIENT = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"


def awx_azure_rm_env(env, subscription, client="", tenant="", secret="", username="", password="", cloud=None):
    """injectors.azure_rm: the service principal when client and tenant are set, else the user; the cloud if given."""
    environ = {k: v for k, v in env.items() if not k.startswith("AZURE_")}
    environ["AZURE_SUBSCRIPTION_ID"] = subscription
    if client and tenant:
        environ.update(AZURE_CLIENT_ID=client, AZURE_TENANT=tenant, AZURE_SECRET=secret)
    else:
        environ.update(AZURE_AD_USER=username, AZURE_PASSWORD=password)
    if cloud is not None:
        environ["AZURE_CLOUD_ENVIRONMENT"] = cloud
    return environ


class RecordingProxy(object):
    """An HTTPS proxy on 127.0.0.1 that notes each CONNECT's target, then refuses it, or tunnels it to the fake ARM
    server whatever port it was for (MSAL asks a user's realm at the authority's host on port 443)."""

    def __init__(self, forward_port=None):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.targets = []
        self.forward_port = forward_port
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    url = property(lambda self: "http://127.0.0.1:%d" % self.sock.getsockname()[1])

    def serve(self):
        while True:
            try:
                conn = self.sock.accept()[0]
            except OSError:
                return
            request = conn.recv(4096).decode("latin-1")
            self.targets.append(request.split(" ")[1] if request.startswith("CONNECT ") else request[:40])
            if self.forward_port and self.targets[-1].startswith("127.0.0.1:"):
                upstream = socket.create_connection(("127.0.0.1", self.forward_port))
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                for source, sink in ((conn, upstream), (upstream, conn)):
                    threading.Thread(target=self.pipe, args=(source, sink), daemon=True).start()
            else:
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                conn.close()

    @staticmethod
    def pipe(source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.sock.close()


def through(environ, proxy):
    environ = {k: v for k, v in environ.items() if k.lower() not in ("no_proxy", "http_proxy", "https_proxy")}
    environ.update(HTTPS_PROXY=proxy.url, https_proxy=proxy.url)
    return environ


@pytest.fixture
def proxy():
    server = RecordingProxy()
    yield server
    server.close()


@pytest.fixture
def tunnel(arm):
    server = RecordingProxy(forward_port=int(arm.url.rsplit(":", 1)[1]))
    yield server
    server.close()


def test_a_user_credential_signs_in_as_the_user_and_lists_the_alerts(env, arm, tunnel):
    arm.scenario(alerts=[alert("a1", "Possible Web Shell activity detected")])
    environ = through(awx_azure_rm_env(env, SUB, username=USER, password=PASSWORD), tunnel)
    proc, result = run_module(environ, arm, subscription_id=SUB)
    assert "alerts" in result, result
    assert [a["display_name"] for a in result["alerts"]] == ["Possible Web Shell activity detected"]
    grants = [entry for entry in arm.log()["log"] if entry["path"].endswith("/oauth2/v2.0/token")]
    assert [(g["grant_type"], g["tenant"], g["client_id"], g["username"]) for g in grants] == [
        ("password", "organizations", AZURE_CLI_CLIENT, USER)]
    assert PASSWORD not in proc.stdout + proc.stderr


def test_a_wrong_password_fails_naming_the_user_and_never_the_password(env, arm, tunnel):
    arm.scenario(alerts=[])
    environ = through(awx_azure_rm_env(env, SUB, username=USER, password="not-" + PASSWORD), tunnel)
    proc, result = run_module(environ, arm, subscription_id=SUB)
    assert proc.returncode != 0
    assert "could not get a token" in result["msg"] and "user %s" % USER in result["msg"]
    assert PASSWORD not in proc.stdout + proc.stderr


def test_the_service_principal_wins_over_a_user(env, arm):
    arm.scenario(alerts=[])
    environ = awx_azure_rm_env(env, SUB, client=verify_tests.CLIENT, tenant=verify_tests.TENANT,
                               secret=verify_tests.SECRET)
    environ.update(AZURE_AD_USER=USER, AZURE_PASSWORD=PASSWORD)
    _proc, result = run_module(environ, arm, subscription_id=SUB)
    assert result.get("failed") is not True, result
    grants = [entry["grant_type"] for entry in arm.log()["log"] if entry["path"].endswith("/oauth2/v2.0/token")]
    assert grants == ["client_credentials"]


@pytest.mark.parametrize("cloud, authority_host, arm_host", [
    ("AzureUSGovernment", "login.microsoftonline.us", "management.usgovcloudapi.net"),
    ("AzureChinaCloud", "login.chinacloudapi.cn", "management.chinacloudapi.cn"),
    ("", "login.microsoftonline.com", "management.azure.com"),
])
def test_the_cloud_environment_chooses_the_authority_and_the_arm_endpoint(env, proxy, cloud, authority_host, arm_host):
    environ = awx_azure_rm_env(env, SUB, client=verify_tests.CLIENT, tenant=verify_tests.TENANT,
                               secret=verify_tests.SECRET, cloud=cloud)
    environ = through(environ, proxy)
    proc = verify_tests.subprocess.run(
        [os.path.join(verify_tests.BIN, "ansible"), "localhost", "-c", "local", "-o", "-m",
         "defender.attack_simulation.defender_alerts_info", "-a", "subscription_id=%s max_retries=0" % SUB],
        env=environ, cwd=verify_tests.ROOT, capture_output=True, text=True, timeout=300, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert proxy.targets and set(proxy.targets) == {authority_host + ":443"}, proxy.targets
    assert "could not get a token for https://%s/.default" % arm_host in output, output[-2000:]
    assert "(authority https://%s)" % authority_host in output
    assert verify_tests.SECRET not in output


def test_an_unknown_cloud_is_refused_by_name(env, arm):
    environ = awx_azure_rm_env(env, SUB, client=verify_tests.CLIENT, tenant=verify_tests.TENANT,
                               secret=verify_tests.SECRET, cloud="AzureStackHub")
    proc, result = run_module(environ, arm, subscription_id=SUB, arm_endpoint=None, authority=None)
    assert proc.returncode != 0
    assert result["msg"] == ("cloud_environment AzureStackHub is not one of AzureCloud, AzureUSGovernment, "
                             "AzureChinaCloud; for another cloud (Azure Stack Hub, a private cloud) set arm_endpoint "
                             "and authority instead")
