# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Render a run report: a short text summary for people, and JUnit XML for CI.

A run report is a dict::

    {"run_id", "started", "finished", "namespace", "cluster": {"name", "aks_resource_id", ...},
     "scenarios": [...], "techniques": [technique records], "expected_alerts": [expected_alerts' alerts],
     "stage": the last stage the run reached (prerequisites, deploy, techniques, done),
     "failure": None or {"stage", "task", "message"} when a stage failed (its techniques did not all run),
     "cleanup": None or {"status": "done" | "failed" | "skipped", "left_behind": ["<kind>/<namespace>/<name>"], "message"},
     "verification": None or {"alerts": [{"display_name", "seen", "status", "condition", ...}], "summary"}}

A run passes only when every stage ran, no technique failed, cleanup did not fail and, once compared with the runs
before (``regressions``, ``_history.py``), nothing regressed unless ``regressions_accepted`` (``run_outcome``).

``verification`` is what ``_verification.verify`` returns; only ``alerts[].display_name`` and ``alerts[].seen``
are required here (``status`` and ``condition`` refine the outcome when present).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import xml.etree.ElementTree as ET

from ansible_collections.defender.attack_simulation.plugins.module_utils._catalog import NEAR_REAL_TIME, UP_TO_ONE_HOUR
from ansible_collections.defender.attack_simulation.plugins.module_utils._history import regression_problems
from ansible_collections.defender.attack_simulation.plugins.module_utils._records import (
    STATUS_FAILED,
    STATUS_PASSED,
    STATUS_SKIPPED,
    STATUS_TIMED_OUT,
    STATUS_UNREACHABLE,
    FAILED_STATUSES,
    STATUSES,
)
from ansible_collections.defender.attack_simulation.plugins.module_utils._redact import redact

LATENCY_TEXT = {NEAR_REAL_TIME: "near real time", UP_TO_ONE_HOUR: "up to one hour"}
JUNIT_SUITE_NAME = "defender.attack_simulation"
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


class ReportError(ValueError):
    """A run report that cannot be rendered or verified; the message names the run and the field."""


def _require_report(report):
    if not isinstance(report, dict):
        raise ReportError("the run report must be a dict, got %s" % type(report).__name__)
    return report


def _techniques(report):
    return [t for t in report.get("techniques") or [] if isinstance(t, dict)]


def _failure(report):
    failure = report.get("failure")
    return failure if isinstance(failure, dict) and failure.get("stage") else None


def _failed_cleanup(report):
    cleanup = report.get("cleanup")
    return cleanup if isinstance(cleanup, dict) and cleanup.get("status") == "failed" else None


def failed_technique_ids(report):
    return [t.get("id") for t in _techniques(report) if t.get("status") in FAILED_STATUSES]


def cleanup_text(cleanup):
    """One line on what cleanup did and what it left behind."""
    if not isinstance(cleanup, dict):
        return "not run"
    text = str(cleanup.get("status") or "unknown")
    if cleanup.get("message"):
        text += ": %s" % redact(str(cleanup["message"]))
    if cleanup.get("left_behind"):
        text += " (left behind: %s)" % ", ".join(str(o) for o in cleanup["left_behind"])
    return text


def run_outcome(report):
    """dict(status="passed" | "failed", problems=[one line each]) of a run report.

    A run fails when a stage failed (its techniques did not all run), when a technique failed or was
    unreachable, or when cleanup failed (it may have left objects behind)."""
    report = _require_report(report)
    problems = []
    failure = _failure(report)
    if failure:
        problems.append("%s failed: %s" % (failure["stage"], redact(str(failure.get("message") or "see the output"))))
    failed = failed_technique_ids(report)
    if failed:
        problems.append("%d technique(s) failed: %s" % (len(failed), ", ".join(failed)))
    cleanup = _failed_cleanup(report)
    if cleanup:
        problems.append("cleanup failed: %s" % cleanup_text(cleanup).split(": ", 1)[-1])
    problems.extend(_detection_regressions(report))
    return dict(status="failed" if problems else "passed", problems=problems)


# --- hook: detection regressions against the runs before (issue 22, _history.py) ------------------------------------
# The simulation_history action adds `regressions` (and `regressions_accepted`) to a report and judges it here again.
# When one verdict function replaces run_outcome, it calls this the same way.
def _detection_regressions(report):
    return regression_problems(report)


def count_statuses(techniques):
    """How many technique records have each status (every status present, zero included)."""
    counts = dict((status, 0) for status in STATUSES)
    for record in techniques:
        counts[record.get("status")] = counts.get(record.get("status"), 0) + 1
    return counts


def _cluster_text(report):
    cluster = report.get("cluster") or {}
    return cluster.get("name") or cluster.get("context") or cluster.get("server") or "unknown cluster"


def _alert_line(alert):
    severity = " [%s]" % alert["severity"] if alert.get("severity") else ""
    return "    - %s%s" % (alert.get("display_name"), severity)


def _not_expected(alert):
    # `triggered` is only set when the module got results; absent means "expected".
    return alert.get("triggered") is False


def _technique_lines(techniques):
    lines = []
    for record in techniques:
        line = "  %-11s %s (%s)" % (record.get("status"), record.get("id"), record.get("mitre") or "no MITRE id")
        if record.get("status") in (STATUS_FAILED, STATUS_UNREACHABLE, STATUS_TIMED_OUT) and record.get("message"):
            line += ": %s" % redact(record["message"])
        lines.append(line)
    return lines


def _alert_lines(alerts, report):
    expected = [a for a in alerts if not _not_expected(a)]
    lines = ["Alerts to expect in Defender for Cloud for cluster %s, from %s:"
             % (_cluster_text(report), report.get("started") or "the run's start")]
    if not expected:
        lines.append("  none")
    for latency in (NEAR_REAL_TIME, UP_TO_ONE_HOUR):
        group = [a for a in expected if a.get("latency") == latency]
        if group:
            lines.append("  %s:" % LATENCY_TEXT[latency])
            lines.extend(_alert_line(a) for a in group)
    conditional = [a for a in expected if a.get("condition")]
    if conditional:
        lines.append("  only under a condition:")
        lines.extend("    - %s: %s" % (a.get("display_name"), a["condition"]) for a in conditional)
    skipped = [a for a in alerts if _not_expected(a)]
    if skipped:
        lines.append("  not expected, their techniques did not pass:")
        lines.extend(_alert_line(a) for a in skipped)
    return lines


def _verification_lines(verification):
    alerts = verification.get("alerts") or []
    seen = [a for a in alerts if a.get("seen")]
    summary = verification.get("summary") or "%d of %d expected alerts seen" % (len(seen), len(alerts))
    return ["Verification: %s" % summary]


def simulation_summary(report):
    """A short text summary of a run report: what ran, what passed, which alerts to expect and when."""
    report = _require_report(report)
    techniques = _techniques(report)
    counts = count_statuses(techniques)
    outcome = run_outcome(report)
    lines = [
        "Simulation %s in namespace %s on %s (%s to %s)"
        % (report.get("run_id") or "(no run id)", report.get("namespace") or "(unknown)", _cluster_text(report),
           report.get("started") or "?", report.get("finished") or "?"),
        "Outcome: %s" % outcome["status"].upper(),
    ]
    lines.extend("  %s" % problem for problem in outcome["problems"])
    lines.extend([
        "Scenarios: %s" % (", ".join(report.get("scenarios") or []) or "none"),
        "Techniques: %d passed, %d failed, %d unreachable, %d skipped"
        % (counts[STATUS_PASSED], counts[STATUS_FAILED], counts[STATUS_UNREACHABLE], counts[STATUS_SKIPPED])
        + (", %d timed out" % counts[STATUS_TIMED_OUT] if counts[STATUS_TIMED_OUT] else ""),
    ])
    lines.extend(_technique_lines(techniques))
    if "cleanup" in report:
        lines.append("Cleanup: %s" % cleanup_text(report.get("cleanup")))
    lines.extend(_alert_lines(report.get("expected_alerts") or [], report))
    if isinstance(report.get("verification"), dict):
        lines.extend(_verification_lines(report["verification"]))
    return "\n".join(lines)


# --- JUnit ----------------------------------------------------------------------------------------

def _seconds(value):
    try:
        return max(0.0, float(value or 0))
    except (TypeError, ValueError):
        return 0.0


def _xml_text(text):
    # XML 1.0 cannot carry most control characters, and technique output may hold terminal escapes.
    return _XML_INVALID.sub("?", redact(text or ""))


def _properties(suite, report):
    properties = ET.SubElement(suite, "properties")
    values = (("run_id", report.get("run_id")), ("namespace", report.get("namespace")),
              ("cluster", _cluster_text(report)), ("scenarios", ",".join(report.get("scenarios") or [])))
    for name, value in values:
        if value:
            ET.SubElement(properties, "property", name=name, value=_xml_text(str(value)))


def _technique_case(suite, record):
    case = ET.SubElement(suite, "testcase", classname=str(record.get("scenario") or "unknown"),
                         name=str(record.get("id")), time="%.3f" % _seconds(record.get("duration")))
    status = record.get("status")
    message = _xml_text(record.get("message") or status or "")
    if status in (STATUS_FAILED, STATUS_UNREACHABLE, STATUS_TIMED_OUT):
        failure = ET.SubElement(case, "failure", message=message, type=status)
        failure.text = _xml_text(record.get("output"))
    elif status == STATUS_SKIPPED:
        ET.SubElement(case, "skipped", message=message)
    elif status != STATUS_PASSED:
        ET.SubElement(case, "failure", message="unknown status %r" % (status,), type="unknown")
    if record.get("output") and status == STATUS_PASSED:
        ET.SubElement(case, "system-out").text = _xml_text(record["output"])
    return case


def _stage_case(suite, stage, message, details=""):
    # A stage that failed is an error, not a failure: the techniques it should have led to never ran.
    case = ET.SubElement(suite, "testcase", classname="stages", name=str(stage), time="0.000")
    error = ET.SubElement(case, "error", message=_xml_text(message), type="stage %s failed" % stage)
    error.text = _xml_text(details)
    return case


def alert_outcome(verified):
    """("passed" | "failed" | "skipped", message) for one verified alert: seen passes; not seen fails,
    unless the alert has a condition (a cluster setting) or its techniques did not pass."""
    if verified.get("seen"):
        return "passed", "seen %s" % (verified.get("time_generated") or "")
    if verified.get("status") == "not_triggered" or verified.get("triggered") is False:
        return "skipped", "not triggered: its techniques did not pass"
    if verified.get("condition") or verified.get("status") == "needs_cluster_setting":
        return "skipped", "not seen; %s" % (verified.get("condition") or "needs a cluster setting")
    return "failed", "expected alert not seen in Defender for Cloud"


def _alert_case(suite, verified):
    case = ET.SubElement(suite, "testcase", classname="alerts", name=_xml_text(str(verified.get("display_name"))),
                         time="%.3f" % _seconds(verified.get("latency_seconds")))
    outcome, message = alert_outcome(verified)
    if outcome == "failed":
        ET.SubElement(case, "failure", message=message, type="missing")
    elif outcome == "skipped":
        ET.SubElement(case, "skipped", message=message)
    return outcome


def junit_xml(report):
    """A JUnit XML document (a string) with one testsuite for the run: a testcase per technique and,
    when the report holds a verification, a testcase per expected alert."""
    report = _require_report(report)
    root = ET.Element("testsuites")
    suite = ET.SubElement(root, "testsuite", name=("%s %s" % (JUNIT_SUITE_NAME, report.get("run_id") or "")).strip())
    _properties(suite, report)
    outcomes = []
    for record in _techniques(report):
        _technique_case(suite, record)
        status = record.get("status")
        outcomes.append({STATUS_UNREACHABLE: "failed", STATUS_PASSED: "passed",
                         STATUS_SKIPPED: "skipped"}.get(status, "failed"))
    failure = _failure(report)
    if failure:
        _stage_case(suite, failure["stage"], "%s failed: %s" % (failure["stage"], failure.get("message") or ""),
                    "task: %s" % (failure.get("task") or "unknown"))
        outcomes.append("error")
    cleanup = _failed_cleanup(report)
    if cleanup:
        _stage_case(suite, "cleanup", "cleanup failed: %s" % cleanup_text(cleanup).split(": ", 1)[-1])
        outcomes.append("error")
    verification = report.get("verification")
    if isinstance(verification, dict):
        for verified in verification.get("alerts") or []:
            outcomes.append(_alert_case(suite, verified))
    total_time = sum(_seconds(t.get("duration")) for t in _techniques(report))
    suite.set("tests", str(len(outcomes)))
    suite.set("failures", str(outcomes.count("failed")))
    suite.set("errors", str(outcomes.count("error")))
    suite.set("skipped", str(outcomes.count("skipped")))
    suite.set("time", "%.3f" % total_time)
    if report.get("started"):
        suite.set("timestamp", str(report["started"]))
    for key in ("tests", "failures", "errors", "skipped", "time"):
        root.set(key, suite.get(key))
    root.set("name", suite.get("name"))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
