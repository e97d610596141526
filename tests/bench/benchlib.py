"""What the benches share: running a playbook or kubectl with its cost measured, watching pods become Ready, the
cluster part of runs done bare (no Ansible), and reading times from the report. Benches run inside the sealed cluster
(tests/cluster/run) with the lock held."""
import datetime
import json
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import threading
import time

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
MANAGED = "app.kubernetes.io/managed-by=defender.attack_simulation"
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
POD_NAMES = ("mdc-simulation-victim", "mdc-simulation-attacker")


def require_cluster():
    if not os.environ.get("KUBECONFIG"):
        sys.exit("run through tests/cluster/run, holding /tmp/sim-cluster.lock (KUBECONFIG is not set)")


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def parse_time(text):
    """UTC ISO-8601 as the report, the json callback and the API write it (with or without fractions)."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(datetime.timezone.utc)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, unit="s", digits=1):
    return "n/a" if value is None else "%.*f %s" % (digits, value, unit)


def playbook_env(**extra):
    return dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                PATH="%s:%s" % (BIN, os.environ["PATH"]), **extra)


def kubectl(*args, stdin=None, check=True, timeout=300):
    result = subprocess.run(["kubectl", *args], input=stdin, capture_output=True, text=True, check=False,
                            timeout=timeout)
    if check and result.returncode:
        raise RuntimeError("kubectl %s failed (rc %d): %s" % (" ".join(args[:3]), result.returncode,
                                                              result.stderr.strip()[-2000:]))
    return result


def wait_namespace_gone(namespace, timeout=300):
    """Not timed: keeps one measured run from overlapping the previous one's deletion."""
    deadline = time.monotonic() + timeout
    while kubectl("get", "namespace", namespace, "--ignore-not-found", "-o", "name").stdout.strip():
        if time.monotonic() > deadline:
            sys.exit("namespace %s still exists after %d s" % (namespace, timeout))
        time.sleep(0.5)


class TreeSampler(threading.Thread):
    """Peak resident memory of a process and all its descendants together, sampled from /proc every 50 ms."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kib = 0
        self.peak_processes = 0
        self._halt = threading.Event()

    @staticmethod
    def _table():
        parents, rss = {}, {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry.name, encoding="ascii", errors="replace") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
                rss[int(entry.name)] = int(fields[21]) * PAGE_KIB
            except (OSError, IndexError, ValueError):
                continue
        return parents, rss

    def _tree_rss(self):
        parents, rss = self._table()
        children = {}
        for pid, parent in parents.items():
            children.setdefault(parent, []).append(pid)
        tree, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(children.get(pid, []))
        return sum(rss.get(pid, 0) for pid in tree), len(tree)

    def run(self):
        while not self._halt.is_set():
            kib, count = self._tree_rss()
            self.peak_kib = max(self.peak_kib, kib)
            self.peak_processes = max(self.peak_processes, count)
            self._halt.wait(0.05)

    def stop(self):
        self._halt.set()
        self.join()


class Measured:  # pylint: disable=too-few-public-methods
    """A finished command: exit status, output, wall seconds, CPU seconds of its process tree, peak tree RSS."""

    def __init__(self, returncode, stdout, stderr, wall, cpu_user, cpu_sys, peak_kib, peak_processes):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr
        self.wall, self.cpu_user, self.cpu_sys = wall, cpu_user, cpu_sys
        self.peak_mib = peak_kib / 1024
        self.peak_processes = peak_processes

    @property
    def cpu(self):
        return self.cpu_user + self.cpu_sys


def measure(command, env=None, timeout=1800):
    """Run a command; CPU comes from RUSAGE_CHILDREN (every descendant that was waited for counts: Ansible waits
    for its workers and their modules), memory from sampling the process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as process:
        sampler = TreeSampler(process.pid)
        sampler.start()
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        finally:
            sampler.stop()
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Measured(process.returncode, stdout, stderr, wall, after.ru_utime - before.ru_utime,
                    after.ru_stime - before.ru_stime, sampler.peak_kib, sampler.peak_processes)


class ReadyWatch(threading.Thread):
    """Watches one namespace's pods; for each pod, when it became Ready: the API's condition time (whole seconds,
    so up to 1 s early) and the time this watch saw it (a few ms late). The truth lies between the two."""

    def __init__(self, namespace, label_selector=None):
        super().__init__(daemon=True)
        from kubernetes import client, config, watch  # pylint: disable=import-outside-toplevel
        config.load_kube_config()
        self.core = client.CoreV1Api()
        self.watch_module = watch
        self.namespace, self.label_selector = namespace, label_selector
        self.ready = {}  # pod name -> (api condition time, seen time)
        self._halt = threading.Event()

    def _note(self, pod):
        name = pod.metadata.name
        for condition in (pod.status and pod.status.conditions) or []:
            if condition.type == "Ready" and condition.status == "True" and name not in self.ready:
                self.ready[name] = (condition.last_transition_time.astimezone(datetime.timezone.utc), utc_now())

    def run(self):
        version = None
        while not self._halt.is_set():
            kwargs = {"timeout_seconds": 1, "_request_timeout": 5}
            if self.label_selector:
                kwargs["label_selector"] = self.label_selector
            if version:
                kwargs["resource_version"] = version
            try:
                events = self.watch_module.Watch().stream(self.core.list_namespaced_pod, self.namespace, **kwargs)
                for event in events:
                    version = event["object"].metadata.resource_version
                    self._note(event["object"])
            except Exception:  # pylint: disable=broad-except  # a gone resource version or a blip: list again
                version = None
                time.sleep(0.05)

    def both_ready(self, names):
        """(API time, seen time) at which the last of the named pods became Ready, or None."""
        if not all(name in self.ready for name in names):
            return None
        return (max(self.ready[n][0] for n in names), max(self.ready[n][1] for n in names))

    def stop(self):
        self._halt.set()
        self.join(timeout=10)


