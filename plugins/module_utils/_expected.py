# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The plan of a run (scenarios, techniques) and the alerts it should raise, joined with technique results."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.defender.attack_simulation.plugins.module_utils._catalog import (
    alerts_for,
    normalize_scenarios,
    techniques_for,
)
from ansible_collections.defender.attack_simulation.plugins.module_utils._records import STATUS_PASSED, STATUSES

TECHNIQUE_FIELDS = ("id", "scenario", "name", "mitre", "summary")
ALERT_FIELDS = ("display_name", "alert_type", "closest_documented_type", "severity", "tactics", "latency",
                "condition", "scenarios", "triggered_by", "aliases")


class ResultsError(ValueError):
    """Technique results that cannot be joined with the plan; the message names the record."""


def index_results(results, planned_ids):
    """Technique records by id, checked: each needs an ``id`` and a known ``status``.
    Records of techniques outside the plan are returned apart, so the caller can warn about them."""
    by_id, foreign = {}, []
    for position, record in enumerate(results or []):
        if not isinstance(record, dict) or not record.get("id"):
            raise ResultsError("results[%d]: a technique record needs an 'id', got %r" % (position, record))
        if record.get("status") not in STATUSES:
            raise ResultsError("results[%d] (%s): status %r is not one of %s"
                               % (position, record["id"], record.get("status"), ", ".join(STATUSES)))
        if record["id"] in planned_ids:
            # A technique retried in one run: the last record is the one that counts.
            by_id[record["id"]] = record
        else:
            foreign.append(record["id"])
    return by_id, foreign


def _earliest(timestamps):
    # ISO 8601 UTC strings of one format sort as text; the records all come from _records.
    present = sorted(str(t) for t in timestamps if t)
    return present[0] if present else None


def join_results(alert, by_id):
    """``alert`` with ``triggered``, ``triggered_at`` and ``trigger_status`` from the technique records."""
    trigger_status = dict((tid, by_id[tid]["status"] if tid in by_id else None) for tid in alert["triggered_by"])
    passed = [by_id[tid] for tid, status in trigger_status.items() if status == STATUS_PASSED]
    joined = dict(alert)
    joined.update(triggered=bool(passed), triggered_at=_earliest(r.get("started") for r in passed),
                  trigger_status=trigger_status)
    return joined


def expected_alerts(scenarios, results=None):
    """dict(scenarios, techniques, alerts, unplanned_results) for the requested scenario names.

    ``results`` (technique records) adds ``triggered``, ``triggered_at`` and ``trigger_status`` to every
    alert. Raises the catalog's UnknownScenarioError or ResultsError."""
    canonical = normalize_scenarios(scenarios)
    techniques = [dict((k, t[k]) for k in TECHNIQUE_FIELDS) for t in techniques_for(canonical)]
    alerts = [dict((k, a.get(k)) for k in ALERT_FIELDS) for a in alerts_for(canonical)]
    unplanned = []
    if results is not None:
        by_id, unplanned = index_results(results, set(t["id"] for t in techniques))
        alerts = [join_results(alert, by_id) for alert in alerts]
    return dict(scenarios=canonical, techniques=techniques, alerts=alerts, unplanned_results=unplanned)
