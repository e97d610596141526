# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.defender.attack_simulation.plugins.filter import simulation

FILTER_DIR = os.path.dirname(simulation.__file__)


def test_every_filter_is_documented_beside_the_plugin():
    for name in simulation.FilterModule().filters():
        with open(os.path.join(FILTER_DIR, name + ".yml")) as doc_file:
            doc = yaml.safe_load(doc_file)
        assert doc["DOCUMENTATION"]["name"] == name
        assert doc["EXAMPLES"] and doc["RETURN"]["_value"]


def test_report_filters_refuse_a_report_that_is_not_a_dict():
    with pytest.raises(AnsibleFilterError, match="junit_xml"):
        simulation.junit_xml("report")
    with pytest.raises(AnsibleFilterError, match="simulation_summary"):
        simulation.simulation_summary(None)


def test_redact_filter():
    assert simulation.redact("https://user:pass@somegit.com") == "https://user:p\u2026@somegit.com"
