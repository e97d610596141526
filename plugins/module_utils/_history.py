# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Detection coverage over time: one compact history entry per run and cluster, and what changed since the runs before.

Pure functions on plain dicts (no I/O: the store is ``_history_store.py``, the caller the simulation_history action).

An entry (``history_entry``)::

    {"format": 1, "host", "cluster", "run_id", "started", "reached": bool, "stage", "status": "passed" | "failed",
     "sensor": "present" | "absent" | "unknown", "scenarios": [...], "verified": bool,
     "techniques": {technique id: status}, "alerts": {display name: {"status", "latency", "scenario"}},
     "regressions": [as judged when the run was recorded]}

An alert's status is the verification's (seen, missing, needs_cluster_setting, not_triggered), ``unverified`` when the
run was not verified, ``not_run`` when the run stopped before its techniques.

``compare(entry, earlier)`` returns the findings of one run against the runs of the same cluster before it. Each
finding is ``{"host", "cluster", "kind", "alert", "technique", "message", "run_id"}``; those whose kind is in
``REGRESSION_KINDS`` are regressions (they fail the run unless accepted), the others notices.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.defender.attack_simulation.plugins.module_utils._catalog import ALERTS, alert_matches
from ansible_collections.defender.attack_simulation.plugins.module_utils._records import FAILED_STATUSES, redact

ENTRY_FORMAT = 1

SEEN, MISSING = "seen", "missing"
UNVERIFIED, NOT_RUN, NOT_TRIGGERED = "unverified", "not_run", "not_triggered"
NEEDS_SETTING = "needs_cluster_setting"
# Only these two say something about detection; the others say the alert was not looked for or not provoked.
DEFINITE = (SEEN, MISSING)

SENSOR_PRESENT, SENSOR_ABSENT, SENSOR_UNKNOWN = "present", "absent", "unknown"

ALERT_REGRESSED = "alert_regressed"
TECHNIQUE_REGRESSED = "technique_regressed"
SENSOR_LOST = "sensor_lost"
CLUSTER_UNREACHED = "cluster_unreached"
REGRESSION_KINDS = (ALERT_REGRESSED, TECHNIQUE_REGRESSED, SENSOR_LOST, CLUSTER_UNREACHED)

MISSING_STREAK = "missing_streak"
FLAPPING = "flapping"
FIRST_SEEN = "first_seen"
RECOVERED = "recovered"
LATENCY_SLOWER = "latency_slower"
SENSOR_BACK = "sensor_back"
NOTICE_KINDS = (MISSING_STREAK, FLAPPING, FIRST_SEEN, RECOVERED, LATENCY_SLOWER, SENSOR_BACK)

DEFAULTS = dict(window=10, missing_runs=3, flap_changes=3, latency_factor=2.0, latency_min_increase=60.0)

_STAGES_BEFORE_TECHNIQUES = ("prerequisites", "deploy")


class HistoryError(ValueError):
    """A history entry or option that cannot be used; the message names it."""


# --- entries ------------------------------------------------------------------------------------------------------

def sensor_state(sensor_daemonsets):
    """present / absent / unknown from cluster_info's ``sensor_daemonsets`` (None: the cluster was not asked)."""
    if not isinstance(sensor_daemonsets, list) or not sensor_daemonsets:
        return SENSOR_UNKNOWN
    if any(d.get("found") and (d.get("number_ready") or 0) > 0 for d in sensor_daemonsets if isinstance(d, dict)):
        return SENSOR_PRESENT
    if any(isinstance(d, dict) and d.get("error") for d in sensor_daemonsets):
        return SENSOR_UNKNOWN
    return SENSOR_ABSENT


def _catalog_name(display_name):
    known = [a for a in ALERTS if alert_matches(a, display_name=display_name)]
    return known[0]["display_name"] if known else display_name


def _scenario_of(name):
    known = [a for a in ALERTS if a["display_name"] == name]
    return known[0]["scenarios"] if known else []


