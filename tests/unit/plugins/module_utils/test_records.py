# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.defender.attack_simulation.plugins.module_utils import _records

# A real-looking service-account token (header.payload.signature), made up for the test.
JWT = ("eyJhbGciOiJSUzI1NiIsImtpZCI6IlRfS3h2In0"
       ".eyJhdWQiOlsiaHR0cHM6Ly9rdWJlcm5ldGVzLmRlZmF1bHQuc3ZjIl0sInN1YiI6InN5c3RlbTpzZXJ2aWNlYWNjb3VudCJ9"
       ".Qm9ndXNTaWduYXR1cmVCeXRlc0ZvclRlc3RpbmdPbmx5X2FiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6")
WEB_SHELL_HEADER = "<!--\n  Copyright (c) Microsoft Corporation. All rights reserved.\n-->\n"


def exec_result(stdout, stderr="", rc=0, **extra):
    result = dict(changed=True, stdout=stdout, stderr=stderr, rc=rc, return_code=rc,
                  stdout_lines=stdout.splitlines(), stderr_lines=stderr.splitlines())
    result.update(extra)
    return result


def wrapper_output(answer, technique_rc=0, delivery_rc=0, started="1795860000.123456", duration="0.420"):
    return ("@@started=%s\n%s%s\n@@technique-exit=%d\n@@delivery-exit=%d\n@@duration=%s\n"
            % (started, WEB_SHELL_HEADER, answer, technique_rc, delivery_rc, duration))


# --- redact ---------------------------------------------------------------------------------------

def test_redact_cuts_a_jwt_to_its_first_ten_characters():
    text = _records.redact("token: %s done" % JWT)
    assert JWT not in text
    assert "token: eyJhbGciOi\u2026[cut] done" == text


def test_redact_cuts_git_credentials_password():
    assert _records.redact("https://user:pass@somegit.com") == "https://user:p\u2026@somegit.com"


def test_redact_cuts_a_bearer_token():
    text = _records.redact("Authorization: Bearer %s" % JWT)
    assert text == "Authorization: Bearer eyJhbG\u2026[cut]"


