"""Issue 17 on the real cluster: a run is green only when every planned technique ran and every awaited alert was seen.

Case 1: --tags that leave the plan's techniques out. Case 2: -e verify=true with the alert absent from Defender for
Cloud (the Azure stand-in, tests/arm_server/fake_arm.py, on 127.0.0.1 of the sealed namespace)."""
import json
import pathlib
import sys
import xml.etree.ElementTree as ET

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "verify"))
from test_verify import CLIENT, SECRET, SUB, TENANT, WEBSHELL, FakeArm, alert  # noqa: E402  pylint: disable=wrong-import-position,import-error

pytestmark = pytest.mark.usefixtures("leaves_nothing_behind")

CRYPTO = ["crypto.cpu_optimization", "crypto.ld_so_preload", "crypto.miner_download", "crypto.miner_run"]
CLUSTER = "/subscriptions/%s/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/sealed" % SUB


def files(run):
    by_suffix = dict((p.suffix, p) for p in run.report_files)
    junit = ET.fromstring(by_suffix[".xml"].read_text().split("\n", 1)[1])
    return json.loads(by_suffix[".json"].read_text()), by_suffix[".md"].read_text(), junit


def test_tags_that_leave_out_every_planned_technique_fail_the_run_and_name_them(simulate):
    run = simulate("--tags", "webshell", scenario="crypto")
    assert run.returncode == 2, run
    report, markdown, junit = files(run)
    problem = "incomplete: 4 of 4 planned techniques did not run: " + ", ".join(CRYPTO)
    assert (report["status"], report["problems"], report["techniques"]) == ("failed", [problem], [])
    assert "Outcome: **FAILED**: " + problem in markdown
    assert (junit.get("tests"), junit.get("failures")) == ("4", "4")
    assert [c.get("name") for c in junit.iter("testcase")] == CRYPTO
    assert "Outcome: FAILED" in run.output and "Techniques: 0 passed, 0 failed, 0 unreachable, 0 skipped, 4 planned but not run" in run.output


@pytest.fixture
def arm(tmp_path):
    server = FakeArm(str(tmp_path))
    yield server
    server.proc.terminate()
    server.proc.wait(10)


def verified_run(simulate, arm):
    return simulate(scenario="webshell", verify=True, simulation_cluster_resource_id=CLUSTER,
                    verify_arm_endpoint=arm.url, verify_authority=arm.url, verify_ca_cert=arm.ca,
                    verify_deadline=25, verify_poll_interval=2,
                    env=dict(AZURE_SUBSCRIPTION_ID=SUB, AZURE_CLIENT_ID=CLIENT, AZURE_SECRET=SECRET,
                             AZURE_TENANT=TENANT, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
                             ANSIBLE_SHOW_CUSTOM_STATS="1"))


def test_verify_true_with_the_alert_absent_fails_in_every_report_file_and_the_artifact(simulate, arm):
    arm.scenario(tenant=TENANT, client_id=CLIENT, client_secret=SECRET, alerts=[])
    run = verified_run(simulate, arm)
    assert run.returncode == 2, run
    report, markdown, junit = files(run)
    assert report["verification"]["status"] == "failed"
    assert (report["status"], report["problems"]) == ("failed", ["expected alerts missing: " + WEBSHELL])
    assert "Outcome: **FAILED**: expected alerts missing: " + WEBSHELL in markdown and "| %s | missing |" % WEBSHELL in markdown
    alerts = junit.findall("testsuite")[1]
    assert [(c.get("name"), c.find("failure").get("type")) for c in alerts.iter("testcase")] == [(WEBSHELL, "missing")]
    stats = json.JSONDecoder().raw_decode(run.output[run.output.index("{"):])[0]["global_custom_stats"]
    assert stats["defender_simulation"] == report and stats["defender_simulation"]["status"] == "failed"


def test_verify_true_with_the_alert_seen_passes_and_says_where_it_is(simulate, arm):
    # Generated after the run's start (a run may first wait for the last run's namespace to go): it is the run's alert.
    arm.scenario(tenant=TENANT, client_id=CLIENT, client_secret=SECRET,
                 alerts=[alert("w", WEBSHELL, generated=45, cluster=CLUSTER)])
    run = verified_run(simulate, arm)
    assert run.returncode == 0, ((run.report or {}).get("problems"), (run.report or {}).get("verification"))
    report, markdown, junit = files(run)
    assert (report["status"], report["verification"]["status"]) == ("passed", "passed")
    seen = report["verification"]["alerts"][0]
    assert seen["alert_id"].endswith("/alerts/w") and seen["portal_link"] in markdown
    assert junit.findall("testsuite")[1].find("testcase").find("failure") is None
