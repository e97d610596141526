#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: namespace_release
short_description: Delete what a simulation run created, then its namespace, and say what was left behind
version_added: 1.0.0
description:
  - The counterpart of M(defender.attack_simulation.namespace_claim).
  - Deletes the objects carrying the label C(app.kubernetes.io/managed-by=defender.attack_simulation) in the
    namespace (pods first and at once, with a grace period of 0, since nothing in them needs saving), then the
    namespace itself when it carries that label too, and waits, by watching, for it to be gone.
  - Never touches a namespace without the label, nor one held by another run than O(run_id) (and O(claim_token)).
  - Every delete is conditional on what was read (Kubernetes' delete preconditions). Objects are deleted by uid (and
    resourceVersion, but for pods), the namespace by uid and resourceVersion, and the namespace is read again
    after its objects are listed. A namespace another run claims while the release runs, and that run's objects,
    are never deleted; the release then ends with RV(status=skipped).
  - Refuses to delete a namespace that holds objects this collection did not create (pods, services, network
    policies, service accounts, secrets, config maps, persistent volume claims without the label, other than those
    Kubernetes puts in every namespace), unless O(force), since deleting the namespace would delete them too. The run's
    own objects are deleted all the same, and the result names the others. Other kinds are not looked at.
  - A namespace an administrator provided (labelled C(defender.attack-simulation/provided=true)) is never deleted;
    the run's objects are, then its claim (the Lease C(mdc-simulation-claim)), when that claim is O(run_id)'s;
    nothing else there is looked at.
  - Secrets are left unlisted when the credentials may not list them (only runs with registry credentials need
    that permission, C(docs/permissions.md)).
  - Waits for the namespace by watching it, or, when the credentials may not watch it, by reading it again.
  - Retries transient API errors (429, 5xx, connection errors) until O(timeout), which bounds the whole release
    by the wall clock, however slowly the API server answers.
  - The outcome is in RV(status), RV(left_behind) and RV(message); the module fails when RV(status) is
    V(failed), with those values in the result.
author:
  - Contributors to defender.attack_simulation (!UNKNOWN)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - defender.attack_simulation._attributes
  - defender.attack_simulation._attributes.actiongroup_k8s
  - defender.attack_simulation.kube_request
attributes:
  check_mode:
    support: full
    details: Lists what would be deleted; deletes nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: A second release finds the namespace gone and reports no change.
options:
  name:
    description: The namespace.
    type: str
    required: true
  run_id:
    description:
      - Release the namespace only while this run holds it (its run-id label); otherwise leave it, with
        RV(status=skipped).
      - Omit to release whatever run holds it.
    type: str
  claim_token:
    description:
      - Release the namespace only while it carries this claim token (the one given to
        M(defender.attack_simulation.namespace_claim)), so that another run with the same run id is never
        touched; otherwise leave it, with RV(status=skipped).
    type: str
  refuse_live:
    description:
      - Leave a namespace held by a run that is still alive (as M(defender.attack_simulation.namespace_claim)
        judges it), with RV(status=failed) and a message naming that run; judged on the release's own read, so a
        run that claims the namespace just before the release is never deleted.
    type: bool
    default: false
  force:
    description: Delete the namespace even when it holds objects this collection did not create.
    type: bool
    default: false
  timeout:
    description: Seconds the whole release may take, retries and the wait for the namespace included.
    type: int
    default: 180
  wait:
    description: Wait until the namespace is gone. Without waiting, it is left terminating, with nothing of the run in it.
    type: bool
    default: true
requirements:
  - kubernetes >= 24.2.0
"""

EXAMPLES = r"""
- name: Release the run's namespace
  defender.attack_simulation.namespace_release:
    name: mdc-simulation
    run_id: "{{ simulation_run_id }}"
    claim_token: "{{ simulation_claim_token }}"
  register: release
"""

RETURN = r"""
status:
  description: V(done) (nothing of the run is left), V(failed) (something is left) or V(skipped) (not this run's).
  returned: always
  type: str
  sample: done
left_behind:
  description: What is left, as C(<Kind>/<namespace>/<name>), the namespace itself as C(Namespace//<name>).
  returned: always
  type: list
  elements: str
  sample: [Namespace//mdc-simulation, ConfigMap/mdc-simulation/their-data]
message:
  description: What happened, naming the object and the reason when something is left.
  returned: always
  type: str
deleted:
  description: What this call deleted (or would delete, in check mode).
  returned: always
  type: list
  elements: str
  sample: [Pod/mdc-simulation/mdc-simulation-victim, Namespace//mdc-simulation]
"""

from ansible_collections.kubernetes.core.plugins.module_utils.ansiblemodule import AnsibleModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.defender.attack_simulation.plugins.module_utils._namespace_modes import ModeRelease
from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import (
    KubeError, api_client, auth_argument_spec, failures_told,
)
from ansible_collections.defender.attack_simulation.plugins.module_utils._redact import redact_message

try:
    from kubernetes.client import CoordinationV1Api, CoreV1Api, NetworkingV1Api
    from kubernetes.watch import Watch
except ImportError:  # reported by AnsibleK8SModule's own check of the kubernetes library
    CoordinationV1Api = CoreV1Api = NetworkingV1Api = Watch = None


def watch_stream(*args, **kwargs):
    return Watch().stream(*args, **kwargs)


def argument_spec():
    spec = auth_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        run_id=dict(type="str"),
        claim_token=dict(type="str", no_log=False),
        refuse_live=dict(type="bool", default=False),
        force=dict(type="bool", default=False),
        timeout=dict(type="int", default=180),
        wait=dict(type="bool", default=True),
    )
    return spec


def execute_module(module):
    params = module.params
    try:
        client = api_client(module)
    except KubeError as exc:
        result = dict(status="failed", left_behind=["Namespace//%s" % params["name"]], deleted=[],
                      message="%s; namespace %s and its objects may be left" % (exc, params["name"]))
    else:
        result = ModeRelease(CoreV1Api(client), NetworkingV1Api(client), CoordinationV1Api(client), params["name"],
                             run_id=params["run_id"], force=params["force"], timeout=params["timeout"],
                             wait=params["wait"], check_mode=module.check_mode, watch=watch_stream,
                             claim_token=params["claim_token"], refuse_live=params["refuse_live"]).run()
    changed = bool(result["deleted"])
    result["message"] = redact_message(result["message"], params)  # it may quote what the API server said
    if result["status"] != "done":  # told even when the caller goes on (the cleanup role does)
        module.warn("cleanup %s: %s" % (result["status"], result["message"]))
    if result["status"] == "failed":
        module.fail_json(msg=result["message"], changed=changed, **result)
    module.exit_json(changed=changed, **result)


def main():
    module = AnsibleK8SModule(module_class=AnsibleModule, argument_spec=argument_spec(), supports_check_mode=True)
    with failures_told(module):
        execute_module(module)


if __name__ == "__main__":
    main()
