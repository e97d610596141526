"""playbooks/simulate.yml as it is, with stand-ins for the roles that need a cluster.

The collection is copied (as symlinks) beside stand-in prerequisites, deploy, techniques and cleanup roles that
do what the real ones do to the run's facts, or fail the way the real ones fail (an image that cannot be pulled,
cleanup that cannot reach the API server). The playbook, the report and verify roles, the modules and filters are
the real ones. What is checked is what a user reads: the exit status, the report files, the AWX artifact."""
import json
import os
import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
PULL_ERROR = ("pod mdc-simulation/mdc-simulation-victim: container mdc-simulation-victim: image "
              "ghcr.io/example/no-such-image:1 could not be pulled: ErrImagePull")


def task(name, module, args, when=None):
    entry = {"name": name, module: args}
    if when:
        entry["when"] = when
    return entry


STAND_INS = {
    "prerequisites": [
        task("Stand-in | fail before the plan", "ansible.builtin.fail", {"msg": "cannot reach the Kubernetes API server"},
             "stand_in_fail == 'prerequisites'"),
        task("Stand-in | name the run and plan it", "ansible.builtin.set_fact", {
            "simulation_run_id": "20261129-080000-abc123",
            "simulation_claim_token": "stand-in-claim-token",
            "simulation_plan": {
                "run_id": "20261129-080000-abc123", "started": "2026-11-29T08:00:00Z",
                "namespace": "{{ simulation_namespace }}", "scenarios": ["webshell"],
                "techniques": [{"id": "webshell.whoami", "name": "whoami through the web shell", "mitre": "T1505.003"}],
                "warnings": [], "cluster": {"name": "{{ inventory_hostname }}", "aks_resource_id": None}}}),
    ],
    "deploy": [
        task("Stand-in | the victim's image cannot be pulled", "ansible.builtin.fail", {"msg": PULL_ERROR},
             "stand_in_fail == 'deploy'"),
    ],
    "techniques": [
        dict(task("Stand-in | record the technique", "ansible.builtin.set_fact", {"simulation_results": [{
            "id": "webshell.whoami", "scenario": "webshell", "technique": "whoami", "mitre": "T1505.003",
            "status": "{{ stand_in_technique_status }}", "rc": 0, "started": "2026-11-29T08:00:05.000Z",
            "duration": 0.1, "output": "nginx", "message": None}]}), tags=["webshell", "webshell.whoami"]),
    ],
    "cleanup": [
        # The cleanup contract (COMMON.md): never fail, say what was left behind.
        task("Stand-in | cleanup reports a failure", "ansible.builtin.set_fact",
             {"simulation_cleanup": {"status": "failed", "left_behind": ["Namespace//{{ simulation_namespace }}"],
                                     "message": "namespace {{ simulation_namespace }}: still terminating after 60 s"}},
             "stand_in_cleanup == 'contract_failed'"),
        # A cleanup role that does fail the task (API server gone) must not lose the report either.
        task("Stand-in | cleanup cannot reach the API server", "ansible.builtin.fail",
             {"msg": "Failed to get client due to HTTPSConnectionPool(host='127.0.0.1', port=1): Max retries exceeded"},
             "stand_in_cleanup == 'raises'"),
        task("Stand-in | cleanup done", "ansible.builtin.set_fact",
             {"simulation_cleanup": {"status": "done", "left_behind": [], "message": ""}},
             "stand_in_cleanup == 'done'"),
    ],
}


@pytest.fixture(scope="module")
def collections(tmp_path_factory):
    base = tmp_path_factory.mktemp("collections")
    home = base / "ansible_collections" / "defender" / "attack_simulation"
    home.mkdir(parents=True)
    for entry in ROOT.iterdir():
        if entry.name not in ("roles", ".git", ".venv", ".tmp"):
            (home / entry.name).symlink_to(entry)
    (home / "roles").mkdir()
    for role in ("report", "verify", "history"):
        (home / "roles" / role).symlink_to(ROOT / "roles" / role)
    for role, tasks in STAND_INS.items():
        (home / "roles" / role / "tasks").mkdir(parents=True)
        (home / "roles" / role / "tasks" / "main.yml").write_text(yaml.safe_dump(tasks, sort_keys=False))
        (home / "roles" / role / "defaults").mkdir()
        (home / "roles" / role / "defaults" / "main.yml").write_text("simulation_namespace: mdc-simulation\n")
    return base


