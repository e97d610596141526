"""An AWX project on this repository, as AWX syncs and runs it, needs no edit and no Galaxy.

AWX's project update (awx/playbooks/project_update.yml) runs ansible-galaxy only for the requirements files it finds
(collections/requirements.yml or .yaml, requirements.yml or .yaml, roles/requirements.yml or .yaml); a job then runs
in a copy of the project (awx/main/tasks/jobs.py: shutil.copytree(..., symlinks=True)). The playbooks find this
collection beside them (playbooks/collections/ansible_collections/defender/attack_simulation, a link to the
checkout) and kubernetes.core in the execution environment."""
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
AWX_REQUIREMENTS_FILES = ("collections/requirements.yml", "collections/requirements.yaml", "requirements.yml",
                          "requirements.yaml", "roles/requirements.yml", "roles/requirements.yaml")
PLAYBOOKS = sorted(p.name for p in (ROOT / "playbooks").glob("*.yml"))


def project_copy(into):
    """The checkout's files as a git clone has them (tracked and new, links kept), as AWX copies them for a job."""
    files = subprocess.run("git ls-files -co --exclude-standard", shell=True, cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    files = [f for f in files if os.path.lexists(ROOT / f)]
    subprocess.run(["tar", "-cf", str(into) + ".tar", "-T", "-"], input="\n".join(files), cwd=ROOT, text=True,
                   check=True)
    into.mkdir()
    subprocess.run(["tar", "-xf", str(into) + ".tar", "-C", str(into)], check=True)
    return into


def syntax_check(project, playbook):
    # As in a job: the project's own ansible.cfg (its .venv/collections is not there), no collections path of ours.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(project / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               PATH=str(BIN) + os.pathsep + env.get("PATH", ""))
    result = subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", "playbooks/" + playbook], cwd=project,
                            env=env, capture_output=True, text=True, check=False)
    return result.returncode, result.stdout + result.stderr


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return project_copy(tmp_path_factory.mktemp("awx") / "project")


def test_a_project_sync_finds_no_requirements_file_and_so_asks_no_galaxy():
    assert [path for path in AWX_REQUIREMENTS_FILES if (ROOT / path).exists()] == []


def test_the_collection_beside_the_playbooks_is_this_checkout(project):
    link = project / "playbooks" / "collections" / "ansible_collections" / "defender" / "attack_simulation"
    assert link.is_symlink() and os.readlink(link) == "../../../.."
    assert link.resolve() == project.resolve()


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_every_playbook_resolves_the_collection_in_the_project_alone(project, playbook):
    rc, output = syntax_check(project, playbook)
    assert rc == 0, output


def test_without_the_link_the_roles_are_not_found(project, tmp_path):
    bare = project_copy(tmp_path / "bare")
    (bare / "playbooks" / "collections" / "ansible_collections" / "defender" / "attack_simulation").unlink()
    rc, output = syntax_check(bare, "simulate.yml")
    assert rc != 0 and "defender.attack_simulation" in output
