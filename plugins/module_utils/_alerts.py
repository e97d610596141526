# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions: flatten Defender for Cloud alerts, filter them, and verify a run report against them.

No I/O here; the modules hand in ARM payloads and reports, and get back plain dicts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from datetime import datetime, timedelta, timezone

from ansible_collections.defender.attack_simulation.plugins.module_utils._catalog import (
    SCENARIOS,
    alert_matches,
    alerts_for,
    normalize_scenarios,
)

STATUS_SEEN = "seen"
STATUS_MISSING = "missing"
STATUS_NEEDS_CLUSTER_SETTING = "needs_cluster_setting"
STATUS_NOT_TRIGGERED = "not_triggered"


UTC = timezone.utc

_ISO = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?\s*$", re.IGNORECASE)


def parse_time(value):
    """An aware UTC datetime from an ISO 8601 string (ARM writes 7 fractional digits), a datetime, or None.

    A timestamp without an offset is taken as UTC. ValueError names the value it could not read."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    match = _ISO.match(str(value))
    if not match:
        raise ValueError("%r is not an ISO 8601 timestamp (expected e.g. 2026-11-28T10:15:00Z)" % (value,))
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    parsed = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, UTC)
    if offset and offset.upper() != "Z":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        parsed -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return parsed


def format_time(value):
    """ISO 8601 in UTC with a Z, to the second, or None."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def utcnow():
    return datetime.now(UTC)


def flatten_alert(raw):
    """One ARM alert resource as a flat dict; an already flat alert is returned unchanged."""
    if "properties" not in raw and "display_name" in raw:
        return dict(raw)
    props = raw.get("properties") or {}
    flat = dict(
        id=raw.get("id"),
        name=raw.get("name"),
        alert_type=props.get("alertType"),
        display_name=props.get("alertDisplayName"),
        system_alert_id=props.get("systemAlertId"),
        severity=props.get("severity"),
        intent=props.get("intent"),
        status=props.get("status"),
        start_time=props.get("startTimeUtc"),
        end_time=props.get("endTimeUtc"),
        time_generated=props.get("timeGeneratedUtc"),
        compromised_entity=props.get("compromisedEntity"),
        resource_ids=[r.get("azureResourceId") for r in props.get("resourceIdentifiers") or []
                      if r.get("azureResourceId")],
        alert_uri=props.get("alertUri"),
        product_component=props.get("productComponentName"),
        extended_properties=props.get("extendedProperties") or {},
        entities=len(props.get("entities") or []),
    )
    flat["catalog_name"] = catalog_name(flat)
    return flat


def _catalog_entry(display_name=None, alert_type=None):
    for entry in alerts_for(SCENARIOS):
        if alert_matches(entry, display_name=display_name, alert_type=alert_type):
            return entry
    return None


def catalog_name(alert):
    """The catalog display name a flat alert stands for (older spellings, " (Preview)" and
    documented types included), or None for an alert the catalog does not know."""
    entry = _catalog_entry(alert.get("display_name"), alert.get("alert_type"))
    return entry["display_name"] if entry else None


def _alert_time(alert):
    # startTimeUtc is when the activity happened; timeGeneratedUtc is the fallback when it is absent.
    return parse_time(alert.get("start_time") or alert.get("time_generated"))


def _same_cluster(alert, cluster_resource_id=None, cluster_name=None):
    if cluster_resource_id:
        wanted = cluster_resource_id.rstrip("/").casefold()
        return any((rid or "").rstrip("/").casefold() == wanted for rid in alert.get("resource_ids") or [])
    if cluster_name:
        return (alert.get("compromised_entity") or "").casefold() == cluster_name.casefold()
    return True


def filter_alerts(alerts, since=None, until=None, cluster_resource_id=None, cluster_name=None,
                  display_names=None, alert_types=None, statuses=None):
    """The flat alerts that pass every filter given; names, types and statuses compare case-insensitively,
    display names also ignore a trailing " (Preview)"."""
    since, until = parse_time(since), parse_time(until)
    types = set(t.casefold() for t in alert_types or [])
    wanted_statuses = set(s.casefold() for s in statuses or [])
    names = [_catalog_entry(n) or dict(display_name=n, alert_type=None, aliases=[]) for n in display_names or []]
    kept = []
    for alert in alerts:
        when = _alert_time(alert)
        if since and (when is None or when < since):
            continue
        if until and (when is None or when > until):
            continue
        if not _same_cluster(alert, cluster_resource_id, cluster_name):
            continue
        if types and (alert.get("alert_type") or "").casefold() not in types:
            continue
        if wanted_statuses and (alert.get("status") or "").casefold() not in wanted_statuses:
            continue
        if names and not any(alert_matches(n, display_name=alert.get("display_name"),
                                           alert_type=alert.get("alert_type")) for n in names):
            continue
        kept.append(alert)
    return kept


class ReportError(ValueError):
    """A run report that cannot be verified; the message says which field is wrong."""


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
    remaining_seconds). Alerts older than the run's start or for another cluster never count."""
    now = parse_time(now) or utcnow()
    scope = run_scope(report)
    candidates = filter_alerts([flatten_alert(a) for a in alerts], since=scope["since"],
                               cluster_resource_id=scope["cluster_resource_id"],
                               cluster_name=scope["cluster_name"])
    candidates.sort(key=lambda a: parse_time(a.get("time_generated") or a.get("start_time")))
    results = []
    for expected in _expected_alerts(report):
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
    return summarize(results, now, deadline)


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
    return dict(
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