def render_manifests(folder, namespace, scenarios):
    """The deploy role's own manifests (its `render` entry point), for applying them bare."""
    folder.mkdir(parents=True, exist_ok=True)
    variables = {"deploy_render_dir": str(folder), "simulation_namespace": namespace,
                 "simulation_plan": {"scenarios": scenarios}}
    subprocess.run([str(BIN / "ansible-playbook"), str(ROOT / "tests/manifests/render.yml"), "-e",
                    json.dumps(variables)], cwd=ROOT, env=playbook_env(), check=True, capture_output=True,
                   text=True)
    return sorted(folder.glob("*.yaml"))


def bare_documents(folder, namespace, scenarios):
    """The namespace and the deploy role's rendered manifests as API objects, the service account before the pod
    that uses it, as the deploy role orders them."""
    manifests = render_manifests(folder / namespace, namespace, scenarios)
    documents = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}]
    for manifest in sorted(manifests, key=lambda m: not m.name.startswith("serviceaccount")):
        documents += [d for d in yaml.safe_load_all(manifest.read_text()) if d]
    return documents


def bare_run(api, namespace, documents, timeout=300):
    """One run's cluster part with the kubernetes client, as the collection does it: create the objects, watch until
    both pods are Ready, delete the pods (grace period 0) and wait until they are gone, delete the namespace without
    waiting (simulate.yml leaves it terminating too). Returns the seconds until both pods were Ready."""
    from kubernetes import client, utils, watch  # pylint: disable=import-outside-toplevel
    core = client.CoreV1Api(api)
    started = time.monotonic()
    try:
        for document in documents:
            utils.create_from_dict(api, document, namespace=namespace)
        ready, stream = set(), watch.Watch()
        for event in stream.stream(core.list_namespaced_pod, namespace, timeout_seconds=timeout):
            pod = event["object"]
            if any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or []):
                ready.add(pod.metadata.name)
            if ready >= set(POD_NAMES):
                stream.stop()
                break
        else:
            raise RuntimeError("pods %s not Ready in namespace %s after %d s" % (POD_NAMES, namespace, timeout))
        seconds = time.monotonic() - started
        for name in POD_NAMES:
            core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
        while core.list_namespaced_pod(namespace).items:
            time.sleep(0.1)
    finally:
        core.delete_namespace(namespace)
    return seconds


def bare_fleet(documents):
    """Several runs' cluster parts at once (documents: namespace -> its objects), one thread per namespace, all
    started by one barrier. Returns the wall seconds from the barrier's release until the last thread finished, and
    per namespace the seconds until both pods were Ready."""
    from kubernetes import client, config  # pylint: disable=import-outside-toplevel
    config.load_kube_config()
    barrier = threading.Barrier(len(documents) + 1)
    results, ended = {}, {}

    def one(namespace):
        api = client.ApiClient()
        barrier.wait()
        try:
            results[namespace] = bare_run(api, namespace, documents[namespace])
        except Exception as exc:  # pylint: disable=broad-except  # told below, after every thread finished
            results[namespace] = exc
        ended[namespace] = time.monotonic()

    threads = [threading.Thread(target=one, args=(namespace,)) for namespace in documents]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.monotonic()
    for thread in threads:
        thread.join()
    errors = ["%s: %s" % (n, r) for n, r in results.items() if isinstance(r, Exception)]
    if errors:
        raise RuntimeError("bare run failed: " + "; ".join(errors))
    return max(ended.values()) - started, results


def technique_times(report, events=None):
    """Each technique's (start, own duration) in run order. The start is the record's `started` when it has one,
    else (older collections) the start of its exec task from the json callback's events."""
    records = report["techniques"]
    if records and all(r.get("started") for r in records):
        return [(parse_time(r["started"]), float(r["duration"]), parse_time(r["finished"]) if r.get("finished")
                 else None) for r in records]
    starts = []
    for play in (events or {}).get("plays", []):
        for task in play["tasks"]:
            for result in task["hosts"].values():
                if result.get("invocation", {}).get("module_args", {}).get("pod") == "mdc-simulation-attacker":
                    duration = task["task"]["duration"]
                    starts.append((parse_time(duration["start"]), parse_time(duration["end"])))
    if len(starts) != len(records):
        return None
    return [(start, float(r["duration"]), end) for (start, end), r in zip(starts, records)]


def overheads(times):
    """Orchestration overhead per technique: the gap between its start and the next one's, minus its own time."""
    return [(nxt[0] - cur[0]).total_seconds() - cur[1] for cur, nxt in zip(times, times[1:])]
