"""The execution environment definition: `ansible-builder create` makes a build context with the right dependencies.

Building the image needs a container engine (podman or docker); these tests stop at the build context, and run
the context's own introspection script, the one the image build runs, over this collection and kubernetes.core."""
import pathlib
import re
import subprocess
import sys

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
SITE_COLLECTIONS = [pathlib.Path(p) / "ansible_collections" for p in sys.path
                    if (pathlib.Path(p) / "ansible_collections" / "kubernetes" / "core").is_dir()]
# azure-core: the ARM pipeline of defender_alerts_info (also pulled in by azure-identity, declared because it is used directly).
# azure-storage-blob: the history store of simulation_history in a blob container (scheduled AWX jobs keep no files).
NEEDED_PYTHON = {"kubernetes", "jmespath", "azure-identity", "azure-core", "azure-storage-blob", "requests"}


def requirement_lines(path):
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def names(requirements):
    return {re.sub(r"[-_.]+", "-", r.name).lower() for r in requirements}


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    target = tmp_path_factory.mktemp("ee") / "context"
    result = subprocess.run([str(BIN / "ansible-builder"), "create", "--file", "execution-environment.yml",
                             "--context", str(target)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Complete! The build context can be found at" in result.stdout
    return target


def test_the_context_holds_the_python_and_collection_dependencies(context):
    python = requirement_lines(context / "_build" / "requirements.txt")
    assert NEEDED_PYTHON <= names(python)
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert [c["name"] for c in galaxy["collections"]] == ["kubernetes.core"]


def test_the_image_gets_the_tested_ansible_and_the_pinned_versions(context):
    containerfile = next(p for p in (context / "Containerfile", context / "Dockerfile") if p.exists()).read_text()
    pins = {r.name: str(r.specifier) for r in requirement_lines(ROOT / "requirements.txt")}
    assert 'ANSIBLE_INSTALL_REFS="ansible-core%s ansible-runner' % pins["ansible-core"] in containerfile
    assert 'ARG PYCMD="/usr/bin/python3.11"' in containerfile
    # The pins of requirements.txt reach pip as constraints in the builder stage.
    assert "COPY _build/constraints/requirements.txt /tmp/src/upper-constraints.txt" in containerfile
    assert (context / "_build" / "constraints" / "requirements.txt").read_text() == \
        (ROOT / "requirements.txt").read_text()


def test_the_collection_declares_its_python_needs_for_ansible_builder():
    meta = yaml.safe_load((ROOT / "meta" / "execution-environment.yml").read_text())
    assert meta["version"] == 1
    declared = requirement_lines(ROOT / meta["dependencies"]["python"])
    assert names(declared) == NEEDED_PYTHON
    assert "system" not in meta["dependencies"] or (ROOT / meta["dependencies"]["system"]).is_file()


def test_the_tested_pins_fall_within_the_declared_ranges():
    pins = {names([r]).pop(): next(iter(r.specifier)).version for r in requirement_lines(ROOT / "requirements.txt")}
    for requirement in requirement_lines(ROOT / "meta" / "ee-requirements.txt"):
        name = names([requirement]).pop()
        assert requirement.specifier.contains(pins[name]), "%s==%s is outside %s" % (name, pins[name], requirement)


@pytest.mark.skipif(not SITE_COLLECTIONS, reason="kubernetes.core is not installed beside ansible")
def test_the_builders_introspection_finds_both_collections_needs(context, tmp_path):
    """What the builder stage runs over the installed collections (this one installed too, as a user could)."""
    collections = tmp_path / "collections" / "ansible_collections"
    (collections / "defender").mkdir(parents=True)
    (collections / "kubernetes").mkdir()
    (collections / "defender" / "attack_simulation").symlink_to(ROOT)
    (collections / "kubernetes" / "core").symlink_to(SITE_COLLECTIONS[0] / "kubernetes" / "core")
    combined = tmp_path / "requirements.txt"
    result = subprocess.run([sys.executable, str(context / "_build" / "scripts" / "introspect.py"), "introspect",
                             "--user-pip", str(context / "_build" / "requirements.txt"),
                             "--write-pip", str(combined), "--write-bindep", str(tmp_path / "bindep.txt"),
                             str(tmp_path / "collections")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    text = combined.read_text()
    for name in NEEDED_PYTHON:
        assert re.search(r"^%s\b.*# .*defender\.attack_simulation" % re.escape(name), text, re.M), text
    assert re.search(r"^kubernetes>=24\.2\.0 +# from collection kubernetes\.core", text, re.M), text