@pytest.mark.parametrize("secret_text, whole", [
    ('{"access_token": "ya29.a0AfH6SMBx3kLmnopQRstuVWxyz", "expires_in": 3599}', "ya29.a0AfH6SMBx3kLmnopQRstuVWxyz"),
    ('"SecretAccessKey" : "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"', "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ('"Token": "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ"', "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ"),
    ('"AccessKeyId": "ASIAIOSFODNN7EXAMPLE"', "ASIAIOSFODNN7EXAMPLE"),
    ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
])
def test_redact_cuts_cloud_secrets_to_six_characters(secret_text, whole):
    text = _records.redact(secret_text)
    assert whole not in text
    assert whole[:6] + "\u2026[cut]" in text


def test_redact_is_idempotent_and_keeps_plain_text():
    text = "cloud: azure\nhttps://user:pass@somegit.com\n%s\nAKIAIOSFODNN7EXAMPLE" % JWT
    once = _records.redact(text)
    assert _records.redact(once) == once
    assert once.startswith("cloud: azure\n")
    assert _records.redact("No token found") == "No token found"
    assert _records.redact(None) is None


def test_redact_never_shows_a_short_secret_whole():
    assert _records.redact('"Token": "abcd"') == '"Token": "ab\u2026[cut]"'


# --- technique_record -------------------------------------------------------------------------

def test_passed_technique_record():
    result = exec_result(wrapper_output("cloud: azure\ntoken: eyJ0eXAiOi"))
    record = _records.technique_record(result, "lateral_movement.metadata_token", "curl ...")
    assert record == dict(
        id="lateral_movement.metadata_token", scenario="lateral_movement",
        technique="ask the cloud metadata service for an identity token", mitre="T1552.005",
        command="curl ...", status="passed", rc=0, started="2026-11-28T10:00:00.123Z", duration=0.42,
        output="cloud: azure\ntoken: eyJ0eXAiOi", message=None)


def test_failed_technique_gives_its_rc_and_last_line():
    result = exec_result(wrapper_output("touch: cannot touch '/etc/ld.so.preload': Permission denied", technique_rc=1))
    record = _records.technique_record(result, "crypto.ld_so_preload", "touch /etc/ld.so.preload")
    assert record["status"] == "failed"
    assert record["rc"] == 1
    assert record["message"] == ("crypto.ld_so_preload exited with rc 1: "
                                 "touch: cannot touch '/etc/ld.so.preload': Permission denied")


def test_unreachable_when_curl_fails_names_the_url_and_curls_error():
    stdout = "@@started=1795860000.5\n\n@@delivery-exit=7\n@@duration=0.01\n"
    stderr = "curl: (7) Failed to connect to mdc-simulation-victim port 80 after 3 ms: Connection refused\n"
    record = _records.technique_record(exec_result(stdout, stderr), "recon.network_scan", "nmap ...")
    assert record["status"] == "unreachable"
    assert record["rc"] is None
    assert record["message"] == ("web shell http://mdc-simulation-victim/ws.php not reachable from the attacker: "
                                 "curl exit 7: Failed to connect to mdc-simulation-victim port 80 after 3 ms: "
                                 "Connection refused")


def test_unreachable_without_curl_text_uses_the_exit_code_meaning():
    stdout = "@@delivery-exit=6\n"
    record = _records.technique_record(exec_result(stdout), "recon.network_scan", "nmap ...",
                                       webshell_url="http://victim.other-ns/ws.php")
    assert record["message"].startswith("web shell http://victim.other-ns/ws.php not reachable")
    assert record["message"].endswith("curl exit 6: could not resolve host")


def test_failed_exec_in_the_attacker_is_unreachable():
    result = dict(failed=True, msg="Failed to execute on pod mdc-simulation-attacker due to : (404) Not Found")
    record = _records.technique_record(result, "webshell.whoami", "whoami", started=1795860000)
    assert record["status"] == "unreachable"
    assert "Failed to execute on pod mdc-simulation-attacker" in record["message"]
    assert record["started"] == "2026-11-28T10:00:00.000Z"


def test_answer_without_technique_exit_is_a_failure():
    stdout = "@@started=1795860000\n<html><body>404 Not Found</body></html>\n@@delivery-exit=0\n"
    record = _records.technique_record(exec_result(stdout), "webshell.whoami", "whoami")
    assert record["status"] == "failed"
    assert "@@technique-exit=" in record["message"]


def test_skipped_exec_gives_a_skipped_record():
    result = dict(changed=False, skipped=True, skip_reason="Conditional result was False")
    record = _records.technique_record(result, "crypto.miner_run", "./xmrig", started="2026-11-28T10:00:00.000Z")
    assert record["status"] == "skipped"
    assert record["started"] == "2026-11-28T10:00:00.000Z"
    assert record["message"] == "skipped: Conditional result was False"


def test_output_strips_markers_and_the_web_shell_comment_and_is_redacted():
    answer = "found /home/user/.git-credentials\nhttps://user:pass@somegit.com\n" + JWT
    record = _records.technique_record(exec_result(wrapper_output(answer)), "secrets.git_credentials", "find /")
    assert "@@" not in record["output"]
    assert "Copyright" not in record["output"]
    assert "user:pass@" not in record["output"]
    assert JWT not in record["output"]
    assert record["output"].startswith("found /home/user/.git-credentials\n")


def test_output_is_bounded_to_the_tail():
    answer = "\n".join("line %d" % n for n in range(500))
    record = _records.technique_record(exec_result(wrapper_output(answer)), "recon.network_scan", "nmap")
    lines = record["output"].splitlines()
    assert lines[-1] == "line 499"
    assert len(lines) == _records.OUTPUT_MAX_LINES + 1
    assert "cut" in lines[0]
    long_line = "x" * 10000
    record = _records.technique_record(exec_result(wrapper_output(long_line)), "recon.network_scan", "nmap")
    assert len(record["output"]) <= _records.OUTPUT_MAX_CHARS + 30


def test_the_last_marker_counts():
    answer = "the script printed @@technique-exit=0 itself\n@@technique-exit=0"
    record = _records.technique_record(exec_result(wrapper_output(answer, technique_rc=2)), "crypto.miner_run", "x")
    assert record["rc"] == 2
    assert record["status"] == "failed"


def test_unknown_technique_id_is_refused():
    with pytest.raises(_records.RecordError, match="crypto.nope"):
        _records.technique_record(exec_result(""), "crypto.nope", "x")


def test_a_non_dict_exec_result_is_refused():
    with pytest.raises(_records.RecordError, match="registered k8s_exec result"):
        _records.technique_record("stdout text", "crypto.miner_run", "x")
