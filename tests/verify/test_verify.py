# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""defender_alerts_info and the verify playbook against the local fake ARM server (tests/arm_server/fake_arm.py).

Runs real ansible / ansible-playbook processes with the collection on ANSIBLE_COLLECTIONS_PATH; no Azure host
and no Kubernetes cluster is contacted.
"""

from __future__ import absolute_import, division, print_function

import datetime
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
SUB, RG = "6f1c8f5e-0000-4000-8000-00000000a11e", "rg-aks"
CLUSTER = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ContainerService/managedClusters/aks-prod-1" % (SUB, RG)
OTHER = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ContainerService/managedClusters/aks-test-9" % (SUB, RG)
TENANT, CLIENT, SECRET = "00000000-0000-0000-0000-0000000000aa", "11111111-2222-3333-4444-555555555555", "s3cr3t-value-do-not-print"
WEBSHELL = "Possible Web Shell activity detected"
IMDS = "Access to cloud metadata service detected"
DRIFT = "A drift binary detected executing in the container"
CRYPTO = ["Possible Web Shell activity detected", "Kubernetes CPU optimization detected",
          "Command within a container accessed ld.so.preload", "Possible Cryptocoinminer download detected",
          "Digital currency mining related behavior detected"]


def iso(seconds_from_now):
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds_from_now)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"  # ARM's 7 fractional digits


class FakeArm(object):
    def __init__(self, state_dir):
        self.proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "arm_server", "fake_arm.py"),
                                      "--state-dir", state_dir], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        port_file = os.path.join(state_dir, "port")
        for _attempt in range(100):
            if os.path.exists(port_file):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("fake ARM did not start: %s" % self.proc.stdout.read1())
        self.url = "https://127.0.0.1:%s" % open(port_file).read().strip()
        self.ca = os.path.join(state_dir, "ca.pem")
        self.context = ssl.create_default_context(cafile=self.ca)

    def call(self, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        with urllib.request.urlopen(urllib.request.Request(self.url + path, data=data), context=self.context) as r:
            return json.loads(r.read())

    def scenario(self, **scenario):
        scenario.setdefault("tenant", TENANT)
        scenario.setdefault("client_id", CLIENT)
        scenario.setdefault("client_secret", SECRET)
        self.call("/_control/scenario", scenario)

    def log(self):
        return self.call("/_control/log")

    def list_requests(self):
        return [e for e in self.log()["log"] if e["path"].endswith("/providers/Microsoft.Security/alerts")]


@pytest.fixture(scope="session")
def arm(tmp_path_factory):
    server = FakeArm(str(tmp_path_factory.mktemp("fake_arm")))
    yield server
    server.proc.terminate()
    server.proc.wait(10)


@pytest.fixture(scope="session")
def env(tmp_path_factory):
    collections = tmp_path_factory.mktemp("collections")
    os.makedirs(str(collections / "ansible_collections" / "defender"))
    os.symlink(ROOT, str(collections / "ansible_collections" / "defender" / "attack_simulation"))
    # report() reads the catalog through the same collection path the playbooks use.
    sys.path.insert(0, str(collections))
    environ = dict(os.environ)
    environ.update(
        PATH=BIN + os.pathsep + environ.get("PATH", ""),
        ANSIBLE_COLLECTIONS_PATH=str(collections),
        ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        AZURE_SUBSCRIPTION_ID=SUB, AZURE_CLIENT_ID=CLIENT, AZURE_SECRET=SECRET, AZURE_TENANT=TENANT)
    return environ


def alert(name, display_name, generated=-30, cluster=CLUSTER, **extra):
    entry = dict(name=name, subscription=SUB, resource_group=RG, location="westeurope", display_name=display_name,
                 cluster_resource_id=cluster, compromised_entity=cluster.rsplit("/", 1)[1],
                 start=iso(generated - 5), generated=iso(generated))
    entry.update(extra)
    return entry


def run_module(env, arm, process_timeout=300, **args):
    args = dict(dict(arm_endpoint=arm.url, authority=arm.url, ca_cert=arm.ca), **args)
    proc = subprocess.run([os.path.join(BIN, "ansible"), "localhost", "-c", "local", "-o",
                           "-m", "defender.attack_simulation.defender_alerts_info", "-a", json.dumps(args)],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=process_timeout, check=False)
    line = [l for l in proc.stdout.splitlines() if l.startswith("localhost |")]
    assert line, proc.stdout + proc.stderr
    return proc, json.loads(line[0].split("=> ", 1)[1])


def report(started=-60, scenarios=("lateral_movement",), failed=(), cluster=CLUSTER, run_id="20261128-101500-ab12cd"):
    from ansible_collections.defender.attack_simulation.plugins.module_utils._catalog import alerts_for, techniques_for
    techniques = [dict(id=t["id"], scenario=t["scenario"], status="failed" if t["id"] in failed else "passed",
                       started=iso(started + 1), duration=0.4) for t in techniques_for(list(scenarios))]
    expected = [dict(display_name=a["display_name"], alert_type=a["alert_type"], latency=a["latency"],
                     condition=a["condition"], triggered_by=a["triggered_by"],
                     triggered=any(t["status"] == "passed" for t in techniques if t["id"] in a["triggered_by"]),
                     triggered_at=iso(started + 1)) for a in alerts_for(list(scenarios))]
    return {"run_id": run_id, "started": iso(started)[:19] + "Z", "finished": iso(started + 20),
            "namespace": "mdc-simulation",
            "cluster": {"name": cluster.rsplit("/", 1)[1], "aks_resource_id": cluster, "server": "https://aks.example"},
            "scenarios": list(scenarios), "techniques": techniques, "expected_alerts": expected, "verification": None}


def run_verify(env, arm, tmp_path, the_report, deadline, interval=1, *extra):
    path = tmp_path / "run.json"
    path.write_text(json.dumps(the_report))
    cmd = [os.path.join(BIN, "ansible-playbook"), "playbooks/verify.yml", "-e", "verify_report_path=%s" % path,
           "-e", "verify_arm_endpoint=%s verify_authority=%s verify_ca_cert=%s" % (arm.url, arm.url, arm.ca),
           "-e", "verify_deadline=%d verify_poll_interval=%d" % (deadline, interval)] + list(extra)
    started = time.time()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    proc.elapsed = time.time() - started
    proc.output = proc.stdout + proc.stderr
    return proc, json.loads(path.read_text())


def statuses(written):
    return dict((a["display_name"], a["status"]) for a in written["verification"]["alerts"])


# --- defender_alerts_info -------------------------------------------------------------------------------------

def test_every_page_is_read(env, arm):
    arm.scenario(page_size=2, alerts=[alert("a%d" % i, IMDS) for i in range(7)])
    proc, result = run_module(env, arm, since=iso(-3600))
    assert proc.returncode == 0, proc.stdout
    assert result["pages"] == 4 and result["listed"] == 7
    assert sorted(a["name"] for a in result["alerts"]) == ["a%d" % i for i in range(7)]
    assert [r["query"].count("skipToken") for r in arm.list_requests()] == [0, 1, 1, 1]


def test_filters_and_flattened_fields(env, arm):
    arm.scenario(alerts=[alert("mine", IMDS, alert_type="K8S.NODE_ImdsCall"), alert("theirs", IMDS, cluster=OTHER),
                         alert("old", IMDS, generated=-7200)])
    proc, result = run_module(env, arm, since=iso(-3600), cluster_resource_id=CLUSTER.upper(),
                              display_names=[IMDS.lower() + " (Preview)"], resource_group=RG)
    assert proc.returncode == 0, proc.stdout
    assert [a["name"] for a in result["alerts"]] == ["mine"]
    mine = result["alerts"][0]
    assert mine["alert_type"] == "K8S.NODE_ImdsCall" and mine["product_component"] == "Containers"
    assert mine["resource_ids"][0] == CLUSTER and mine["compromised_entity"] == "aks-prod-1"
    assert mine["alert_uri"].startswith("https://portal.azure.com/") and mine["entities"] == 2
    assert "/resourceGroups/%s/" % RG in arm.list_requests()[0]["path"]


def test_throttling_honours_retry_after_then_succeeds(env, arm):
    arm.scenario(throttle={"on": [1], "retry_after": 3}, unavailable={"on": [2]}, alerts=[alert("a", IMDS)])
    started = time.time()
    proc, result = run_module(env, arm)
    assert proc.returncode == 0, proc.stdout
    assert result["retries"] == 2 and [a["name"] for a in result["alerts"]] == ["a"]
    assert [r["status"] for r in arm.list_requests()] == [429, 503, 200]
    assert time.time() - started >= 3 + 1  # Retry-After: 3, then 1 s backoff after the 503


def test_too_much_throttling_fails_within_bounds(env, arm):
    arm.scenario(throttle={"on": list(range(1, 50)), "retry_after": 1}, alerts=[alert("a", IMDS)])
    proc, result = run_module(env, arm, max_retries=2)
    assert proc.returncode != 0
    assert "429" in result["msg"] and "after 2 retries" in result["msg"]
    assert len(arm.list_requests()) == 3
    arm.scenario(throttle={"on": [1], "retry_after": 120}, alerts=[alert("a", IMDS)])
    started = time.time()
    proc, result = run_module(env, arm, max_retry_wait=10)
    assert proc.returncode != 0 and "max_retry_wait=10" in result["msg"]
    assert time.time() - started < 60  # a Retry-After beyond the bound fails at once


def test_forbidden_names_the_security_reader_role(env, arm):
    arm.scenario(forbidden=[SUB], alerts=[alert("a", IMDS)])
    proc, result = run_module(env, arm)
    assert proc.returncode != 0
    assert "needs the Security Reader role on subscription %s" % SUB in result["msg"]
    assert result["status"] == 403


def test_wrong_secret_fails_clearly_without_printing_it(env, arm):
    arm.scenario(client_secret="the-right-one", alerts=[alert("a", IMDS)])
    wrong = "wr0ng-s3cret-value-zz"
    proc, result = run_module(env, arm, secret=wrong)
    assert proc.returncode != 0
    assert "could not get a token" in result["msg"] and "AADSTS7000215" in result["msg"]
    assert "client %s in tenant %s" % (CLIENT, TENANT) in result["msg"]
    assert wrong not in proc.stdout + proc.stderr
    assert arm.list_requests() == []  # no token, no call to ARM
    # MSAL only asked the fake authority: tenant discovery, then the token (no instance discovery elsewhere).
    assert [(e["method"], e["path"].split("/", 2)[2]) for e in arm.log()["log"]] == [
        ("GET", "v2.0/.well-known/openid-configuration"), ("POST", "oauth2/v2.0/token")]


def test_arm_rejects_requests_without_a_valid_token(arm):
    for headers in ({}, {"Authorization": "Bearer made-up"}):
        request = urllib.request.Request(
            arm.url + "/subscriptions/%s/providers/Microsoft.Security/alerts?api-version=2022-01-01" % SUB,
            headers=headers)
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, context=arm.context)
        assert caught.value.code == 401


# --- the verify playbook ----------------------------------------------------------------------------------

def test_all_alerts_seen(env, arm, tmp_path):
    arm.scenario(alerts=[alert("w", WEBSHELL), alert("i", IMDS)])
    proc, written = run_verify(env, arm, tmp_path, report(), deadline=3600)
    assert proc.returncode == 0, proc.output
    assert "2 of 2 expected alerts seen" in proc.output
    assert written["verification"]["summary"] == "2 of 2 expected alerts seen"
    assert statuses(written) == {WEBSHELL: "seen", IMDS: "seen"}
    imds = [a for a in written["verification"]["alerts"] if a["display_name"] == IMDS][0]
    assert imds["alert_id"].endswith("/alerts/i") and imds["portal_link"].startswith("https://portal.azure.com/")
    assert 25 <= imds["latency_seconds"] <= 35  # technique started 59 s ago, alert generated 30 s ago
    assert written["run_id"] == "20261128-101500-ab12cd" and written["techniques"]  # the rest is kept
    assert proc.elapsed < 60  # nothing left to wait for: no polling up to the deadline


def test_the_subscription_is_the_clusters_own_when_none_is_given(env, arm, tmp_path):
    """A report whose cluster was read from its AKS nodes names its resource id: no subscription to give."""
    other = "0a0a0a0a-0000-4000-8000-0000000000ff"
    theirs = CLUSTER.replace(SUB, other)
    arm.scenario(alerts=[alert("w", WEBSHELL, cluster=theirs, subscription=other),
                         alert("i", IMDS, cluster=theirs, subscription=other)])
    without = dict(env)
    del without["AZURE_SUBSCRIPTION_ID"]
    proc, written = run_verify(without, arm, tmp_path, report(cluster=theirs), deadline=3600)
    assert proc.returncode == 0, proc.output
    assert statuses(written) == {WEBSHELL: "seen", IMDS: "seen"}
    assert all(r["path"].startswith("/subscriptions/%s/" % other) for r in arm.list_requests())
    # Given, the subscription wins over the cluster's (here: where these alerts are not).
    proc, written = run_verify(without, arm, tmp_path, report(cluster=theirs), 4, 1, "-e", "verify_subscription_id=" + SUB)
    assert proc.returncode == 2 and statuses(written) == {WEBSHELL: "missing", IMDS: "missing"}, proc.output


def test_missing_alert_fails_at_the_deadline_naming_it(env, arm, tmp_path):
    arm.scenario(alerts=[alert("w", WEBSHELL)])
    proc, written = run_verify(env, arm, tmp_path, report(started=-60), deadline=72, interval=2)
    assert proc.returncode == 2, proc.output
    assert "missing: %s" % IMDS in proc.output
    assert statuses(written) == {WEBSHELL: "seen", IMDS: "missing"}
    assert written["verification"]["missing"] == [IMDS]
    # It kept polling until the deadline (12 s after the start of the playbook), not just once.
    assert len(arm.list_requests()) >= 2 and proc.elapsed >= 10


def test_missing_alert_only_warns_when_asked(env, arm, tmp_path):
    arm.scenario(alerts=[alert("w", WEBSHELL)])
    proc, written = run_verify(env, arm, tmp_path, report(started=-120), 60, 1, "-e", "verify_on_missing=warn")
    assert proc.returncode == 0, proc.output
    assert "[WARNING]" in proc.output and IMDS in proc.output.split("[WARNING]", 1)[1]
    assert written["verification"]["seen"] == 1 and written["verification"]["expected"] == 2


def test_alerts_arriving_after_some_polls_are_awaited(env, arm, tmp_path):
    arm.scenario(alerts=[alert("w", WEBSHELL, generated=-1), alert("i", IMDS, generated=-1, visible_after=3)])
    proc, written = run_verify(env, arm, tmp_path, report(started=-30), deadline=120, interval=1)
    assert proc.returncode == 0, proc.output
    assert statuses(written) == {WEBSHELL: "seen", IMDS: "seen"}
    assert arm.log()["list_calls"] == 4  # the first three listings did not have it yet; then polling stopped
    assert proc.elapsed < 120


def test_alerts_of_another_cluster_or_before_the_run_do_not_count(env, arm, tmp_path):
    arm.scenario(alerts=[alert("w", WEBSHELL), alert("theirs", IMDS, cluster=OTHER),
                         alert("old", IMDS, generated=-3600)])
    proc, written = run_verify(env, arm, tmp_path, report(started=-120), deadline=60)
    assert proc.returncode == 2, proc.output
    assert statuses(written) == {WEBSHELL: "seen", IMDS: "missing"}
    assert "missing: %s" % IMDS in proc.output


def test_unseen_drift_alert_needs_a_cluster_setting_and_does_not_fail(env, arm, tmp_path):
    arm.scenario(alerts=[alert("c%d" % i, name) for i, name in enumerate(CRYPTO)])
    proc, written = run_verify(env, arm, tmp_path, report(scenarios=("crypto",)), deadline=3600)
    assert proc.returncode == 0, proc.output
    assert statuses(written)[DRIFT] == "needs_cluster_setting"
    assert written["verification"]["needs_cluster_setting"] == [DRIFT] and written["verification"]["missing"] == []
    assert "needs a cluster setting: %s" % DRIFT in proc.output
    assert proc.elapsed < 60  # the drift alert is not waited for


def test_technique_that_did_not_pass_is_not_triggered_and_not_a_pass(env, arm, tmp_path):
    arm.scenario(alerts=[alert("w", WEBSHELL)])
    the_report = report(failed=("lateral_movement.metadata_token",))
    proc, written = run_verify(env, arm, tmp_path, the_report, deadline=3600)
    assert proc.returncode == 2, proc.output
    assert statuses(written) == {WEBSHELL: "seen", IMDS: "not_triggered"}
    assert written["status"] == "failed" and written["verification"]["status"] == "failed"
    assert "expected alerts not verified, their techniques did not pass: %s" % IMDS in written["problems"]


def test_a_report_whose_techniques_all_failed_fails_its_verification_everywhere(env, arm, tmp_path):
    """Issue 17, case 3: an alert whose technique did not run was not verified; that is not a pass."""
    arm.scenario(alerts=[])
    crypto = ("crypto.cpu_optimization", "crypto.ld_so_preload", "crypto.miner_download", "crypto.miner_run")
    the_report = report(scenarios=("crypto",), failed=crypto)
    proc, written = run_verify(env, arm, tmp_path, the_report, deadline=3600)
    assert proc.returncode == 2, proc.output
    assert "0 of 6 expected alerts seen" in written["verification"]["summary"]
    assert written["status"] == "failed" and written["verification"]["status"] == "failed"
    assert proc.elapsed < 60  # nothing could come: nothing to wait for
    # The Markdown and the JUnit beside the JSON say so too, rewritten with the verification.
    markdown = (tmp_path / "run.md").read_text()
    assert "Outcome: **FAILED**" in markdown and "## Verification in Defender for Cloud" in markdown
    suites = ET.fromstring((tmp_path / "run.xml").read_text().split("\n", 1)[1]).findall("testsuite")
    alerts = list(suites[1].iter("testcase"))
    # Even the drift alert, which needs a cluster setting, was not verified: its technique failed.
    assert len(alerts) == 6 and [c.find("failure").get("type") for c in alerts] == ["not_triggered"] * 6


def test_a_missing_alert_is_in_every_report_file_after_verify(env, arm, tmp_path):
    """Issue 17, case 2 (verify.yml on a report): the JSON, the Markdown and the JUnit say failed, per alert."""
    arm.scenario(alerts=[alert("w", WEBSHELL)])
    proc, written = run_verify(env, arm, tmp_path, report(started=-120), deadline=60)
    assert proc.returncode == 2, proc.output
    assert (written["status"], written["problems"]) == ("failed", ["expected alerts missing: %s" % IMDS])
    markdown = (tmp_path / "run.md").read_text()
    assert "Outcome: **FAILED**: expected alerts missing: %s" % IMDS in markdown
    assert "| %s | missing |" % IMDS in markdown and "| %s | seen | " % WEBSHELL in markdown
    root = ET.fromstring((tmp_path / "run.xml").read_text().split("\n", 1)[1])
    alerts = {c.get("name"): c for c in root.findall("testsuite")[1].iter("testcase")}
    assert alerts[IMDS].find("failure").get("type") == "missing" and alerts[WEBSHELL].find("failure") is None
    assert "/alerts/w" in alerts[WEBSHELL].find("system-out").text


def test_cluster_output_in_the_awx_artifacts_is_never_templated(env, arm, tmp_path):
    """Issue 18, item 8: technique output comes from the victim; AWX passes artifacts as extra vars."""
    marker = tmp_path / "templated-marker"
    arm.scenario(alerts=[alert("w", WEBSHELL), alert("i", IMDS)])
    the_report = report(run_id="run-payload")
    the_report["host"] = "aks-a"
    the_report["techniques"][0]["output"] = "{{ lookup('ansible.builtin.pipe', 'touch %s') }}" % marker
    the_report["techniques"][0]["message"] = "{{ lookup('ansible.builtin.pipe', 'touch %s') }}" % marker
    for name, artifacts in (("awx", {"defender_simulation": the_report, "defender_simulation_runs": {"aks-a": the_report}}),
                            ("plain", the_report)):
        extra = tmp_path / ("%s.json" % name)
        extra.write_text(json.dumps(artifacts))
        proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "playbooks/verify.yml", "-e", "@%s" % extra,
                               "-e", "verify_arm_endpoint=%s verify_authority=%s verify_ca_cert=%s" % (arm.url, arm.url, arm.ca),
                               "-e", "verify_deadline=3600 verify_run_id=r1 verify_started=%s verify_cluster_name=aks-prod-1"
                               % iso(-120), "-e", '{"verify_scenarios": ["webshell"]}'],
                              env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
        assert not marker.exists(), name + ": the report's output was rendered as a template\n" + proc.stdout
    assert proc.returncode == 0, proc.stdout


def test_report_from_awx_set_stats_variable(env, arm, tmp_path):
    arm.scenario(alerts=[alert("w", WEBSHELL)])
    extra = tmp_path / "awx.json"
    extra.write_text(json.dumps({"defender_simulation": report(started=-120)}))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "playbooks/verify.yml", "-e", "@%s" % extra,
                           "-e", "history_dir=%s" % (tmp_path / "history"),
                           "-e", "verify_arm_endpoint=%s verify_authority=%s verify_ca_cert=%s" % (arm.url, arm.url, arm.ca),
                           "-e", "verify_deadline=60 verify_on_missing=fail"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 2, proc.stdout
    assert "run 20261128-101500-ab12cd: expected alerts missing: %s" % IMDS in proc.stdout + proc.stderr


def test_report_from_pieces(env, arm, tmp_path):
    arm.scenario(alerts=[alert("w", WEBSHELL), alert("i", IMDS)])
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "playbooks/verify.yml",
                           "-e", "history_dir=%s" % (tmp_path / "history"),
                           "-e", "verify_run_id=r9 verify_started=%s verify_cluster_name=aks-prod-1" % iso(-120),
                           "-e", '{"verify_scenarios": ["lateral-mov"]}',
                           "-e", "verify_arm_endpoint=%s verify_authority=%s verify_ca_cert=%s" % (arm.url, arm.url, arm.ca),
                           "-e", "verify_deadline=60"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout
    assert "2 of 2 expected alerts seen" in proc.stdout


# --- answers that are not what the schema says, and the network -------------------------------------------------

def test_a_dropped_connection_is_retried(env, arm):
    arm.scenario(disconnect={"on": [1]}, alerts=[alert("a", IMDS)])
    proc, result = run_module(env, arm)
    assert proc.returncode == 0, proc.stdout
    assert result["retries"] == 1 and [a["name"] for a in result["alerts"]] == ["a"]
    assert len(arm.list_requests()) == 2


def test_a_read_timeout_is_retried(env, arm):
    arm.scenario(stall={"on": [1], "seconds": 6}, alerts=[alert("a", IMDS)])
    proc, result = run_module(env, arm, process_timeout=120, timeout=2)
    assert proc.returncode == 0, proc.stdout
    assert result["retries"] >= 1 and [a["name"] for a in result["alerts"]] == ["a"]


# Wall-clock bounds: the module's process starts Ansible and imports azure-identity, about 5 s; the margin allows it.
STARTUP_MARGIN = 12


def timed_module(env, arm, **args):
    started = time.monotonic()
    proc, result = run_module(env, arm, process_timeout=300, **args)
    return proc, result, time.monotonic() - started


def test_an_answer_sent_one_byte_at_a_time_is_cut_at_timeout_and_retried(env, arm):
    # One byte every second: each read gets an answer, so a per-read timeout never fires.
    arm.scenario(trickle={"on": [1], "seconds": 1}, alerts=[alert("a", IMDS)])
    proc, result, seconds = timed_module(env, arm, timeout=3, max_retries=1)
    assert proc.returncode == 0, proc.stdout
    assert result["retries"] == 1 and [a["name"] for a in result["alerts"]] == ["a"]
    assert seconds < 3 + STARTUP_MARGIN, "timeout=3 let a slow answer hold the listing %.0f s" % seconds


def test_an_answer_always_sent_one_byte_at_a_time_fails_within_the_retries_bound(env, arm):
    arm.scenario(trickle={"on": [1, 2, 3], "seconds": 1}, alerts=[alert("a", IMDS)])
    proc, result, seconds = timed_module(env, arm, timeout=3, max_retries=2)
    assert proc.returncode != 0 and result["transient"] is True
    assert "no complete answer within 3 seconds" in result["msg"]
    assert seconds < 3 * 3 + 4 + STARTUP_MARGIN, "3 attempts of 3 s (and back-off) took %.0f s" % seconds


def test_a_silent_authority_fails_within_timeout_times_the_attempts(env, arm):
    arm.scenario(token_silence={"seconds": 120}, alerts=[alert("a", IMDS)])
    proc, result, seconds = timed_module(env, arm, timeout=3, max_retries=2)
    assert proc.returncode != 0
    assert "could not get a token" in result["msg"] and "no complete answer within 9 seconds" in result["msg"]
    assert result["transient"] is True and SECRET not in proc.stdout + proc.stderr
    assert seconds < 9 + STARTUP_MARGIN, "a silent authority held the module %.0f s" % seconds
    assert arm.list_requests() == []


@pytest.mark.parametrize("body, shape", [([], "got list"), (None, "got NoneType"), ({"value": "x"}, "'value' of type str"),
                                         ({"value": None}, "'value' of type NoneType"), ({}, "'value' of type NoneType")])
def test_a_page_that_is_not_an_alert_list_fails_cleanly_and_as_transient(env, arm, body, shape):
    arm.scenario(raw={"on": [1], "body": body}, alerts=[alert("a", IMDS)])
    proc, result = run_module(env, arm)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "page 1 of the answer is not an alert list" in result["msg"] and shape in result["msg"]
    assert result["transient"] is True


def test_a_next_link_that_loops_is_not_followed_forever(env, arm):
    arm.scenario(loop=True, page_size=2, alerts=[alert("a%d" % i, IMDS) for i in range(3)])
    proc, result = run_module(env, arm, process_timeout=60)
    assert proc.returncode == 0, proc.stdout
    assert result["pages"] == 2 and sorted(a["name"] for a in result["alerts"]) == ["a0", "a1"]
    assert "points back to a page already read" in result["stopped"]


def test_pages_are_bounded(env, arm):
    arm.scenario(page_size=1, alerts=[alert("a%d" % i, IMDS) for i in range(5)])
    proc, result = run_module(env, arm, max_pages=2)
    assert proc.returncode == 0, proc.stdout
    assert result["pages"] == 2 and len(arm.list_requests()) == 2
    assert "stopped after max_pages=2 pages" in result["stopped"]


@pytest.mark.parametrize("start, reason", [
    ("yesterday", "'yesterday' is not an ISO 8601 timestamp"),
    # Before year 1 once in UTC: it crashed the whole listing ("date value out of range").
    ("0001-01-01T00:00:00+01:00", "'0001-01-01T00:00:00+01:00' is not a valid time"),
])
def test_an_alert_with_a_malformed_time_is_skipped_and_counted(env, arm, start, reason):
    arm.scenario(alerts=[alert("good", IMDS), alert("bad", WEBSHELL, start=start)])
    proc, result = run_module(env, arm, since=iso(-3600))
    assert proc.returncode == 0, proc.stdout
    assert [a["name"] for a in result["alerts"]] == ["good"]
    assert result["malformed"] == 1 and result["listed"] == 2
    assert "startTimeUtc" not in result["malformed_alerts"][0]["reason"]  # the flat field name is given
    assert reason in result["malformed_alerts"][0]["reason"]
    assert result["malformed_alerts"][0]["id"].endswith("/alerts/bad")


def test_an_alert_with_a_time_out_of_range_does_not_stop_the_polling(env, arm, tmp_path):
    arm.scenario(alerts=[alert("w", WEBSHELL), alert("i", IMDS), alert("odd", IMDS, start="0001-01-01T00:00:00+01:00")])
    proc, written = run_verify(env, arm, tmp_path, report(), 120, 1)
    assert proc.returncode == 0, proc.output
    assert statuses(written) == {WEBSHELL: "seen", IMDS: "seen"}


def test_one_failed_poll_does_not_end_the_polling(env, arm, tmp_path):
    arm.scenario(unavailable={"on": [1, 2]}, alerts=[alert("w", WEBSHELL), alert("i", IMDS)])
    proc, written = run_verify(env, arm, tmp_path, report(), 120, 1, "-e", "verify_max_retries=1")
    assert proc.returncode == 0, proc.output
    assert statuses(written) == {WEBSHELL: "seen", IMDS: "seen"}
    assert [r["status"] for r in arm.list_requests()] == [503, 503, 200]


def test_a_poll_with_an_answer_off_the_schema_is_one_failed_poll(env, arm, tmp_path):
    arm.scenario(raw={"on": [1], "body": None}, alerts=[alert("w", WEBSHELL), alert("i", IMDS)])
    proc, written = run_verify(env, arm, tmp_path, report(), 120, 1)
    assert proc.returncode == 0, proc.output
    assert statuses(written) == {WEBSHELL: "seen", IMDS: "seen"}


def test_credentials_that_fail_stop_the_polling_at_once(env, arm, tmp_path):
    arm.scenario(forbidden=[SUB], alerts=[alert("w", WEBSHELL)])
    proc, unused_written = run_verify(env, arm, tmp_path, report(), 600, 1)
    assert proc.returncode != 0 and "Security Reader role" in proc.output
    assert len(arm.list_requests()) == 1 and proc.elapsed < 120


# --- which alerts are the run's ------------------------------------------------------------------------------------

def test_a_report_that_names_no_cluster_is_refused_and_counts_nothing(env, arm, tmp_path):
    arm.scenario(alerts=[alert("theirs-w", WEBSHELL, cluster=OTHER), alert("theirs-i", IMDS, cluster=OTHER)])
    anonymous = report()
    anonymous["cluster"] = {"name": None, "aks_resource_id": None, "server": "https://10.0.0.1:443"}
    proc, written = run_verify(env, arm, tmp_path, anonymous, 60)
    assert proc.returncode != 0
    assert "names no cluster" in proc.output and "simulation_cluster_resource_id" in proc.output
    assert "verify_cluster_resource_id" in proc.output
    assert arm.list_requests() == [] and written["verification"] is None  # nothing counted, the file untouched


def test_a_report_without_a_cluster_can_be_named_at_verification(env, arm, tmp_path):
    arm.scenario(alerts=[alert("w", WEBSHELL), alert("theirs-i", IMDS, cluster=OTHER)])
    anonymous = report()
    anonymous["cluster"] = {"name": None, "aks_resource_id": None}
    proc, written = run_verify(env, arm, tmp_path, anonymous, 30, 1, "-e", "verify_cluster_resource_id=%s" % CLUSTER)
    assert proc.returncode == 2, proc.output
    assert statuses(written) == {WEBSHELL: "seen", IMDS: "missing"}  # the other cluster's alert does not count


# --- a fleet in an AWX workflow -------------------------------------------------------------------------------------

def test_every_cluster_of_a_fleet_is_verified(env, arm, tmp_path):
    """set_stats merges the hosts' defender_simulation into one; defender_simulation_runs keeps every cluster."""
    arm.scenario(alerts=[alert("a-w", WEBSHELL), alert("a-i", IMDS), alert("b-w", WEBSHELL, cluster=OTHER)])
    run_a, run_b = report(run_id="run-a"), report(cluster=OTHER, run_id="run-b")
    extra = tmp_path / "awx.json"
    extra.write_text(json.dumps({"defender_simulation": run_a, "defender_simulation_runs": {"aks-a": run_a, "aks-b": run_b}}))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "playbooks/verify.yml", "-e", "@%s" % extra,
                           "-e", "history_dir=%s" % (tmp_path / "history"),
                           "-e", "verify_arm_endpoint=%s verify_authority=%s verify_ca_cert=%s" % (arm.url, arm.url, arm.ca),
                           "-e", "verify_deadline=70 verify_poll_interval=2"],
                          env=dict(env, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_SHOW_CUSTOM_STATS="1"),
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    failure = [t for play in result["plays"] for t in play["tasks"] if t["hosts"]["localhost"].get("failed")]
    assert failure[-1]["hosts"]["localhost"]["msg"] == "run run-b: expected alerts missing: %s" % IMDS
    runs = result["global_custom_stats"]["defender_simulation_runs"]
    assert sorted(runs) == ["aks-a", "aks-b"]
    assert runs["aks-a"]["verification"]["summary"] == "2 of 2 expected alerts seen"
    assert runs["aks-b"]["verification"]["missing"] == [IMDS]


