# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The AWX artifacts of a run (set_stats), shaped to survive what AWX does with them.

AWX hands the next workflow node the artifacts of the jobs before it merged with a top-level ``dict.update``, in the
order the jobs finished: a key published by two jobs (two slices of a sliced job) keeps the last job's whole value.
``set_stats`` itself merges the hosts of one job: dicts merge, strings are glued together. So each cluster's report
is published under a top-level key of its own, ``defender_simulation_run_<host>_<hash>``, which no other host or
slice writes; ``defender_simulation_runs`` (by host) and ``defender_simulation`` (one host's jobs only) stay for
readers of one job, and no string is published for more than one host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

RUN_KEY_PREFIX = "defender_simulation_run_"
RUNS_KEY = "defender_simulation_runs"
REPORT_KEY = "defender_simulation"
PATHS_KEY = "defender_simulation_report_paths"
PATH_KEY = "defender_simulation_report_path"
FLEET_KEY = "defender_simulation_fleet"


def run_key(host):
    """The artifact key of one cluster's report: a variable name, unique per inventory host (the hash tells apart
    hosts whose names differ only in characters a variable name cannot hold)."""
    host = str(host)
    digest = hashlib.sha256(host.encode("utf-8")).hexdigest()[:10]
    return "%s%s_%s" % (RUN_KEY_PREFIX, re.sub(r"[^A-Za-z0-9_]", "_", host)[:60], digest)


def run_artifacts(report, host, report_path=None):
    """The set_stats data of one cluster's run that set_stats may aggregate over the job's hosts (dicts merge): its own
    key, its entry by host, its JSON report's path by host."""
    data = {run_key(host): report, RUNS_KEY: {host: report}}
    if report_path:
        data[PATHS_KEY] = {host: report_path}
    return data


def single_run_artifacts(report, report_path=None):
    """The set_stats data of a job of one host, published without aggregation: several hosts would merge their
    reports into one, and a report written twice (verified) would glue its path to itself."""
    data = {REPORT_KEY: report}
    if report_path:
        data[PATH_KEY] = report_path
    return data


def plain(value):
    """``value`` as plain dicts, lists and scalars: a copy any caller can mark unsafe, whatever containers it came in."""
    if isinstance(value, dict):
        return dict((str(k), plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _identity(report):
    return (report.get("host"), report.get("run_id"))


def reports_in(variables):
    """Every run report the artifact variables hold, each once (by host and run id), ordered by host then run id:
    the per-cluster keys first, then ``defender_simulation_runs``, then ``defender_simulation``."""
    found = [variables[name] for name in sorted(str(n) for n in variables) if name.startswith(RUN_KEY_PREFIX)]
    runs = variables.get(RUNS_KEY)
    if isinstance(runs, dict):
        # A report names its host; one that does not is known by its key here.
        found.extend(dict(dict(host=host), **runs[host]) if isinstance(runs[host], dict) and not runs[host].get("host")
                     else runs[host] for host in sorted(runs))
    found.append(variables.get(REPORT_KEY))
    reports, seen, run_ids = [], set(), set()
    for report in found:
        if not isinstance(report, dict) or not report or _identity(report) in seen:
            continue
        if not report.get("host") and report.get("run_id") in run_ids:
            continue  # the same run, already known with its host
        seen.add(_identity(report))
        run_ids.add(report.get("run_id"))
        reports.append(report)
    return [plain(r) for r in sorted(reports, key=lambda r: (str(r.get("host") or ""), str(r.get("run_id") or "")))]
