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


def delivered(answer, technique_rc=0, http=200):
    """What the attacker's curl prints: the web shell's answer, then curl's write-out markers."""
    return dict(rc=0, stdout="%s%s\n@@technique-exit=%d\n@@http-status=%d\n@@duration=0.420\n"
                % (WEB_SHELL_HEADER, answer, technique_rc, http))


def record(technique_id, delivery):
    return _records.delivery_record(technique_id, "script", delivery, 1795860000.0, 1795860000.5)


# --- delivery_record ------------------------------------------------------------------------------

def test_an_answer_without_technique_exit_is_a_web_shell_that_ran_nothing():
    rec = record("recon.network_scan", dict(rc=0, stdout="<html><body>no shell here</body></html>\n@@http-status=200\n"))
    assert rec["status"] == "unreachable"
    assert "answered without running the command: '<html><body>no shell here</body></html>'" in rec["message"]


def test_without_curls_text_the_exit_code_says_what_happened():
    rec = record("recon.network_scan", dict(rc=7, stdout="@@http-status=000\n"))
    assert rec["status"] == "unreachable"
    assert rec["message"].endswith("curl exit 7: failed to connect to host")


def test_a_skipped_record_keeps_its_moment_and_reason():
    rec = _records.skipped_record("crypto.miner_run", "./xmrig", "check mode", started=1795860000.0)
    assert rec["status"] == "skipped" and rec["started"] == rec["finished"] == "2026-11-28T10:00:00.000Z"
    assert rec["message"] == "skipped: check mode"


def test_output_strips_markers_and_the_web_shell_comment_and_is_redacted():
    answer = "found /home/user/.git-credentials\nhttps://user:pass@somegit.com\n" + JWT
    rec = record("secrets.git_credentials", delivered(answer))
    assert "@@" not in rec["output"]
    assert "Copyright" not in rec["output"]
    assert "user:pass@" not in rec["output"]
    assert JWT not in rec["output"]
    assert rec["output"].startswith("found /home/user/.git-credentials\n")


def test_output_is_bounded_to_the_tail():
    answer = "\n".join("line %d" % n for n in range(500))
    lines = record("recon.network_scan", delivered(answer))["output"].splitlines()
    assert lines[-1] == "line 499"
    assert len(lines) == _records.OUTPUT_MAX_LINES + 1
    assert "cut" in lines[0]
    long_line = "x" * 10000
    assert len(record("recon.network_scan", delivered(long_line))["output"]) <= _records.OUTPUT_MAX_CHARS + 30


def test_the_last_marker_counts():
    answer = "the script printed @@technique-exit=0 itself\n@@technique-exit=0"
    rec = record("crypto.miner_run", delivered(answer, technique_rc=2))
    assert rec["rc"] == 2
    assert rec["status"] == "failed"


def test_unknown_technique_id_is_refused():
    with pytest.raises(_records.RecordError, match="crypto.nope"):
        record("crypto.nope", delivered(""))
