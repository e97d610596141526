# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The verdict of a simulation run: the one place that decides whether a run passed.

The JSON report, the Markdown summary, the JUnit XML, the printed summary, the AWX artifacts, the fleet summary and
the play's exit status all take the outcome from ``verdict``. A run passed only when every technique of its plan
has a record and passed, cleanup did not fail, and, when it was verified, every awaited alert was seen.

Input: a run report (a dict; see ``_report``). The keys read, each by one judge:

    check_mode     true: nothing ran on purpose; the verdict is "planned" unless a stage failed
    failure        None or {"stage", "task", "message"}: a stage failed             -> kind "stage"
    scenarios      the plan: every technique of these scenarios must have a record  -> kind "incomplete"
    techniques     technique records; None when the run's records are unknown (a report built from its pieces
                   for verify.yml): then only the verification judges the run      -> kind "technique"
    cleanup        None or {"status", "left_behind", "message"}; status failed     -> kind "cleanup"
    verification   None, or what _verification.verify stored: "alerts" (each with "status": seen, missing,
                   needs_cluster_setting, not_triggered), or at least "missing"; "error" when it could not
                   be done                                                          -> kinds "verification",
                                                                                       "not_triggered"

Each judge is a function ``judge(report) -> [(kind, text)]`` in ``JUDGES``. To add a kind of problem (for instance
regressions between runs), put its facts under a key of the report and append a judge that reads that key: the
statuses, files, artifacts and exit status follow without any other change.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.defender.attack_simulation.plugins.module_utils._catalog import (
    normalize_scenarios,
    techniques_for,
)
from ansible_collections.defender.attack_simulation.plugins.module_utils._records import (
    FAILED_STATUSES,
    STATUS_PASSED,
)
from ansible_collections.defender.attack_simulation.plugins.module_utils._redact import redact

VERDICT_PASSED = "passed"
VERDICT_FAILED = "failed"
# A check-mode run: the plan was made and nothing ran; it proves nothing, so it is not "passed".
VERDICT_PLANNED = "planned"

KIND_STAGE = "stage"
KIND_INCOMPLETE = "incomplete"
KIND_TECHNIQUE = "technique"
KIND_CLEANUP = "cleanup"
KIND_VERIFICATION = "verification"
KIND_NOT_TRIGGERED = "not_triggered"
KIND_REGRESSION = "regression"

# Alert statuses of a verification (the values _verification writes).
ALERT_SEEN = "seen"
ALERT_MISSING = "missing"
ALERT_NEEDS_CLUSTER_SETTING = "needs_cluster_setting"
ALERT_NOT_TRIGGERED = "not_triggered"

# Stages after which no technique could run: their own problem says why, a list of techniques would only repeat it.
_STAGES_BEFORE_TECHNIQUES = ("prerequisites", "deploy")


class VerdictError(ValueError):
    """A report the verdict cannot read; the message names the run and the field."""


def _failure(report):
    failure = report.get("failure")
    return failure if isinstance(failure, dict) and failure.get("stage") else None


def _records(report):
    return [t for t in report.get("techniques") or [] if isinstance(t, dict)]


def planned_technique_ids(report):
    """The ids of the techniques the run's scenarios plan, in order (none when the report names no scenario)."""
    scenarios = report.get("scenarios")
    if not scenarios:
        return []
    try:
        return [t["id"] for t in techniques_for(normalize_scenarios(scenarios))]
    except ValueError as exc:
        raise VerdictError("run %s: scenarios: %s" % (report.get("run_id"), exc))


def not_run_technique_ids(report):
    """The planned techniques without a record, in plan order."""
    recorded = set(t.get("id") for t in _records(report))
    return [tid for tid in planned_technique_ids(report) if tid not in recorded]


def failed_technique_ids(report):
    return [t.get("id") for t in _records(report) if t.get("status") in FAILED_STATUSES]


def _judge_stage(report):
    failure = _failure(report)
    if not failure:
        return []
    return [(KIND_STAGE, "%s failed: %s" % (failure["stage"], redact(str(failure.get("message") or "see the output"))))]


def _judge_incomplete(report):
    if report.get("techniques") is None or report.get("check_mode"):
        return []
    failure = _failure(report)
    if failure and failure["stage"] in _STAGES_BEFORE_TECHNIQUES:
        return []
    planned = planned_technique_ids(report)
    missing = not_run_technique_ids(report)
    # A record that is there but did not pass or fail (skipped outside check mode) did not run either.
    idle = [t.get("id") for t in _records(report) if t.get("id") in planned
            and t.get("status") not in FAILED_STATUSES + (STATUS_PASSED,)]
    not_run = missing + [tid for tid in idle if tid not in missing]
    if not not_run:
        return []
    return [(KIND_INCOMPLETE, "incomplete: %d of %d planned techniques did not run: %s"
             % (len(not_run), len(planned), ", ".join(not_run)))]


