# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The bound on each request of the modules that call the Kubernetes API through the collection's own client.
    DOCUMENTATION = r"""
options:
  request_timeout:
    description:
      - Seconds each request to the API server may take, connecting and reading the whole answer (wall clock, however
        slowly the server sends it); a request is not retried. An API server that does not answer in time fails the
        module with a message naming the server. A watch is bounded by the module's own timeout instead.
    type: int
    default: 20
"""
