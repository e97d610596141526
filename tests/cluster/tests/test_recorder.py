"""The eBPF recorder that tests/cluster/up starts: it sees what a pod's processes exec, open and connect to, with
the pod's names, wall-clock times and parent chains, and nothing of the host's processes."""
import os
import secrets
import subprocess
import sys
import time

from test_cluster import run_pod, sh

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from recorder import Recorder  # noqa: E402  pylint: disable=wrong-import-position

# As long as the bearer header of recon.access_review's curl (a service-account token is ~1 KB).
FAKE_TOKEN = secrets.token_hex(520)


def test_recorder_sees_a_pods_exec_open_and_connect_and_nothing_of_the_host(core, namespace):
    rec = Recorder()
    run_pod(core, namespace, "rec")
    host_marker = "host-side-" + secrets.token_hex(8)
    since = time.time()
    script = ('curl -s -m 3 -o /dev/null -A kubectl -H "Authorization: Bearer $1" https://10.96.0.1:443/version; '
              'cat /etc/hostname >/dev/null; echo done')
    code, out = sh(core, namespace, "rec", script, FAKE_TOKEN)
    with subprocess.Popen(["/bin/echo", host_marker], stdout=subprocess.PIPE, text=True) as host:
        assert host.communicate()[0].strip() == host_marker
    until = time.time()
    assert code == 0 and "done" in out, out
    rec.wait_flushed(until)

    window = rec.events(since, until)
    mine = [e for e in window if e.get("namespace") == namespace and e.get("pod") == "rec"]
    curls = [e for e in mine if e["event"] == "exec" and e["comm"] == "curl"]
    assert len(curls) == 1, [e.get("argv") for e in mine if e["event"] == "exec"]
    curl = curls[0]
    assert curl["container"] == "main" and curl["filename"].endswith("/curl")
    # Every argument whole, the ~1 KB bearer header included, in order.
    assert curl["argv"] == ["curl", "-s", "-m", "3", "-o", "/dev/null", "-A", "kubectl",
                            "-H", "Authorization: Bearer " + FAKE_TOKEN, "https://10.96.0.1:443/version"]
    assert since <= curl["ts"] <= until
    # Its parent is the exec's sh -c, whose own parent chain leads out of the container.
    assert curl["ancestors"][0]["comm"] == "sh" and curl["ppid"] == curl["ancestors"][0]["pid"]
    assert rec.descends_from(curl, "sh") and not rec.descends_from(curl, "php-fpm")
    sh_exec = [e for e in mine if e["event"] == "exec" and e["pid"] == curl["ppid"]]
    assert sh_exec and sh_exec[0]["argv"][:2] == ["sh", "-c"], sh_exec

    connects = [e for e in mine if e["event"] == "connect" and e["pid"] == curl["pid"]]
    assert {(e["address"], e["port"]) for e in connects} >= {("10.96.0.1", 443)}, connects
    opens = [e for e in mine if e["event"] == "open" and e["path"] == "/etc/hostname"]
    assert opens and opens[0]["comm"] == "cat" and opens[0]["ret"] >= 0, opens
    assert rec.descends_from(opens[0], "sh")

    # The host's own process in the same window: not recorded, and nothing recorded lacks a pod.
    assert not [e for e in window if host_marker in " ".join(e.get("argv", []))]
    assert not [e for e in window if e.get("pid") == host.pid or not e.get("pod")], \
        [e for e in window if e.get("pid") == host.pid or not e.get("pod")][:5]


def test_recorder_status_says_it_is_recording():
    status = Recorder().wait_flushed()
    assert status["lost"] == 0, status
    for pid in (status["pid"], status["bpftrace_pid"]):
        assert os.path.exists("/proc/%d" % pid), status
    assert open("/proc/%d/comm" % status["bpftrace_pid"], encoding="ascii").read().strip() == "bpftrace"
