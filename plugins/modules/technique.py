# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: technique
short_description: Run one attack technique through the attacker pod and the victim's web shell, and record it
version_added: 1.1.0
description:
  - Runs C(curl) in the attacker pod, through the Kubernetes API's exec websocket, to send the technique to the
    victim's web shell (C(ws.php)) as Microsoft's attacker does, with C(cmd=echo <base64>| base64 -d| bash), so
    that the technique runs in the victim under the web server, C(sh -c) and C(bash). The web shell scenario's
    command is exactly C(whoami).
  - An action plugin that works in the controller's worker process (no module is sent anywhere), so that one
    technique costs one task. The connection options are those of kubernetes.core modules; C(module_defaults)
    for the groups C(group/kubernetes.core.k8s) and C(group/defender.attack_simulation.k8s) apply, and
    C(K8S_AUTH_*) environment variables are read when an option is not given.
  - The time is bounded by O(timeout) (curl's C(-m) in the attacker, and the controller's wait).
  - Prints one line per technique (host, id, status, duration, first line of its output or the reason), returns
    the technique record, and keeps the run's records in the fact C(techniques_records) (by O(run_id)).
  - The record's output is redacted before it leaves the plugin (tokens, bearer headers, credentials in URLs,
    cloud keys cut short; see P(defender.attack_simulation.redact#filter)), so the raw answer never
    reaches Ansible's output, at any verbosity.
  - A technique that fails or hits its time bound is recorded (V(failed), V(timed_out)) and the task is ok, so
    the run goes on; the task fails only when the web shell or the attacker cannot be reached (V(unreachable)),
    with the web shell URL and curl's error.
author:
  - Contributors to defender.attack_simulation (!UNKNOWN)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - defender.attack_simulation.kube_request
  - defender.attack_simulation._attributes
  - defender.attack_simulation._attributes.actiongroup_k8s
attributes:
  check_mode:
    support: full
    details: In check mode nothing is sent; the record says V(skipped).
  diff_mode:
    support: none
  idempotent:
    support: none
    details: Every run executes the technique in the victim again, and reports a change.
options:
  id:
    description: The technique id from the catalog, for example V(crypto.miner_run).
    type: str
    required: true
  script:
    description: The technique's script, run by C(bash) in the victim (ignored for V(webshell.whoami), whose
      command is C(whoami)).
    type: str
    required: true
  namespace:
    description: The simulation's namespace.
    type: str
    required: true
  pod:
    description: The attacker pod.
    type: str
    default: mdc-simulation-attacker
  container:
    description: The attacker container.
    type: str
    default: mdc-simulation-attacker
  webshell_url:
    description: The victim's web shell, as the attacker reaches it.
    type: str
    default: http://mdc-simulation-victim/ws.php
  timeout:
    description: Seconds the technique may take; a string of digits is accepted.
    type: int
    default: 60
  run_id:
    description: The run the record belongs to, the key of the fact C(techniques_records).
    type: str
    default: ""
requirements:
  - kubernetes (Python library) on the controller
"""

EXAMPLES = r"""
- name: crypto | run the downloaded xmrig
  defender.attack_simulation.technique:
    id: crypto.miner_run
    script: "{{ lookup('ansible.builtin.file', 'crypto/miner_run.sh') }}"
    namespace: mdc-simulation
    timeout: 60
    run_id: "{{ simulation_run_id }}"
"""

RETURN = r"""
attempts:
  description:
    - How many times the attacker sent the request; more than one when its curl could not resolve or connect to the
      victim (the web shell saw none of those), which happens for a few seconds after the victim is replaced while
      the cluster's DNS still answers the old pod's address. Tried again for up to 15 seconds, then V(unreachable).
    - V(0) in check mode.
  returned: always
  type: int
  sample: 1
record:
  description: The technique's record, redacted.
  returned: always
  type: dict
  contains:
    id:
      description: The technique id.
      type: str
      sample: crypto.miner_run
    scenario:
      description: The technique's scenario.
      type: str
      sample: crypto
    technique:
      description: What the technique does, from the catalog.
      type: str
    mitre:
      description: The MITRE ATT&CK technique id.
      type: str
      sample: T1496
    command:
      description: The script sent to the web shell.
      type: str
    status:
      description: The outcome.
      type: str
      choices: [passed, failed, timed_out, unreachable, skipped]
    rc:
      description: The technique's exit status in the victim; null when it did not report one.
      type: int
    started:
      description: When the exec started, on the controller's clock, ISO 8601 UTC with milliseconds.
      type: str
      sample: "2026-11-29T08:00:00.123Z"
    finished:
      description: When the exec ended, on the controller's clock, ISO 8601 UTC with milliseconds.
      type: str
      sample: "2026-11-29T08:00:00.201Z"
    duration:
      description: Seconds the web shell request took, measured by curl in the attacker.
      type: float
      sample: 0.04
    output:
      description: The tail of the web shell's answer (40 lines, 4000 characters), secrets cut short.
      type: str
    message:
      description: Why the technique failed, timed out, was unreachable or skipped; null when it passed.
      type: str
msg:
  description: The one line printed for the technique, or the reason the run stops.
  returned: always
  type: str
  sample: "localhost | webshell.whoami passed in 0.02 s: nginx"
"""
