#!/usr/bin/env python3
"""The sealed cluster's eBPF recorder: what the pods' processes exec, open and connect to.

Two halves in one file (standard library only, so that the host's python3 runs the daemon):

* ``recorder.py record ...`` is the daemon that ``tests/cluster/up`` starts (``down`` stops it): it runs bpftrace
  on ``lib/recorder.bt`` and turns its lines into JSON lines in ``$CLUSTER_STATE/recorder/events.jsonl``, with
  wall-clock times (UTC, the same clock as the controller's) and the pod, namespace and container of each event.
* ``Recorder`` is the tests' query API::

      rec = Recorder()                          # the running cluster's recorder
      rec.wait_flushed(until)                   # every event up to `until` is in the file
      for e in rec.events(since, until, kind="exec", namespace="ns", pod="p"): ...
      rec.descends_from(e, "php-fpm")          # an ancestor's program (comm or path) is php-fpm*

Events (one JSON object a line; times as ``time``, ISO-8601 UTC with microseconds, and ``ts``, epoch seconds):

* ``{"event": "exec", "pid", "ppid", "comm", "filename", "argv": [...], "ancestors": [{"pid", "comm"}, ...]}``
  ``filename`` is the path the kernel was asked to execute (as given: absolute from a shell's PATH lookup,
  relative for ``./xmrig``); ``ancestors`` is the parent chain at exec time, nearest first.
* ``{"event": "open", "pid", "comm", "path", "flags", "ret"}``: an open/openat returned (``ret`` < 0: -errno).
* ``{"event": "connect", "pid", "comm", "address", "port", "family", "ret"}``: a connect returned
  (-115, EINPROGRESS, for a non-blocking connect).
* every event also has ``cgroup_id`` and, when known, ``container_id``, ``namespace``, ``pod``, ``pod_uid`` and
  ``container`` (null for a pod's sandbox, the pause process).
* ``{"event": "cgroup", "cgroup_id", "container_id", ...}`` records name a cgroup once (``events`` joins them).
"""

import argparse
import ctypes
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
STRLEN = 160  # bpftrace's BPFTRACE_STRLEN: the most that fits one BPF program's 512-byte stack here
SEP = "\x1f"
ANNOTATIONS = {  # containerd CRI annotations of a container's OCI spec -> our field names
    "io.kubernetes.cri.sandbox-namespace": "namespace",
    "io.kubernetes.cri.sandbox-name": "pod",
    "io.kubernetes.cri.sandbox-uid": "pod_uid",
    "io.kubernetes.cri.container-name": "container",
}


def state_dir():
    return os.path.join(os.environ.get("CLUSTER_STATE", "/var/lib/defender-sim-cluster"), "recorder")


def status_path():
    return os.path.join(os.environ.get("CLUSTER_RUN", "/run/defender-sim-cluster"), "recorder.status")


# ---------------------------------------------------------------------------------------------------- decoding
# bpftrace -f json writes a byte >= 0x80 of a string as \uffffffXX (a sign-extended char): make it \u00XX, so that
# after json.loads every character is one byte (latin-1), and the bytes are then read as UTF-8.
_HIGH_BYTE = re.compile(r"((?:^|[^\\])(?:\\\\)*)\\uffffff([0-9a-fA-F]{2})")


def bpftrace_json(line):
    """The text of one line of `bpftrace -f json` output: a printf's data, or a record's dict for other types."""
    fixed = _HIGH_BYTE.sub(r"\1\\u00\2", line)
    fixed = _HIGH_BYTE.sub(r"\1\\u00\2", fixed)  # a second pass for escapes right after one just replaced
    record = json.loads(fixed)
    if record.get("type") != "printf":
        return record
    data = record["data"]
    try:
        return data.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return data


