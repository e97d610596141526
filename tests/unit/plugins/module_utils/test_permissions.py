# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The permissions of each mode: what the prerequisites review is what the documented manifests grant, no more,
and docs/permissions.md with docs/permissions/*.yml are generated from that one list (python tests/render_docs.py)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os

import pytest
import yaml

from ansible_collections.defender.attack_simulation.plugins.module_utils import _permissions as permissions

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..")
NAMESPACE = "mdc-simulation"
SENSORS = [{"namespace": "kube-system", "name": "microsoft-defender-collector-ds"},
           {"namespace": "mdc", "name": "microsoft-defender-collectors-ds"}]
NAMESPACED = {"pods", "pods/exec", "secrets", "serviceaccounts", "services", "networkpolicies", "leases",
              "configmaps", "persistentvolumeclaims"}


def render_docs():
    spec = importlib.util.spec_from_file_location("render_docs", os.path.join(ROOT, "tests", "render_docs.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def actions(mode, **options):
    return permissions.actions(mode, NAMESPACE, SENSORS, **options)


def pairs(found):
    return {(a["verb"], a["resource"] + ("/" + a["subresource"] if a["subresource"] else ""), a["namespace"])
            for a in found}


def granted_by(objects, action):
    """True when a Role/ClusterRole of ``objects`` bound in them allows ``action``, as RBAC reads its rules."""
    resource = action["resource"] + ("/" + action["subresource"] if action["subresource"] else "")
    for role in objects:
        if role["kind"] not in ("Role", "ClusterRole"):
            continue
        if role["kind"] == "Role" and role["metadata"]["namespace"] != action["namespace"]:
            continue
        bound = [b for b in objects if b["kind"].endswith("Binding") and b["roleRef"]["name"] == role["metadata"]["name"]
                 and b["roleRef"]["kind"] == role["kind"]]
        for rule in role["rules"] if bound else []:
            if (action["group"] in rule["apiGroups"] and resource in rule["resources"]
                    and action["verb"] in rule["verbs"]
                    and ("resourceNames" not in rule or action["name"] in rule["resourceNames"])):
                return True
    return False


@pytest.mark.parametrize("mode", permissions.MODES)
@pytest.mark.parametrize("registry", [False, True], ids=["no-registry", "registry"])
def test_the_manifests_of_each_mode_grant_every_action_the_prerequisites_review(mode, registry):
    objects = permissions.manifests(mode, NAMESPACE, SENSORS)
    objects += permissions.registry_manifests(mode, NAMESPACE) if registry else []
    missing = [permissions.describe(a) for a in actions(mode, registry_secret=registry)
               if not granted_by(objects, a)]
    assert missing == []


@pytest.mark.parametrize("mode", permissions.MODES)
def test_the_manifests_grant_nothing_a_run_does_not_review(mode):
    reviewed = pairs(actions(mode, registry_secret=True))
    objects = permissions.manifests(mode, NAMESPACE, SENSORS) + permissions.registry_manifests(mode, NAMESPACE)
    for role in [o for o in objects if o["kind"] in ("Role", "ClusterRole")]:
        for rule in role["rules"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    assert any(v == verb and r == resource for v, r, _ns in reviewed), (role["kind"], verb, resource)


def test_without_registry_credentials_no_secret_is_reviewed_nor_granted():
    for mode in permissions.MODES:
        assert not [a for a in actions(mode) if a["resource"] == "secrets"]
        granted = [r for o in permissions.manifests(mode, NAMESPACE, SENSORS) for r in o.get("rules", [])]
        assert not [r for r in granted if "secrets" in r["resources"]], mode
    assert ("create", "secrets", NAMESPACE) in pairs(actions(permissions.CREATE, registry_secret=True))


def test_the_nodes_are_reviewed_only_when_the_run_reads_the_aks_identity():
    assert ("list", "nodes", "") in pairs(actions(permissions.PROVIDED))
    assert ("list", "nodes", "") not in pairs(actions(permissions.PROVIDED, read_aks_identity=False))


def test_no_run_needs_to_watch_the_namespace():
    # cleanup reads the namespace again when it may not watch it
    assert not [a for a in actions(permissions.CREATE) if a["resource"] == "namespaces" and a["verb"] == "watch"]


def test_provided_mode_touches_nothing_namespaced_outside_its_namespace_and_never_deletes_the_namespace():
    found = actions(permissions.PROVIDED, registry_secret=True)
    outside = [a for a in found if a["resource"] in NAMESPACED and a["namespace"] != NAMESPACE]
    assert outside == []
    namespace_verbs = {a["verb"] for a in found if a["resource"] == "namespaces"}
    assert namespace_verbs == {"get"}, "a provided namespace is only read: never patched (its labels) nor deleted"
    role = [o for o in permissions.manifests(permissions.PROVIDED, NAMESPACE, SENSORS) if o["kind"] == "ClusterRole"]
    cluster_wide = {r for rule in role[0]["rules"] for r in rule["resources"]}
    assert cluster_wide == {"selfsubjectaccessreviews", "nodes", "daemonsets"}


def test_the_provided_namespace_is_labelled_for_the_collection():
    namespace = [o for o in permissions.manifests(permissions.PROVIDED, NAMESPACE, SENSORS) if o["kind"] == "Namespace"]
    assert namespace[0]["metadata"]["labels"][permissions.PROVIDED_LABEL] == permissions.PROVIDED_VALUE


def test_a_name_limits_a_rule_to_the_named_objects_and_nothing_is_granted_twice():
    role = permissions.manifests(permissions.CREATE, NAMESPACE, SENSORS)[1]
    namespaces = [rule for rule in role["rules"] if rule["resources"] == ["namespaces"]]
    assert {"resourceNames": [NAMESPACE], "verbs": ["get", "patch", "delete"]}.items() <= namespaces[0].items()
    assert namespaces[1]["verbs"] == ["create"] and "resourceNames" not in namespaces[1]
    found = [(g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
             for v in rule["verbs"] if "resourceNames" not in rule]
    assert len(found) == len(set(found))


def test_the_documented_permissions_and_manifests_are_generated_from_the_list():
    docs = render_docs()
    rendered = docs.permission_pages()
    assert docs.stale_pages(rendered) == [], "docs/permissions* is out of date: run python tests/render_docs.py"
    manifest = os.path.join(ROOT, "docs", "permissions", "provided.yml")
    with open(manifest, encoding="utf-8") as text:
        listed = yaml.safe_load(text)
    assert listed["kind"] == "List"
    assert listed["items"] == permissions.manifests(permissions.PROVIDED, NAMESPACE, SENSORS)
