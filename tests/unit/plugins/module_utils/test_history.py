# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The comparison of a run with the runs before it, on histories as the store keeps them."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.defender.attack_simulation.plugins.module_utils import _history as history
from ansible_collections.defender.attack_simulation.plugins.module_utils._report import run_outcome

HERE = os.path.dirname(os.path.abspath(__file__))
IMDS = "Access to cloud metadata service detected"
WEBSHELL = "Possible Web Shell activity detected"


def entry(run, imds="seen", webshell="seen", latency=20.0, sensor="present", technique="passed", reached=True,
          host="aks-prod-weu", **extra):
    """An entry as history_entry writes it, for a lateral_movement run on day ``run`` of December."""
    alerts = {}
    for name, status in ((IMDS, imds), (WEBSHELL, webshell)):
        if status:
            alerts[name] = dict(status=status, latency=latency if status == "seen" else None,
                                scenarios=["lateral_movement"])
    base = dict(format=1, host=host, cluster="aks-prod-weu", run_id="r%02d" % run, started="2026-12-%02dT02:00:00Z" % run,
                reached=reached, stage="done", status="passed", sensor=sensor, scenarios=["lateral_movement"],
                verified=True, techniques={"lateral_movement.metadata_token": technique} if technique else {},
                alerts=alerts, regressions=[], message=None)
    base.update(extra)
    return base


def kinds(found):
    return sorted((f["kind"], f["alert"] or f["technique"]) for f in found["regressions"] + found["notices"])


def test_the_first_run_of_a_cluster_has_nothing_to_compare_with():
    assert kinds(history.compare(entry(1), [])) == []


def test_an_alert_seen_before_and_missing_now_is_a_regression_naming_cluster_and_alert():
    found = history.compare(entry(3, imds="missing"), [entry(1), entry(2)])
    assert [(f["kind"], f["alert"], f["host"]) for f in found["regressions"]] == [("alert_regressed", IMDS, "aks-prod-weu")]
    assert found["regressions"][0]["message"] == \
        "aks-prod-weu: alert '%s' was seen in the run before and is missing now" % IMDS


def test_unverified_runs_and_runs_without_a_report_do_not_hide_the_last_verified_status():
    earlier = [entry(1), entry(2, imds="unverified", webshell="unverified"),
               entry(3, imds=None, webshell=None, technique=None, stage="prerequisites", status="failed")]
    assert kinds(history.compare(entry(4, imds="missing"), earlier)) == [("alert_regressed", IMDS)]


def test_missing_for_the_last_n_runs_is_a_notice_not_a_new_regression():
    earlier = [entry(1), entry(2, imds="missing"), entry(3, imds="missing")]
    found = history.compare(entry(4, imds="missing"), earlier)
    assert found["regressions"] == []
    assert kinds(found) == [("missing_streak", IMDS)]
    assert kinds(history.compare(entry(4, imds="missing"), earlier, dict(missing_runs=4))) == []


def test_an_alert_that_comes_and_goes_is_flapping():
    earlier = [entry(1), entry(2, imds="missing"), entry(3)]
    found = history.compare(entry(4, imds="missing"), earlier)
    assert kinds(found) == [("alert_regressed", IMDS), ("flapping", IMDS)]
    assert "changed 3 times in the last 4 verified runs" in found["notices"][0]["message"]


def test_first_seen_and_recovered():
    assert kinds(history.compare(entry(3), [entry(1, imds="missing"), entry(2, imds="missing")])) == [("first_seen", IMDS)]
    assert kinds(history.compare(entry(3), [entry(1), entry(2, imds="missing")])) == [("recovered", IMDS)]


def test_a_latency_far_above_the_usual_is_a_notice_and_the_trend_lists_every_run():
    earlier = [entry(1, latency=20.0), entry(2, latency=30.0), entry(3, latency=25.0)]
    found = history.compare(entry(4, latency=900.0), earlier)
    assert kinds(found) == [("latency_slower", IMDS), ("latency_slower", WEBSHELL)]
    assert "took 900 s, the median of the runs before was 25 s" in found["notices"][0]["message"]
    assert [p["latency"] for p in found["trends"][IMDS]] == [20.0, 30.0, 25.0, 900.0]
    # Twice as slow but only 40 s more: noise, not a notice.
    assert kinds(history.compare(entry(4, latency=65.0), earlier)) == []