def _judge_techniques(report):
    failed = failed_technique_ids(report)
    if not failed:
        return []
    return [(KIND_TECHNIQUE, "%d technique(s) failed: %s" % (len(failed), ", ".join(failed)))]


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


def _judge_cleanup(report):
    cleanup = report.get("cleanup")
    if not (isinstance(cleanup, dict) and cleanup.get("status") == "failed"):
        return []
    return [(KIND_CLEANUP, "cleanup failed: %s" % cleanup_text(cleanup).split(": ", 1)[-1])]


def _alert_names(verification, status):
    alerts = verification.get("alerts")
    if isinstance(alerts, list):
        return [str(a.get("display_name")) for a in alerts if isinstance(a, dict) and a.get("status") == status]
    # A verification stored without its alerts: the lists the summary keeps.
    return [str(name) for name in verification.get(status) or []]


def verification_problems(verification):
    """[(kind, text)] of a verification: an awaited alert not seen, an alert whose techniques did not pass (it
    was not verified, so it is no pass either), a verification that could not be done. An alert that needs a
    cluster setting (the drift policy) is no problem: the report says so."""
    if not isinstance(verification, dict):
        return []
    problems = []
    if verification.get("error"):
        problems.append((KIND_VERIFICATION, "verification failed: %s" % redact(str(verification["error"]))))
    missing = _alert_names(verification, ALERT_MISSING)
    if missing:
        problems.append((KIND_VERIFICATION, "expected alerts missing: %s" % ", ".join(missing)))
    not_triggered = _alert_names(verification, ALERT_NOT_TRIGGERED)
    if not_triggered:
        problems.append((KIND_NOT_TRIGGERED, "expected alerts not verified, their techniques did not pass: %s"
                         % ", ".join(not_triggered)))
    return problems


def verification_status(verification):
    """passed or failed of a verification alone (None when there is none)."""
    if not isinstance(verification, dict):
        return None
    return VERDICT_FAILED if verification_problems(verification) else VERDICT_PASSED


def _judge_verification(report):
    return verification_problems(report.get("verification"))


def regression_problems(report):
    """Detection that regressed against the cluster's runs before (``regressions``, set by _history.py), unless the
    user accepted them (``regressions_accepted``)."""
    if report.get("regressions_accepted"):
        return []
    regressions = [r for r in report.get("regressions") or [] if isinstance(r, dict)]
    return [(KIND_REGRESSION, "detection regressed: %s" % redact(str(r.get("message")))) for r in regressions]


JUDGES = (_judge_stage, _judge_incomplete, _judge_techniques, _judge_cleanup, _judge_verification,
          regression_problems)


def verdict(report, tolerated=()):
    """dict(status, problems, kinds, exit_problems) of a run report.

    ``status`` is passed, failed, or planned (check mode, nothing failed); ``problems`` one line per reason
    (secrets redacted), ``kinds`` the kind of each; ``exit_problems`` the problems that fail the play: all of them
    but those whose kind is in ``tolerated`` (fail_on_technique_failure=false tolerates technique and
    not_triggered; verify_on_missing=warn tolerates verification and not_triggered). The report's status is
    failed whatever is tolerated."""
    if not isinstance(report, dict):
        raise VerdictError("the run report must be a dict, got %s" % type(report).__name__)
    found = [problem for judge in JUDGES for problem in judge(report)]
    kinds, problems = [kind for kind, _text in found], [text for _kind, text in found]
    if problems:
        status = VERDICT_FAILED
    elif report.get("check_mode"):
        status = VERDICT_PLANNED
    else:
        status = VERDICT_PASSED
    return dict(status=status, problems=problems, kinds=kinds,
                exit_problems=[text for kind, text in found if kind not in tolerated])


def tolerated_kinds(fail_on_technique_failure=True, on_missing="fail"):
    """The kinds of problem the play's exit status forgives, from the run's options."""
    tolerated = set()
    if not fail_on_technique_failure:
        tolerated.update((KIND_TECHNIQUE, KIND_NOT_TRIGGERED))
    if on_missing in ("warn", "ignore"):
        tolerated.update((KIND_VERIFICATION, KIND_NOT_TRIGGERED))
    return sorted(tolerated)