# --- secrets ----------------------------------------------------------------------------------------------------------

def test_the_azure_secret_is_never_printed_even_at_vvv(env, arm, tmp_path):
    arm.scenario(alerts=[alert("w", WEBSHELL)], throttle={"on": [1], "retry_after": 1})
    environ = dict(env)
    environ.pop("AZURE_SECRET")
    proc, unused_written = run_verify(environ, arm, tmp_path, report(), 20, 1, "-vvv", "-e", "verify_secret=%s" % SECRET)
    assert "1 of 2 expected alerts seen" in proc.output  # it did authenticate and list
    assert SECRET not in proc.output


# --- the history: a verified run compared with the runs before (issue 22) ---------------------------------------------

def test_a_verified_run_is_recorded_and_an_alert_that_stopped_firing_fails_it(env, arm, tmp_path):
    arm.scenario(alerts=[alert("w", WEBSHELL), alert("i", IMDS)])
    proc, first = run_verify(env, arm, tmp_path, report(run_id="r-1", started=-120), deadline=60)
    assert proc.returncode == 0, proc.output
    assert first["status"] == "passed" and first["regressions"] == []
    arm.scenario(alerts=[alert("w", WEBSHELL)])
    proc, second = run_verify(env, arm, tmp_path, report(run_id="r-2", started=-60), deadline=66, interval=2)
    assert proc.returncode == 2, proc.output
    regressed = "detection regressed: aks-prod-1: alert '%s' was seen in the run before and is missing now" % IMDS
    assert regressed in proc.output
    assert second["status"] == "failed" and regressed in second["problems"]
    assert [(r["kind"], r["alert"]) for r in second["regressions"]] == [("alert_regressed", IMDS)]
    # The history lives beside the report: two entries, each run's page and layer.
    assert len(os.listdir(str(tmp_path / "history" / "history" / "aks-prod-1"))) == 2
    assert sorted(os.listdir(str(tmp_path / "history" / "runs")))[:3] == [
        "defender-simulation-aks-prod-1-r-1.html", "defender-simulation-aks-prod-1-r-1.json",
        "defender-simulation-aks-prod-1-r-1.layer.json"]


