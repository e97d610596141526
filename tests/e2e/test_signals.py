"""What the kernel saw in the victim, per technique, against the signal table (plugins/module_utils/_signals.py).

Two playbook runs cover the catalog: `all` (with the Azure metadata stand-in of an AKS node, so that lateral
movement goes as far as its token; its rows are the table's Azure rows) and `webshell`. The sealed cluster's eBPF recorder (tests/cluster/recorder.py)
records every exec, open and connect of the pods; for each technique, each event of its row must have been seen
in the victim, under php-fpm, within the technique's window (its record's started..finished).

Per technique, the events seen are written to reports/signals-<time>.md and printed (pytest -s shows them).
"""
import datetime
import pathlib
import socket
import subprocess
import sys
import time

import pytest

from conftest import NAMESPACE, ROOT, Run, in_the_sealed_namespace, playbook_command
from metadata_services import AzureImds
from signal_match import check_row, describe, describe_observed

# The collection as make setup links it (.venv/collections), and the cluster harness's recorder API.
sys.path.insert(0, str(ROOT / ".venv" / "collections"))
sys.path.insert(0, str(ROOT / "tests" / "cluster"))
# pylint: disable=wrong-import-position,import-error
from ansible_collections.defender.attack_simulation.plugins.module_utils import _catalog, _kube, _signals  # noqa: E402
from ansible_collections.defender.attack_simulation.plugins.module_utils._redact import redact  # noqa: E402
from recorder import Recorder, to_epoch  # noqa: E402

# The window's ends are printed with milliseconds.
SLACK = 0.002
TECHNIQUES = [t["id"] for t in _catalog.techniques_for(_catalog.normalize_scenarios(["all", "webshell"]))]


def run_playbook(report_dir, **variables):
    variables.setdefault("report_dir", str(report_dir))
    started = time.monotonic()
    result = subprocess.run(playbook_command("simulate.yml", variables), cwd=ROOT, capture_output=True, text=True,
                            timeout=900, check=False)
    return Run(result.returncode, result.stdout + result.stderr, pathlib.Path(variables["report_dir"]),
               time.monotonic() - started)


def resolve_in_cluster(name):
    """The IPv4 addresses of a name as the victim's resolver sees it (search path <namespace>.svc.cluster.local)."""
    if name.replace(".", "").isdigit():
        return {name}
    for fqdn in ("%s.%s.svc.cluster.local" % (name, NAMESPACE), "%s.svc.cluster.local" % name):
        try:
            return {a[4][0] for a in socket.getaddrinfo(fqdn, None, socket.AF_INET)}
        except socket.gaierror:
            continue
    raise AssertionError("%s does not resolve in the cluster" % name)


def window(record):
    started = to_epoch(record["started"])
    finished = to_epoch(record["finished"]) if record.get("finished") else started + record["duration"]
    return started - SLACK, finished + SLACK


class Observed(dict):
    """Per technique: (record, rows, matches, events). Its repr stays short: pytest prints a failing test's
    arguments, and the victim's events hold its service-account token whole (curl's bearer header)."""

    def __repr__(self):
        return "<the victim's signals of %d techniques>" % len(self)


@pytest.fixture(scope="module")
def observed(tmp_path_factory):
    """Run the scenarios once; per technique: its record, its row, the events that matched (None: not seen)."""
    if not in_the_sealed_namespace():
        pytest.fail("run through tests/cluster/run (the fake metadata service goes on the sealed namespace's lo)")
    rec = Recorder()
    rec.wait_flushed()  # the recorder runs (tests/cluster/up started it)
    reports = tmp_path_factory.mktemp("signals")
    fake = AzureImds()
    try:
        # keep_objects: the attacker's name must still resolve below; cleanup.yml then removes everything.
        runs = [run_playbook(reports / "all", scenario="all", keep_objects=True)]
        addresses = {row["address"]: resolve_in_cluster(row["address"])
                     for rows in list(_signals.SIGNALS.values()) + list(_signals.CLOUD_SIGNALS["azure"].values())
                     for row in rows if row["event"] == "connect"}
    finally:
        fake.close()
        cleanup = subprocess.run(playbook_command("cleanup.yml", {}), cwd=ROOT, capture_output=True, text=True,
                                 timeout=600, check=False)
    assert cleanup.returncode == 0, cleanup.stdout[-3000:] + cleanup.stderr[-3000:]
    runs.append(run_playbook(reports / "webshell", scenario="webshell"))
    for run in runs:
        assert run.returncode == 0 and run.report, run
    rec.wait_flushed()

    records = {t["id"]: t for run in runs for t in run.report["techniques"]}
    results = Observed()
    for technique_id in TECHNIQUES:
        record = records[technique_id]
        since, until = window(record)
        events = rec.events(since, until, namespace=NAMESPACE, pod=_kube.VICTIM, container=_kube.VICTIM)
        rows = _signals.signals(technique_id, "azure")
        found = check_row(rows, events, lambda name: addresses[name],
                          lambda e: rec.descends_from(e, "php-fpm"), _signals.WEB_SHELL_SUFFIXES)
        results[technique_id] = (record, rows, found, events)
    write_summary(results)
    return results


def write_summary(results):
    lines = ["# Signals seen in the victim, per technique (%s)" % datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
             "", "Recorded by the sealed cluster's eBPF recorder; each row event of plugins/module_utils/_signals.py",
             "and the first event that matched it (in the victim, under php-fpm, in the technique's window).", ""]
    for technique_id, (record, rows, found, events) in results.items():
        heading = "## %s (%s + %s s, %d events in the victim)" % (
            technique_id, record["started"], record["duration"], len(events))
        lines += [heading, ""]
        for row, event in zip(rows, found):
            seen = describe_observed(event, redact) if event else "NOT SEEN"
            lines.append("- `%s`  \n  %s" % (describe(row), seen))
        lines.append("")
    text = "\n".join(lines)
    out = ROOT / "reports"
    out.mkdir(exist_ok=True)
    path = out / ("signals-%s.md" % datetime.datetime.utcnow().strftime("%Y%m%dT%H%M%SZ"))
    path.write_text(text)
    print("\n" + text + "\n(written to %s)" % path)


@pytest.mark.parametrize("technique_id", TECHNIQUES)
def test_each_event_of_the_row_is_seen_in_the_victim_under_php_fpm_in_the_window(observed, technique_id):
    record, rows, found, events = observed[technique_id]
    assert record["status"] == "passed", record
    missing = [describe(row) for row, event in zip(rows, found) if event is None]
    assert not missing, "%s: not seen in the victim under php-fpm in %s + %s s: %s\nseen there:\n%s" % (
        technique_id, record["started"], record["duration"], missing,
        "\n".join(describe_observed(e, redact) for e in events if e["event"] == "exec"))


def test_every_technique_of_the_catalog_has_a_row():
    assert sorted(_signals.SIGNALS) == sorted(t["id"] for t in _catalog.TECHNIQUES)
    assert set(TECHNIQUES) == set(_signals.SIGNALS)


def test_no_summary_line_holds_a_whole_secret(observed):
    """The summary prints observed command lines: the victim's service-account token must never be whole there."""
    for record, _rows, found, _events in observed.values():
        for event in found:
            if event and event["event"] == "exec":
                line = describe_observed(event, redact, limit=100000)
                for arg in event["argv"]:
                    if arg.startswith("Authorization: Bearer ") and len(arg) > 40:
                        assert arg not in line and arg[22:] not in line, record["id"]
