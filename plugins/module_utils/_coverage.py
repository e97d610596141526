# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Record runs in the history and compare them with the runs before: what the simulation_history action does.

For each run (one cluster): its history entry, the runs of that cluster before it read from the store, the
regressions and notices (``_history.compare``), the report judged again with them (``_report.run_outcome``, which
counts regressions unless accepted), and the run's files in the store: the entry, the report, the HTML page and the
ATT&CK Navigator layer. For a fleet, one page and one layer of every cluster too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.defender.attack_simulation.plugins.module_utils import _history as history
from ansible_collections.defender.attack_simulation.plugins.module_utils._history_store import ENTRIES, entry_name, safe_name
from ansible_collections.defender.attack_simulation.plugins.module_utils._html_report import coverage_html
from ansible_collections.defender.attack_simulation.plugins.module_utils._navigator import navigator_layer
from ansible_collections.defender.attack_simulation.plugins.module_utils._report import run_outcome
from ansible_collections.defender.attack_simulation.plugins.module_utils._time import format_time, utcnow

JSON = "application/json"
HTML = "text/html; charset=utf-8"


def _json_bytes(value):
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode("utf-8")


def basename(run, entry):
    """The run's files' name: given, or defender-simulation-<host>-<run id>, or -<start> for a run without a report."""
    if run.get("basename"):
        return safe_name(run["basename"])
    stamp = (entry.get("started") or "").replace(":", "").replace("-", "")
    return safe_name("defender-simulation-%s-%s" % (run["host"], entry.get("run_id") or "no-report-%s" % stamp))


def judge(report, regressions, notices, accept):
    """The report with its regressions and notices, judged again (status, problems) by run_outcome."""
    judged = dict(report, regressions=regressions, regression_notices=notices, regressions_accepted=bool(accept))
    judged.update(run_outcome(judged))
    return judged


def _entry(run, now):
    return history.history_entry(run["host"], report=run.get("report"), failure=run.get("failure"),
                                 sensor_daemonsets=run.get("sensor_daemonsets"), sensor=run.get("sensor"),
                                 started=run.get("started") or now)


def _problems(run, entry):
    report = run.get("report")
    if report:
        return report.get("problems") or []
    return [entry.get("message") or "the run stopped before its report"]


def record_run(store, run, options, accept=False, now=None):
    """Record one cluster's run and compare it with the runs before; returns the run's result (a dict)."""
    now = now or format_time(utcnow())
    entry = _entry(run, now)
    earlier = [history.check_entry(e, store.describe(ENTRIES + "/" + safe_name(entry["host"])))
               for e in store.entries(entry["host"])]
    same = [e for e in earlier if history.same_run(e, entry)]
    if same:
        entry = history.merge_entries(entry, same[-1])
    compared = history.compare(entry, earlier, options)
    report = run.get("report")
    if report:
        report = judge(report, compared["regressions"], compared["notices"], accept)
        entry["status"] = report["status"]
    entry["regressions"] = compared["regressions"]
    compared["strip"][-1].update(status=entry["status"], regressions=len(compared["regressions"]))
    name = basename(run, entry)
    files = {}
    column = dict(entry=entry, regressions=compared["regressions"], notices=compared["notices"],
                  strip=compared["strip"], problems=_problems(dict(run, report=report), entry))
    files["entry"] = store.put(entry_name(entry), _json_bytes(entry), JSON)
    if report:
        files["report"] = store.put("runs/%s.json" % name, _json_bytes(report), JSON)
    page = coverage_html([column], "Detection coverage of %s, run %s" % (entry["host"], entry.get("run_id") or "(no report)"), now)
    files["html"] = store.put("runs/%s.html" % name, page.encode("utf-8"), HTML)
    layer = navigator_layer([entry], "%s %s" % (entry["host"], entry.get("run_id") or ""))
    files["layer"] = store.put("runs/%s.layer.json" % name, _json_bytes(layer), JSON)
    return dict(host=entry["host"], status=entry["status"], entry=entry, report=report, files=files,
                regressions=compared["regressions"], notices=compared["notices"], column=column,
                trends=compared["trends"])


def record_fleet(store, columns, now=None):
    """The fleet's page and layer (one column per cluster), written to the store; their locations."""
    now = now or format_time(utcnow())
    stamp = safe_name(now.replace(":", "").replace("-", ""))
    page = coverage_html(columns, "Detection coverage of a fleet of %d clusters" % len(columns), now)
    layer = navigator_layer([c["entry"] for c in columns], "fleet %s" % now)
    return dict(html=store.put("fleet/fleet-coverage-%s.html" % stamp, page.encode("utf-8"), HTML),
                layer=store.put("fleet/fleet-coverage-%s.layer.json" % stamp, _json_bytes(layer), JSON))


def unreached_run(host):
    """The run of a cluster of the fleet that left nothing: its play ended before its run was recorded."""
    return dict(host=host, failure=dict(stage="prerequisites", message="the play ended on this cluster before its "
                                        "run was recorded (see the job's output)"))


def record_runs(store, runs, options=None, accept=False, fleet=False, columns=None, now=None):
    """Record and compare every run of ``runs``; with ``fleet``, the fleet's files of ``columns`` (the clusters
    recorded before, by other tasks) and of these runs. Returns dict(runs, regressions, notices, fleet,
    notification); each run's ``column`` is what a later fleet page needs of it."""
    now = now or format_time(utcnow())
    results = [record_run(store, run, options, accept=accept, now=now) for run in runs]
    columns = list(columns or []) + [r["column"] for r in results]
    fleet_files = record_fleet(store, columns, now) if fleet and columns else None
    everyone = [dict(host=c["entry"]["host"], status=c["entry"].get("status"), regressions=c.get("regressions") or [],
                     notices=c.get("notices") or []) for c in columns]
    return dict(runs=results, fleet=fleet_files,
                regressions=[f for c in everyone for f in c["regressions"]],
                regressions_by_host=dict((c["host"], c["regressions"]) for c in everyone),
                notices=[f for c in everyone for f in c["notices"]],
                notification=history.notification_text(everyone))
