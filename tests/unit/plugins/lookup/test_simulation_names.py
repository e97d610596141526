# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleLookupError

from ansible_collections.defender.attack_simulation.plugins.lookup.simulation_names import LookupModule


def test_without_terms_every_name_as_in_microsofts_chart():
    names = LookupModule().run([])[0]
    assert names["attacker"] == "mdc-simulation-attacker"
    assert names["victim"] == "mdc-simulation-victim"
    assert names["managed_by_selector"] == "app.kubernetes.io/managed-by=defender.attack_simulation"
    assert names["run_id_label"] == "defender.attack-simulation/run-id"


def test_terms_give_their_values_in_order():
    assert LookupModule().run(["victim", "attacker"]) == ["mdc-simulation-victim", "mdc-simulation-attacker"]


def test_an_unknown_term_is_named():
    with pytest.raises(AnsibleLookupError, match="unknown name.* attackr"):
        LookupModule().run(["attackr"])
