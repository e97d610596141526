# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The expected_alerts filter gives the module's plan, from the same catalog, and refuses what the module refuses."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.defender.attack_simulation.plugins.filter import catalog
from ansible_collections.defender.attack_simulation.plugins.module_utils._expected import expected_alerts

CRYPTO = ["crypto.cpu_optimization", "crypto.ld_so_preload", "crypto.miner_download", "crypto.miner_run"]


def test_every_catalog_filter_is_documented_beside_the_plugin():
    for name in catalog.FilterModule().filters():
        with open(os.path.join(os.path.dirname(catalog.__file__), name + ".yml")) as doc_file:
            assert yaml.safe_load(doc_file)["DOCUMENTATION"]["name"] == name


def test_the_plan_of_a_scenario_is_the_modules_plan():
    plan = catalog.expected_alerts("crypto")
    assert plan["scenarios"] == ["crypto"]
    assert [t["id"] for t in plan["techniques"]] == CRYPTO
    module_plan = expected_alerts(["crypto"])
    assert plan["alerts"] == module_plan["alerts"] and plan["alerts"]


def test_a_comma_separated_string_and_the_originals_spellings_are_expanded_in_catalog_order():
    assert catalog.expected_alerts("ti-domain,recon")["scenarios"] == ["recon", "ti_domain"]


def test_results_tell_which_alerts_were_triggered():
    results = [dict(id=i, status="passed" if i != "crypto.miner_run" else "failed", started="2026-11-29T14:00:00.000Z")
               for i in CRYPTO]
    alerts = catalog.expected_alerts(["crypto"], results)["alerts"]
    assert all("triggered" in a for a in alerts)
    for alert in alerts:
        assert alert["triggered"] == any(results[CRYPTO.index(t)]["status"] == "passed" for t in alert["triggered_by"])


@pytest.mark.parametrize("scenarios, named", [("mining", "'mining'"), ([], "(none given)")])
def test_an_unknown_scenario_is_refused_naming_it(scenarios, named):
    with pytest.raises(AnsibleFilterError, match=r"expected_alerts: unknown scenario %s" % named.replace("(", r"\(").replace(")", r"\)")):
        catalog.expected_alerts(scenarios)
