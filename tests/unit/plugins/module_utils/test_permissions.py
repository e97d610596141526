# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""docs/permissions.yml is exactly the list the prerequisites check (prerequisites_permissions and get on the
sensor's DaemonSets), as a ClusterRole. Regenerate it with:
    python tests/unit/plugins/module_utils/test_permissions.py > docs/permissions.yml"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..")
DEFAULTS = os.path.join(ROOT, "roles", "prerequisites", "defaults", "main.yml")
MANIFEST = os.path.join(ROOT, "docs", "permissions.yml")
HEADER = """\
# The permissions a simulation run needs, exactly: generated from prerequisites_permissions and
# prerequisites_sensor_daemonsets (roles/prerequisites/defaults/main.yml); a unit test keeps them equal.
# A ClusterRole, because the run creates its namespace and deletes it at the end: a RoleBinding in it could not
# exist before the run. Bind it to the identity the run uses (docs/permissions.md), e.g.:
#   kubectl create clusterrolebinding defender-attack-simulation \\
#     --clusterrole=defender-attack-simulation --serviceaccount=<namespace>:<service account>
# The names (namespace mdc-simulation, the sensor's DaemonSets) are the defaults: change them here too if you
# change simulation_namespace or prerequisites_sensor_daemonsets.
"""


def actions():
    with open(DEFAULTS) as defaults_file:
        defaults = yaml.safe_load(defaults_file)
    namespace = defaults["simulation_namespace"]
    listed = [dict((key, str(value).replace("{{ simulation_namespace }}", namespace)) for key, value in item.items())
              for item in defaults["prerequisites_permissions"]]
    sensor = [dict(daemonset, verb="get", resource="daemonsets", group="apps")
              for daemonset in defaults["prerequisites_sensor_daemonsets"]]
    return listed + sensor


def cluster_role(reviewed):
    """One rule per (group, resource, names), verbs in the order first needed."""
    rules = {}
    for action in reviewed:
        resource = action["resource"] + ("/" + action["subresource"] if action.get("subresource") else "")
        key = (action.get("group", ""), resource, bool(action.get("name")))
        rule = rules.setdefault(key, {"apiGroups": [key[0]], "resources": [resource], "resourceNames": [],
                                      "verbs": []})
        if action.get("name") and action["name"] not in rule["resourceNames"]:
            rule["resourceNames"].append(action["name"])
        if action["verb"] not in rule["verbs"]:
            rule["verbs"].append(action["verb"])
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "defender-attack-simulation",
                     "labels": {"app.kubernetes.io/part-of": "defender.attack_simulation"}},
        "rules": [dict((k, v) for k, v in rule.items() if v or k != "resourceNames") for rule in rules.values()],
    }


def rendered():
    return HEADER + yaml.safe_dump(cluster_role(actions()), sort_keys=False, default_flow_style=None, width=120)


def test_the_documented_cluster_role_is_exactly_what_the_prerequisites_check():
    with open(MANIFEST) as manifest:
        documented = manifest.read()
    assert yaml.safe_load(documented) == cluster_role(actions()), \
        "docs/permissions.yml is out of date; regenerate it:\n" + rendered()
    assert documented == rendered()


def test_the_list_holds_what_cleanup_and_the_sensor_check_were_missing():
    reviewed = {(a["verb"], a["resource"] + ("/" + a["subresource"] if a.get("subresource") else ""))
                for a in actions()}
    for needed in [("list", "services"), ("list", "networkpolicies"), ("list", "serviceaccounts"),
                   ("list", "secrets"), ("delete", "secrets"), ("get", "secrets"), ("create", "secrets"),
                   ("get", "daemonsets"), ("create", "pods/exec")]:
        assert needed in reviewed, needed


def test_a_name_limits_a_rule_to_the_named_objects_and_nothing_is_granted_twice():
    role = cluster_role(actions())
    namespaces = [rule for rule in role["rules"] if rule["resources"] == ["namespaces"]]
    assert {"resourceNames": ["mdc-simulation"], "verbs": ["get", "patch", "delete", "watch"]}.items() <= namespaces[0].items()
    assert namespaces[1]["verbs"] == ["create"] and "resourceNames" not in namespaces[1]
    pairs = [(g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
             for v in rule["verbs"] if "resourceNames" not in rule]
    assert len(pairs) == len(set(pairs))


if __name__ == "__main__":
    sys.stdout.write(rendered())
