# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filter run_artifacts; its documentation is in run_artifacts.yml beside this file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.defender.attack_simulation.plugins.module_utils import _artifacts


def run_artifacts(report, host, report_path=None, single=False):
    # The report holds the cluster's output: whatever reads the artifacts must never render it as a template.
    report = _artifacts.plain(report)
    if single:
        return wrap_var(_artifacts.single_run_artifacts(report, report_path or None))
    return wrap_var(_artifacts.run_artifacts(report, str(host), report_path or None))


class FilterModule(object):
    def filters(self):
        return {"run_artifacts": run_artifacts}
