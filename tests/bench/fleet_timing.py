"""Benchmark: a fleet run (one inventory host per cluster, forks = clusters) with 1 and with 10 clusters.

    flock /tmp/sim-cluster.lock tests/cluster/run -- .venv/bin/python tests/bench/fleet_timing.py \
        [--sizes 1,10] [--scenario webshell] [--runs 1]

Each "cluster" is a context of one kubeconfig on the sealed cluster, with its own namespace; the hosts run in
parallel (-f <size>), as a fleet does. Per size: wall time, the controller's CPU seconds (getrusage of the
ansible-playbook process tree), CPU seconds per technique run, and the peak resident memory of the whole process
tree (sampled from /proc). Figures, not assertions (target of issue 12: 10 clusters within 2x the wall of one)."""
import argparse
import json
import os
import pathlib
import re
import sys
import tempfile

import yaml

import benchlib
from benchlib import fmt, median


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
        for i in range(1, size + 1):  # an earlier size's namespaces end terminating (cleanup_wait is false)
            benchlib.wait_namespace_gone("mdc-bench-%d" % i)
        result = benchlib.measure([str(benchlib.BIN / "ansible-playbook"), "-i", str(inventory),
                                   "playbooks/simulate.yml", "-e", "scenario=%s" % scenario,
                                   "-e", "report_dir=%s" % (folder / "reports"), "-f", str(size)],
                                  env=benchlib.playbook_env())
        reports = [json.loads(p.read_text()) for p in (folder / "reports").glob("defender-simulation-*.json")]
    failed = sum(int(n) for n in re.findall(r"failed=(\d+)", result.stdout.split("PLAY RECAP")[-1]))
    if result.returncode:
        print(result.stdout[-3000:] + result.stderr[-2000:], file=sys.stderr)
    techniques = sum(len(r.get("techniques", [])) for r in reports)
    return {"clusters": size, "wall": result.wall, "cpu_user": result.cpu_user, "cpu_sys": result.cpu_sys,
            "cpu": result.cpu, "peak_mib": result.peak_mib, "peak_processes": result.peak_processes,
            "reports": len(reports), "techniques": techniques, "failed": failed, "rc": result.returncode}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10")
    parser.add_argument("--scenario", default="webshell")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", type=pathlib.Path, help="also write the figures to this file")
    args = parser.parse_args()
    benchlib.require_cluster()
    rows = {}
    for _run in range(args.runs):
        for size in [int(s) for s in args.sizes.split(",")]:
            rows.setdefault(size, []).append(run(size, args.scenario))
            print(json.dumps(rows[size][-1]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print("\nscenario %s, forks = clusters, %d run(s) per size, medians" % (args.scenario, args.runs))
    print("%-9s %10s %8s %14s %16s %14s %10s %8s %3s" % ("clusters", "wall", "vs one", "CPU user+sys",
                                                         "CPU/technique", "peak RSS", "processes", "failed", "rc"))
    one = median(r["wall"] for r in rows[min(rows)])
    for size, runs in rows.items():
        wall = median(r["wall"] for r in runs)
        per_technique = median(r["cpu"] / r["techniques"] if r["techniques"] else None for r in runs)
        print("%-9d %10s %7.2fx %14s %16s %14s %10d %8d %3d" % (
            size, fmt(wall), wall / one, "%.1f+%.1f s" % (median(r["cpu_user"] for r in runs),
                                                          median(r["cpu_sys"] for r in runs)),
            fmt(per_technique), fmt(median(r["peak_mib"] for r in runs), "MiB", 0),
            max(r["peak_processes"] for r in runs), max(r["failed"] for r in runs), max(r["rc"] for r in runs)))


if __name__ == "__main__":
    main()