def test_a_technique_that_passed_before_and_fails_now_is_a_regression():
    found = history.compare(entry(2, technique="timed_out", imds="not_triggered"), [entry(1)])
    assert [(f["kind"], f["technique"]) for f in found["regressions"]] == [
        ("technique_regressed", "lateral_movement.metadata_token")]
    assert found["regressions"][0]["message"].endswith("passed in the run before and is timed_out now")


def test_the_sensor_gone_and_a_cluster_not_reached_are_regressions():
    sensorless = entry(2, imds=None, webshell=None, technique=None, sensor="absent", stage="prerequisites",
                       status="failed")
    assert kinds(history.compare(sensorless, [entry(1)])) == [("sensor_lost", None)]
    assert kinds(history.compare(entry(3), [entry(1), sensorless])) == [("sensor_back", None)]
    unreached = entry(2, imds=None, webshell=None, technique=None, sensor="unknown", reached=False,
                      message="cannot reach the Kubernetes API server")
    found = history.compare(unreached, [entry(1)])
    assert kinds(found) == [("cluster_unreached", None)]
    assert found["regressions"][0]["message"] == \
        "aks-prod-weu: cluster not reached: cannot reach the Kubernetes API server"


def test_only_the_same_clusters_runs_before_count_and_the_window_bounds_them():
    other = entry(2, imds="missing", host="aks-prod-neu")
    later = entry(9)
    assert history.earlier_runs(entry(3), [entry(1), other, later, entry(3)], 10) == [entry(1)]
    many = [entry(day) for day in range(1, 12)]
    assert [e["run_id"] for e in history.earlier_runs(entry(20), many, 3)] == ["r09", "r10", "r11"]
    assert [s["run_id"] for s in history.compare(entry(20), many, dict(window=3))["strip"]] == ["r09", "r10", "r11", "r20"]


def test_runs_without_a_report_are_told_apart_by_their_start():
    first = entry(1, run_id=None, reached=False)
    second = entry(2, run_id=None, reached=False)
    assert history.earlier_runs(second, [first, second], 10) == [first]


@pytest.mark.parametrize("options, message", [
    (dict(window=0), "window must be a whole number of runs, at least 1; got 0"),
    (dict(missing_runs="3"), "missing_runs must be a whole number"),
    (dict(latency_factor=-1), "latency_factor must be a number, at least 0"),
])
def test_bad_options_are_refused_by_name(options, message):
    with pytest.raises(history.HistoryError, match=message):
        history.compare(entry(2), [entry(1)], options)


def test_an_entry_of_another_format_is_refused_naming_where_it_is():
    with pytest.raises(history.HistoryError, match="history entry history/aks/x.json has format 7"):
        history.check_entry(dict(entry(1), format=7), "history/aks/x.json")


# --- entries from reports -------------------------------------------------------------------------------------------

def verified_report(**extra):
    report = dict(run_id="20261203-020000-abc123", started="2026-12-03T02:00:00Z", scenarios=["lateral_movement"],
                  stage="done", status="passed", cluster=dict(name="aks-prod-weu"),
                  techniques=[dict(id="lateral_movement.metadata_token", status="passed")],
                  expected_alerts=[dict(display_name=WEBSHELL, triggered=True), dict(display_name=IMDS, triggered=True)],
                  verification=dict(alerts=[dict(display_name=WEBSHELL, status="seen", latency_seconds=12.4),
                                            dict(display_name=IMDS + " (Preview)", status="missing")]))
    report.update(extra)
    return report


def test_an_entry_keeps_what_the_comparison_needs_of_a_verified_report():
    made = history.history_entry("aks-prod-weu", report=verified_report(),
                                 sensor_daemonsets=[dict(found=True, number_ready=1, error=None)])
    assert made["alerts"] == {WEBSHELL: dict(status="seen", latency=12.4, scenarios=["lateral_movement"]),
                              IMDS: dict(status="missing", latency=None, scenarios=["lateral_movement"])}
    assert (made["sensor"], made["reached"], made["verified"], made["run_id"]) == ("present", True, True, "20261203-020000-abc123")
    assert made["techniques"] == {"lateral_movement.metadata_token": "passed"}


