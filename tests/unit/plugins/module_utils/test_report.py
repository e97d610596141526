# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.defender.attack_simulation.plugins.module_utils import _expected, _report


def record(technique_id, status, rc=0, duration=0.5, message=None, output=""):
    scenario = technique_id.split(".", maxsplit=1)[0]
    return dict(id=technique_id, scenario=scenario, technique="t", mitre="T1496", command="x", status=status,
                rc=rc, started="2026-11-28T10:00:01.000Z", duration=duration, output=output, message=message)


@pytest.fixture
def report():
    techniques = [
        record("crypto.cpu_optimization", "passed"),
        record("crypto.ld_so_preload", "failed", rc=1, message="crypto.ld_so_preload exited with rc 1: denied",
               output="touch: denied\x1b[0m"),
        record("crypto.miner_download", "unreachable", rc=None, duration=0.01,
               message="web shell http://mdc-simulation-victim/ws.php not reachable from the attacker: curl exit 7"),
        record("crypto.miner_run", "skipped", duration=0.0, message="skipped: check mode"),
    ]
    plan = _expected.expected_alerts(["crypto"], techniques)
    return dict(run_id="20261128T100000Z", started="2026-11-28T10:00:00Z", finished="2026-11-28T10:01:00Z",
                namespace="mdc-simulation", cluster=dict(name="aks-test"), scenarios=plan["scenarios"],
                techniques=techniques, expected_alerts=plan["alerts"], verification=None)


def parse(xml_text):
    assert xml_text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(xml_text.split("\n", 1)[1])


def test_summary_counts_and_names_techniques(report):
    text = _report.simulation_summary(report)
    assert "Techniques: 1 passed, 1 failed, 1 unreachable, 1 skipped" in text
    assert "crypto.ld_so_preload (T1496): crypto.ld_so_preload exited with rc 1: denied" in text
    assert "not reachable from the attacker" in text
    assert "aks-test" in text and "mdc-simulation" in text and "20261128T100000Z" in text


def test_summary_groups_alerts_by_latency(report):
    report["expected_alerts"] = _expected.expected_alerts(["recon", "crypto"])["alerts"]
    text = _report.simulation_summary(report)
    near, hour = text.index("near real time:"), text.index("up to one hour:")
    assert near < text.index("Kubernetes CPU optimization detected [High]") < hour
    assert hour < text.index("Suspicious Kubernetes service account operation detected")
    assert "not expected" not in text


def test_summary_puts_alerts_of_failed_techniques_apart(report):
    text = _report.simulation_summary(report)
    not_expected = text.split("not expected, their techniques did not pass:")[1]
    assert "Command within a container accessed ld.so.preload" in not_expected
    assert "Possible Cryptocoinminer download detected" in not_expected
    assert "Kubernetes CPU optimization detected" not in not_expected


def test_summary_without_results_lists_the_drift_condition(report):
    report["expected_alerts"] = _expected.expected_alerts(["crypto"])["alerts"]
    text = _report.simulation_summary(report)
    assert "only under a condition:" in text
    assert "A drift binary detected executing in the container: fires only when the cluster's drift policy" in text


def test_summary_includes_the_verification(report):
    report["verification"] = dict(summary="3 of 9 expected alerts seen", alerts=[])
    assert _report.simulation_summary(report).endswith("Verification: passed, 3 of 9 expected alerts seen")


def test_junit_has_one_case_per_technique_with_the_right_outcome(report):
    suite = parse(_report.junit_xml(report)).find("testsuite")
    assert suite.get("tests") == "4"
    assert suite.get("failures") == "3"  # a technique skipped outside check mode did not run
    assert suite.get("skipped") == "0"
    assert suite.get("errors") == "0"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert list(cases) == ["crypto.cpu_optimization", "crypto.ld_so_preload", "crypto.miner_download",
                           "crypto.miner_run"]
    assert all(c.get("classname") == "crypto" for c in cases.values())
    assert cases["crypto.cpu_optimization"].find("failure") is None
    assert cases["crypto.ld_so_preload"].find("failure").get("type") == "failed"
    assert cases["crypto.miner_download"].find("failure").get("type") == "unreachable"
    assert cases["crypto.miner_run"].find("failure").get("type") == "not_run"
    assert cases["crypto.miner_download"].get("time") == "0.010"


