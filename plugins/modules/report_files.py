#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: report_files
short_description: Write a run's report files into a folder on the controller
version_added: 1.1.0
description:
  - Writes each of O(files) into O(dest) on the controller, creating O(dest) when it is missing. Each file is
    written to a temporary file beside it and renamed into place, so a reader never sees half a report.
  - An action plugin that works in the controller's worker process, one task for all the files of a run, whatever
    the host's connection (the hosts of a simulation are clusters; their reports are the controller's).
author:
  - Contributors to defender.attack_simulation (!UNKNOWN)
extends_documentation_fragment:
  - defender.attack_simulation._attributes
attributes:
  check_mode:
    support: full
    details: In check mode nothing is written; C(changed) says whether something would be.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: A file that already has the content is left alone.
options:
  dest:
    description: The folder, on the controller.
    type: path
    required: true
  files:
    description: The files to write.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The file's name in O(dest); a name with a C(/), or V(.) or V(..), is refused.
        type: str
        required: true
      content:
        description: The file's content, as text (UTF-8).
        type: str
        required: true
  mode:
    description: The files' permissions.
    type: raw
    default: "0644"
  dir_mode:
    description: The permissions of O(dest) when this task creates it.
    type: raw
    default: "0755"
"""

EXAMPLES = r"""
- name: Write the report of a run
  defender.attack_simulation.report_files:
    dest: "{{ playbook_dir }}/reports"
    files:
      - name: defender-simulation-aks-prod-20261129-104431-enui4l.json
        content: "{{ simulation_report | to_nice_json }}"
      - name: defender-simulation-aks-prod-20261129-104431-enui4l.xml
        content: "{{ simulation_report | defender.attack_simulation.junit_xml }}"
"""

RETURN = r"""
paths:
  description: The files' paths, in the order of O(files).
  returned: always
  type: list
  elements: str
  sample: [/home/me/reports/defender-simulation-aks-prod-20261129-104431-enui4l.json]
written:
  description: The files whose content changed (or would change, in check mode).
  returned: always
  type: list
  elements: str
"""
