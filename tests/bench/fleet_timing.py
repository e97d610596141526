"""Benchmark: a fleet run (one inventory host per cluster, forks = clusters) with 1 and with 10 clusters, against
the bare fleet limit measured in the same run.

    flock /tmp/sim-cluster.lock tests/cluster/run -- .venv/bin/python tests/bench/fleet_timing.py \
        [--sizes 1,10] [--scenario webshell] [--runs 1] [--json FILE]

Each "cluster" is a context of one kubeconfig on the sealed cluster, with its own namespace; the hosts run in
parallel (-f <size>), as a fleet does. All of them share one API server, one kubelet and the machine's cores, so the
cluster's own work does not scale as it would on separate clusters: the bare fleet limit says what it costs here.
Per size and run, in this order (each after the namespaces of earlier measurements are gone):
  1. the bare fleet's cluster part: for each cluster a thread of this process that, with the kubernetes client,
     creates a namespace (mdc-bare-<i>) and the deploy role's own rendered manifests (rendered before any timing),
     watches until both pods are Ready, deletes the pods (grace period 0) and waits until they are gone, and deletes
     the namespace without waiting, as simulate.yml does; all threads start at once (a barrier), its wall ends when
     the last one finishes;
  2. the collection: ansible-playbook playbooks/simulate.yml over the fleet (namespaces mdc-bench-<i>).
The bare fleet limit is (1) plus the techniques' own durations from the collection's reports (the largest, over the
clusters, of each cluster's sum). Per size: wall time and its ratio to one cluster's, the bare limit, the wall's
ratio to it and the limit's ratio to one cluster's limit, the controller's CPU seconds (getrusage of the
ansible-playbook process tree), CPU seconds per technique run, the peak resident memory and process count of the
whole process tree (sampled from /proc), failed hosts and exit status. When ansible-playbook fails, its whole stdout
and stderr go to fleet-bench-failure-<size>-<run>.log, next to --json or in /tmp, and the path is printed.
Figures, not assertions (target of issue 12: 10 clusters within 2x the wall of one)."""
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


def wait_earlier_gone(most):
    """Not timed: the namespaces earlier measurements left terminating, bare or not, are gone first."""
    for i in range(1, most + 1):
        benchlib.wait_namespace_gone("mdc-bare-%d" % i)
        benchlib.wait_namespace_gone("mdc-bench-%d" % i)


def largest_sum(reports, seconds):
    """The largest, over the clusters' reports, of the sum of seconds(technique record)."""
    return max((sum(seconds(t) for t in r.get("techniques", [])) for r in reports), default=0)


def exec_seconds(technique):
    """Not in the limit, to read it by: the technique's exec round trip through the API (controller clock)."""
    if not (technique.get("started") and technique.get("finished")):
        return 0
    return (benchlib.parse_time(technique["finished"]) - benchlib.parse_time(technique["started"])).total_seconds()


