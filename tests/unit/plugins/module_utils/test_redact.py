# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Redaction, pattern by pattern: each secret is cut (never shown whole), the text around it is kept, and
redacting twice changes nothing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.defender.attack_simulation.plugins.module_utils import _redact

CUT = "\u2026[cut]"
# A real-looking service-account token (header.payload.signature), made up for the test.
JWT = ("eyJhbGciOiJSUzI1NiIsImtpZCI6IlRfS3h2In0"
       ".eyJhdWQiOlsiaHR0cHM6Ly9rdWJlcm5ldGVzLmRlZmF1bHQuc3ZjIl0sInN1YiI6InN5c3RlbTpzZXJ2aWNlYWNjb3VudCJ9"
       ".Qm9ndXNTaWduYXR1cmVCeXRlc0ZvclRlc3RpbmdPbmx5X2FiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6")
GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
KUBECONFIG = {
    "apiVersion": "v1", "kind": "Config", "current-context": "sim",
    "clusters": [{"name": "sim", "cluster": {"server": "https://10.0.0.1", "certificate-authority-data": "Q0E="}}],
    "users": [{"name": "sim", "user": {"token": "tok-0123456789", "client-key-data": "S0VZLWRhdGE="}},
              {"name": "oidc", "user": {"auth-provider": {"config": {
                  "id-token": "eyJ.id.token", "client-secret": "shh-secret"}}}}],
    "contexts": [{"name": "sim", "context": {"cluster": "sim", "user": "sim"}}]}


def test_a_jwt_keeps_its_first_ten_characters():
    assert _redact.redact("token: %s done" % JWT) == "token: eyJhbGciOi%s done" % CUT


def test_git_credentials_keep_the_passwords_first_character():
    assert _redact.redact("https://user:pass@somegit.com") == "https://user:p\u2026@somegit.com"


@pytest.mark.parametrize("header, credential", [
    ("Authorization: Bearer ", JWT),
    ("Authorization: Basic ", "dXNlcjpwYXNzd29yZA=="),
    ("authorization: token ", GITHUB_TOKEN),
    ("Proxy-Authorization: Basic ", "YWxhZGRpbjpvcGVuc2VzYW1l"),
    ("Authorization: ", "sk-live-0123456789abcdef"),
])
def test_an_authorization_header_keeps_six_characters_of_its_credential(header, credential):
    assert _redact.redact("> %s%s\r\n> Accept: */*" % (header, credential)) == \
        "> %s%s%s\r\n> Accept: */*" % (header, credential[:6], CUT)


@pytest.mark.parametrize("url, secret", [
    ("https://acct.blob.core.windows.net/c/b?sv=2022-11-02&se=2026-12-04&sp=r&sig=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA%3D",
     "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA%3D"),
    ("https://api.example/cb?state=x&access_token=ya29.a0AfH6SMBx3kLmnopQRstuVWxyz&expires_in=3599",
     "ya29.a0AfH6SMBx3kLmnopQRstuVWxyz"),
    ("https://s3.amazonaws.com/b/k?X-Amz-Credential=AKIDEXAMPLE%2F20261203&X-Amz-Signature=4f6e2d1c0b9a8f7e6d5c4b3a",
     "4f6e2d1c0b9a8f7e6d5c4b3a"),
    ("https://example.org/login?code=0.AAAAxyzSecretAuthCode123&session_state=abc", "0.AAAAxyzSecretAuthCode123"),
])
def test_a_credential_in_a_query_string_keeps_six_characters(url, secret):
    text = _redact.redact("GET %s HTTP/1.1" % url)
    assert secret not in text and secret[:6] + CUT in text
    assert text.startswith("GET https://") and text.endswith(" HTTP/1.1")