def test_a_fleet_run_that_never_ran_its_techniques_fails_alone_and_the_others_are_verified(env, arm, tmp_path):
    arm.scenario(alerts=[alert("w", WEBSHELL), alert("i", IMDS)])
    verified, untried = report(run_id="run-a"), report(run_id="run-b", cluster=OTHER)
    verified["host"], untried["host"] = "aks-a", "aks-b"
    untried.update(techniques=[], failure={"stage": "deploy", "task": "Deploy", "message": "ErrImagePull"})
    extra = tmp_path / "awx.json"
    extra.write_text(json.dumps({"defender_simulation_runs": {"aks-a": verified, "aks-b": untried}}))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "playbooks/verify.yml", "-e", "@%s" % extra,
                           "-e", "verify_arm_endpoint=%s verify_authority=%s verify_ca_cert=%s" % (arm.url, arm.url, arm.ca),
                           "-e", "verify_deadline=3600 report_dir=%s" % (tmp_path / "reports")],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 2, proc.stdout
    assert "run run-b: deploy failed: ErrImagePull" in proc.stdout
    summary = json.loads(next((tmp_path / "reports").glob("fleet-summary-*.json")).read_text())
    assert {row["host"]: row["status"] for row in summary["runs"]} == {"aks-a": "passed", "aks-b": "failed"}
    assert len(arm.list_requests()) == 1  # one listing, for run-a only
