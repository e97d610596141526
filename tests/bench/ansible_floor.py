"""Benchmark: what ansible-core itself costs per task and host on this controller, without this collection.

    .venv/bin/python tests/bench/ansible_floor.py [--tasks 30] [--sizes 1,10] [--runs 1]

A play of N trivial set_fact tasks on 1 and on 10 hosts with connection local, forks = hosts (no cluster, no
module process: every task runs in a worker that Ansible forks per task and host). This is the floor under a fleet
run: a simulation run has about as many tasks per cluster as --tasks says (30 with scenario webshell), and the
figure for 10 hosts against 1 bounds what the fleet target of issue 12 (10 clusters within 2x of one) can reach
on this machine. Figures, not assertions."""
import argparse
import pathlib
import sys
import tempfile

import yaml

import benchlib
from benchlib import fmt, median


def write_play(folder, tasks, hosts):
    inventory = folder / "hosts.yml"
    hosts = {"h%d" % i: {"ansible_connection": "local"} for i in range(1, hosts + 1)}
    inventory.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    playbook = folder / "floor.yml"
    playbook.write_text(yaml.safe_dump([{"name": "floor", "hosts": "all", "gather_facts": False, "tasks": [
        {"name": "task %d" % n, "ansible.builtin.set_fact": {"floor_%d" % n: "{{ %d + 1 }}" % n}}
        for n in range(tasks)]}], sort_keys=False))
    return inventory, playbook


def run(tasks, hosts):
    with tempfile.TemporaryDirectory(prefix="ansible-floor-") as folder:
        inventory, playbook = write_play(pathlib.Path(folder), tasks, hosts)
        result = benchlib.measure([str(benchlib.BIN / "ansible-playbook"), "-i", str(inventory), str(playbook),
                                   "-f", str(hosts)], env=benchlib.playbook_env())
    if result.returncode:
        sys.exit(result.stdout[-2000:] + result.stderr[-2000:])
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=30)
    parser.add_argument("--sizes", default="1,10")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = {size: [run(args.tasks, size) for _run in range(args.runs)] for size in sizes}
    one = median(r.wall for r in rows[sizes[0]])
    print("%d trivial tasks per host, forks = hosts, %d run(s) per size, medians" % (args.tasks, args.runs))
    print("%-6s %9s %8s %14s %16s" % ("hosts", "wall", "vs one", "CPU user+sys", "per host-task"))
    for size, results in rows.items():
        wall = median(r.wall for r in results)
        print("%-6d %9s %7.2fx %7.1f+%.1f s %13.1f ms" % (
            size, fmt(wall), wall / one, median(r.cpu_user for r in results), median(r.cpu_sys for r in results),
            1000 * wall / (args.tasks * size)))


if __name__ == "__main__":
    main()