@pytest.mark.parametrize("assignment, secret", [
    ("NAME_SECRET=s3cr3t-value-1234", "s3cr3t-value-1234"),
    ("export GITHUB_TOKEN='0123456789abcdef0123'", "0123456789abcdef0123"),
    ("DB_PASSWORD = hunter2hunter2", "hunter2hunter2"),
    ("STRIPE_API_KEY=sk_live_abcdefghijklmnop", "sk_live_abcdefghijklmnop"),
    ("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=bXlrZXlteWtleW15a2V5bXlrZXk=;EndpointSuffix=x",
     "bXlrZXlteWtleW15a2V5bXlrZXk="),
])
def test_an_assignment_whose_name_says_secret_keeps_six_characters(assignment, secret):
    text = _redact.redact(assignment)
    assert secret not in text and secret[:6] + CUT in text


def test_an_assignment_of_nothing_does_not_reach_into_the_next_line():
    assert _redact.redact("GOOGLE_DEFAULT_CLIENT_SECRET=\nHOME=/root") == "GOOGLE_DEFAULT_CLIENT_SECRET=\nHOME=/root"


@pytest.mark.parametrize("token", [
    GITHUB_TOKEN, "gho_" + "Z" * 36, "github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyz", "glpat-abcdefghij0123456789",
    "ya29.a0AfH6SMBx3kLmnopQRstuVWxyz", "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ",
])
def test_a_bare_token_of_a_known_kind_keeps_six_characters(token):
    text = _redact.redact("found %s in the history" % token)
    assert token not in text and text == "found %s%s in the history" % (token[:6], CUT)


@pytest.mark.parametrize("secret_text, whole", [
    ('{"access_token": "ya29.a0AfH6SMBx3kLmnopQRstuVWxyz", "expires_in": 3599}', "ya29.a0AfH6SMBx3kLmnopQRstuVWxyz"),
    ('"SecretAccessKey" : "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"', "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ('"Token": "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ"', "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ"),
    ('"AccessKeyId": "ASIAIOSFODNN7EXAMPLE"', "ASIAIOSFODNN7EXAMPLE"),
    ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
])
def test_cloud_secrets_keep_six_characters(secret_text, whole):
    text = _redact.redact(secret_text)
    assert whole not in text
    assert whole[:6] + CUT in text


def test_redaction_is_idempotent_and_keeps_plain_text():
    text = ("cloud: azure\nhttps://user:pass@somegit.com\n%s\nAKIAIOSFODNN7EXAMPLE\n?sig=abcdefghijkl\n"
            "Authorization: Basic dXNlcjpwYXNz\nAPP_SECRET=abcdefgh\n%s\nPWD=/var/www/html" % (JWT, GITHUB_TOKEN))
    once = _redact.redact(text)
    assert _redact.redact(once) == once
    assert once.startswith("cloud: azure\n") and once.endswith("\nPWD=/var/www/html")
    assert _redact.redact("No token found; the password is not here") == "No token found; the password is not here"
    assert _redact.redact(None) is None


def test_a_short_secret_is_never_shown_whole():
    assert _redact.redact('"Token": "abcd"') == '"Token": "ab%s"' % CUT


def test_every_credential_of_a_kubeconfig_dict_is_redacted_and_nothing_else():
    text = "could not load %s" % KUBECONFIG
    redacted = _redact.redact_kubeconfig(text, {"kubeconfig": KUBECONFIG, "api_key": None})
    for secret in ("tok-0123456789", "S0VZLWRhdGE=", "eyJ.id.token", "shh-secret"):
        assert secret not in redacted
    assert "https://10.0.0.1" in redacted and "Q0E=" in redacted  # the server and the CA are not secrets


def test_the_api_key_is_redacted_and_a_kubeconfig_path_is_left_alone():
    assert _redact.redact_kubeconfig("Bearer abc123 at /k", {"kubeconfig": "/k", "api_key": "abc123"}) == \
        "Bearer <redacted> at /k"


def test_a_message_gets_both_the_kubeconfig_redaction_and_the_patterns():
    message = "pod ns/p: exec failed with token tok-0123456789 and ?sig=abcdefghijklmnop"
    text = _redact.redact_message(message, {"kubeconfig": KUBECONFIG})
    assert "tok-0123456789" not in text and "abcdefghijklmnop" not in text
    assert text.startswith("pod ns/p: exec failed with token <redacted> and ?sig=abcdef")
