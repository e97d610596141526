"""What the execution environment holds, read from the collection's execution-environment.yml (ansible-builder 3).

Prints shell assignments for ee/build.sh: the pip packages (ansible-core, ansible-runner, the collection's Python
requirements file), the constraints file, and each Galaxy collection with its version range."""
import pathlib
import shlex
import sys

import yaml

ROOT = pathlib.Path(sys.argv[1])
definition = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
assert definition.get("version") == 3, "execution-environment.yml: only ansible-builder's schema version 3 is read here"
deps = definition["dependencies"]
constraints = [item["src"] for item in definition.get("additional_build_files", []) if item.get("dest") == "constraints"]
print("EE_PIP=%s" % shlex.quote(" ".join([deps["ansible_core"]["package_pip"], deps["ansible_runner"]["package_pip"]])))
print("EE_PYTHON_REQUIREMENTS=%s" % shlex.quote(str(ROOT / deps["python"])))
print("EE_CONSTRAINTS=%s" % shlex.quote(str(ROOT / constraints[0]) if constraints else ""))
collections = ["%s:%s" % (c["name"], c.get("version", "*")) for c in deps.get("galaxy", {}).get("collections", [])]
print("EE_COLLECTIONS=%s" % shlex.quote(" ".join(collections)))
