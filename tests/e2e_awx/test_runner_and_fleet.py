"""NEEDS THE SEALED CLUSTER: run through `tests/cluster/run -- python -m pytest tests/e2e_awx` (tests/cluster/README.md).

(a) The simulate playbook as AWX runs it: ansible-runner, a private data directory with the project, the survey's
    defaults as extra vars; the set_stats artifact a later workflow node gets.
(b) A fleet: three "clusters" (three contexts of one kubeconfig, all on the sealed cluster), each with its own
    namespace, in one run; then one of them with a bad token: the others stay green and the fleet summary says so."""
import glob
import json
import os
import pathlib
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
SURVEY = ROOT / "docs" / "awx" / "survey.json"


@pytest.fixture(scope="module", autouse=True)
def sealed_cluster():
    if not os.environ.get("KUBECONFIG") or not os.environ.get("CLUSTER_RUN_INSIDE"):
        pytest.fail("needs the sealed cluster: run through tests/cluster/run -- python -m pytest tests/e2e_awx")


def survey_defaults():
    """The extra vars AWX gives a job launched with no answers (a schedule, a workflow node): its own rules."""
    sys.path.insert(0, str(ROOT / "tests" / "awx"))
    import awx_survey  # pylint: disable=import-outside-toplevel
    extravars, errors = awx_survey.launch(awx_survey.uploaded(json.loads(SURVEY.read_text())), answers=None)
    assert errors == {}, errors
    return extravars


def env():
    return dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                PATH="%s:%s" % (BIN, os.environ["PATH"]))


