# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's metadata says one thing in every place: dependency ranges, URLs, licence."""
import json
import pathlib
import re
import subprocess

import yaml
from ansible.galaxy.dependency_resolution.versioning import meets_requirements

ROOT = pathlib.Path(__file__).resolve().parents[2]
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
PLACEHOLDER_HOSTS = ("example.invalid", "example.com", "example.org", "example.net", "localhost")


def kubernetes_core_ranges():
    requirements = yaml.safe_load((ROOT / "docs" / "awx" / "requirements.yml").read_text())["collections"]
    ee = yaml.safe_load((ROOT / "execution-environment.yml").read_text())["dependencies"]["galaxy"]["collections"]
    return {
        "galaxy.yml": GALAXY["dependencies"]["kubernetes.core"],
        "docs/awx/requirements.yml": [c["version"] for c in requirements if c["name"] == "kubernetes.core"][0],
        "execution-environment.yml": [c["version"] for c in ee if c["name"] == "kubernetes.core"][0],
    }


def test_kubernetes_core_has_one_version_range_everywhere():
    ranges = kubernetes_core_ranges()
    assert len(set(ranges.values())) == 1, ranges


def test_the_tested_kubernetes_core_meets_that_range():
    import ansible_collections.kubernetes.core as tested  # the one the tests run with (the ansible package's)
    manifest = json.loads((pathlib.Path(tested.__path__[0]) / "MANIFEST.json").read_text())
    version = manifest["collection_info"]["version"]
    assert meets_requirements(version, GALAXY["dependencies"]["kubernetes.core"]), version


def test_the_range_check_refuses_a_version_outside_it():
    assert not meets_requirements("5.0.0", GALAXY["dependencies"]["kubernetes.core"])
    assert not meets_requirements("7.0.0", GALAXY["dependencies"]["kubernetes.core"])


def test_galaxy_yml_names_no_placeholder_url():
    for key in ("repository", "documentation", "homepage", "issues"):
        value = GALAXY.get(key) or ""
        assert not any(host in value for host in PLACEHOLDER_HOSTS), "%s: %s" % (key, value)


def tracked_files():
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.split()
    return [ROOT / name for name in listed if (ROOT / name).is_file()]


def test_licence_headers_point_at_files_that_exist():
    pointed = {}
    for path in tracked_files():
        head = path.read_text(errors="replace")[:600] if path.suffix in (".py", ".yml", ".yaml", ".sh", ".j2") else ""
        for target in re.findall(r"License[^\n]*\(see (\S+?)(?: or |\))", head):
            pointed.setdefault(target, []).append(str(path.relative_to(ROOT)))
    assert pointed, "no licence header found: the check would pass for nothing"
    missing = {target: files[:3] for target, files in pointed.items() if not (ROOT / target).is_file()}
    assert not missing, missing


def test_every_plugin_states_the_collections_licence_as_spdx():
    (licence,) = GALAXY["license"]
    plugins = [p for p in (ROOT / "plugins").rglob("*.py") if p.name != "__init__.py"]
    assert plugins
    wrong = [str(p.relative_to(ROOT)) for p in plugins
             if "SPDX-License-Identifier: %s" % licence not in p.read_text()[:600]]
    assert not wrong, "add '# SPDX-License-Identifier: %s' to the header of: %s" % (licence, ", ".join(wrong))
    assert (ROOT / "LICENSES" / ("%s.txt" % licence)).read_text().lstrip().startswith("GNU GENERAL PUBLIC LICENSE")
