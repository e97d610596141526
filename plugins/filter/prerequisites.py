# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The prerequisites role's judgement (module_utils/_prerequisites.py), as filters the role calls."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.defender.attack_simulation.plugins.module_utils._prerequisites import before_cluster, verdict


def prerequisites_input(variables):
    return before_cluster(dict(variables or {}))


def prerequisites_verdict(variables, cluster, access):
    return verdict(dict(variables or {}), cluster, access)


class FilterModule(object):
    def filters(self):
        return {"prerequisites_input": prerequisites_input, "prerequisites_verdict": prerequisites_verdict}