def recap(output):
    """PLAY RECAP lines as {host: {ok: n, failed: n, ...}}."""
    hosts = {}
    for host, counts in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output.split("PLAY RECAP")[-1], re.M):
        hosts[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
    return hosts


# --- (a) ansible-runner, as AWX runs a job template ---------------------------------------------------------

def test_ansible_runner_job_with_the_survey_defaults_leaves_the_artifact(tmp_path):
    private = tmp_path / "private"
    (private / "env").mkdir(parents=True)
    (private / "project").symlink_to(ROOT)
    reports = tmp_path / "reports"
    extravars = dict(survey_defaults(), require_sensor="true", report_dir=str(reports))
    assert extravars["scenario"] == "crypto" and extravars["verify"] == "false"
    (private / "env" / "extravars").write_text(yaml.safe_dump(extravars))
    # AWX gives the job the project's ansible.cfg; here it makes the checkout importable as the collection.
    (private / "env" / "envvars").write_text(yaml.safe_dump({"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
                                                             "ANSIBLE_NOCOLOR": "1"}))
    result = subprocess.run([str(BIN / "ansible-runner"), "run", str(private), "-p", "playbooks/simulate.yml",
                             "--ident", "simulate-1"], capture_output=True, text=True, env=env(), timeout=900,
                            check=False)
    artifacts = private / "artifacts" / "simulate-1"
    stdout = (artifacts / "stdout").read_text() if (artifacts / "stdout").exists() else result.stdout
    assert result.returncode == 0, stdout[-6000:] + result.stderr
    assert (artifacts / "rc").read_text().strip() == "0" and (artifacts / "status").read_text().strip() == "successful"
    # Progress a person can follow in AWX's output: "<scenario> | <technique>" task names.
    assert re.search(r"TASK \[.*crypto \| download xmrig from the attacker", stdout), stdout[-4000:]

    # ansible-runner 2.x has no artifacts/<ident>/custom file: set_stats data is the playbook_on_stats event's
    # artifact_data, which AWX stores as the job's artifacts and hands to later workflow nodes.
    stats = [json.loads(pathlib.Path(p).read_text()) for p in glob.glob(str(artifacts / "job_events" / "*.json"))]
    stats = [e for e in stats if e.get("event") == "playbook_on_stats"]
    assert len(stats) == 1
    artifact = stats[0]["event_data"]["artifact_data"]
    run = artifact["defender_simulation"]
    assert set(artifact) >= {"defender_simulation", "defender_simulation_runs", "defender_simulation_report_path"}
    assert re.fullmatch(r"\d{8}-\d{6}-[a-z0-9]{6}", run["run_id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", run["started"])
    assert run["scenarios"] == ["crypto"] and run["namespace"] == "mdc-simulation"
    assert [t["id"] for t in run["techniques"]] == ["crypto.cpu_optimization", "crypto.ld_so_preload",
                                                    "crypto.miner_download", "crypto.miner_run"]
    assert all(t["status"] in ("passed", "skipped") for t in run["techniques"]), run["techniques"]
    assert run["expected_alerts"] and all("display_name" in a for a in run["expected_alerts"])
    assert artifact["defender_simulation_runs"] == {"localhost": run}
    # What the verify node reads from the artifact is what the JSON report holds.
    assert json.loads(pathlib.Path(artifact["defender_simulation_report_path"]).read_text()) == run


# --- (b) a fleet of three clusters ----------------------------------------------------------------------------

def fleet(tmp_path, bad=()):
    """A kubeconfig with one context per host (the sealed cluster's, or a user with a bad token), and an inventory."""
    admin = yaml.safe_load(pathlib.Path(os.environ["KUBECONFIG"]).read_text())
    current = next(c for c in admin["contexts"] if c["name"] == admin["current-context"])["context"]
    cluster = next(c for c in admin["clusters"] if c["name"] == current["cluster"])
    user = next(u for u in admin["users"] if u["name"] == current["user"])
    names = ["sim-a", "sim-b", "sim-c"]
    config = {"apiVersion": "v1", "kind": "Config", "current-context": "sim-a", "preferences": {},
              "clusters": [cluster], "users": [user, {"name": "bad", "user": {"token": "not-a-valid-token"}}],
              "contexts": [{"name": n, "context": {"cluster": cluster["name"],
                                                   "user": "bad" if n in bad else user["name"]}} for n in names]}
    kubeconfig = tmp_path / "fleet.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    kubeconfig.chmod(0o600)
    inventory = tmp_path / "clusters.yml"
    inventory.write_text(yaml.safe_dump({"all": {"vars": {"ansible_connection": "local"}, "hosts": {
        n: {"kubeconfig": str(kubeconfig), "context": n, "simulation_namespace": "mdc-fleet-" + n[-1]} for n in names}}}))
    return inventory


class FleetRun:
    """One finished fleet run: exit status, output, the clusters' JSON reports and the fleet summaries."""

    def __init__(self, returncode, output, reports):
        self.returncode = returncode
        self.output = output
        self.reports = reports
        found = reports.exists()
        self.runs = [json.loads(p.read_text()) for p in sorted(reports.glob("defender-simulation-*.json"))] if found else []
        self.summary_files = sorted(reports.glob("fleet-summary-*.json")) if found else []
        self.summaries = [json.loads(p.read_text()) for p in self.summary_files]


def run_fleet(tmp_path, inventory, *extra):
    reports = tmp_path / "reports"
    result = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), "playbooks/simulate.yml",
                             "-e", "scenario=webshell", "-e", "report_dir=%s" % reports, "-f", "3"] + list(extra),
                            cwd=ROOT, capture_output=True, text=True, env=env(), timeout=1200, check=False)
    return FleetRun(result.returncode, result.stdout + result.stderr, reports)


def test_a_fleet_of_three_clusters_runs_in_one_go(tmp_path):
    run = run_fleet(tmp_path, fleet(tmp_path))
    output, runs, summaries = run.output, run.runs, run.summaries
    assert run.returncode == 0, output[-8000:]
    assert {h: c["failed"] for h, c in recap(output).items()} == {"sim-a": 0, "sim-b": 0, "sim-c": 0, "localhost": 0}
    assert sorted((r["host"], r["namespace"]) for r in runs) == [
        ("sim-a", "mdc-fleet-a"), ("sim-b", "mdc-fleet-b"), ("sim-c", "mdc-fleet-c")]
    assert all(t["status"] == "passed" for r in runs for t in r["techniques"]), runs
    assert len(summaries) == 1
    summary = summaries[0]
    assert (summary["clusters"], summary["passed"], summary["failed"]) == (3, 3, 0)
    assert {row["host"]: row["run_id"] for row in summary["runs"]} == {r["host"]: r["run_id"] for r in runs}
    assert "fleet: 3 of 3 clusters passed" in output
    # The JUnit XML beside a JSON report: one testcase per technique.
    report_file = pathlib.Path(summary["runs"][0]["report"])
    suite = ET.parse(report_file.with_suffix(".xml")).getroot()
    report = json.loads(report_file.read_text())
    assert len(suite.findall(".//testcase")) == len(report["techniques"]) == int(suite.get("tests")) >= 1
    assert run.summary_files[0].with_suffix(".md").is_file()