def test_junit_adds_one_case_per_verified_alert(report):
    report["verification"] = dict(alerts=[
        dict(display_name="Possible Web Shell activity detected", seen=True, status="seen"),
        dict(display_name="Kubernetes CPU optimization detected", seen=False, status="missing"),
        dict(display_name="A drift binary detected executing in the container", seen=False,
             status="needs_cluster_setting", condition="drift policy"),
        dict(display_name="Command within a container accessed ld.so.preload", seen=False,
             status="not_triggered", triggered=False),
    ])
    root = parse(_report.junit_xml(report))
    run_suite, suite = root.findall("testsuite")
    assert suite.get("name") == run_suite.get("name") + " alerts"  # the verification's own suite
    alerts = {c.get("name"): c for c in suite.findall("testcase") if c.get("classname") == "alerts"}
    assert len(alerts) == 4
    assert alerts["Possible Web Shell activity detected"].find("failure") is None
    assert alerts["Possible Web Shell activity detected"].find("skipped") is None
    assert alerts["Kubernetes CPU optimization detected"].find("failure").get("type") == "missing"
    skipped = alerts["A drift binary detected executing in the container"].find("skipped")
    assert "needs a cluster setting: drift policy" in skipped.get("message")
    # An alert whose techniques did not pass was not verified: a failure, never a skip.
    assert alerts["Command within a container accessed ld.so.preload"].find("failure").get("type") == "not_triggered"
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "2", "1")
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("8", "5", "1")


def test_junit_output_is_valid_xml_and_redacted(report):
    report["techniques"][1]["output"] = "https://user:pass@somegit.com\x07"
    text = _report.junit_xml(report)
    assert "user:pass@" not in text
    assert "\x07" not in text and "\x1b" not in text
    properties = {p.get("name"): p.get("value") for p in parse(text).iter("property")}
    assert properties == dict(run_id="20261128T100000Z", namespace="mdc-simulation", cluster="aks-test",
                              scenarios="crypto")


def test_a_report_that_is_not_a_dict_is_refused():
    with pytest.raises(_report.ReportError, match="must be a dict"):
        _report.junit_xml(["not", "a", "report"])


def deploy_failed_report():
    plan = _expected.expected_alerts(["webshell"], [])
    return dict(run_id="r-deploy", started="2026-11-28T10:00:00Z", namespace="mdc-simulation",
                cluster=dict(name="aks-test"), scenarios=plan["scenarios"], techniques=[],
                expected_alerts=plan["alerts"], stage="deploy", verification=None,
                failure=dict(stage="deploy", task="Deploy | wait for the pods",
                             message="pod mdc-simulation/mdc-simulation-victim: image x could not be pulled: ErrImagePull"),
                cleanup=dict(status="done", left_behind=[], message=""))


def test_a_run_without_its_techniques_is_failed_everywhere():
    report = deploy_failed_report()
    outcome = _report.run_outcome(report)
    assert outcome["status"] == "failed"
    assert outcome["problems"] == ["deploy failed: pod mdc-simulation/mdc-simulation-victim: image x could not be pulled: "
                                   "ErrImagePull"]
    text = _report.simulation_summary(report)
    assert "Outcome: FAILED\n  deploy failed: pod mdc-simulation/mdc-simulation-victim" in text
    suite = parse(_report.junit_xml(report)).find("testsuite")
    assert (suite.get("tests"), suite.get("errors"), suite.get("failures")) == ("1", "1", "0")
    case = suite.find("testcase")
    assert (case.get("classname"), case.get("name")) == ("stages", "deploy")
    error = case.find("error")
    assert error.get("type") == "stage deploy failed" and "ErrImagePull" in error.get("message")
    assert "Deploy | wait for the pods" in error.text


def test_a_failed_cleanup_fails_the_run_and_says_what_it_left():
    report = deploy_failed_report()
    report.update(failure=None, stage="done", techniques=[record("webshell.whoami", "passed")], cleanup=dict(
        status="failed", left_behind=["Namespace//mdc-simulation", "Secret/mdc-simulation/pull"],
        message="namespace mdc-simulation: still terminating after 60 s"))
    outcome = _report.run_outcome(report)
    assert outcome["problems"] == ["cleanup failed: namespace mdc-simulation: still terminating after 60 s (left behind: "
                                   "Namespace//mdc-simulation, Secret/mdc-simulation/pull)"]
    assert "Cleanup: failed: namespace mdc-simulation" in _report.simulation_summary(report)
    suite = parse(_report.junit_xml(report)).find("testsuite")
    assert [(c.get("classname"), c.get("name")) for c in suite.iter("testcase")] == [
        ("webshell", "webshell.whoami"), ("stages", "cleanup")]
    assert suite.get("errors") == "1"


def test_a_run_that_did_everything_passes(report):
    report["techniques"] = [record(t, "passed") for t in ("crypto.cpu_optimization", "crypto.ld_so_preload",
                                                          "crypto.miner_download", "crypto.miner_run")]
    report.update(stage="done", failure=None, cleanup=dict(status="done", left_behind=[], message=""))
    assert _report.run_outcome(report) == dict(status="passed", problems=[], kinds=[], exit_problems=[])
    assert "Outcome: PASSED" in _report.simulation_summary(report)
    assert parse(_report.junit_xml(report)).get("errors") == "0"
