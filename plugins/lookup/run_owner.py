# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: run_owner
short_description: Who runs this playbook, as C(host:pid) of the ansible-playbook process
version_added: 1.0.0
description:
  - Returns the controller's host name and the process id of the C(ansible-playbook) (or C(ansible-runner))
    process that runs the play.
  - M(defender.attack_simulation.namespace_claim) records it, so that a later run on the same controller can
    tell a run that was killed (its process is gone) from one that is still running.
author:
  - Contributors to defender.attack_simulation (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Show who owns this run
  ansible.builtin.debug:
    msg: "{{ lookup('defender.attack_simulation.run_owner') }}"
"""

RETURN = r"""
_raw:
  description: One string, C(host:pid).
  type: list
  elements: str
"""

import os
import socket

from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        # Lookups run in a worker process forked by ansible-playbook: its parent is the playbook run.
        return ["%s:%d" % (socket.gethostname(), os.getppid())]
