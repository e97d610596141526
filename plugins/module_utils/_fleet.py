# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One summary of a fleet run: a row per cluster, from the report each cluster's run left (or did not)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.defender.attack_simulation.plugins.module_utils._redact import redact
from ansible_collections.defender.attack_simulation.plugins.module_utils._report import run_outcome
from ansible_collections.defender.attack_simulation.plugins.module_utils._verdict import planned_technique_ids

EMPTY_COUNTS = dict(passed=0, failed=0, unreachable=0, skipped=0)


def _count(techniques, status):
    return len([t for t in techniques if t.get("status") == status])


def _before_the_report(failure):
    if isinstance(failure, dict) and failure.get("stage"):
        return "failed at %s before the report: %s" % (failure["stage"], redact(str(failure.get("message") or "")))
    return "failed before the report, see its output"


def fleet_row(report, host, report_path="", check_mode=False, failure=None):
    """The row of one cluster; ``report`` is its (verified) run report, or None when the run failed before it
    (``failure`` then says at which stage and why, when the run got that far). ``report_path`` None: the report came
    as an artifact, its file is not on this controller."""
    if not report:
        return dict(host=host, status="failed", message=_before_the_report(failure), run_id=None,
                    cluster=None, namespace=None, scenarios=[], report=None,
                    techniques=dict(EMPTY_COUNTS), expected_alerts=0)
    techniques = report.get("techniques") or []
    outcome = run_outcome(report)
    verification = report.get("verification") or {}
    status = outcome["status"]
    if outcome["problems"]:
        message = "; ".join(outcome["problems"])
    elif report_path is not None and not report_path and not check_mode:
        status, message = "failed", "failed while writing the report, see its output"
    elif status == "planned":
        message = "check mode: %d technique(s) planned, none run" % len(planned_technique_ids(report))
    else:
        message = verification.get("summary") or "%d technique(s) passed" % len(techniques)
    return dict(
        host=host,
        status=status,
        message=message, run_id=report.get("run_id"), cluster=(report.get("cluster") or {}).get("name"),
        namespace=report.get("namespace"), scenarios=report.get("scenarios") or [], report=report_path or None,
        techniques=dict((status, _count(techniques, status)) for status in EMPTY_COUNTS),
        expected_alerts=len([a for a in report.get("expected_alerts") or [] if a.get("triggered") is not False]),
    )


def fleet_summary(rows, generated):
    passed = len([row for row in rows if row["status"] == "passed"])
    failed = len([row for row in rows if row["status"] != "passed" and row["status"] != "planned"])
    planned = len(rows) - passed - failed
    return dict(generated=generated, clusters=len(rows), passed=passed, failed=failed, runs=rows,
                lines=["fleet: %d of %d clusters passed%s"
                       % (passed, len(rows), ", %d planned (check mode)" % planned if planned else "")]
                + ["  %s: %s, %s" % (row["host"], row["status"], row["message"]) for row in rows])