class ArgumentArea:
    """A new program's argument area (argv's strings, each ending with a NUL), rebuilt from recorder.bt's pieces."""

    PIECE = STRLEN - 1

    def __init__(self, argc, length):
        self.argc, self.bytes, self.starts = argc, [None] * length, []

    def put(self, is_start, offset, text):
        """A piece of text read at `offset` up to a NUL (which follows unless the piece is PIECE bytes long)."""
        if is_start:
            self.starts.append(offset)
        data = text.encode("utf-8", "surrogateescape")
        if len(data) < self.PIECE:
            data += b"\0"
        for i, b in enumerate(data):
            if 0 <= offset + i < len(self.bytes):
                self.bytes[offset + i] = b

    def argv(self):
        """The arguments, and whether some are missing or cut (more than the recorder reads)."""
        args, truncated = [], len(self.starts) < self.argc
        ends = self.starts[1:] + [len(self.bytes)]
        for start, end in zip(self.starts, ends):
            chars = self.bytes[start:end - 1]
            known = chars[:chars.index(None)] if None in chars else chars
            truncated |= len(known) < len(chars)
            args.append(bytes(known).decode("utf-8", "replace"))
        return args, truncated


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_epoch(value):
    """Epoch seconds from a float, a datetime or an ISO-8601 string (a trailing Z is UTC; naive means UTC)."""
    if value is None or isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.timestamp()


# ---------------------------------------------------------------------------------------------------- the daemon
class Translator:
    """bpftrace's lines in, JSON-ready dicts out."""

    def __init__(self, containerd_state, cgroup_root=None):
        self.containerd_state = containerd_state
        self.cgroup_root = cgroup_root
        self.cgroups = {}
        self.execs = {}  # tid -> (exec event being assembled, its ArgumentArea, its ancestors)
        self.heartbeat = None
        self.lost = 0

    @staticmethod
    def wall(text):
        return float(text)  # epoch seconds, from the kernel's clock at the event (recorder.bt's strftime)

    def container_info(self, container_id):
        path = os.path.join(self.containerd_state, "io.containerd.runtime.v2.task", "k8s.io", container_id, "config.json")
        try:
            with open(path, encoding="utf-8") as f:
                annotations = json.load(f).get("annotations", {})
        except (OSError, ValueError):
            return {}
        return {field: annotations.get(key) for key, field in ANNOTATIONS.items()}

    def cgroup_record(self, cgid, container_id, pod_cgroup):
        info = {"container_id": container_id, "pod_cgroup": pod_cgroup}
        info.update(self.container_info(container_id))
        self.cgroups[cgid] = info
        return dict(event="cgroup", cgroup_id=cgid, ts=time.time(), time=iso(time.time()), **info)

    def base(self, kind, when, cgid, pid, comm):
        ts = self.wall(when)
        event = {"event": kind, "time": iso(ts), "ts": round(ts, 6), "pid": int(pid), "comm": comm,
                 "cgroup_id": int(cgid)}
        event.update({k: v for k, v in self.cgroups.get(int(cgid), {}).items() if k != "pod_cgroup"})
        return event

    def line(self, raw):
        """One line of bpftrace's JSON output: the events it completes (zero or more)."""
        try:
            line = bpftrace_json(raw)
        except ValueError:
            return []
        if isinstance(line, dict):
            if line.get("type") == "lost_events":
                self.lost += int(line.get("data", {}).get("events", 0))
            return []
        f = line.rstrip("\n").split(SEP)
        tag = f[0]
        try:
            if tag == "H":
                self.heartbeat = self.wall(f[1])
            elif tag == "C":
                return [self.cgroup_record(int(f[1]), f[2], f[3])]
            elif tag == "X":
                tid, when, cgid, pid, ppid, comm, argc, area = f[1:9]
                event = self.base("exec", when, cgid, pid, comm)
                event.update(ppid=int(ppid), filename=SEP.join(f[9:]))
                self.execs[tid] = (event, ArgumentArea(int(argc), int(area)), [])
            elif tag in ("XA", "XB"):
                self.execs[f[1]][1].put(tag == "XA", int(f[2]), SEP.join(f[3:]))
            elif tag == "XP":
                self.execs[f[1]][2].append({"pid": int(f[2]), "comm": f[3]})
            elif tag == "XZ":
                event, area, ancestors = self.execs.pop(f[1])
                event["argv"], truncated = area.argv()
                if truncated:
                    event["argv_truncated"] = True
                event["ancestors"] = ancestors
                return [event]
            elif tag == "O":
                tid, when, cgid, pid, comm, ret, flags = f[1:8]
                event = self.base("open", when, cgid, pid, comm)
                event.update(path=SEP.join(f[8:]), flags=int(flags), ret=int(ret))
                return [event]
            elif tag == "N":
                tid, when, cgid, pid, comm, ret, family, port, address = f[1:10]
                event = self.base("connect", when, cgid, pid, comm)
                event.update(address=address, port=int(port), family="inet6" if family == "10" else "inet",
                             ret=int(ret))
                return [event]
        except (KeyError, ValueError, IndexError):
            pass  # a line of a record whose start was lost
        return []


