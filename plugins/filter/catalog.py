# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.defender.attack_simulation.plugins.module_utils import _catalog
from ansible_collections.defender.attack_simulation.plugins.module_utils._aks import aks_identity


def technique_info(technique_id):
    try:
        return _catalog.technique(technique_id)
    except KeyError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"technique_info": technique_info, "aks_identity": aks_identity}
