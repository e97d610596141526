"""Benchmark: wall time of `simulate.yml -e scenario=all` on the sealed cluster, split by stage, and the median
time per technique spent outside the technique's own command (the collection's orchestration overhead).

    tests/cluster/run -- .venv/bin/python tests/bench/scenario_timing.py [--runs 3]

Figures, not assertions: they go into the README by hand."""
import argparse
import datetime
import json
import os
import pathlib
import statistics
import subprocess
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
STAGES = ("prerequisites", "deploy", "techniques", "report", "cleanup")


def parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


def seconds(start, end):
    return (parse_time(end) - parse_time(start)).total_seconds()


def run_once(scenario):
    with tempfile.TemporaryDirectory() as report_dir:
        env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
        started = time.monotonic()
        result = subprocess.run(["ansible-playbook", "playbooks/simulate.yml", "-e",
                                 json.dumps({"scenario": scenario, "report_dir": report_dir})],
                                cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        wall = time.monotonic() - started
        report = json.loads(next(pathlib.Path(report_dir).glob("*.json")).read_text())
    events = json.loads(result.stdout)
    stages = dict.fromkeys(STAGES, 0.0)
    exec_seconds = []
    for play in events["plays"]:
        for task in play["tasks"]:
            host = next(iter(task["hosts"].values()), {})
            duration = task["task"].get("duration", {})
            if not duration.get("end"):
                continue
            took = seconds(duration["start"], duration["end"])
            role = task["task"]["name"].split(" : ")[0].rsplit(".", 1)[-1]
            for stage in STAGES:
                if role == stage or task["task"]["name"].lower().startswith(stage):
                    stages[stage] += took
                    break
            if host.get("invocation", {}).get("module_args", {}).get("pod") == "mdc-simulation-attacker":
                exec_seconds.append(took)
    in_pod = [t["duration"] for t in report["techniques"]]
    overhead = [task - pod for task, pod in zip(exec_seconds, in_pod)]
    return wall, stages, overhead, len(in_pod)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenario", default="all")
    args = parser.parse_args()
    rows = [run_once(args.scenario) for _run in range(args.runs)]
    print("scenario=%s, %d runs (median)" % (args.scenario, args.runs))
    print("  wall time, ansible-playbook start to cleanup done: %.1f s" % statistics.median(r[0] for r in rows))
    for stage in STAGES:
        print("  %-14s %.1f s" % (stage, statistics.median(r[1][stage] for r in rows)))
    overhead = [o for r in rows for o in r[2]]
    print("  techniques per run: %d; median orchestration overhead per technique (exec task time minus the "
          "technique's own command time): %.2f s" % (rows[0][3], statistics.median(overhead)))


if __name__ == "__main__":
    main()
