# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one verdict of a run (issue 17): passed only when every planned technique ran and passed, cleanup is done and
every awaited alert was seen."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.defender.attack_simulation.plugins.module_utils import _report, _verdict

CRYPTO = ("crypto.cpu_optimization", "crypto.ld_so_preload", "crypto.miner_download", "crypto.miner_run")


def run(*records, **extra):
    report = dict(run_id="r1", scenarios=["crypto"], techniques=[dict(id=tid, status=s) for tid, s in records],
                  failure=None, cleanup=dict(status="done", left_behind=[], message=""), verification=None)
    report.update(extra)
    return report


def passed(*ids):
    return [(tid, "passed") for tid in ids]


def test_a_run_that_did_everything_passes():
    outcome = _verdict.verdict(run(*passed(*CRYPTO)))
    assert (outcome["status"], outcome["problems"], outcome["exit_problems"]) == ("passed", [], [])


def test_techniques_that_did_not_run_make_the_run_incomplete_and_are_named():
    outcome = _verdict.verdict(run())
    assert outcome["status"] == "failed"
    assert outcome["problems"] == ["incomplete: 4 of 4 planned techniques did not run: crypto.cpu_optimization, "
                                   "crypto.ld_so_preload, crypto.miner_download, crypto.miner_run"]
    assert _verdict.verdict(run(*passed(*CRYPTO[:3])))["problems"] == [
        "incomplete: 1 of 4 planned techniques did not run: crypto.miner_run"]


def test_a_technique_skipped_outside_check_mode_did_not_run():
    outcome = _verdict.verdict(run(*passed(*CRYPTO[:3]) + [("crypto.miner_run", "skipped")]))
    assert outcome["kinds"] == ["incomplete"]


def test_check_mode_is_planned_never_passed():
    outcome = _verdict.verdict(run(*[(tid, "skipped") for tid in CRYPTO], check_mode=True))
    assert (outcome["status"], outcome["problems"]) == ("planned", [])


def test_each_kind_of_problem_fails_the_run_and_says_why():
    failed = _verdict.verdict(run(*passed(*CRYPTO[:3]) + [("crypto.miner_run", "timed_out")],
                                  cleanup=dict(status="failed", left_behind=["Pod/ns/x"], message="API gone")))
    assert failed["problems"] == ["1 technique(s) failed: crypto.miner_run",
                                  "cleanup failed: API gone (left behind: Pod/ns/x)"]
    assert failed["kinds"] == ["technique", "cleanup"]
    stage = _verdict.verdict(run(failure=dict(stage="deploy", message="ErrImagePull")))
    # Nothing could run after a failed deploy: the stage says it all, without the list of techniques.
    assert (stage["problems"], stage["kinds"]) == (["deploy failed: ErrImagePull"], ["stage"])
    stopped = _verdict.verdict(run(("crypto.cpu_optimization", "unreachable"),
                                   failure=dict(stage="techniques", message="web shell gone")))
    assert stopped["kinds"] == ["stage", "incomplete", "technique"]


def verified(*statuses):
    return dict(alerts=[dict(display_name="alert %d" % i, status=s) for i, s in enumerate(statuses)])


def test_a_verification_fails_on_a_missing_alert_or_one_whose_technique_did_not_run():
    assert _verdict.verdict(run(*passed(*CRYPTO), verification=verified("seen", "needs_cluster_setting")))[
        "status"] == "passed"
    missing = _verdict.verdict(run(*passed(*CRYPTO), verification=verified("seen", "missing")))
    assert (missing["problems"], missing["kinds"]) == (["expected alerts missing: alert 1"], ["verification"])
    untried = _verdict.verdict(run(*passed(*CRYPTO), verification=verified("not_triggered")))
    assert untried["problems"] == ["expected alerts not verified, their techniques did not pass: alert 0"]
    assert _verdict.verification_status(verified("needs_cluster_setting")) == "passed"
    assert _verdict.verification_status(verified("seen", "not_triggered")) == "failed"
    assert _verdict.verification_status(dict(error="could not list", alerts=[])) == "failed"


def test_a_report_built_from_its_pieces_is_judged_by_its_verification_alone():
    assert _verdict.verdict(run(techniques=None, verification=verified("seen")))["status"] == "passed"


def test_options_forgive_kinds_in_the_exit_status_only():
    outcome = _verdict.verdict(run(*passed(*CRYPTO[:3]) + [("crypto.miner_run", "failed")],
                                   verification=verified("missing")),
                               _verdict.tolerated_kinds(fail_on_technique_failure=False))
    assert outcome["status"] == "failed" and outcome["exit_problems"] == ["expected alerts missing: alert 0"]
    assert _verdict.verdict(run(verification=verified("missing")), _verdict.tolerated_kinds(on_missing="warn"))[
        "exit_problems"] == [_verdict.verdict(run())["problems"][0]]


def test_a_new_kind_of_problem_is_one_more_judge():
    judges = _verdict.JUDGES
    try:
        _verdict.JUDGES = judges + (lambda report: [("regression", "r")] if report.get("regressions") else [],)
        outcome = _verdict.verdict(run(*passed(*CRYPTO), regressions=["x"]))
    finally:
        _verdict.JUDGES = judges
    assert (outcome["status"], outcome["kinds"]) == ("failed", ["regression"])


def test_an_unknown_scenario_is_named():
    with pytest.raises(_verdict.VerdictError, match="r1: scenarios"):
        _verdict.verdict(run(scenarios=["nope"]))


def test_junit_names_each_planned_technique_that_did_not_run():
    root = ET.fromstring(_report.junit_xml(run(*passed(*CRYPTO[:2]))).split("\n", 1)[1])
    failures = [(c.get("name"), c.find("failure").get("type")) for c in root.iter("testcase") if c.find("failure") is not None]
    assert failures == [("crypto.miner_download", "not_run"), ("crypto.miner_run", "not_run")]


@pytest.mark.parametrize("odd", ["\ufffe", "\uffff", "\x00", "\x1b[0m", "\ud800"])
def test_junit_stays_parseable_whatever_the_technique_printed(odd):
    report = run(*passed(*CRYPTO))
    report["techniques"][0].update(output="before%safter" % odd, message="m%s" % odd)
    report["techniques"][1].update(status="failed", output="x%sy" % odd, message="rc 1%s" % odd)
    text = _report.junit_xml(report)
    root = ET.fromstring(text.encode("utf-8", "surrogatepass").split(b"\n", 1)[1])  # the real parser, from bytes
    assert root.get("tests") == "4" and "before?" in text