def test_a_cluster_with_a_bad_token_fails_alone(tmp_path):
    run = run_fleet(tmp_path, fleet(tmp_path, bad=("sim-b",)))
    output, runs, summaries = run.output, run.runs, run.summaries
    assert run.returncode != 0
    counts = recap(output)
    assert counts["sim-a"]["failed"] == 0 and counts["sim-c"]["failed"] == 0, output[-8000:]
    assert counts["sim-b"]["failed"] == 1 or counts["sim-b"]["unreachable"] == 1, output[-8000:]
    # The connection check's own failure is no_log (it carries the kubeconfig); the run's last failure names the reason.
    failures = re.findall(r"fatal: \[sim-b\]: FAILED! => (.*)", output)
    assert failures and re.search(r"401|Unauthorized|credentials", failures[-1]), output[-8000:]
    assert sorted(r["host"] for r in runs) == ["sim-a", "sim-c"]
    rows = {row["host"]: row for row in summaries[0]["runs"]}
    assert (rows["sim-a"]["status"], rows["sim-b"]["status"], rows["sim-c"]["status"]) == ("passed", "failed", "passed")
    # The row names the stage that failed and why (the run failed before its plan, so it left no report).
    assert rows["sim-b"]["message"].startswith("failed at prerequisites before the report: ")
    assert re.search(r"401|Unauthorized|credentials", rows["sim-b"]["message"]), rows["sim-b"]
    assert "fleet: 2 of 3 clusters passed" in output


def test_per_host_connection_variables_are_enough_without_a_default_kubeconfig(tmp_path, monkeypatch):
    inventory = fleet(tmp_path)
    monkeypatch.delenv("KUBECONFIG")
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config either: only the hosts' own variables
    run = run_fleet(tmp_path, inventory)
    assert run.returncode == 0, run.output[-8000:]
    assert sorted(r["host"] for r in run.runs) == ["sim-a", "sim-b", "sim-c"]


# --- (c) a sliced job, then the verify node: AWX's slicing and its merge of the slices' artifacts ----------------------

def runner_job(tmp_path, ident, playbook, extravars, inventory=None, envvars=None):
    """One AWX job as ansible-runner runs it; returns (rc, stdout, the set_stats artifact AWX keeps)."""
    private = tmp_path / ident
    (private / "env").mkdir(parents=True)
    (private / "project").symlink_to(ROOT)
    (private / "env" / "extravars").write_text(json.dumps(extravars))
    (private / "env" / "envvars").write_text(yaml.safe_dump(dict({"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
                                                                  "ANSIBLE_NOCOLOR": "1"}, **(envvars or {}))))
    if inventory is not None:
        (private / "inventory").mkdir()
        (private / "inventory" / "hosts.yml").write_text(yaml.safe_dump(inventory))
    result = subprocess.run([str(BIN / "ansible-runner"), "run", str(private), "-p", playbook, "--ident", ident],
                            capture_output=True, text=True, env=env(), timeout=900, check=False)
    artifacts = private / "artifacts" / ident
    stdout = (artifacts / "stdout").read_text() if (artifacts / "stdout").exists() else result.stdout
    events = [json.loads(pathlib.Path(p).read_text()) for p in glob.glob(str(artifacts / "job_events" / "*.json"))]
    stats = [e for e in events if e.get("event") == "playbook_on_stats"]
    return result.returncode, stdout, stats[0]["event_data"].get("artifact_data") or {} if stats else {}


def awx_slices(hosts, slice_count):
    # As Inventory.get_sliced_hosts (awx/main/models/inventory.py): hosts ordered by name, slice N gets hosts[N-1::M].
    ordered = sorted(hosts)
    return [ordered[number - 1::slice_count] for number in range(1, slice_count + 1)]


