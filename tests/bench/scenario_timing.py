"""Benchmark: `simulate.yml -e scenario=all` on the sealed cluster against the physical limit measured in the same run.

    flock /tmp/sim-cluster.lock tests/cluster/run -- .venv/bin/python tests/bench/scenario_timing.py [--runs 3] \
        [--cleanup-wait]

Per run, in this order:
  1. the physical limit's cluster part: the deploy role's own rendered manifests (its `render` entry point) applied
     bare with `kubectl apply`, waited Ready with `kubectl wait`, and the namespace deleted with
     `kubectl delete namespace --wait`;
  2. the collection: ansible-playbook playbooks/simulate.yml, its report, and a watch on the pods (Ready times).
The limit is (1) plus the techniques' own durations from the collection's report. simulate.yml leaves its emptied
namespace terminating (cleanup_wait false) while the limit waits for it to be gone; with --cleanup-wait the
collection waits too, which is the like-for-like comparison. Also printed: the median
orchestration overhead per technique (gap between technique starts minus the technique's own time), how long after
both pods were Ready the first technique started, and time by stage. Figures, not assertions: they go into the
README (targets of issue 12: wall <= 1.5x the limit, overhead <= 0.5 s, first technique <= 3 s after Ready)."""
import argparse
import json
import pathlib
import re
import sys
import tempfile
import time

import benchlib
from benchlib import POD_NAMES, fmt, median

STAGES = ("prerequisites", "deploy", "techniques", "report", "cleanup")


def bare_cluster_part(folder, scenarios, namespace="mdc-bench-bare"):
    """Seconds to apply the rendered manifests and have both pods Ready, and to delete the namespace."""
    manifests = benchlib.render_manifests(folder / "manifests", namespace, scenarios)
    namespace_file = folder / "manifests" / "0-namespace.yaml"
    namespace_file.write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n" % namespace)
    # The namespace first, and the service account before the pod that uses it, as the deploy role orders them.
    ordered = [namespace_file] + sorted(manifests, key=lambda m: not m.name.startswith("serviceaccount"))
    benchlib.wait_namespace_gone(namespace)
    started = time.monotonic()
    try:
        benchlib.kubectl("apply", *[arg for m in ordered for arg in ("-f", str(m))])
        benchlib.kubectl("wait", "-n", namespace, "--for=condition=Ready", "--timeout=300s",
                         *["pod/" + name for name in POD_NAMES])
    except Exception:
        benchlib.kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found", check=False)
        raise
    ready = time.monotonic() - started
    started = time.monotonic()
    benchlib.kubectl("delete", "namespace", namespace, "--wait=true", "--timeout=300s")
    return ready, time.monotonic() - started


def stage_spans(events):
    """Per stage, the span from its first task's start to its last task's end (json callback times)."""
    spans = {}
    for play in events.get("plays", []):
        for task in play["tasks"]:
            duration = task["task"].get("duration", {})
            if not duration.get("end"):
                continue
            name = task["task"]["name"]
            role = name.split(" : ")[0].rsplit(".", 1)[-1].lower() if " : " in name else ""
            stage = next((s for s in STAGES if role == s or name.lower().startswith(s)), None)
            if stage:
                start, end = benchlib.parse_time(duration["start"]), benchlib.parse_time(duration["end"])
                first, last = spans.get(stage, (start, end))
                spans[stage] = (min(first, start), max(last, end))
    return {stage: (end - start).total_seconds() for stage, (start, end) in spans.items()}