def run(size, scenario, documents, failure_log):
    wait_earlier_gone(len(documents))
    bare = ["mdc-bare-%d" % i for i in range(1, size + 1)]
    bare_wall, ready = benchlib.bare_fleet({namespace: documents[namespace] for namespace in bare})
    wait_earlier_gone(len(documents))
    with tempfile.TemporaryDirectory(prefix="fleet-bench-") as folder:
        folder = pathlib.Path(folder)
        inventory = write_fleet(folder, size)
        result = benchlib.measure([str(benchlib.BIN / "ansible-playbook"), "-i", str(inventory),
                                   "playbooks/simulate.yml", "-e", "scenario=%s" % scenario,
                                   "-e", "report_dir=%s" % (folder / "reports"), "-f", str(size)],
                                  env=benchlib.playbook_env())
        reports = [json.loads(p.read_text()) for p in (folder / "reports").glob("defender-simulation-*.json")]
    failed = sum(int(n) for n in re.findall(r"failed=(\d+)", result.stdout.split("PLAY RECAP")[-1]))
    if result.returncode:
        failure_log.write_text("rc %d\n--- stdout\n%s\n--- stderr\n%s"
                               % (result.returncode, result.stdout, result.stderr))
        print(result.stdout[-3000:] + result.stderr[-2000:], file=sys.stderr)
        print("ansible-playbook failed (rc %d): its whole output is in %s" % (result.returncode, failure_log),
              file=sys.stderr, flush=True)
    techniques = sum(len(r.get("techniques", [])) for r in reports)
    own = largest_sum(reports, lambda t: float(t.get("duration") or 0))
    exec_spans = largest_sum(reports, exec_seconds)
    return {"clusters": size, "wall": result.wall, "cpu_user": result.cpu_user, "cpu_sys": result.cpu_sys,
            "cpu": result.cpu, "peak_mib": result.peak_mib, "peak_processes": result.peak_processes,
            "reports": len(reports), "techniques": techniques, "failed": failed, "rc": result.returncode,
            "bare_cluster_part": bare_wall, "bare_ready_max": max(ready.values()), "techniques_own": own,
            "techniques_exec": exec_spans, "bare_limit": bare_wall + own,
            "wall_vs_bare_limit": result.wall / (bare_wall + own),
            "failure_log": str(failure_log) if result.returncode else None}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10")
    parser.add_argument("--scenario", default="webshell")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", type=pathlib.Path, help="also write the figures to this file")
    args = parser.parse_args()
    benchlib.require_cluster()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="fleet-bench-bare-") as folder:  # rendered once, before any timing
        documents = {"mdc-bare-%d" % i: benchlib.bare_documents(pathlib.Path(folder), "mdc-bare-%d" % i,
                                                                args.scenario.split(","))
                     for i in range(1, max(sizes) + 1)}
    logs = args.json.resolve().parent if args.json else pathlib.Path("/tmp")
    rows = {}
    for number in range(1, args.runs + 1):
        for size in sizes:
            log = logs / ("fleet-bench-failure-%d-%d.log" % (size, number))
            rows.setdefault(size, []).append(run(size, args.scenario, documents, log))
            print(json.dumps(rows[size][-1]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")

    def med(runs, key):
        return median(r[key] for r in runs)

    print("\nscenario %s, forks = clusters, %d run(s) per size, medians; bare limit = the bare fleet's cluster part"
          " + the techniques' own time (largest per-cluster sum)" % (args.scenario, args.runs))
    print("%-8s %8s %7s %10s %10s %12s %13s %13s %9s %9s %6s %2s" % (
        "clusters", "wall", "vs one", "bare limit", "wall/limit", "limit vs one", "CPU user+sys", "CPU/technique",
        "peak RSS", "processes", "failed", "rc"))
    one, one_limit = med(rows[min(rows)], "wall"), med(rows[min(rows)], "bare_limit")
    for size, runs in rows.items():
        per_technique = median(r["cpu"] / r["techniques"] if r["techniques"] else None for r in runs)
        print("%-8d %8s %6.2fx %10s %9.2fx %11.2fx %13s %13s %9s %9d %6d %2d" % (
            size, fmt(med(runs, "wall")), med(runs, "wall") / one, fmt(med(runs, "bare_limit")),
            med(runs, "wall_vs_bare_limit"), med(runs, "bare_limit") / one_limit,
            "%.1f+%.1f s" % (med(runs, "cpu_user"), med(runs, "cpu_sys")), fmt(per_technique),
            fmt(med(runs, "peak_mib"), "MiB", 0), max(r["peak_processes"] for r in runs),
            max(r["failed"] for r in runs), max(r["rc"] for r in runs)))
    for size, runs in rows.items():
        print("bare limit of %d: cluster part %s + techniques' own %s (not in it: their exec round trips, %s)" % (
            size, fmt(med(runs, "bare_cluster_part"), digits=2), fmt(med(runs, "techniques_own"), digits=3),
            fmt(med(runs, "techniques_exec"), digits=2)))


if __name__ == "__main__":
    main()
