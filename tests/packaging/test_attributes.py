# SPDX-License-Identifier: GPL-3.0-or-later
"""Each module's attributes, as ansible-doc shows them, are true of that module (issue 10: no blanket claim)."""
import json
import os
import pathlib
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
COLLECTION = "defender.attack_simulation"
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
SUPPORTED = ("full", "partial")


@pytest.fixture(scope="module")
def docs():
    names = ["%s.%s" % (COLLECTION, name) for name in MODULES]
    result = subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible-doc"), "--json", "-t", "module"] + names,
                            cwd=ROOT, capture_output=True, text=True, check=False,
                            env=dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg")))
    assert result.returncode == 0, result.stderr
    return {name.rsplit(".", 1)[1]: value["doc"]["attributes"] for name, value in json.loads(result.stdout).items()}


def action_groups():
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    groups = {}
    for group, members in (runtime.get("action_groups") or {}).items():
        for member in members:
            if isinstance(member, str):
                groups.setdefault(member, []).append("%s.%s" % (COLLECTION, group))
    return groups


def source(name):
    return (ROOT / "plugins" / "modules" / ("%s.py" % name)).read_text()


def test_every_module_is_documented(docs):
    assert sorted(docs) == MODULES and MODULES


@pytest.mark.parametrize("name", MODULES)
def test_action_group_membership_is_meta_runtimes(docs, name):
    attribute = docs[name].get("action_group") or {}
    documented = attribute.get("membership", []) if attribute.get("support") in SUPPORTED else []
    assert sorted(documented) == sorted(action_groups().get(name, []))


def declares_check_mode(name):
    action = ROOT / "plugins" / "action" / ("%s.py" % name)
    if action.exists():  # an action plugin runs instead of the module: ActionBase supports check mode unless told
        return "_supports_check_mode = False" not in action.read_text()
    return "supports_check_mode=True" in source(name)


@pytest.mark.parametrize("name", MODULES)
def test_check_mode_support_is_what_the_module_declares(docs, name):
    declares = declares_check_mode(name)
    assert (docs[name]["check_mode"]["support"] in SUPPORTED) == declares


@pytest.mark.parametrize("name", MODULES)
def test_diff_mode_is_claimed_only_by_a_module_that_returns_a_diff(docs, name):
    returns_diff = "diff=" in source(name) or "_diff" in source(name)
    assert (docs[name]["diff_mode"]["support"] in SUPPORTED) == returns_diff


@pytest.mark.parametrize("name", [name for name in MODULES if name.endswith("_info")])
def test_info_modules_state_that_they_change_nothing(docs, name):
    attributes = docs[name]
    assert attributes["check_mode"]["support"] == "full"
    assert attributes["diff_mode"]["support"] == "N/A"
    assert attributes["idempotent"]["support"] == "full"


def test_the_fragment_is_private_to_the_collection():
    assert not (ROOT / "plugins" / "doc_fragments" / "attributes.py").exists()
    assert "PRIVATE" in (ROOT / "plugins" / "doc_fragments" / "_attributes.py").read_text()
