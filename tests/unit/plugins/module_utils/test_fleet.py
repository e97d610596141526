# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.defender.attack_simulation.plugins.module_utils._fleet import fleet_row, fleet_summary


CRYPTO = ("crypto.cpu_optimization", "crypto.ld_so_preload", "crypto.miner_download", "crypto.miner_run")


def report(*statuses, **extra):
    """A crypto run: the techniques given their statuses in order, the rest passed."""
    statuses = statuses + ("passed",) * (len(CRYPTO) - len(statuses))
    base = dict(run_id="r1", namespace="ns", cluster={"name": "aks"}, scenarios=["crypto"],
                techniques=[dict(id=tid, status=s) for tid, s in zip(CRYPTO, statuses)],
                expected_alerts=[dict(triggered=True), dict(triggered=False)])
    base.update(extra)
    return base


def test_a_run_that_passed():
    row = fleet_row(report("passed", "passed"), "a", "/r/a.json")
    assert (row["status"], row["message"], row["expected_alerts"]) == ("passed", "4 technique(s) passed", 1)


def test_failed_techniques_missing_alerts_and_no_report_each_fail_the_cluster_and_say_why():
    assert fleet_row(report("passed", "failed"), "a", "/r")["message"] == "1 technique(s) failed: crypto.ld_so_preload"
    missing = fleet_row(report("passed", verification={"missing": ["X"]}), "b", "/r")
    assert (missing["status"], missing["message"]) == ("failed", "expected alerts missing: X")
    assert fleet_row(None, "c")["message"] == "failed before the report, see its output"


def test_the_summary_counts_and_lists_every_cluster():
    summary = fleet_summary([fleet_row(report("passed"), "a", "/r"), fleet_row(None, "b")], "2026-11-29T00:00:00Z")
    assert (summary["clusters"], summary["passed"], summary["failed"]) == (2, 1, 1)
    assert summary["lines"][0] == "fleet: 1 of 2 clusters passed"


def test_a_run_whose_deploy_failed_is_a_failed_row_naming_the_stage():
    row = fleet_row(report(failure={"stage": "deploy", "message": "image x could not be pulled"}), "a", "/r/a.json")
    assert (row["status"], row["message"]) == ("failed", "deploy failed: image x could not be pulled")


def test_a_run_that_failed_before_its_report_names_the_stage_when_known():
    row = fleet_row(None, "a", failure={"stage": "prerequisites", "message": "cannot reach the API server"})
    assert row["message"] == "failed at prerequisites before the report: cannot reach the API server"


def test_a_check_mode_fleet_is_planned_not_passed():
    row = fleet_row(report(check_mode=True, techniques=[]), "a", "", check_mode=True)
    assert (row["status"], row["message"]) == ("planned", "check mode: 4 technique(s) planned, none run")
    summary = fleet_summary([row], "2026-11-29T00:00:00Z")
    assert (summary["passed"], summary["failed"], summary["lines"][0]) == (0, 0, "fleet: 0 of 1 clusters passed, 1 planned (check mode)")


def test_a_run_that_left_out_planned_techniques_is_a_failed_row():
    row = fleet_row(report(techniques=[]), "a", "/r/a.json")
    assert row["status"] == "failed" and row["message"].startswith("incomplete: 4 of 4 planned techniques did not run: ")
