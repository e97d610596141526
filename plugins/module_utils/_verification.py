# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verify a run report against the Defender for Cloud alerts listed for its cluster since its start.

Pure functions; the simulation_verify module hands in a report and flat alerts, and gets back plain dicts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from datetime import timedelta

from ansible_collections.defender.attack_simulation.plugins.module_utils._alert_filter import (
    filter_alerts,
    usable_alerts,
)
from ansible_collections.defender.attack_simulation.plugins.module_utils._catalog import (
    alert_matches,
    alerts_for,
    normalize_scenarios,
)
from ansible_collections.defender.attack_simulation.plugins.module_utils._report import ReportError
from ansible_collections.defender.attack_simulation.plugins.module_utils._time import (
    format_time,
    parse_time,
    utcnow,
)
from ansible_collections.defender.attack_simulation.plugins.module_utils._verdict import (
    ALERT_MISSING,
    ALERT_NEEDS_CLUSTER_SETTING,
    ALERT_NOT_TRIGGERED,
    ALERT_SEEN,
    verification_status,
)

STATUS_SEEN = ALERT_SEEN
STATUS_MISSING = ALERT_MISSING
STATUS_NEEDS_CLUSTER_SETTING = ALERT_NEEDS_CLUSTER_SETTING
STATUS_NOT_TRIGGERED = ALERT_NOT_TRIGGERED


def run_scope(report):
    """What ties an alert to this run: since (aware datetime), cluster_resource_id, cluster_name."""
    if not isinstance(report, dict):
        raise ReportError("the run report must be a dict (the simulate playbook's JSON report), got %s"
                          % type(report).__name__)
    try:
        started = parse_time(report.get("started"))
    except ValueError as exc:
        raise ReportError("run report %s: started: %s" % (report.get("run_id"), exc))
    if started is None:
        raise ReportError("run report %s has no 'started' timestamp: alerts cannot be tied to the run"
                          % report.get("run_id"))
    cluster = report.get("cluster") or {}
    return dict(since=started, cluster_resource_id=cluster.get("aks_resource_id") or None,
                cluster_name=cluster.get("name") or None)


def require_cluster(report, scope):
    """Refuse a run whose report names no cluster: every alert of the subscription would count as its own."""
    if not scope["cluster_resource_id"] and not scope["cluster_name"]:
        raise ReportError(
            "run report %s names no cluster (no cluster.aks_resource_id, no cluster.name), so its alerts cannot be "
            "told from other clusters' alerts of the subscription. Name the cluster: run the simulation with "
            "-e simulation_cluster_resource_id=/subscriptions/<id>/resourceGroups/<group>/providers/"
            "Microsoft.ContainerService/managedClusters/<name> (or simulation_cluster_name=<AKS cluster name>), or "
            "verify with verify_cluster_resource_id / verify_cluster_name" % report.get("run_id"))


def require_techniques_ran(report):
    """Refuse a run that failed before its techniques: none of its alerts can arrive, and it must not look verified."""
    failure = report.get("failure")
    if isinstance(failure, dict) and failure.get("stage") in ("prerequisites", "deploy"):
        raise ReportError("run %s did not run its techniques (%s failed: %s): there are no alerts to verify"
                          % (report.get("run_id"), failure["stage"], failure.get("message") or "see its output"))


def _expected_alerts(report):
    """The report's expected alerts, each joined with its catalog entry (aliases, types) for matching."""
    try:
        scenarios = normalize_scenarios(report.get("scenarios") or [])
    except ValueError as exc:
        raise ReportError("run report %s: scenarios: %s" % (report.get("run_id"), exc))
    catalog = alerts_for(scenarios)
    listed = report.get("expected_alerts")
    if not listed:
        return [dict(entry, triggered=None) for entry in catalog]
    expected = []
    for entry in listed:
        known = [c for c in catalog if alert_matches(c, display_name=entry.get("display_name"))]
        merged = dict(known[0]) if known else dict(aliases=[], condition=None, triggered_by=[])
        merged.update((k, v) for k, v in entry.items() if v is not None or k not in merged)
        merged.setdefault("aliases", [])
        expected.append(merged)
    return expected


def _passed_starts(report, technique_ids):
    starts = []
    for tech in report.get("techniques") or []:
        if tech.get("id") in technique_ids and tech.get("status") == "passed" and tech.get("started"):
            starts.append(parse_time(tech["started"]))
    return sorted(starts)


def _was_triggered(report, expected):
    if expected.get("triggered") is not None:
        return bool(expected["triggered"])
    if report.get("techniques"):
        return bool(_passed_starts(report, expected.get("triggered_by") or []))
    # Built from pieces (run id, start, scenarios): no technique results, so assume the run did its part.
    return True