def test_an_unverified_report_and_one_that_stopped_before_its_techniques():
    unverified = history.history_entry("a", report=verified_report(verification=None))
    assert {n: a["status"] for n, a in unverified["alerts"].items()} == {WEBSHELL: "unverified", IMDS: "unverified"}
    stopped = history.history_entry("a", report=verified_report(
        verification=None, techniques=[], failure=dict(stage="deploy", message="ErrImagePull")))
    assert {a["status"] for a in stopped["alerts"].values()} == {"not_run"}


def test_a_run_without_a_report_is_filed_with_its_failure_and_sensor():
    token = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9.eyJpc3MiOiJrdWJlcm5ldGVzIn0.c2lnbmF0dXJlc2lnbmF0dXJl"
    made = history.history_entry("aks", failure=dict(stage="prerequisites", message="token: " + token),
                                 sensor_daemonsets=[dict(found=False, number_ready=None, error=None)],
                                 started="2026-12-03T02:00:00Z")
    assert (made["reached"], made["sensor"], made["status"], made["stage"]) == (True, "absent", "failed", "prerequisites")
    assert token not in made["message"] and made["message"].startswith("token: eyJhbGci")
    unreached = history.history_entry("aks", failure=dict(stage="prerequisites", message="connection refused"))
    assert (unreached["reached"], unreached["sensor"]) == (False, "unknown")


def test_the_verdict_counts_regressions_unless_accepted():
    regression = dict(kind="alert_regressed", message="aks: alert 'X' was seen in the run before and is missing now")
    all_seen = dict(alerts=[dict(display_name=WEBSHELL, status="seen"), dict(display_name=IMDS, status="seen")])
    report = verified_report(regressions=[regression], verification=all_seen)
    judged = run_outcome(report)
    assert (judged["status"], judged["problems"]) == ("failed", [
        "detection regressed: aks: alert 'X' was seen in the run before and is missing now"])
    accepted = run_outcome(dict(report, regressions_accepted=True))
    assert (accepted["status"], accepted["problems"]) == ("passed", [])
    # A missing alert fails the run whether or not its regression is accepted.
    missing = run_outcome(verified_report(regressions=[regression], regressions_accepted=True))
    assert missing["status"] == "failed" and not [p for p in missing["problems"] if "regressed" in p]


def test_the_notification_names_each_cluster_and_every_regression():
    text = history.notification_text([
        dict(host="aks-a", status="passed", regressions=[], notices=[]),
        dict(host="aks-b", status="failed", regressions=[dict(message="aks-b: the Defender sensor was there in the run before and is gone now")],
             notices=[dict(message="aks-b: alert 'X' missing for the last 3 verified runs")])])
    assert text.splitlines() == [
        "Defender for Containers simulation: 1 of 2 cluster(s) passed; 1 regression(s)",
        "  aks-a: passed", "  aks-b: failed", "Regressions:",
        "  - aks-b: the Defender sensor was there in the run before and is gone now",
        "Notices:", "  - aks-b: alert 'X' missing for the last 3 verified runs"]


# --- a recorded history: the entries the end-to-end series wrote (tests/e2e/test_coverage_history.py) -----------------

def recorded(name):
    with open(os.path.join(HERE, "history_samples", name)) as sample:
        return json.load(sample)


def test_the_recorded_series_compares_run_by_run_as_it_was_judged():
    series = recorded("e2e_series.json")
    assert len(series) == 5
    for index, current in enumerate(series):
        found = history.compare(current, series[:index])
        assert [(f["kind"], f["alert"]) for f in found["regressions"]] == \
            [(f["kind"], f["alert"]) for f in current["regressions"]], current["run_id"]
    kinds_by_run = [[f["kind"] for f in history.compare(e, series[:i])["regressions"]] for i, e in enumerate(series)]
    assert kinds_by_run == [[], [], ["alert_regressed"], ["sensor_lost"], []]
