# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.defender.attack_simulation.plugins.module_utils import _alert_filter
from ansible_collections.defender.attack_simulation.tests.unit.plugins.module_utils.alert_samples import (
    CLUSTER,
    MINER,
    MINING,
    OTHER,
    raw_alert,
)


def test_flatten_alert_keeps_what_a_user_needs():
    flat = _alert_filter.flatten_alert(raw_alert("a1", "Possible Crypto miners download detected (Preview)",
                                                 "2026-11-28T10:16:00Z"))
    assert flat["display_name"] == "Possible Crypto miners download detected (Preview)"
    assert flat["catalog_name"] == MINER
    assert flat["resource_ids"] == [CLUSTER]
    assert flat["compromised_entity"] == "aks-prod-1"
    assert flat["entities"] == 1
    assert flat["alert_uri"].endswith("/a1")


def test_filter_alerts_by_cluster_time_and_name():
    alerts = [_alert_filter.flatten_alert(a) for a in [
        raw_alert("mine", MINER.upper(), "2026-11-28T10:16:00Z", cluster=CLUSTER.lower()),
        raw_alert("other-cluster", MINER, "2026-11-28T10:16:00Z", cluster=OTHER, entity="aks-test-9"),
        raw_alert("too-old", MINER, "2026-11-28T09:00:00Z"),
        raw_alert("other-name", MINING, "2026-11-28T10:16:00Z"),
    ]]
    kept = _alert_filter.filter_alerts(alerts, since="2026-11-28T10:15:00Z", cluster_resource_id=CLUSTER,
                                       display_names=[MINER])
    assert [a["name"] for a in kept] == ["mine"]
    by_entity = _alert_filter.filter_alerts(alerts, cluster_name="AKS-TEST-9")
    assert [a["name"] for a in by_entity] == ["other-cluster"]


def test_filter_by_catalog_name_also_matches_the_documented_type():
    typed = _alert_filter.flatten_alert(raw_alert("t", "Renamed by Microsoft", "2026-11-28T10:16:00Z",
                                                  alert_type="K8S.NODE_CryptoCoinMinerDownload"))
    assert _alert_filter.filter_alerts([typed], display_names=[MINER]) == [typed]
    assert _alert_filter.filter_alerts([typed], display_names=[MINING]) == []


def test_malformed_alerts_are_left_out_and_described():
    good = raw_alert("good", MINER, "2026-11-28T10:16:00Z")
    bad_time = raw_alert("bad-time", MINER, "2026-11-28T10:16:00Z", start="yesterday")
    flat, malformed = _alert_filter.usable_alerts([good, bad_time, "not an alert", {"properties": []}])
    assert [a["name"] for a in flat] == ["good"]
    assert [m["id"] for m in malformed] == [bad_time["id"], None, None]
    assert "start_time: 'yesterday' is not an ISO 8601 timestamp" in malformed[0]["reason"]
    assert "alert 2 is not an alert resource" in malformed[1]["reason"]


def test_an_alert_whose_time_overflows_is_left_out_and_the_others_kept():
    good = raw_alert("good", MINER, "2026-11-28T10:16:00Z")
    odd = raw_alert("odd", MINER, "2026-11-28T10:16:00Z", start="0001-01-01T00:00:00+01:00")
    flat, malformed = _alert_filter.usable_alerts([odd, good])
    assert [a["name"] for a in flat] == ["good"]
    assert [m["id"] for m in malformed] == [odd["id"]]
    assert "start_time: '0001-01-01T00:00:00+01:00' is not a valid time" in malformed[0]["reason"]
