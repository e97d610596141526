# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
import yaml

from ansible.module_utils.testing import patch_module_args

from ansible_collections.defender.attack_simulation.plugins.module_utils import _catalog
from ansible_collections.defender.attack_simulation.plugins.modules import expected_alerts


def run(capsys, **args):
    """Run the module with ``args``; returns (rc, result)."""
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exc:
            expected_alerts.main()
    return exc.value.code, json.loads(capsys.readouterr().out)


def passed(technique_id, started="2026-11-28T10:00:05.000Z"):
    return dict(id=technique_id, status="passed", started=started)


@pytest.mark.parametrize("scenario", _catalog.SCENARIOS)
def test_every_scenarios_alerts_equal_the_catalogs(capsys, scenario):
    rc, result = run(capsys, scenarios=[scenario])
    assert rc == 0
    assert result["changed"] is False
    assert result["scenarios"] == [scenario]
    assert [a["display_name"] for a in result["alerts"]] == [
        a["display_name"] for a in _catalog.ALERTS if scenario in a["scenarios"]]
    assert [t["id"] for t in result["techniques"]] == [t["id"] for t in _catalog.TECHNIQUES if t["scenario"] == scenario]
    for alert in result["alerts"]:
        assert "triggered" not in alert


def test_all_expands_in_order(capsys):
    rc, result = run(capsys, scenarios="all")
    assert result["scenarios"] == ["recon", "lateral_movement", "secrets", "crypto", "ti_domain"]
    assert result["techniques"][0]["id"] == "recon.access_review"
    assert result["techniques"][-1]["id"] == "ti_domain.test_domain"


def test_aliases_are_accepted(capsys):
    rc, result = run(capsys, scenarios=["lateral-mov", "ti-domain"])
    assert rc == 0
    assert result["scenarios"] == ["lateral_movement", "ti_domain"]


def test_a_comma_separated_string_is_accepted(capsys):
    rc, result = run(capsys, scenarios="crypto,recon")
    assert result["scenarios"] == ["recon", "crypto"]


def test_unknown_scenario_is_refused_with_the_choices(capsys):
    rc, result = run(capsys, scenarios=["bitcoin"])
    assert rc == 1
    assert result["failed"] is True
    assert "bitcoin" in result["msg"]
    for choice in _catalog.SCENARIO_CHOICES:
        assert choice in result["msg"]


def test_alert_fields(capsys):
    rc, result = run(capsys, scenarios=["crypto"])
    drift = [a for a in result["alerts"] if a["display_name"] == "A drift binary detected executing in the container"][0]
    assert drift["alert_type"] == "K8S.NODE_DriftDetection"
    assert drift["severity"] == "High"
    assert drift["latency"] == "near_real_time"
    assert "drift policy" in drift["condition"]
    assert drift["triggered_by"] == ["crypto.miner_run"]
    webshell = result["alerts"][0]
    assert webshell["alert_type"] is None
    assert webshell["closest_documented_type"] == "K8S.NODE_Webshell"


def test_results_tell_which_alerts_were_triggered_and_when(capsys):
    results = [
        passed("crypto.cpu_optimization", "2026-11-28T10:00:02.000Z"),
        dict(id="crypto.ld_so_preload", status="failed", started="2026-11-28T10:00:03.000Z"),
        passed("crypto.miner_download", "2026-11-28T10:00:04.000Z"),
        dict(id="crypto.miner_run", status="unreachable", started="2026-11-28T10:00:05.000Z"),
    ]
    rc, result = run(capsys, scenarios=["crypto"], results=results)
    alerts = dict((a["display_name"], a) for a in result["alerts"])
    assert alerts["Possible Web Shell activity detected"]["triggered"] is True
    assert alerts["Possible Web Shell activity detected"]["triggered_at"] == "2026-11-28T10:00:02.000Z"
    assert alerts["Command within a container accessed ld.so.preload"]["triggered"] is False
    assert alerts["Command within a container accessed ld.so.preload"]["triggered_at"] is None
    mining = alerts["Digital currency mining related behavior detected"]
    assert mining["triggered"] is True
    assert mining["trigger_status"] == {"crypto.miner_download": "passed", "crypto.miner_run": "unreachable"}
    assert alerts["A drift binary detected executing in the container"]["triggered"] is False


def test_a_technique_without_a_record_does_not_trigger(capsys):
    rc, result = run(capsys, scenarios=["recon"], results=[])
    assert all(a["triggered"] is False for a in result["alerts"])
    assert result["alerts"][1]["trigger_status"] == {"recon.access_review": None}


def test_results_outside_the_scenarios_are_ignored_with_a_warning(capsys, monkeypatch):
    # Under pytest the warning goes to the controller's display, not into the result: catch it at the source.
    warnings = []
    monkeypatch.setattr(expected_alerts.AnsibleModule, "warn", lambda self, msg: warnings.append(msg))
    rc, result = run(capsys, scenarios=["webshell"], results=[passed("webshell.whoami"), passed("crypto.miner_run")])
    assert rc == 0
    assert result["alerts"][0]["triggered"] is True
    assert warnings == ["results for techniques outside scenarios webshell ignored: crypto.miner_run"]


def test_a_record_with_a_bad_status_is_refused(capsys):
    rc, result = run(capsys, scenarios=["webshell"], results=[dict(id="webshell.whoami", status="ok")])
    assert rc == 1
    assert "results[0] (webshell.whoami)" in result["msg"]


def test_check_mode_gives_the_same_result(capsys):
    rc, normal = run(capsys, scenarios=["secrets"])
    rc, checked = run(capsys, scenarios=["secrets"], _ansible_check_mode=True)
    normal.pop("invocation", None)
    checked.pop("invocation", None)
    assert checked == normal


def test_documented_choices_match_the_catalog():
    documented = yaml.safe_load(expected_alerts.DOCUMENTATION)["options"]["scenarios"]["choices"]
    assert documented == list(_catalog.SCENARIO_CHOICES)
