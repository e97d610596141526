# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The role argument specs list the catalog's scenario choices: the catalog stays the one source of truth."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import yaml

from ansible_collections.defender.attack_simulation.plugins.module_utils import _catalog

ROLES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles")


def test_prerequisites_accepts_exactly_the_catalogs_scenarios():
    with open(os.path.join(ROLES, "prerequisites", "meta", "argument_specs.yml")) as spec_file:
        spec = yaml.safe_load(spec_file)
    choices = spec["argument_specs"]["main"]["options"]["simulation_scenarios"]["choices"]
    assert sorted(choices) == sorted(_catalog.SCENARIO_CHOICES)


def test_every_technique_has_its_script_and_its_task():
    for technique in _catalog.TECHNIQUES:
        scenario, name = technique["id"].split(".")
        assert os.path.isfile(os.path.join(ROLES, "techniques", "files", scenario, name + ".sh")), technique["id"]
        with open(os.path.join(ROLES, "techniques", "tasks", scenario + ".yml")) as tasks:
            assert "techniques_id: %s\n" % technique["id"] in tasks.read()
