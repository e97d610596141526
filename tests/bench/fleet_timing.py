"""Wall time of a fleet run (scenario webshell) with 1 and with 3 clusters on the sealed cluster; not asserted.

    tests/cluster/run -- .venv/bin/python tests/bench/fleet_timing.py [--sizes 1,3] [--scenario webshell]

Each "cluster" is a context of one kubeconfig on the sealed cluster, with its own namespace; the hosts run in
parallel (-f <size>), as a fleet does."""
import argparse
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent


def write_fleet(folder, size):
    admin = yaml.safe_load(pathlib.Path(os.environ["KUBECONFIG"]).read_text())
    current = next(c for c in admin["contexts"] if c["name"] == admin["current-context"])["context"]
    names = ["bench-%d" % i for i in range(1, size + 1)]
    kubeconfig = folder / "fleet.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(dict(admin, **{
        "current-context": names[0],
        "contexts": [{"name": n, "context": {"cluster": current["cluster"], "user": current["user"]}} for n in names]})))
    kubeconfig.chmod(0o600)
    inventory = folder / "clusters.yml"
    inventory.write_text(yaml.safe_dump({"all": {"vars": {"ansible_connection": "local"}, "hosts": {
        n: {"kubeconfig": str(kubeconfig), "context": n, "simulation_namespace": "mdc-" + n} for n in names}}}))
    return inventory


def run(size, scenario):
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as folder:
        folder = pathlib.Path(folder)
        inventory = write_fleet(folder, size)
        env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                   PATH="%s:%s" % (BIN, os.environ["PATH"]))
        started = time.monotonic()
        result = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), "playbooks/simulate.yml",
                                 "-e", "scenario=%s" % scenario, "-e", "report_dir=%s" % (folder / "reports"),
                                 "-f", str(size)], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        seconds = time.monotonic() - started
        runs = [json.loads(p.read_text()) for p in (folder / "reports").glob("defender-simulation-*.json")]
        failed = sum(int(n) for n in re.findall(r"failed=(\d+)", result.stdout.split("PLAY RECAP")[-1]))
        if result.returncode:
            print(result.stdout[-3000:] + result.stderr[-2000:], file=sys.stderr)
        return seconds, len(runs), failed, result.returncode


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,3")
    parser.add_argument("--scenario", default="webshell")
    args = parser.parse_args()
    if not os.environ.get("KUBECONFIG"):
        sys.exit("run through tests/cluster/run (KUBECONFIG is not set)")
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        seconds, reports, failed, rc = run(size, args.scenario)
        rows.append((size, seconds, seconds / size, reports, failed, rc))
    print("scenario %s, forks = clusters" % args.scenario)
    print("%-9s %10s %14s %8s %7s %3s" % ("clusters", "wall (s)", "per cluster", "reports", "failed", "rc"))
    for size, seconds, per, reports, failed, rc in rows:
        print("%-9d %10.1f %14.1f %8d %7d %3d" % (size, seconds, per, reports, failed, rc))


if __name__ == "__main__":
    main()