def collection_run(folder, scenario, cleanup_wait):
    report_dir = folder / "reports"
    benchlib.wait_namespace_gone("mdc-simulation")  # an earlier run's namespace, terminating without it (cleanup_wait)
    watch = benchlib.ReadyWatch("mdc-simulation", benchlib.MANAGED)
    watch.start()
    try:
        run = benchlib.measure(
            [str(benchlib.BIN / "ansible-playbook"), "playbooks/simulate.yml", "-e",
             json.dumps({"scenario": scenario, "report_dir": str(report_dir), "cleanup_wait": cleanup_wait})],
            env=benchlib.playbook_env(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"))
    finally:
        watch.stop()
    if run.returncode:
        sys.exit("simulate.yml failed (rc %d):\n%s\n%s" % (run.returncode, run.stdout[-4000:], run.stderr[-2000:]))
    report = json.loads(next(report_dir.glob("defender-simulation-*.json")).read_text())
    # The json callback's document is the last thing on stdout; anything displayed live comes before it.
    starts = [m.start() for m in re.finditer(r"^\{$", run.stdout, re.MULTILINE)]
    events = json.loads(run.stdout[starts[-1]:]) if starts else {}
    return run, report, events, watch.both_ready(POD_NAMES)


def one_run(scenario, cleanup_wait):
    with tempfile.TemporaryDirectory(prefix="scenario-bench-") as folder:
        folder = pathlib.Path(folder)
        ready, delete = bare_cluster_part(folder, scenario.split(","))
        run, report, events, both_ready = collection_run(folder, scenario, cleanup_wait)
    times = benchlib.technique_times(report, events)
    own = sum(float(t["duration"]) for t in report["techniques"])
    row = {"wall": run.wall, "cpu": run.cpu, "peak_mib": run.peak_mib, "bare_ready": ready, "bare_delete": delete,
           "techniques_own": own, "limit": ready + own + delete, "techniques": len(report["techniques"]),
           "stages": stage_spans(events), "overhead": None, "first_after_ready_api": None,
           "first_after_ready_seen": None}
    row["ratio"] = row["wall"] / row["limit"]
    if times:
        row["overhead"] = median(benchlib.overheads(times))
        row["overheads"] = benchlib.overheads(times)
        if both_ready:
            row["first_after_ready_api"] = (times[0][0] - both_ready[0]).total_seconds()
            row["first_after_ready_seen"] = (times[0][0] - both_ready[1]).total_seconds()
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenario", default="all")
    parser.add_argument("--json", type=pathlib.Path, help="also write every run's figures to this file")
    parser.add_argument("--cleanup-wait", action="store_true",
                        help="the collection waits for its namespace to be gone, as the limit's bare delete does")
    args = parser.parse_args()
    benchlib.require_cluster()
    rows = []
    for number in range(1, args.runs + 1):
        rows.append(one_run(args.scenario, args.cleanup_wait))
        print("run %d: wall %.1f s, limit %.1f s (%.2fx)" % (number, rows[-1]["wall"], rows[-1]["limit"],
                                                             rows[-1]["ratio"]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str) + "\n")

    def med(key):
        return median(r[key] for r in rows)

    print("\nscenario=%s, %d run(s), medians; %d techniques per run; cleanup_wait=%s"
          % (args.scenario, len(rows), rows[0]["techniques"], str(args.cleanup_wait).lower()))
    print("  physical limit                        %s = bare apply+Ready %s + techniques' own %s + bare delete %s"
          % (fmt(med("limit")), fmt(med("bare_ready")), fmt(med("techniques_own")), fmt(med("bare_delete"))))
    print("  ansible-playbook, start to exit       %s = %.2fx the limit (target <= 1.5x)"
          % (fmt(med("wall")), med("ratio")))
    print("  orchestration overhead per technique  %s (target <= 0.5 s)" % fmt(med("overhead"), digits=2))
    print("  first technique after both pods Ready %s by the API's condition times (whole seconds), %s by the"
          " watch (target <= 3 s)" % (fmt(med("first_after_ready_api"), digits=2),
                                      fmt(med("first_after_ready_seen"), digits=2)))
    print("  controller: CPU %s, peak RSS of the process tree %s" % (fmt(med("cpu")), fmt(med("peak_mib"), "MiB", 0)))
    for stage in STAGES:
        print("  stage %-14s %s" % (stage, fmt(median(r["stages"].get(stage) for r in rows))))


if __name__ == "__main__":
    main()