def _alerts(report):
    failure = report.get("failure") if isinstance(report.get("failure"), dict) else {}
    stopped = failure.get("stage") in _STAGES_BEFORE_TECHNIQUES
    verification = report.get("verification") if isinstance(report.get("verification"), dict) else None
    alerts = {}
    for expected in report.get("expected_alerts") or []:
        name = _catalog_name(expected.get("display_name"))
        status = NOT_RUN if stopped else NOT_TRIGGERED if expected.get("triggered") is False else UNVERIFIED
        alerts[name] = dict(status=status, latency=None)
    for verified in (verification or {}).get("alerts") or []:
        name = _catalog_name(verified.get("display_name"))
        status = verified.get("status") or (SEEN if verified.get("seen") else MISSING)
        latency = verified.get("latency_seconds") if status == SEEN else None
        alerts[name] = dict(status=status, latency=float(latency) if isinstance(latency, (int, float)) else None)
    for name, alert in alerts.items():
        alert["scenarios"] = [s for s in _scenario_of(name) if s in (report.get("scenarios") or [])]
    return alerts, verification is not None


def history_entry(host, report=None, failure=None, sensor_daemonsets=None, sensor=None, started=None, status=None):
    """The history entry of one cluster's run.

    ``report``: the (verified) run report, or None when the run stopped before its report; ``failure``: the
    stage that failed ({stage, message}) when there is no report; ``sensor_daemonsets``: what cluster_info found
    (None when the cluster was not asked); ``sensor``: the plan's sensor ("<namespace>/<name>" or None) when the
    DaemonSets are not at hand; ``started``: the time to file a run without a report under; ``status``: the
    run's verdict when the caller has judged it (else taken from the report)."""
    if not host:
        raise HistoryError("a history entry needs the cluster's inventory host name")
    report = report if isinstance(report, dict) else None
    failure = failure if isinstance(failure, dict) else (report or {}).get("failure")
    state = sensor_state(sensor_daemonsets)
    if state == SENSOR_UNKNOWN and report is not None and sensor is not None:
        state = SENSOR_PRESENT if sensor else SENSOR_ABSENT
    entry = dict(format=ENTRY_FORMAT, host=str(host), cluster=None, run_id=None, started=started, reached=False,
                 stage=(failure or {}).get("stage"), status="failed", sensor=state, scenarios=[], verified=False,
                 techniques={}, alerts={}, regressions=[],
                 message=redact(str((failure or {}).get("message") or "")) or None)
    # The cluster answered when it told its sensor or when the run got as far as a report.
    entry["reached"] = report is not None or state != SENSOR_UNKNOWN
    if report is None:
        if not entry["message"]:
            entry["message"] = "the run stopped before its report"
        return entry
    cluster = report.get("cluster") if isinstance(report.get("cluster"), dict) else {}
    alerts, verified = _alerts(report)
    entry.update(
        cluster=cluster.get("name") or (str(cluster.get("aks_resource_id") or "").rsplit("/", 1)[-1] or None),
        run_id=report.get("run_id"),
        started=report.get("started") or started, stage=report.get("stage") or entry["stage"],
        status=status or report.get("status") or "failed", scenarios=list(report.get("scenarios") or []),
        verified=verified, alerts=alerts,
        techniques=dict((t.get("id"), t.get("status")) for t in report.get("techniques") or []
                        if isinstance(t, dict) and t.get("id")))
    return entry


def merge_entries(newer, older):
    """The entry of a run recorded again (verified later): the newer one, keeping what only the older knew."""
    merged = dict(newer)
    if merged.get("sensor") == SENSOR_UNKNOWN and older.get("sensor") != SENSOR_UNKNOWN:
        merged["sensor"] = older.get("sensor")
    return merged


def check_entry(entry, where):
    """The entry when it is one this code can compare; HistoryError naming ``where`` otherwise."""
    if not isinstance(entry, dict) or not entry.get("host"):
        raise HistoryError("history entry %s is not a run entry (no host)" % where)
    if entry.get("format") != ENTRY_FORMAT:
        raise HistoryError("history entry %s has format %r; this collection reads format %d"
                           % (where, entry.get("format"), ENTRY_FORMAT))
    return entry


