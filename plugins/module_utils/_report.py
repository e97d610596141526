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

Whether a run passed is decided in one place, ``_verdict.verdict``; ``run_outcome`` gives it to the filters.

``verification`` is what ``_verification.verify`` returns; only ``alerts[].display_name`` and ``alerts[].seen``
are required here (``status`` and ``condition`` refine the outcome when present).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import xml.etree.ElementTree as ET

from ansible_collections.defender.attack_simulation.plugins.module_utils._catalog import NEAR_REAL_TIME, UP_TO_ONE_HOUR
from ansible_collections.defender.attack_simulation.plugins.module_utils._records import (
    STATUS_FAILED,
    STATUS_PASSED,
    STATUS_SKIPPED,
    STATUS_TIMED_OUT,
    STATUS_UNREACHABLE,
    STATUSES,
)
from ansible_collections.defender.attack_simulation.plugins.module_utils._redact import redact
from ansible_collections.defender.attack_simulation.plugins.module_utils import _verdict
from ansible_collections.defender.attack_simulation.plugins.module_utils._verdict import (
    ALERT_NEEDS_CLUSTER_SETTING,
    ALERT_NOT_TRIGGERED,
    KIND_INCOMPLETE,
    cleanup_text,
    not_run_technique_ids,
)

LATENCY_TEXT = {NEAR_REAL_TIME: "near real time", UP_TO_ONE_HOUR: "up to one hour"}
JUNIT_SUITE_NAME = "defender.attack_simulation"
# Every character XML 1.0 cannot carry (control characters, surrogates, U+FFFE, U+FFFF), as the W3C's Char production.
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


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


def run_outcome(report, tolerated=()):
    """The run's verdict (``_verdict.verdict``): dict(status, problems, kinds, exit_problems)."""
    report = _require_report(report)
    try:
        return _verdict.verdict(report, tolerated)
    except _verdict.VerdictError as exc:
        raise ReportError(str(exc))


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
    lines = ["Verification: %s, %s" % (_verdict.verification_status(verification), summary)]
    if verification.get("error"):
        lines.append("  could not verify: %s" % redact(str(verification["error"])))
    lines.extend("  %s" % _verified_line(a) for a in alerts if isinstance(a, dict))
    return lines


def _verified_line(alert):
    if alert.get("seen"):
        latency = alert.get("latency_seconds")
        return "seen      %s (%s%s) %s" % (alert.get("display_name"), alert.get("alert_id") or "",
                                           " after %ss" % int(latency) if latency is not None else "",
                                           alert.get("portal_link") or "")
    return "%-9s %s" % ({ALERT_NEEDS_CLUSTER_SETTING: "setting", ALERT_NOT_TRIGGERED: "untried"}
                        .get(alert.get("status"), "MISSING"), alert.get("display_name"))


def simulation_summary(report):
    """A short text summary of a run report: what ran, what passed, which alerts to expect and when."""
    report = _require_report(report)
    techniques = _techniques(report)
    counts = count_statuses(techniques)
    outcome = run_outcome(report)
    not_run = not_run_technique_ids(report) if KIND_INCOMPLETE in outcome["kinds"] else []
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
        + (", %d timed out" % counts[STATUS_TIMED_OUT] if counts[STATUS_TIMED_OUT] else "")
        + (", %d planned but not run" % len(not_run) if not_run else ""),
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


def _technique_case(suite, record, check_mode=False):
    case = ET.SubElement(suite, "testcase", classname=_xml_text(str(record.get("scenario") or "unknown")),
                         name=_xml_text(str(record.get("id"))), time="%.3f" % _seconds(record.get("duration")))
    status = record.get("status")
    message = _xml_text(record.get("message") or status or "")
    if status in (STATUS_FAILED, STATUS_UNREACHABLE, STATUS_TIMED_OUT):
        failure = ET.SubElement(case, "failure", message=message, type=status)
        failure.text = _xml_text(record.get("output"))
        return "failed"
    if status == STATUS_SKIPPED and check_mode:
        ET.SubElement(case, "skipped", message=message)
        return "skipped"
    if status == STATUS_SKIPPED:
        # Outside check mode a technique is skipped only when it did not run: the run is incomplete.
        ET.SubElement(case, "failure", message=message or "did not run", type="not_run")
        return "failed"
    if status != STATUS_PASSED:
        ET.SubElement(case, "failure", message=_xml_text("unknown status %r" % (status,)), type="unknown")
        return "failed"
    if record.get("output"):
        ET.SubElement(case, "system-out").text = _xml_text(record["output"])
    return "passed"


def _not_run_case(suite, technique_id):
    # A planned technique without a record (--tags, --skip-tags, --start-at-task): red, never absent.
    case = ET.SubElement(suite, "testcase", classname=_xml_text(technique_id.split(".", 1)[0]),
                         name=_xml_text(technique_id), time="0.000")
    ET.SubElement(case, "failure", message="planned but did not run", type="not_run")
    return "failed"


