# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Runs M(defender.attack_simulation.cluster_info) in the controller's worker on a local connection (plugin_utils/_in_process.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.defender.attack_simulation.plugins.modules import cluster_info
from ansible_collections.defender.attack_simulation.plugins.plugin_utils._in_process import ModuleAction


class ActionModule(ModuleAction):
    MODULE = cluster_info
