# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Records of the technique action, the redaction of credentials in URLs, and the victim-side cut of them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import re
import shutil
import subprocess

import pytest

from ansible_collections.defender.attack_simulation.plugins.module_utils import _records, _redact, _technique

HEADER = "<!--\n  Copyright (c) Microsoft Corporation. All rights reserved.\n-->\n"
STARTED, FINISHED = 1795860000.25, 1795860000.5
FILES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "techniques", "files")
GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"

URL_FORMS = [
    ("https://%s@github.com" % GITHUB_TOKEN, GITHUB_TOKEN),
    ("https://:%s@github.com" % GITHUB_TOKEN, GITHUB_TOKEN),
    ("https://%s:x-oauth-basic@github.com" % GITHUB_TOKEN, GITHUB_TOKEN),
    ("https://user:pass@somegit.com", "pass"),
]


def answer(text, technique_rc=0, http=200, took="0.042"):
    return "%s%s\n@@technique-exit=%d\n@@http-status=%d\n@@duration=%s\n" % (HEADER, text, technique_rc, http, took)


def record(technique_id, delivery, **kwargs):
    return _records.delivery_record(technique_id, "script", delivery, STARTED, FINISHED, **kwargs)


# --- redaction of credentials in URLs ---------------------------------------------------------------

@pytest.mark.parametrize("url, secret", URL_FORMS)
def test_the_record_redaction_cuts_every_form_of_credentials_in_a_url(url, secret):
    text = _redact.redact("found /home/user/.git-credentials:\n%s\n" % url)
    assert secret not in text
    assert "@github.com" in text or "@somegit.com" in text
    assert _redact.redact(text) == text


def test_the_redaction_keeps_a_plain_user_name_beside_a_cut_password():
    assert _redact.redact("https://user:pass@somegit.com") == "https://user:p\u2026@somegit.com"
    assert _redact.redact("https://%s:x-oauth-basic@github.com" % GITHUB_TOKEN) == "https://g\u2026:x\u2026@github.com"


def _victim_sed_program():
    with open(os.path.join(FILES, "secrets", "git_credentials.sh"), encoding="utf-8") as script:
        text = script.read()
    return re.findall(r"-e '([^']+)'", text)


@pytest.mark.skipif(not shutil.which("sed"), reason="sed is part of every POSIX system this runs on")
@pytest.mark.parametrize("url, secret", URL_FORMS)
def test_the_git_credentials_technique_cuts_every_form_in_the_victim(url, secret):
    # The sed program of the technique's script, run on the text only (no file search, no technique).
    program = _victim_sed_program()
    assert len(program) == 3
    argv = ["sed", "-E"] + [item for expression in program for item in ("-e", expression)]
    cut = subprocess.run(argv, input=url + "\n", capture_output=True, text=True, check=True).stdout
    assert secret not in cut, cut
    assert secret not in _redact.redact(cut)
    assert cut.strip().endswith(("@github.com", "@somegit.com")), cut


# --- the web shell command and the attacker's curl ------------------------------------------------

def test_the_delivery_is_the_originals_form_and_decodes_to_the_script_with_its_exit_marker():
    command = _technique.webshell_command("crypto.miner_run", "./xmrig\n")
    assert re.fullmatch(r"echo [A-Za-z0-9+/=]+\| base64 -d\| bash", command)
    decoded = base64.b64decode(command.split(" ")[1].rstrip("|")).decode()
    assert decoded.splitlines()[-1] == "./xmrig"
    assert "trap 'echo \"@@technique-exit=$?\"' EXIT" in decoded


def test_the_web_shell_scenario_sends_exactly_whoami():
    assert _technique.webshell_command("webshell.whoami", "anything") == "whoami"


def test_the_attacker_runs_curl_with_an_argument_vector_and_no_shell():
    service = "victim; rm -rf / #"
    argv = _technique.attacker_argv("whoami", "http://%s/ws.php" % service, "120")
    assert argv[0] == "curl" and "sh" not in argv
    assert argv[argv.index("-m") + 1] == "120"
    assert argv[-1] == "http://%s/ws.php" % service  # one argument, never split or interpreted
    assert argv[-2] == "cmd=whoami" and argv[-3] == "--data-urlencode" and "-G" in argv


def test_the_exit_status_comes_from_the_exec_status_channel():
    assert _technique._exit_status('{"metadata":{},"status":"Success"}') == 0
    failure = ('{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code",'
               '"reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"28"}]}}')
    assert _technique._exit_status(failure) == 28
    assert _technique._exit_status("") is None


