"""The recorder's translation of bpftrace's output and the signal table's matching rules, on a recorded sample
(tests/harness/data/README.md says how it was recorded). No cluster needed."""
import json
import pathlib
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "cluster"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / ".venv" / "collections"))
# pylint: disable=wrong-import-position,import-error
import recorder  # noqa: E402
import signal_match  # noqa: E402
from ansible_collections.defender.attack_simulation.plugins.module_utils import _signals  # noqa: E402

B64 = ("Y2F0IC9ldGMvaG9zdG5hbWUgPi9kZXYvbnVsbDsgY3VybCAtcyAtbSAxIC1BIGt1YmVjdGwgLUggIkF1dGhvcml6YXRpb246IEJlYXJlciBl"
       "eUpoYkdjaU9pSlNVekkxTmlKOS5leUp6ZFdJaU9pSnpZVzF3YkdVaWZRLmMyRnRjR3hsTFhOcFoyNWhkSFZ5WlEiIGh0dHA6Ly8xMjcuMC4w"
       "LjE6OS94OyB0cnVlCg==")
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzYW1wbGUifQ.c2FtcGxlLXNpZ25hdHVyZQ"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """The sample through the daemon's translator into an events file, read back through the query API."""
    tmp = tmp_path_factory.mktemp("recorder")
    state = tmp / "containerd" / "io.containerd.runtime.v2.task" / "k8s.io" / "cafe0123"
    state.mkdir(parents=True)
    (state / "config.json").write_text(json.dumps({"annotations": {
        "io.kubernetes.cri.sandbox-namespace": "mdc-simulation", "io.kubernetes.cri.sandbox-name": "victim",
        "io.kubernetes.cri.sandbox-uid": "fake-uid", "io.kubernetes.cri.container-name": "victim"}}))
    translator = recorder.Translator(str(tmp / "containerd"))
    events_path = tmp / "events.jsonl"
    with open(events_path, "w", encoding="utf-8") as out:
        for line in (HERE / "data" / "bpftrace-sample.jsonl").read_text().splitlines():
            for event in translator.line(line):
                out.write(json.dumps(event) + "\n")
    status = tmp / "status.json"
    status.write_text(json.dumps({"heartbeat_ts": translator.heartbeat, "lost": translator.lost, "pid": 1}))
    return recorder.Recorder(str(events_path), str(status))


def execs(rec, comm):
    return [e for e in rec.events(kind="exec") if e["comm"] == comm]


def test_exec_events_carry_every_argument_whole_with_parents_and_pod(recorded):
    sh, = execs(recorded, "sh")
    assert sh["argv"] == ["sh", "-c", "echo %s| base64 -d| bash 2>&1" % B64]  # 270 bytes: two pieces joined
    assert sh["filename"] == "/usr/bin/sh"
    assert (sh["namespace"], sh["pod"], sh["container"], sh["pod_uid"]) == ("mdc-simulation", "victim", "victim",
                                                                            "fake-uid")
    curl, = execs(recorded, "curl")
    assert curl["argv"] == ["curl", "-s", "-m", "1", "-A", "kubectl", "-H", "Authorization: Bearer " + JWT,
                            "http://127.0.0.1:9/x"]
    assert [a["comm"] for a in curl["ancestors"][:3]] == ["bash", "sh", "php-fpm8.2"]
    assert curl["ppid"] == curl["ancestors"][0]["pid"]
    assert recorded.descends_from(curl, "php-fpm")
    assert not recorded.descends_from(execs(recorded, "php-fpm8.2")[0], "php-fpm")


def test_open_and_connect_events_are_tied_to_their_process(recorded):
    cat, = execs(recorded, "cat")
    opened = [e for e in recorded.events(kind="open", pid=cat["pid"]) if e["path"] == "/etc/hostname"]
    assert opened and opened[0]["ret"] >= 0
    assert recorded.descends_from(opened[0], "php-fpm")
    curl, = execs(recorded, "curl")
    connect, = recorded.events(kind="connect", pid=curl["pid"])
    assert (connect["address"], connect["port"], connect["family"]) == ("127.0.0.1", 9, "inet")
    assert connect["ret"] == -115  # EINPROGRESS: curl connects without blocking


