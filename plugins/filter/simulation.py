# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters for simulation runs: redaction, the run summary and JUnit XML.

The documentation of each filter is in the YAML file of its name beside this one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.defender.attack_simulation.plugins.module_utils import _redact, _report, _verdict


def redact(text):
    return _redact.redact(text)


def simulation_summary(report):
    try:
        return _report.simulation_summary(report)
    except _report.ReportError as exc:
        raise AnsibleFilterError("simulation_summary: %s" % exc)


def junit_xml(report):
    try:
        return _report.junit_xml(report)
    except _report.ReportError as exc:
        raise AnsibleFilterError("junit_xml: %s" % exc)


def run_outcome(report, fail_on_technique_failure=True, on_missing="fail"):
    try:
        return _report.run_outcome(report, _verdict.tolerated_kinds(boolean(fail_on_technique_failure), on_missing))
    except _report.ReportError as exc:
        raise AnsibleFilterError("run_outcome: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {
            "redact": redact,
            "simulation_summary": simulation_summary,
            "junit_xml": junit_xml,
            "run_outcome": run_outcome,
        }