def _stage_case(suite, stage, message, details=""):
    # A stage that failed is an error, not a failure: the techniques it should have led to never ran.
    case = ET.SubElement(suite, "testcase", classname="stages", name=_xml_text(str(stage)), time="0.000")
    error = ET.SubElement(case, "error", message=_xml_text(message), type="stage %s failed" % stage)
    error.text = _xml_text(details)
    return "error"


def alert_outcome(verified):
    """("passed" | "failed" | "skipped", message) for one verified alert: seen passes; an alert that needs a
    cluster setting is skipped with its reason; an alert missing, or whose techniques did not pass, fails (it was
    not verified)."""
    if verified.get("seen"):
        return "passed", "seen %s" % (verified.get("time_generated") or "")
    if verified.get("status") == ALERT_NOT_TRIGGERED or verified.get("triggered") is False:
        return "failed", "not verified: its techniques did not pass"
    if verified.get("status") == ALERT_NEEDS_CLUSTER_SETTING or (verified.get("condition") and not verified.get("status")):
        return "skipped", "not seen; needs a cluster setting: %s" % (verified.get("condition") or "see the alert")
    return "failed", "expected alert not seen in Defender for Cloud"


def _alert_case(suite, verified):
    case = ET.SubElement(suite, "testcase", classname="alerts", name=_xml_text(str(verified.get("display_name"))),
                         time="%.3f" % _seconds(verified.get("latency_seconds")))
    outcome, message = alert_outcome(verified)
    if outcome == "failed":
        ET.SubElement(case, "failure", message=_xml_text(message),
                      type="not_triggered" if "not verified" in message else "missing")
    elif outcome == "skipped":
        ET.SubElement(case, "skipped", message=_xml_text(message))
    elif verified.get("alert_id") or verified.get("portal_link"):
        seen = (verified.get("alert_id"), verified.get("latency_seconds"), verified.get("portal_link") or "")
        ET.SubElement(case, "system-out").text = _xml_text("alert %s, latency %s s, %s" % seen)
    return outcome


def _suite(root, name, report):
    suite = ET.SubElement(root, "testsuite", name=_xml_text(name))
    if report.get("started"):
        suite.set("timestamp", _xml_text(str(report["started"])))
    return suite


def _count(suite, outcomes, seconds):
    suite.set("tests", str(len(outcomes)))
    suite.set("failures", str(outcomes.count("failed")))
    suite.set("errors", str(outcomes.count("error")))
    suite.set("skipped", str(outcomes.count("skipped")))
    suite.set("time", "%.3f" % seconds)


def _run_suite(root, report, name):
    suite = _suite(root, name, report)
    _properties(suite, report)
    outcomes = [_technique_case(suite, record, bool(report.get("check_mode"))) for record in _techniques(report)]
    if KIND_INCOMPLETE in run_outcome(report)["kinds"]:
        outcomes.extend(_not_run_case(suite, tid) for tid in not_run_technique_ids(report))
    failure = _failure(report)
    if failure:
        outcomes.append(_stage_case(suite, failure["stage"], "%s failed: %s" % (failure["stage"], failure.get("message") or ""),
                                    "task: %s" % (failure.get("task") or "unknown")))
    cleanup = _failed_cleanup(report)
    if cleanup:
        outcomes.append(_stage_case(suite, "cleanup", "cleanup failed: %s" % cleanup_text(cleanup).split(": ", 1)[-1]))
    _count(suite, outcomes, sum(_seconds(t.get("duration")) for t in _techniques(report)))
    return outcomes


def _alerts_suite(root, report, name):
    # One testcase per expected alert, in a suite of its own: the verification, beside the run's techniques.
    verification = report["verification"]
    suite = _suite(root, name + " alerts", report)
    outcomes = [_alert_case(suite, verified) for verified in verification.get("alerts") or [] if isinstance(verified, dict)]
    if verification.get("error"):
        outcomes.append(_stage_case(suite, "verification", "verification failed: %s" % verification["error"]))
    _count(suite, outcomes, 0.0)
    return outcomes


def junit_xml(report):
    """A JUnit XML document (a string): a testsuite for the run (a testcase per technique, per planned technique
    that did not run, per failed stage) and, when the report holds a verification, a testsuite with a testcase per
    expected alert. Every text is redacted and stripped of what XML 1.0 cannot carry."""
    report = _require_report(report)
    root = ET.Element("testsuites")
    name = ("%s %s" % (JUNIT_SUITE_NAME, report.get("run_id") or "")).strip()
    outcomes = _run_suite(root, report, name)
    if isinstance(report.get("verification"), dict):
        outcomes += _alerts_suite(root, report, name)
    root.set("name", _xml_text(name))
    _count(root, outcomes, sum(_seconds(t.get("duration")) for t in _techniques(report)))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