def test_only_the_pods_processes_are_recorded_and_times_are_ordered(recorded):
    events = recorded.events()
    assert events and all(e["pod"] == "victim" for e in events)
    assert not [e for e in recorded.events(kind="exec") if "host-side" in e["argv"]]
    assert [e["ts"] for e in events] == sorted(e["ts"] for e in events)
    first, last = events[0]["ts"], events[-1]["ts"]
    assert last - first < 5 and len(recorded.events(since=first, until=first)) >= 1


def test_the_matcher_finds_the_delivery_rows_under_php_fpm(recorded):
    rows = _signals.SIGNALS["recon.access_review"][:3]  # sh -c 'echo <b64>| base64 -d| bash', base64 -d, bash
    found = signal_match.check_row(rows, recorded.events(), lambda name: {name},
                                   lambda e: recorded.descends_from(e, "php-fpm"), _signals.WEB_SHELL_SUFFIXES)
    assert [e and e["comm"] for e in found] == ["sh", "base64", "bash"]
    # Without the web shell's own " 2>&1" suffix among the allowed ones, the sh -c row does not match.
    assert signal_match.check_row(rows[:1], recorded.events(), lambda name: {name}, lambda e: True) == [None]


@pytest.mark.parametrize("row, matches", [
    ({"event": "exec", "argv": ["curl", "-s", "-A", "kubectl", "-H", "Authorization: Bearer <token>"]}, True),
    ({"event": "exec", "argv": ["curl", "-A", "kubectl", "-s"]}, False),           # order matters
    ({"event": "exec", "argv": ["curl", "-sO"]}, False),                          # replacements do not match
    ({"event": "exec", "argv": ["/bin/curl", "-s"]}, False),                      # absolute: the path as executed
    ({"event": "exec", "argv": ["/usr/bin/curl", "-s"]}, True),
    ({"event": "exec", "argv": ["curl", "-H", "Authorization: Bearer <token>x"]}, False),
    ({"event": "exec", "argv": ["cat", "/etc/hostname"]}, True),
    ({"event": "open", "path": "/etc/<name>"}, True),
    ({"event": "open", "path": "/etc/<name>/x"}, False),
    ({"event": "connect", "address": "local", "port": 9}, True),
    ({"event": "connect", "address": "local", "port": 80}, False),
])
def test_matching_rules(recorded, row, matches):
    resolve = {"local": {"127.0.0.1"}}.get
    found = signal_match.check_row([row], recorded.events(), resolve, lambda e: recorded.descends_from(e, "php-fpm"))
    assert (found[0] is not None) == matches, found


def test_a_process_outside_php_fpm_does_not_count(recorded):
    row = {"event": "exec", "argv": ["php-fpm8.2", "-c"]}
    assert signal_match.check_row([row], recorded.events(), {}.get, lambda e: True)[0] is not None
    assert signal_match.check_row([row], recorded.events(), {}.get,
                                  lambda e: recorded.descends_from(e, "php-fpm")) == [None]


def test_describe_cuts_the_bearer_token():
    from ansible_collections.defender.attack_simulation.plugins.module_utils._redact import redact  # noqa: E501  pylint: disable=import-outside-toplevel
    event = {"event": "exec", "time": "2026-11-29T08:00:00.000000Z", "pid": 7, "filename": "/usr/bin/curl",
             "argv": ["curl", "-H", "Authorization: Bearer " + JWT]}
    line = signal_match.describe_observed(event, redact)
    assert JWT not in line and "Authorization: Bearer eyJhbG" in line


@pytest.mark.parametrize("text", ["plain", "two words", "l1\nl2", "\u00e9t\u00e9", "a\\x00b", "tab\there"])
def test_argument_area_rebuilds_arguments_exactly(text):
    area = recorder.ArgumentArea(3, len(b"x\0" + text.encode() + b"\0" + b"y" * 400 + b"\0"))
    piece = recorder.ArgumentArea.PIECE
    area.put(True, 0, "x")
    area.put(True, 2, text)
    start = 3 + len(text.encode())
    area.put(True, start, "y" * piece)
    for off in range(piece, len(area.bytes), piece):  # the XB pieces: the area every PIECE bytes, up to a NUL
        data = area_bytes = (b"x\0" + text.encode() + b"\0" + b"y" * 400 + b"\0")[off:]
        area.put(False, off, area_bytes[:min(piece, data.index(b"\0"))].decode("utf-8", "surrogateescape"))
    assert area.argv() == (["x", text, "y" * 400], False)