def entry_key(entry):
    """How entries sort in time: started, then run id (entries without a start first)."""
    return (str(entry.get("started") or ""), str(entry.get("run_id") or ""))


# --- comparison ---------------------------------------------------------------------------------------------------

def _finding(entry, kind, message, alert=None, technique=None):
    return dict(host=entry["host"], cluster=entry.get("cluster"), run_id=entry.get("run_id"), kind=kind,
                alert=alert, technique=technique, message="%s: %s" % (entry["host"], message))


def _options(options):
    merged = dict(DEFAULTS)
    merged.update((k, v) for k, v in (options or {}).items() if v is not None)
    for name in ("window", "missing_runs", "flap_changes"):
        if not isinstance(merged[name], int) or merged[name] < 1:
            raise HistoryError("history option %s must be a whole number of runs, at least 1; got %r"
                               % (name, merged[name]))
    for name in ("latency_factor", "latency_min_increase"):
        if not isinstance(merged[name], (int, float)) or merged[name] < 0:
            raise HistoryError("history option %s must be a number, at least 0; got %r" % (name, merged[name]))
    return merged


def same_run(one, other):
    """True when two entries are the same run: the same run id, or, for runs without a report, the same start."""
    if one.get("run_id") or other.get("run_id"):
        return one.get("run_id") == other.get("run_id")
    return one.get("started") == other.get("started")


def earlier_runs(entry, entries, window):
    """The same cluster's entries before ``entry`` (another run), oldest first, the last ``window`` of them."""
    before = [e for e in entries if e.get("host") == entry["host"] and not same_run(e, entry)
              and (not entry.get("started") or entry_key(e) < entry_key(entry))]
    before.sort(key=entry_key)
    return before[-window:]


def _median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0


def _last(values):
    return values[-1] if values else None


def _alert_findings(entry, earlier, opts):
    findings = []
    for name, alert in sorted(entry["alerts"].items()):
        status = alert.get("status")
        before = [e["alerts"][name] for e in earlier if name in (e.get("alerts") or {})]
        definite_before = [a["status"] for a in before if a.get("status") in DEFINITE]
        previous = _last(definite_before)
        if status == MISSING and previous == SEEN:
            findings.append(_finding(entry, ALERT_REGRESSED, "alert '%s' was seen in the run before and is missing now"
                                     % name, alert=name))
        series = definite_before + ([status] if status in DEFINITE else [])
        streak = series[-opts["missing_runs"]:]
        if status == MISSING and len(streak) == opts["missing_runs"] and set(streak) == {MISSING}:
            findings.append(_finding(entry, MISSING_STREAK, "alert '%s' missing for the last %d verified runs"
                                     % (name, opts["missing_runs"]), alert=name))
        changes = len([1 for a, b in zip(series, series[1:]) if a != b])
        if status in DEFINITE and changes >= opts["flap_changes"]:
            findings.append(_finding(entry, FLAPPING, "alert '%s' is flapping: seen and missing changed %d times "
                                     "in the last %d verified runs" % (name, changes, len(series)), alert=name))
        if status == SEEN and earlier and SEEN not in definite_before:
            findings.append(_finding(entry, FIRST_SEEN, "alert '%s' seen for the first time in %d run(s)"
                                     % (name, len(earlier) + 1), alert=name))
        elif status == SEEN and previous == MISSING:
            findings.append(_finding(entry, RECOVERED, "alert '%s' seen again after it was missing" % name,
                                     alert=name))
        latencies = [a["latency"] for a in before if a.get("status") == SEEN and a.get("latency") is not None]
        if status == SEEN and alert.get("latency") is not None and latencies:
            usual = _median(latencies)
            if alert["latency"] > usual * opts["latency_factor"] and alert["latency"] - usual >= opts["latency_min_increase"]:
                findings.append(_finding(entry, LATENCY_SLOWER, "alert '%s' took %.0f s, the median of the runs "
                                         "before was %.0f s" % (name, alert["latency"], usual), alert=name))
    return findings