def verify(report, alerts, now=None, deadline_seconds=None):
    """Verify a run report against flat alerts listed from Defender for Cloud.

    Returns dict(checked_at, deadline, alerts=[per expected alert], seen, expected, summary,
    pending=[display names still worth waiting for], missing=[...], needs_cluster_setting=[...],
    remaining_seconds, malformed=[how many alerts were left out as malformed]). Alerts older than the run's start
    or for another cluster never count; a report that names no cluster is refused (ReportError)."""
    now = parse_time(now) or utcnow()
    scope = run_scope(report)
    expected_alerts = _expected_alerts(report)
    require_techniques_ran(report)
    require_cluster(report, scope)
    usable, malformed = usable_alerts(alerts)
    candidates = filter_alerts(usable, since=scope["since"],
                               cluster_resource_id=scope["cluster_resource_id"],
                               cluster_name=scope["cluster_name"])
    candidates.sort(key=lambda a: parse_time(a.get("time_generated") or a.get("start_time")))
    results = []
    for expected in expected_alerts:
        triggered = _was_triggered(report, expected)
        found = [a for a in candidates
                 if alert_matches(expected, display_name=a.get("display_name"), alert_type=a.get("alert_type"))]
        hit = found[0] if found else None
        starts = _passed_starts(report, expected.get("triggered_by") or [])
        origin = starts[0] if starts else scope["since"]
        latency = None
        if hit and hit.get("time_generated"):
            latency = round((parse_time(hit["time_generated"]) - origin).total_seconds(), 1)
        if hit:
            status = STATUS_SEEN
        elif not triggered:
            status = STATUS_NOT_TRIGGERED
        elif expected.get("condition"):
            status = STATUS_NEEDS_CLUSTER_SETTING
        else:
            status = STATUS_MISSING
        results.append(dict(
            display_name=expected.get("display_name"),
            alert_type=expected.get("alert_type"),
            status=status,
            seen=hit is not None,
            triggered=triggered,
            alert_id=hit.get("id") if hit else None,
            alert_name=hit.get("name") if hit else None,
            seen_display_name=hit.get("display_name") if hit else None,
            time_generated=hit.get("time_generated") if hit else None,
            latency_seconds=latency,
            portal_link=hit.get("alert_uri") if hit else None,
            condition=expected.get("condition"),
            latency_class=expected.get("latency"),
        ))
    deadline = scope["since"] + timedelta(seconds=deadline_seconds) if deadline_seconds is not None else None
    return dict(summarize(results, now, deadline), malformed=len(malformed))


def summarize(results, now, deadline=None):
    seen = [r for r in results if r["status"] == STATUS_SEEN]
    missing = [r["display_name"] for r in results if r["status"] == STATUS_MISSING]
    drift = [r["display_name"] for r in results if r["status"] == STATUS_NEEDS_CLUSTER_SETTING]
    not_triggered = [r["display_name"] for r in results if r["status"] == STATUS_NOT_TRIGGERED]
    summary = "%d of %d expected alerts seen" % (len(seen), len(results))
    details = []
    if missing:
        details.append("missing: %s" % ", ".join(missing))
    if drift:
        details.append("needs a cluster setting: %s" % ", ".join(drift))
    if not_triggered:
        details.append("not triggered (technique did not pass): %s" % ", ".join(not_triggered))
    if details:
        summary += " (%s)" % "; ".join(details)
    remaining = max(0, int((deadline - now).total_seconds())) if deadline else 0
    verified = dict(alerts=results, missing=missing, not_triggered=not_triggered)
    return dict(
        # passed only when every awaited alert was seen: the one verdict's reading (_verdict).
        status=verification_status(verified),
        checked_at=format_time(now),
        deadline=format_time(deadline),
        remaining_seconds=remaining,
        alerts=results,
        seen=len(seen),
        expected=len(results),
        summary=summary,
        # Only plain misses are worth waiting for: a drift alert needs a cluster setting, not more time.
        pending=list(missing),
        missing=missing,
        needs_cluster_setting=drift,
        not_triggered=not_triggered,
        lines=[_line(r) for r in results] + [summary],
    )


def _line(result):
    if result["status"] == STATUS_SEEN:
        after = " after %ss" % int(result["latency_seconds"]) if result["latency_seconds"] is not None else ""
        return "seen      %s (%s%s) %s" % (result["display_name"], result["time_generated"], after,
                                           result["portal_link"] or "")
    if result["status"] == STATUS_NEEDS_CLUSTER_SETTING:
        return "setting   %s: not seen; %s" % (result["display_name"], result["condition"])
    if result["status"] == STATUS_NOT_TRIGGERED:
        return "skipped   %s: its techniques did not pass" % result["display_name"]
    return "MISSING   %s" % result["display_name"]
