"""collections/requirements.yml, what an AWX project sync installs: kubernetes.core and this collection from git."""
import os
import pathlib
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent


def requirements():
    return yaml.safe_load((ROOT / "collections" / "requirements.yml").read_text())["collections"]


def test_kubernetes_core_as_in_the_execution_environment():
    ee = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    wanted = {c["name"]: c["version"] for c in ee["dependencies"]["galaxy"]["collections"]}
    listed = {c["name"]: c.get("version") for c in requirements() if c.get("type") != "git"}
    assert listed == wanted == {"kubernetes.core": ">=6.2.0,<7.0.0"}


def test_this_collection_installs_from_its_git_repository(tmp_path):
    """The git entry as AWX uses it, with this checkout's repository in place of the placeholder URL."""
    (entry,) = [c for c in requirements() if c.get("type") == "git"]
    assert entry["name"].endswith("/defender/attack_simulation.git") and entry["version"] == "main"
    local = dict(entry, name="git+file://%s" % ROOT)
    (tmp_path / "requirements.yml").write_text(yaml.safe_dump({"collections": [local]}))
    result = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "-r", "requirements.yml",
                             "-p", "installed", "--no-deps"], cwd=tmp_path, capture_output=True, text=True,
                            env=dict(os.environ, ANSIBLE_NOCOLOR="1"), check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    installed = tmp_path / "installed" / "ansible_collections" / "defender" / "attack_simulation"
    for path in ("playbooks/simulate.yml", "playbooks/verify.yml", "meta/execution-environment.yml",
                 "meta/ee-requirements.txt", "roles/verify/tasks/main.yml"):
        assert (installed / path).is_file(), path