def _technique_findings(entry, earlier):
    findings = []
    for technique_id, status in sorted(entry["techniques"].items()):
        if status not in FAILED_STATUSES:
            continue
        ran_before = [e["techniques"][technique_id] for e in earlier if technique_id in (e.get("techniques") or {})]
        if _last(ran_before) == "passed":
            findings.append(_finding(entry, TECHNIQUE_REGRESSED, "technique %s passed in the run before and is %s now"
                                     % (technique_id, status), technique=technique_id))
    return findings


def _cluster_findings(entry, earlier):
    findings = []
    if not entry.get("reached"):
        findings.append(_finding(entry, CLUSTER_UNREACHED, "cluster not reached: %s"
                                 % (entry.get("message") or "no answer")))
    known_before = [e.get("sensor") for e in earlier if e.get("sensor") in (SENSOR_PRESENT, SENSOR_ABSENT)]
    if entry.get("sensor") == SENSOR_ABSENT and _last(known_before) == SENSOR_PRESENT:
        findings.append(_finding(entry, SENSOR_LOST, "the Defender sensor was there in the run before and is gone now"))
    if entry.get("sensor") == SENSOR_PRESENT and _last(known_before) == SENSOR_ABSENT:
        findings.append(_finding(entry, SENSOR_BACK, "the Defender sensor is back"))
    return findings


def alert_trends(entry, earlier):
    """Per alert, its status and latency in each run of the window, oldest first (the current run last)."""
    runs = earlier + [entry]
    names = []
    for run in runs:
        names.extend(n for n in run.get("alerts") or {} if n not in names)
    return dict((name, [dict(run_id=r.get("run_id"), started=r.get("started"),
                             status=(r.get("alerts") or {}).get(name, {}).get("status"),
                             latency=(r.get("alerts") or {}).get(name, {}).get("latency")) for r in runs])
                for name in names)


def run_strip(entry, earlier):
    """The cluster's runs in the window, oldest first: run id, start, status, regressions, seen of verified alerts."""
    strip = []
    for run in earlier + [entry]:
        alerts = (run.get("alerts") or {}).values()
        strip.append(dict(run_id=run.get("run_id"), started=run.get("started"), status=run.get("status"),
                          reached=run.get("reached"), sensor=run.get("sensor"),
                          regressions=len([f for f in run.get("regressions") or [] if f.get("kind") in REGRESSION_KINDS]),
                          seen=len([a for a in alerts if a.get("status") == SEEN]),
                          verified=len([a for a in alerts if a.get("status") in DEFINITE])))
    return strip


def compare(entry, entries, options=None):
    """What changed in ``entry``'s run against the same cluster's runs before it among ``entries``.

    Returns dict(regressions=[...], notices=[...], earlier=<the entries compared with, oldest first>,
    trends=alert_trends, strip=run_strip)."""
    opts = _options(options)
    earlier = earlier_runs(entry, entries, opts["window"])
    findings = _cluster_findings(entry, earlier) + _technique_findings(entry, earlier) \
        + _alert_findings(entry, earlier, opts)
    return dict(regressions=[f for f in findings if f["kind"] in REGRESSION_KINDS],
                notices=[f for f in findings if f["kind"] not in REGRESSION_KINDS],
                earlier=earlier, trends=alert_trends(entry, earlier), strip=run_strip(entry, earlier))


# --- the verdict's hook and the notification -------------------------------------------------------------------------

def notification_text(results, title="Defender for Containers simulation"):
    """The text a notification sends: one line per cluster (its verdict), then every regression, then notices.

    ``results``: [{host, status, regressions, notices}] (status: the run's verdict)."""
    passed = len([r for r in results if r.get("status") == "passed"])
    regressions = [f for r in results for f in r.get("regressions") or []]
    notices = [f for r in results for f in r.get("notices") or []]
    lines = ["%s: %d of %d cluster(s) passed; %d regression(s)" % (title, passed, len(results), len(regressions))]
    lines.extend("  %s: %s" % (r.get("host"), r.get("status")) for r in results)
    if regressions:
        lines.append("Regressions:")
        lines.extend("  - %s" % f["message"] for f in regressions)
    if notices:
        lines.append("Notices:")
        lines.extend("  - %s" % f["message"] for f in notices)
    return "\n".join(lines)
