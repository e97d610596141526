# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.defender.attack_simulation.plugins.module_utils import _report, _verification
from ansible_collections.defender.attack_simulation.plugins.module_utils._catalog import alerts_for
from ansible_collections.defender.attack_simulation.tests.unit.plugins.module_utils.alert_samples import (
    DRIFT,
    MINER,
    MINING,
    OTHER,
    by_name,
    crypto_report,
    raw_alert,
)


def test_verify_all_seen_with_latency_from_the_triggering_technique():
    report = crypto_report()
    alerts = [raw_alert("a-%d" % i, a["display_name"], "2026-11-28T10:20:00Z")
              for i, a in enumerate(alerts_for(["crypto"]))]
    result = _verification.verify(report, alerts, now="2026-11-28T10:30:00Z", deadline_seconds=3600)
    assert result["seen"] == result["expected"] == len(alerts_for(["crypto"]))
    assert result["summary"] == "%d of %d expected alerts seen" % (result["seen"], result["expected"])
    assert result["missing"] == [] and result["pending"] == []
    miner = by_name(result)[MINER]
    # crypto.miner_download started at 10:15:32.1; the alert was generated at 10:20:00
    assert miner["latency_seconds"] == pytest.approx(267.9)
    assert miner["portal_link"].endswith("/a-%d" % [a["display_name"] for a in alerts_for(["crypto"])].index(MINER))
    assert result["deadline"] == "2026-11-28T11:15:00Z" and result["remaining_seconds"] == 2700


def test_alerts_for_another_cluster_or_before_the_run_do_not_count():
    report = crypto_report()
    alerts = [raw_alert("other", MINER, "2026-11-28T10:20:00Z", cluster=OTHER, entity="aks-test-9"),
              raw_alert("old", MINER, "2026-11-28T10:14:59Z")]
    result = _verification.verify(report, alerts, now="2026-11-28T10:30:00Z")
    assert by_name(result)[MINER]["status"] == "missing"
    assert MINER in result["missing"] and MINER in result["pending"]


def test_without_a_resource_id_the_cluster_name_decides():
    report = crypto_report()
    report["cluster"] = {"name": "aks-prod-1", "aks_resource_id": None}
    alerts = [raw_alert("x", MINER, "2026-11-28T10:20:00Z", cluster=OTHER, entity="aks-prod-1"),
              raw_alert("y", MINING, "2026-11-28T10:20:00Z", entity="aks-test-9")]
    statuses = dict((n, a["status"]) for n, a in by_name(_verification.verify(report, alerts)).items())
    assert statuses[MINER] == "seen" and statuses[MINING] == "missing"


def test_unseen_drift_alert_needs_a_cluster_setting_not_more_waiting():
    result = _verification.verify(crypto_report(), [], now="2026-11-28T10:30:00Z")
    drift = by_name(result)[DRIFT]
    assert drift["status"] == "needs_cluster_setting"
    assert "drift" in drift["condition"].lower()
    assert DRIFT not in result["missing"] and DRIFT not in result["pending"]
    assert DRIFT in result["needs_cluster_setting"]


def test_alerts_whose_techniques_failed_are_not_triggered():
    report = crypto_report({"crypto.ld_so_preload": "failed"})
    result = _verification.verify(report, [], now="2026-11-28T10:30:00Z")
    assert by_name(result)["Command within a container accessed ld.so.preload"]["status"] == "not_triggered"
    assert "Command within a container accessed ld.so.preload" in result["not_triggered"]
    assert "Command within a container accessed ld.so.preload" not in result["pending"]


def test_report_flag_triggered_false_wins():
    report = crypto_report()
    for entry in report["expected_alerts"]:
        entry["triggered"] = entry["display_name"] != MINING
    assert by_name(_verification.verify(report, []))[MINING]["status"] == "not_triggered"


def test_older_spelling_and_preview_suffix_count_as_seen():
    result = _verification.verify(crypto_report(), [
        raw_alert("old-name", "possible crypto miners download detected (Preview)", "2026-11-28T10:16:00Z")])
    assert by_name(result)[MINER]["seen"] is True
    assert by_name(result)[MINER]["alert_id"].endswith("/old-name")


def test_the_earliest_matching_alert_is_reported():
    result = _verification.verify(crypto_report(), [raw_alert("late", MINER, "2026-11-28T10:40:00Z"),
                                                    raw_alert("early", MINER, "2026-11-28T10:17:00Z")])
    assert by_name(result)[MINER]["alert_name"] == "early"


def test_report_built_from_pieces_expects_the_catalog_alerts():
    report = {"run_id": "r", "started": "2026-11-28T10:15:00Z", "scenarios": ["lateral-mov"],
              "cluster": {"name": "aks-prod-1", "aks_resource_id": None}, "techniques": [], "expected_alerts": []}
    result = _verification.verify(report, [raw_alert("imds", "Renamed", "2026-11-28T10:16:00Z", alert_type="k8s.node_imdscall")])
    assert [(a["display_name"], a["status"]) for a in result["alerts"]] == [
        ("Possible Web Shell activity detected", "missing"), ("Access to cloud metadata service detected", "seen")]
    assert result["summary"] == "1 of 2 expected alerts seen (missing: Possible Web Shell activity detected)"


@pytest.mark.parametrize("report, message", [
    ({"run_id": "r", "scenarios": ["crypto"]}, "no 'started'"),
    ({"run_id": "r", "started": "soon", "scenarios": ["crypto"]}, "not an ISO 8601"),
    ({"run_id": "r", "started": "2026-11-28T10:15:00Z", "scenarios": ["mining"]}, "unknown scenario 'mining'"),
])
def test_unusable_reports_are_named(report, message):
    with pytest.raises(_report.ReportError, match=message):
        _verification.verify(report, [])


def test_a_report_that_names_no_cluster_is_refused_with_how_to_name_it():
    report = crypto_report()
    report["cluster"] = {"name": None, "aks_resource_id": None, "server": "https://10.0.0.1"}
    with pytest.raises(_report.ReportError, match="names no cluster") as caught:
        _verification.verify(report, [raw_alert("theirs", MINER, "2026-11-28T10:20:00Z", cluster=OTHER)])
    assert "simulation_cluster_resource_id" in str(caught.value) and "verify_cluster_name" in str(caught.value)


def test_a_malformed_alert_does_not_stop_the_verification():
    alerts = [raw_alert("bad", MINER, "2026-11-28T10:20:00Z", start="soon"),
              raw_alert("good", MINER, "2026-11-28T10:21:00Z")]
    alerts[0]["properties"]["timeGeneratedUtc"] = "soon"
    result = _verification.verify(crypto_report(), alerts, now="2026-11-28T10:30:00Z")
    assert by_name(result)[MINER]["alert_name"] == "good" and result["malformed"] == 1


def test_a_run_that_failed_before_its_techniques_is_not_verified():
    report = crypto_report()
    report.update(techniques=[], failure={"stage": "deploy", "message": "image x could not be pulled"})
    with pytest.raises(_report.ReportError, match=r"did not run its techniques \(deploy failed: image x could not"):
        _verification.verify(report, [])
    report["failure"]["stage"] = "techniques"  # some ran: their alerts are still worth checking
    assert _verification.verify(report, [], now="2026-11-28T10:30:00Z")["expected"] > 0