def awx_effective_artifacts(jobs_in_finish_order):
    # As WorkflowJob.get_effective_artifacts (awx/main/models/workflow.py): the finished jobs' artifacts in the order
    # they finished, merged with a top-level dict.update.
    artifacts = {}
    for artifact in jobs_in_finish_order:
        artifacts.update(artifact)
    return artifacts


def test_a_sliced_job_then_verify_looks_at_every_cluster_of_every_slice(tmp_path):
    sys.path.insert(0, str(ROOT / "tests" / "verify"))
    from test_verify import CLIENT, SECRET, SUB, TENANT, WEBSHELL, FakeArm, alert  # pylint: disable=import-outside-toplevel,import-error
    inventory = yaml.safe_load(fleet(tmp_path).read_text())
    prefix = "/subscriptions/%s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/" % SUB
    for host, variables in inventory["all"]["hosts"].items():
        variables["simulation_cluster_resource_id"] = prefix + host
    slices = awx_slices(inventory["all"]["hosts"], 2)
    assert slices == [["sim-a", "sim-c"], ["sim-b"]]
    # Extra vars beat host vars: a fleet whose inventory names each cluster's namespace launches without that
    # survey answer (docs/awx.md), or every host of a slice would share one namespace.
    extravars = dict((k, v) for k, v in survey_defaults().items() if k != "simulation_namespace")
    jobs = []
    for number, hosts in enumerate(slices, 1):
        sliced = {"all": {"vars": inventory["all"]["vars"], "hosts": {h: inventory["all"]["hosts"][h] for h in hosts}}}
        rc, stdout, artifact = runner_job(tmp_path, "slice-%d" % number, "playbooks/simulate.yml",
                                          dict(extravars, scenario="webshell", report_dir=str(tmp_path / "r")),
                                          inventory=sliced)
        assert rc == 0, stdout[-6000:]
        jobs.append(artifact)
    merged = awx_effective_artifacts(jobs)  # slice 2 finished last
    # Every cluster's report reached the next node under a key of its own; the one-host slice's path is a real file.
    assert sorted(v["host"] for k, v in merged.items() if k.startswith("defender_simulation_run_")) == sorted(
        inventory["all"]["hosts"])
    assert pathlib.Path(merged["defender_simulation_report_path"]).is_file()

    (tmp_path / "arm").mkdir()
    arm = FakeArm(str(tmp_path / "arm"))
    try:
        # sim-b's alert never arrives: a verify node that looks only at the last slice's artifact would miss the others.
        arm.scenario(tenant=TENANT, client_id=CLIENT, client_secret=SECRET,
                     alerts=[alert(h, WEBSHELL, generated=-1, cluster=prefix + h) for h in ("sim-a", "sim-c")])
        rc, stdout, artifact = runner_job(
            tmp_path, "verify", "playbooks/verify.yml",
            dict(merged, verify_arm_endpoint=arm.url, verify_authority=arm.url, verify_ca_cert=arm.ca,
                 verify_deadline=90, verify_poll_interval=2, report_dir=str(tmp_path / "verified")),
            envvars=dict(AZURE_SUBSCRIPTION_ID=SUB, AZURE_CLIENT_ID=CLIENT, AZURE_SECRET=SECRET, AZURE_TENANT=TENANT))
    finally:
        arm.proc.terminate()
        arm.proc.wait(10)
    assert rc != 0, stdout[-6000:]
    runs = artifact["defender_simulation_runs"]
    assert sorted(runs) == ["sim-a", "sim-b", "sim-c"]
    assert {h: r["status"] for h, r in runs.items()} == {"sim-a": "passed", "sim-b": "failed", "sim-c": "passed"}
    assert re.search(r"run \S+: expected alerts missing: %s" % WEBSHELL, stdout)
    summary = json.loads(sorted((tmp_path / "verified").glob("fleet-summary-*.json"))[0].read_text())
    assert (summary["clusters"], summary["passed"], summary["failed"]) == (3, 2, 1)
    assert artifact["defender_simulation_fleet"]["clusters"] == 3
