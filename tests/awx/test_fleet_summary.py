"""The fleet summary (the second play of playbooks/simulate.yml, the report role's fleet entry point), without a cluster.

A stand-in first play leaves what the real one leaves on each host: a report that passed, a report with a failed
technique, a verified report with a missing alert, and nothing for a cluster that failed before its report.
Then the real second play runs, taken from simulate.yml as it is."""
import json
import os
import pathlib
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent


CRYPTO = ["crypto.cpu_optimization", "crypto.ld_so_preload", "crypto.miner_download", "crypto.miner_run"]


def report(host, statuses, verification=None):
    """A crypto run whose first techniques have these statuses; the rest passed."""
    statuses = list(statuses) + ["passed"] * (len(CRYPTO) - len(statuses))
    return {"run_id": "run-" + host, "host": host, "started": "2026-11-29T02:00:00Z", "namespace": "ns-" + host,
            "cluster": {"name": "cluster-of-" + host}, "scenarios": ["crypto"],
            "techniques": [{"id": tid, "scenario": "crypto", "status": s} for tid, s in zip(CRYPTO, statuses)],
            "expected_alerts": [{"display_name": "Possible Web Shell activity detected", "triggered": True},
                                {"display_name": "Not this time", "triggered": False}],
            "verification": verification}


STAND_IN = {
    "name": "Stand-in for the simulation play",
    "hosts": "all", "connection": "local", "gather_facts": False,
    "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
    "tasks": [
        {"name": "Leave the report", "when": "stand_in_report is defined",
         "ansible.builtin.set_fact": {"simulation_report": "{{ stand_in_report }}",
                                      "simulation_report_path": "/reports/{{ inventory_hostname }}.json"}},
        {"name": "Leave the verified report", "when": "stand_in_verified is defined",
         "ansible.builtin.set_fact": {"verify_result": "{{ stand_in_verified }}"}},
        {"name": "Fail like the real play", "when": "stand_in_fails | default(false)",
         "ansible.builtin.fail": {"msg": "stand-in failure"}},
    ],
}


@pytest.fixture
def run_fleet(tmp_path):
    plays = yaml.safe_load((ROOT / "playbooks" / "simulate.yml").read_text())
    assert len(plays) == 2 and plays[1]["hosts"] == "localhost"
    (tmp_path / "playbook.yml").write_text(yaml.safe_dump([STAND_IN, plays[1]], sort_keys=False))

    def run(hosts, *extra):
        (tmp_path / "inventory.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
        reports = tmp_path / "reports"
        env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                   PATH="%s:%s" % (BIN, os.environ["PATH"]))
        result = subprocess.run([str(BIN / "ansible-playbook"), "-i", "inventory.yml", "playbook.yml",
                                 "-e", "report_dir=%s" % reports] + list(extra),
                                cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
        summaries = sorted(reports.glob("fleet-summary-*.json")) if reports.exists() else []
        return result, [json.loads(p.read_text()) for p in summaries], sorted(reports.glob("fleet-summary-*.md")) if summaries else []
    return run


def test_a_fleet_lists_every_cluster_with_its_outcome(run_fleet):
    hosts = {
        "aks-a": {"stand_in_report": report("aks-a", ["passed"])},
        "aks-b": {"stand_in_report": report("aks-b", ["passed", "failed"]), "stand_in_fails": True},
        "aks-c": {"stand_in_report": report("aks-c", ["passed"]), "stand_in_fails": True,
                  "stand_in_verified": report("aks-c", ["passed"], {"missing": ["Possible Web Shell activity detected"],
                                                                    "summary": "0 of 1 expected alerts seen"})},
        "aks-d": {"stand_in_fails": True},
    }
    result, summaries, markdown = run_fleet(hosts)
    assert result.returncode != 0  # the failed clusters fail the run; the summary is written all the same
    assert len(summaries) == 1, result.stdout + result.stderr
    summary = summaries[0]
    assert (summary["clusters"], summary["passed"], summary["failed"]) == (4, 1, 3)
    rows = {row["host"]: row for row in summary["runs"]}
    assert list(rows) == ["aks-a", "aks-b", "aks-c", "aks-d"]
    assert rows["aks-a"]["status"] == "passed" and rows["aks-a"]["run_id"] == "run-aks-a"
    assert rows["aks-a"]["techniques"] == {"passed": 4, "failed": 0, "unreachable": 0, "skipped": 0}
    assert rows["aks-a"]["expected_alerts"] == 1 and rows["aks-a"]["report"] == "/reports/aks-a.json"
    assert rows["aks-a"]["namespace"] == "ns-aks-a" and rows["aks-a"]["cluster"] == "cluster-of-aks-a"
    assert rows["aks-b"]["status"] == "failed" and rows["aks-b"]["message"] == "1 technique(s) failed: crypto.ld_so_preload"
    assert rows["aks-c"]["status"] == "failed"
    assert rows["aks-c"]["message"] == "expected alerts missing: Possible Web Shell activity detected"
    assert rows["aks-d"]["status"] == "failed"
    assert rows["aks-d"]["message"] == "failed before the report, see its output"
    assert rows["aks-d"]["run_id"] is None and rows["aks-d"]["report"] is None
    assert "fleet: 1 of 4 clusters passed" in result.stdout
    assert "aks-d: failed, failed before the report, see its output" in result.stdout
    text = markdown[0].read_text()
    assert "1 of 4 clusters passed" in text and "| aks-d | failed |" in text and "| aks-a | passed |" in text


def test_a_limit_narrows_the_fleet(run_fleet):
    """--limit must name localhost too, or the summary play has no host (docs/awx.md says so)."""
    hosts = {name: {"stand_in_report": report(name, ["passed"])} for name in ("aks-a", "aks-b", "aks-c")}
    result, summaries, unused_markdown = run_fleet(hosts, "--limit", "aks-a,aks-b,localhost")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [row["host"] for row in summaries[0]["runs"]] == ["aks-a", "aks-b"], result.stdout


def test_a_single_cluster_gets_no_fleet_summary(run_fleet):
    result, summaries, unused_markdown = run_fleet({"aks-a": {"stand_in_report": report("aks-a", ["passed"])}})
    assert result.returncode == 0, result.stdout + result.stderr
    assert summaries == []
