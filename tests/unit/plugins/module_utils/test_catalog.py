# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os
import re

import pytest

from ansible_collections.defender.attack_simulation.plugins.module_utils import _catalog


def test_all_expands_in_the_original_order():
    assert _catalog.normalize_scenarios(["all"]) == ["recon", "lateral_movement", "secrets", "crypto", "ti_domain"]


def test_all_leaves_out_webshell_but_webshell_can_be_added():
    assert "webshell" not in _catalog.normalize_scenarios("all")
    assert _catalog.normalize_scenarios(["all", "webshell"])[-2:] == ["webshell", "ti_domain"]


@pytest.mark.parametrize("alias, canonical", [("lateral-mov", "lateral_movement"), ("ti-domain", "ti_domain")])
def test_original_spellings_are_accepted(alias, canonical):
    assert _catalog.normalize_scenarios([alias]) == [canonical]


def test_requested_names_come_back_in_run_order_once():
    assert _catalog.normalize_scenarios("crypto,recon,crypto") == ["recon", "crypto"]


@pytest.mark.parametrize("requested", [["bitcoin"], [], ["recon", "lateral"]])
def test_unknown_or_no_scenario_is_refused_with_the_choices(requested):
    with pytest.raises(_catalog.UnknownScenarioError) as exc:
        _catalog.normalize_scenarios(requested)
    for choice in _catalog.SCENARIO_CHOICES:
        assert choice in str(exc.value)


def test_every_scenario_has_a_title_and_techniques():
    for scenario in _catalog.SCENARIOS:
        assert _catalog.SCENARIO_TITLES[scenario]
        assert _catalog.techniques_for([scenario])


def test_technique_ids_are_unique_and_prefixed_by_their_scenario():
    ids = [t["id"] for t in _catalog.TECHNIQUES]
    assert len(ids) == len(set(ids))
    for tech in _catalog.TECHNIQUES:
        assert tech["id"].split(".", maxsplit=1)[0] == tech["scenario"]
        assert re.match(r"^T\d{4}(\.\d{3})?$", tech["mitre"]), tech["id"]


def test_every_alert_is_raised_by_techniques_of_its_own_scenarios():
    for alert in _catalog.ALERTS:
        assert alert["triggered_by"], alert["display_name"]
        assert alert["latency"] in (_catalog.NEAR_REAL_TIME, _catalog.UP_TO_ONE_HOUR)
        for technique_id in alert["triggered_by"]:
            assert _catalog.technique(technique_id)["scenario"] in alert["scenarios"], technique_id


def test_microsoft_table_of_alerts_per_scenario():
    # The table in Microsoft's documentation of the simulation tool.
    webshell = "Possible Web Shell activity detected"
    expected = {
        "recon": {webshell, "Suspicious Kubernetes service account operation detected",
                  "Network scanning tool detected",
                  "Suspicious access to workload identity token or service account token detected"},
        "lateral_movement": {webshell, "Access to cloud metadata service detected"},
        "secrets": {webshell, "Sensitive files access detected", "Possible secret reconnaissance detected"},
        "crypto": {webshell, "Kubernetes CPU optimization detected",
                   "Command within a container accessed ld.so.preload", "Possible Cryptocoinminer download detected",
                   "A drift binary detected executing in the container",
                   "Digital currency mining related behavior detected"},
        "webshell": {webshell},
        "ti_domain": {"Communication with test domain identified by threat intelligence"},
    }
    for scenario, names in expected.items():
        assert set(a["display_name"] for a in _catalog.alerts_for([scenario])) == names, scenario


def test_only_the_service_account_operation_takes_up_to_an_hour():
    slow = [a["display_name"] for a in _catalog.ALERTS if a["latency"] == _catalog.UP_TO_ONE_HOUR]
    assert slow == ["Suspicious Kubernetes service account operation detected"]


def test_the_drift_alert_names_its_condition():
    drift = [a for a in _catalog.ALERTS if a["condition"]]
    assert [a["display_name"] for a in drift] == ["A drift binary detected executing in the container"]
    assert "drift policy" in drift[0]["condition"]


def test_alerts_for_narrows_triggers_to_the_chosen_scenarios():
    webshell_alert = _catalog.alerts_for(["crypto"])[0]
    assert webshell_alert["scenarios"] == ["crypto"]
    assert all(t.startswith("crypto.") for t in webshell_alert["triggered_by"])


def test_alerts_for_does_not_change_the_catalog():
    _catalog.alerts_for(["recon"])[0]["triggered_by"].append("x")
    assert "x" not in _catalog.ALERTS[0]["triggered_by"]


@pytest.mark.parametrize("seen", ["possible web shell activity detected", "Possible Web Shell Activity Detected",
                                  "Possible Web Shell activity detected (Preview)"])
def test_alert_matches_by_display_name_ignoring_case_and_preview(seen):
    assert _catalog.alert_matches(_catalog.ALERTS[0], display_name=seen)


def test_alert_matches_older_spelling_and_documented_type():
    miner = [a for a in _catalog.ALERTS if a["alert_type"] == "K8S.NODE_CryptoCoinMinerDownload"][0]
    assert _catalog.alert_matches(miner, display_name="Possible Crypto miners download detected")
    assert _catalog.alert_matches(miner, display_name="something else", alert_type="k8s.node_cryptocoinminerdownload")
    assert not _catalog.alert_matches(miner, display_name="Possible Web Shell activity detected")


def test_unknown_technique_is_named():
    with pytest.raises(KeyError, match="crypto.nope"):
        _catalog.technique("crypto.nope")


def test_generated_scenario_pages_are_up_to_date():
    # tests/render_docs.py writes docs/scenarios/*.md from the catalog; a catalog change must regenerate them.
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
    spec = importlib.util.spec_from_file_location("render_docs", os.path.join(root, "tests", "render_docs.py"))
    render_docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(render_docs)
    assert render_docs.stale_pages(render_docs.pages(render_docs.load_catalog(), render_docs.load_signals())) == []