def controller_ssid(controller):
    """Index of a cgroup v1 controller: /proc/cgroups lists the kernel's controllers in that order."""
    with open("/proc/cgroups", encoding="ascii") as f:
        names = [line.split()[0] for line in f if not line.startswith("#")]
    return names.index(controller)


def _die_with_parent():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: bpftrace ends when this daemon dies, however it dies


def write_status(path, status):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(status, f)
    os.replace(tmp, path)


def record(args):
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    script = os.path.join(os.path.dirname(args.out), "recorder.bt")
    with open(os.path.join(HERE, "lib", "recorder.bt"), encoding="utf-8") as f:
        text = f.read().replace("@SSID@", str(controller_ssid(args.controller)))
    with open(script, "w", encoding="utf-8") as f:
        f.write(text)
    env = dict(os.environ, BPFTRACE_STRLEN=str(STRLEN), BPFTRACE_PERF_RB_PAGES="1024")
    proc = subprocess.Popen([args.bpftrace, "-f", "json", script], stdout=subprocess.PIPE, env=env, text=True,
                            encoding="utf-8", errors="surrogateescape", bufsize=1, preexec_fn=_die_with_parent)
    with open(args.bpftrace_pid, "w", encoding="ascii") as f:
        f.write(f"{proc.pid}\n")

    def stop(signum, frame):
        proc.send_signal(signal.SIGINT)  # bpftrace detaches its probes on SIGINT
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    tr = Translator(args.containerd_state)
    started = time.time()
    last_heartbeat = None
    with open(args.out, "a", encoding="utf-8", buffering=1) as out:
        for line in proc.stdout:
            for event in tr.line(line):
                out.write(json.dumps(event, separators=(",", ":")) + "\n")
            if tr.heartbeat != last_heartbeat:
                last_heartbeat = tr.heartbeat
                write_status(args.status, {"pid": os.getpid(), "bpftrace_pid": proc.pid, "started": iso(started),
                                           "heartbeat": iso(tr.heartbeat), "heartbeat_ts": tr.heartbeat,
                                           "lost": tr.lost, "events": args.out})
    sys.exit(f"bpftrace exited with status {proc.wait()}")


# ---------------------------------------------------------------------------------------------------- the query API
class RecorderError(RuntimeError):
    pass