# --- records -----------------------------------------------------------------------------------------

def test_a_passed_technique_has_its_window_and_curls_own_time():
    rec = record("secrets.service_account_token", dict(stdout=answer("service-account token: eyJhbG...(cut)"), rc=0))
    assert rec["status"] == "passed" and rec["rc"] == 0 and rec["message"] is None
    assert rec["started"] == "2026-11-28T10:00:00.250Z" and rec["finished"] == "2026-11-28T10:00:00.500Z"
    assert rec["duration"] == 0.042
    assert rec["output"] == "service-account token: eyJhbG...(cut)"


def test_the_answer_is_redacted_before_it_is_recorded():
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJlLWJ5dGVz"
    rec = record("secrets.git_credentials", dict(stdout=answer("https://user:pass@somegit.com\n" + jwt), rc=0))
    assert "pass@" not in rec["output"] and jwt not in rec["output"]


def test_a_failed_technique_gives_its_rc_and_last_line():
    rec = record("crypto.miner_run", dict(stdout=answer("/var/www/html/xmrig exited 126", technique_rc=126), rc=0))
    assert rec["status"] == "failed" and rec["rc"] == 126
    assert rec["message"] == "crypto.miner_run exited with rc 126: /var/www/html/xmrig exited 126"


def test_curls_time_bound_makes_a_timed_out_record():
    delivery = dict(stdout="@@http-status=000\n@@duration=2.001\n", rc=28,
                    stderr="curl: (28) Operation timed out after 2001 milliseconds with 0 bytes received\n")
    rec = record("recon.network_scan", delivery, timeout=2)
    assert rec["status"] == "timed_out"
    assert rec["message"] == "recon.network_scan did not finish within its bound of 2 s; the run went on with the next technique"


def test_the_controllers_bound_makes_a_timed_out_record_too():
    rec = record("recon.network_scan", dict(stdout="", rc=None, timed_out=True), timeout=5)
    assert rec["status"] == "timed_out"


def test_a_connect_timeout_to_the_web_shell_is_unreachable_not_slow():
    delivery = dict(stdout="@@http-status=000\n", rc=28,
                    stderr="curl: (28) Connection timed out after 10002 milliseconds\n")
    rec = record("recon.network_scan", delivery)
    assert rec["status"] == "unreachable"
    assert rec["message"] == ("web shell http://mdc-simulation-victim/ws.php not reachable from the attacker: "
                              "curl exit 28: Connection timed out after 10002 milliseconds")


def test_an_unresolvable_web_shell_is_unreachable_with_the_url_and_curls_error():
    delivery = dict(stdout="@@http-status=000\n", rc=6,
                    stderr="curl: (6) Could not resolve host: victim.elsewhere\n")
    rec = record("webshell.whoami", delivery, webshell_url="http://victim.elsewhere/ws.php")
    assert rec["status"] == "unreachable"
    assert rec["message"] == ("web shell http://victim.elsewhere/ws.php not reachable from the attacker: "
                              "curl exit 6: Could not resolve host: victim.elsewhere")


def test_a_missing_web_shell_page_is_unreachable():
    rec = record("webshell.whoami", dict(stdout="<html>404</html>\n@@http-status=404\n", rc=0))
    assert rec["status"] == "unreachable" and "HTTP 404" in rec["message"]


def test_an_exec_that_could_not_start_is_unreachable_and_says_why():
    rec = record("crypto.miner_run", dict(error="the exec in pod ns/attacker container attacker failed: Not Found (HTTP 404)"))
    assert rec["status"] == "unreachable"
    assert rec["message"] == ("crypto.miner_run was not delivered: the exec in pod ns/attacker container attacker "
                              "failed: Not Found (HTTP 404)")


def test_whoami_is_judged_by_its_answer():
    assert record("webshell.whoami", dict(stdout=HEADER + "nginx\n@@http-status=200\n@@duration=0.01\n", rc=0))[
        "status"] == "passed"
    empty = record("webshell.whoami", dict(stdout=HEADER + "@@http-status=200\n", rc=0))
    assert empty["status"] == "unreachable" and "without running the command: nothing" in empty["message"]


def test_a_server_error_of_the_web_server_is_a_failed_technique():
    rec = record("recon.network_scan", dict(stdout="<html>504 Gateway Time-out</html>\n@@http-status=504\n", rc=0))
    assert rec["status"] == "failed" and "HTTP 504" in rec["message"]