def simulate(collections, tmp_path, *extra, hosts=None, callback="ansible.builtin.default", environment=None,
             **variables):
    variables = dict(dict(stand_in_fail="", stand_in_cleanup="done", stand_in_technique_status="passed",
                          scenario="webshell", report_dir=str(tmp_path / "reports")), **variables)
    variables = dict((name, value) for name, value in variables.items() if value is not None)
    cmd = [str(BIN / "ansible-playbook"), str(collections / "ansible_collections/defender/attack_simulation/playbooks/simulate.yml"),
           "-e", json.dumps(variables)] + list(extra)
    if hosts:
        (tmp_path / "inventory.yml").write_text(yaml.safe_dump({"all": {"hosts": dict((h, {}) for h in hosts)}}))
        cmd += ["-i", str(tmp_path / "inventory.yml")]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1", PATH="%s:%s" % (BIN, os.environ["PATH"]),
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_STDOUT_CALLBACK=callback,
               ANSIBLE_SHOW_CUSTOM_STATS="1")
    env.pop("ANSIBLE_CONFIG", None)
    for name, value in (environment or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    result = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    result.output = result.stdout + result.stderr
    assert "Traceback" not in result.output
    return result


def written(tmp_path, extension):
    found = sorted((tmp_path / "reports").glob("defender-simulation-*.%s" % extension))
    assert len(found) == 1, found
    return found[0]


def junit_cases(tmp_path):
    root = ET.fromstring(written(tmp_path, "xml").read_text().split("\n", 1)[1])
    return root, [(case.get("classname"), case.get("name"), [child.tag for child in case]) for case in root.iter("testcase")]


def test_a_run_that_passed_says_so(collections, tmp_path):
    result = simulate(collections, tmp_path)
    assert result.returncode == 0, result.output
    report = json.loads(written(tmp_path, "json").read_text())
    assert (report["status"], report["problems"], report["stage"]) == ("passed", [], "done")
    assert report["cleanup"]["status"] == "done" and report["failure"] is None
    assert "Outcome: PASSED" in result.stdout


@pytest.mark.parametrize("pwd", [None, "/"], ids=["PWD-unset", "PWD-stale"])
def test_the_default_report_dir_is_reports_under_the_real_working_directory(collections, tmp_path, pwd):
    # PWD is what a shell believes; a process started without one (cron, systemd, AWX's runner) may have none.
    result = simulate(collections, tmp_path, report_dir=None, environment={"PWD": pwd})
    assert result.returncode == 0, result.output
    assert written(tmp_path, "json").parent == tmp_path / "reports"


def test_a_deploy_failure_is_a_failed_run_everywhere(collections, tmp_path):
    result = simulate(collections, tmp_path, stand_in_fail="deploy")
    assert result.returncode == 2, result.output
    report = json.loads(written(tmp_path, "json").read_text())
    assert report["status"] == "failed" and report["techniques"] == []
    assert report["failure"]["stage"] == "deploy" and "ErrImagePull" in report["failure"]["message"]
    assert report["problems"] == ["deploy failed: " + PULL_ERROR]
    assert report["cleanup"]["status"] == "done"  # cleanup still ran
    markdown = written(tmp_path, "md").read_text()
    assert "Outcome: **FAILED**: deploy failed: " in markdown and "Stage reached: deploy" in markdown
    root, cases = junit_cases(tmp_path)
    assert (root.get("tests"), root.get("errors"), root.get("failures")) == ("1", "1", "0")
    assert cases == [("stages", "deploy", ["error"])]
    assert "deploy failed" in root.find(".//error").get("message")
    assert "Outcome: FAILED" in result.stdout
    # The play fails at its very end, naming the stage.
    assert "run 20261129-080000-abc123 failed: deploy failed: %s" % PULL_ERROR in result.stdout


def test_the_awx_artifact_carries_the_failed_run(collections, tmp_path):
    # What AWX keeps of set_stats, as the JSON callback shows it.
    result = simulate(collections, tmp_path, stand_in_fail="deploy", callback="ansible.builtin.json")
    assert result.returncode == 2, result.output
    stats = json.loads(result.stdout)["global_custom_stats"]
    assert stats["defender_simulation"]["status"] == "failed"
    assert stats["defender_simulation_runs"]["localhost"]["failure"]["stage"] == "deploy"


def test_a_failed_technique_fails_the_run_and_the_report(collections, tmp_path):
    result = simulate(collections, tmp_path, stand_in_technique_status="failed")
    assert result.returncode == 2, result.output
    report = json.loads(written(tmp_path, "json").read_text())
    assert report["status"] == "failed" and report["problems"] == ["1 technique(s) failed: webshell.whoami"]
    assert "failed: 1 technique(s) failed: webshell.whoami (see the report " in result.stdout


def test_fail_on_technique_failure_false_keeps_the_exit_status_green(collections, tmp_path):
    result = simulate(collections, tmp_path, stand_in_technique_status="failed", fail_on_technique_failure=False)
    assert result.returncode == 0, result.output
    assert json.loads(written(tmp_path, "json").read_text())["status"] == "failed"  # the report still tells


@pytest.mark.parametrize("cleanup", ["contract_failed", "raises"])
def test_a_failed_cleanup_still_gets_its_report_and_fails_the_play_at_the_end(collections, tmp_path, cleanup):
    result = simulate(collections, tmp_path, stand_in_cleanup=cleanup)
    assert result.returncode == 2, result.output
    report = json.loads(written(tmp_path, "json").read_text())
    assert report["status"] == "failed" and report["cleanup"]["status"] == "failed"
    assert report["techniques"][0]["status"] == "passed"
    assert report["problems"][0].startswith("cleanup failed: ")
    if cleanup == "contract_failed":
        assert report["cleanup"]["left_behind"] == ["Namespace//mdc-simulation"]
        assert "left behind: Namespace//mdc-simulation" in written(tmp_path, "md").read_text()
    else:
        assert "Max retries exceeded" in report["cleanup"]["message"]
    root, cases = junit_cases(tmp_path)
    assert ("stages", "cleanup", ["error"]) in cases and root.get("errors") == "1"
    # The end of the play, after the report: the last task that ran is the failure.
    assert result.stdout.rfind("cleanup failed: ") > result.stdout.rfind("report: ")


def test_a_failure_before_the_plan_names_the_stage_in_the_fleet_summary(collections, tmp_path):
    result = simulate(collections, tmp_path, hosts=["aks-a", "aks-b"], stand_in_fail="{{ 'prerequisites' if inventory_hostname == 'aks-b' else '' }}")
    assert result.returncode == 2, result.output
    summary = json.loads(sorted((tmp_path / "reports").glob("fleet-summary-*.json"))[0].read_text())
    rows = dict((row["host"], row) for row in summary["runs"])
    assert rows["aks-a"]["status"] == "passed"
    assert rows["aks-b"]["status"] == "failed"
    assert rows["aks-b"]["message"] == "failed at prerequisites before the report: cannot reach the Kubernetes API server"


def test_a_deploy_failure_is_a_failed_fleet_row(collections, tmp_path):
    result = simulate(collections, tmp_path, hosts=["aks-a", "aks-b"], stand_in_fail="{{ 'deploy' if inventory_hostname == 'aks-b' else '' }}")
    assert result.returncode == 2, result.output
    summary = json.loads(sorted((tmp_path / "reports").glob("fleet-summary-*.json"))[0].read_text())
    rows = dict((row["host"], row) for row in summary["runs"])
    assert (summary["passed"], summary["failed"]) == (1, 1)
    assert rows["aks-b"]["status"] == "failed" and rows["aks-b"]["message"] == "deploy failed: " + PULL_ERROR


def test_a_host_name_with_a_slash_gets_a_report_file_of_its_own(collections, tmp_path):
    result = simulate(collections, tmp_path, hosts=["team-a/aks-prod", "../escape"])
    assert result.returncode == 0, result.output
    names = sorted(p.name for p in (tmp_path / "reports").iterdir())
    assert "defender-simulation-team-a_aks-prod-20261129-080000-abc123.json" in names
    assert "defender-simulation-.._escape-20261129-080000-abc123.json" in names
    assert not (tmp_path / "escape").exists() and not list(tmp_path.glob("defender-simulation-*"))


# --- issue 17: a verdict to trust ---------------------------------------------------------------------------------

def test_planned_techniques_that_tags_left_out_make_the_run_incomplete_and_failed(collections, tmp_path):
    """Case 1: --tags that pick none of the plan's techniques ran nothing; that is never green."""
    result = simulate(collections, tmp_path, "--tags", "crypto")
    assert result.returncode == 2, result.output
    report = json.loads(written(tmp_path, "json").read_text())
    problem = "incomplete: 1 of 1 planned techniques did not run: webshell.whoami"
    assert (report["status"], report["problems"], report["techniques"]) == ("failed", [problem], [])
    assert "Outcome: **FAILED**: " + problem in written(tmp_path, "md").read_text()
    root, cases = junit_cases(tmp_path)
    assert cases == [("webshell", "webshell.whoami", ["failure"])] and root.get("failures") == "1"
    assert "Outcome: FAILED" in result.stdout and "run 20261129-080000-abc123 failed: " + problem in result.stdout


def test_a_two_host_job_publishes_no_value_glued_from_both_hosts(collections, tmp_path):
    """Case 6: set_stats glues strings of several hosts together; every artifact names one host's value."""
    result = simulate(collections, tmp_path, hosts=["aks-a", "aks-b"], callback="ansible.builtin.json")
    assert result.returncode == 0, result.output
    stats = json.loads(result.stdout)["global_custom_stats"]
    reports = sorted((tmp_path / "reports").glob("defender-simulation-*.json"))
    assert len(reports) == 2
    assert "defender_simulation_report_path" not in stats and "defender_simulation" not in stats
    assert stats["defender_simulation_report_paths"] == {"aks-a": str(reports[0]), "aks-b": str(reports[1])}
    per_run = dict((k, v) for k, v in stats.items() if k.startswith("defender_simulation_run_"))
    assert sorted(run["host"] for run in per_run.values()) == ["aks-a", "aks-b"]
    for path in reports:
        report = json.loads(path.read_text())
        assert stats["defender_simulation_runs"][report["host"]] == report


def test_a_one_host_job_publishes_its_report_and_path_once(collections, tmp_path):
    result = simulate(collections, tmp_path, callback="ansible.builtin.json")
    assert result.returncode == 0, result.output
    stats = json.loads(result.stdout)["global_custom_stats"]
    path = written(tmp_path, "json")
    assert stats["defender_simulation_report_path"] == str(path)
    assert stats["defender_simulation"] == json.loads(path.read_text())