class Recorder:
    """Questions about the recorded events of the running sealed cluster."""

    def __init__(self, events_path=None, status=None):
        self.events_path = events_path or os.path.join(state_dir(), "events.jsonl")
        self.status_path = status or status_path()
        self._offset, self._events, self._cgroups, self._execs = 0, [], {}, {}

    def status(self):
        try:
            with open(self.status_path, encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError) as e:
            raise RecorderError(f"recorder status {self.status_path} unreadable ({e}): is the recorder running? "
                                "(tests/cluster/up starts it)") from e

    def wait_flushed(self, until=None, timeout=15):
        """Wait until the recorder has written every event up to `until` (default: now)."""
        until = to_epoch(until) or time.time()
        deadline = time.time() + timeout
        while True:
            st = self.status()
            if (st.get("heartbeat_ts") or 0) > until + 0.3:
                return st
            if time.time() > deadline:
                raise RecorderError(f"the recorder has not caught up to {iso(until)} after {timeout} s "
                                    f"(last heartbeat {st.get('heartbeat')}; is pid {st.get('pid')} alive?)")
            time.sleep(0.1)

    def _all(self):
        """Every event so far, read incrementally (only complete lines; names joined from cgroup records)."""
        try:
            with open(self.events_path, "rb") as f:
                if os.fstat(f.fileno()).st_size < self._offset:  # a new file (the recorder restarted)
                    self._offset, self._events, self._cgroups, self._execs = 0, [], {}, {}
                f.seek(self._offset)
                data = f.read()
        except OSError as e:
            raise RecorderError("recorder events %s unreadable: %s" % (self.events_path, e)) from e
        complete = data[:data.rfind(b"\n") + 1]
        self._offset += len(complete)
        for line in complete.decode("utf-8", "replace").splitlines():
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("event") == "cgroup":
                self._cgroups[e["cgroup_id"]] = e
                continue
            self._events.append(e)
            if e["event"] == "exec":
                self._execs.setdefault(e["pid"], []).append(e)
        for e in self._events:
            if e.get("namespace") is None and e.get("cgroup_id") in self._cgroups:
                c = self._cgroups[e["cgroup_id"]]
                e.update({k: c.get(k) for k in ("container_id", "namespace", "pod", "pod_uid", "container")})
        return self._events

    def events(self, since=None, until=None, kind=None, namespace=None, pod=None, container=None, pid=None):
        """Events in [since, until] (epoch, datetime or ISO string), oldest first, filtered by what is given."""
        since, until = to_epoch(since), to_epoch(until)
        wanted = {"event": kind, "namespace": namespace, "pod": pod, "container": container, "pid": pid}
        out = [e for e in self._all()
               if (since is None or e["ts"] >= since) and (until is None or e["ts"] <= until)
               and all(v is None or e.get(k) == v for k, v in wanted.items())]
        return sorted(out, key=lambda e: e["ts"])

    def execs_of(self, pid, before):
        """The exec events of process `pid` up to time `before`, oldest first."""
        self._all()
        return sorted((e for e in self._execs.get(pid, []) if e["ts"] <= before), key=lambda e: e["ts"])

    def ancestry(self, event):
        """The parent chain of an event's process, nearest first: pid, comm, and the filename/argv of the
        ancestor's latest exec before the event when recorded (an ancestor that only forked has none)."""
        chain = event.get("ancestors")
        if chain is None:  # open/connect: the chain of the process's latest exec
            execs = self.execs_of(event["pid"], event["ts"])
            chain = execs[-1]["ancestors"] if execs else []
        out = []
        for a in chain:
            execs = self.execs_of(a["pid"], event["ts"])
            out.append(dict(a, filename=execs[-1]["filename"] if execs else None,
                            argv=execs[-1]["argv"] if execs else None))
        return out

    def descends_from(self, event, program):
        """Whether an ancestor of the event's process runs `program`: its comm or executable's name starts with
        it (comm is 15 characters at most, e.g. php-fpm8.2 for /usr/sbin/php-fpm8.2)."""
        for a in self.ancestry(event):
            names = [a["comm"], os.path.basename(a["filename"] or "")]
            if any(n.startswith(program) for n in names if n):
                return True
        return False


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("record", help="run bpftrace and write JSON lines (tests/cluster/up does)")
    r.add_argument("--out", default=os.path.join(state_dir(), "events.jsonl"))
    r.add_argument("--status", default=status_path())
    r.add_argument("--bpftrace-pid", required=True, help="file to write bpftrace's PID to")
    r.add_argument("--containerd-state", required=True, help="containerd's state directory (OCI specs of containers)")
    r.add_argument("--controller", default="pids", help="cgroup v1 controller whose hierarchy holds /kubepods")
    r.add_argument("--bpftrace", default="bpftrace")
    q = sub.add_parser("show", help="print the recorded events (JSON lines) of a time window")
    q.add_argument("--since")
    q.add_argument("--until")
    q.add_argument("--kind", choices=["exec", "open", "connect"])
    q.add_argument("--namespace")
    q.add_argument("--pod")
    args = p.parse_args(argv)
    if args.command == "record":
        record(args)
    else:
        for e in Recorder().events(args.since, args.until, args.kind, args.namespace, args.pod):
            print(json.dumps(e))


if __name__ == "__main__":
    main()
