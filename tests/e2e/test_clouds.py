"""Lateral movement and secrets as Defender sees them on each cloud: no metadata service, Azure (AKS), AWS (EKS,
IMDSv2) and GCP (GKE), each from its stand-in on 169.254.169.254 inside the sealed namespace (metadata_services.py)
and, for a cloud, a Node as that platform registers it (cloud_nodes.py).

Per cloud, one run of the collection (every scenario: all and webshell, at -vvv, the AWX artifact printed), then
Microsoft's scenario scripts (original_scripts.py) sent to the same victim under the same stand-in, one request each,
the way the original attacker sends them. The eBPF recorder (tests/cluster/recorder.py) saw both; the tests check:
- what the collection found and printed, and that no secret a service handed out (nor the victim's service-account
  token) is whole, or its second half, in the output, the report files or the artifact;
- every process the original started in the victim is started by the collection too, same program, the original's
  arguments first (ours may add after them), and the collection asks the metadata service nothing the original
  does not (the same branches);
- each event of the technique's row for that cloud in the signal table (_signals.signals(id, cloud)) was seen;
- on AKS the report names the cluster derived from its nodes, and verification finds its alerts without the
  cluster being named; on EKS and GKE nothing is taken for an AKS identity.
A summary per cloud goes to reports/clouds-<cloud>-<time>.md and is printed (pytest -s shows it).
"""
import contextlib
import datetime
import json
import os
import pathlib
import subprocess
import sys
import time

import pytest

from cloud_nodes import CloudNode
from conftest import NAMESPACE, ROOT, Run, in_the_sealed_namespace, playbook_command
from metadata_services import SERVICES, AzureImds
from original_scripts import web_shell_command
from signal_match import check_row, describe, describe_exec, normalized, pair_processes
from test_signals import resolve_in_cluster

sys.path.insert(0, str(ROOT / ".venv" / "collections"))
sys.path.insert(0, str(ROOT / "tests" / "cluster"))
# pylint: disable=wrong-import-position,import-error
from ansible_collections.defender.attack_simulation.plugins.module_utils import _catalog, _kube, _signals  # noqa: E402
from ansible_collections.defender.attack_simulation.plugins.module_utils._records import redact  # noqa: E402
from recorder import Recorder, to_epoch  # noqa: E402

CLOUDS = ("none", "azure", "aws", "gcp")
SCENARIOS = ["all", "webshell"]
TECHNIQUES = [t["id"] for t in _catalog.techniques_for(_catalog.normalize_scenarios(SCENARIOS))]
ORIGINALS = ["recon", "lateral_movement", "secrets", "crypto", "ti_domain", "webshell"]
SLACK = 0.002
TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token"
IMDS = "169.254.169.254"
ARM = dict(tenant="00000000-0000-0000-0000-0000000000aa", client_id="11111111-2222-3333-4444-555555555555",
           client_secret="s3cr3t-value-do-not-print")
AKS_ID = "/subscriptions/%s/resourceGroups/sim-rg/providers/Microsoft.ContainerService/managedClusters/sim-aks" \
    % AzureImds.compute["subscriptionId"]


class FakeArm:
    """tests/arm_server/fake_arm.py on 127.0.0.1 of the sealed namespace, with the alerts of one scenario."""

    def __init__(self, state_dir, alerts):
        scenario = state_dir / "scenario.json"
        scenario.write_text(json.dumps(dict(ARM, page_size=50, alerts=alerts)))
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "arm_server" / "fake_arm.py"),  # pylint: disable=consider-using-with
                                      "--state-dir", str(state_dir), "--scenario", str(scenario)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = state_dir / "port"
        for _attempt in range(100):
            if port.exists() and port.read_text().strip():
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("fake ARM did not start")
        self.url, self.ca = "https://127.0.0.1:%s" % port.read_text().strip(), str(state_dir / "ca.pem")

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)


def arm_alerts(seconds_from_now):
    """Defender's alerts of every scenario, raised on the AKS cluster that the nodes name."""
    def iso(offset):
        moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
    return [dict(name="sim-%d" % index, subscription=AzureImds.compute["subscriptionId"], resource_group="sim-rg",
                 location="westeurope", display_name=alert["display_name"], cluster_resource_id=AKS_ID,
                 compromised_entity="sim-aks", namespace=NAMESPACE, start=iso(seconds_from_now - 1),
                 generated=iso(seconds_from_now))
            for index, alert in enumerate(_catalog.alerts_for(_catalog.normalize_scenarios(SCENARIOS)))]


def victim_token():
    return subprocess.run(["kubectl", "exec", "-n", NAMESPACE, _kube.VICTIM, "-c", _kube.VICTIM, "--", "cat", TOKEN_FILE],
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()


def send_original(scenario):
    """Microsoft's script for a scenario, sent from the attacker to the victim's web shell as the original sends it;
    the window it ran in (epoch seconds) and its output (secrets barely cut: never shown)."""
    started = time.time()
    done = subprocess.run(["kubectl", "exec", "-n", NAMESPACE, _kube.ATTACKER, "-c", _kube.ATTACKER, "--",
                           "curl", "-s", "-G", "--data-urlencode", "cmd=" + web_shell_command(scenario),
                           "http://%s/ws.php" % _kube.VICTIM], capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, "sending the original %s script failed: exit %s" % (scenario, done.returncode)
    return (started - SLACK, time.time() + SLACK), done.stdout


class CloudRun:
    """What one cloud's run left to check."""

    def __init__(self, cloud):
        self.cloud = cloud
        self.service = self.run = self.token = None
        self.original_output, self.original_events, self.our_events, self.records = {}, [], [], {}
        self.replacements, self.addresses, self.argv_placeholders, self.recorder = [], {}, [], None

    def cut(self, text, redacting=True):
        """Text safe to print: the service's secrets and the victim's token as placeholders, then (unless told)
        the collection's redaction as a second net."""
        for value, name in self.replacements:
            text = text.replace(value, name)
        return redact(text) if redacting else text

    def line(self, event):
        """An exec for the summary: the delivery's base64 and the secrets this run met as placeholders (the
        redaction would cut the original's own expressions, such as '"access_token":"\\K.*?(?=")')."""
        return self.cut(describe_exec(dict(event, argv=normalized(event["argv"], self.argv_placeholders))),
                        redacting=False)


def playbook(variables, *extra, env=None):
    report_dir = variables["report_dir"]
    started = time.monotonic()
    environ = dict(os.environ, **(env or {}))
    environ.pop("AZURE_SUBSCRIPTION_ID", None)  # verification must find the subscription by itself
    done = subprocess.run(playbook_command("simulate.yml", variables, *extra), cwd=ROOT, capture_output=True,
                          text=True, timeout=900, check=False, env=environ)
    return Run(done.returncode, done.stdout + done.stderr, pathlib.Path(report_dir), time.monotonic() - started)


@pytest.fixture(scope="module", params=CLOUDS)
def cloud_run(request, core, tmp_path_factory):
    cloud = request.param
    if not in_the_sealed_namespace():
        pytest.fail("run through tests/cluster/run: the metadata stand-ins live in the sealed namespace only")
    rec = Recorder()
    rec.wait_flushed()
    tmp = tmp_path_factory.mktemp("cloud-%s" % cloud)
    result = CloudRun(cloud)
    variables = dict(scenario=SCENARIOS, keep_objects=True, report_dir=str(tmp / "reports"))
    env = {"ANSIBLE_SHOW_CUSTOM_STATS": "true"}
    cleanup = []
    # Everything comes off again, in reverse order, even when one part fails to go (ExitStack runs them all).
    with contextlib.ExitStack() as stack:
        if cloud != "none":
            result.service = stack.enter_context(SERVICES[cloud]())
            stack.enter_context(CloudNode(core, cloud))
        result.replacements = [(secret, "<%s secret>" % cloud) for secret in
                               (result.service.secrets() if result.service else [])]
        if cloud == "azure":
            (tmp / "arm").mkdir()
            arm = FakeArm(tmp / "arm", arm_alerts(20))
            stack.callback(arm.close)
            variables.update(verify=True, verify_arm_endpoint=arm.url, verify_authority=arm.url, verify_ca_cert=arm.ca,
                             verify_deadline=120, verify_poll_interval=2)
            # No subscription and no cluster given: both come from the AKS node.
            env.update(AZURE_CLIENT_ID=ARM["client_id"], AZURE_SECRET=ARM["client_secret"], AZURE_TENANT=ARM["tenant"])
        stack.callback(lambda: cleanup.append(subprocess.run(  # first of all on the way out
            playbook_command("cleanup.yml", {}), cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)))
        result.run = playbook(variables, "-vvv", env=env)
        assert result.run.report, result.cut(repr(result.run))
        result.token = victim_token()
        windows = {}
        for scenario in ORIGINALS:
            windows[scenario], result.original_output[scenario] = send_original(scenario)
        # While the namespace is there: the names the rows connect to, as the victim resolves them.
        result.addresses = {row["address"]: resolve_in_cluster(row["address"]) for technique_id in TECHNIQUES
                            for row in _signals.signals(technique_id, cloud) if row["event"] == "connect"}
    cleanup = cleanup[0]
    assert cleanup.returncode == 0, cleanup.stdout[-3000:] + cleanup.stderr[-3000:]
    result.replacements = [(result.token, "<service-account token>")] + [
        (secret, "<%s secret>" % cloud) for secret in (result.service.secrets() if result.service else [])]
    sessions = getattr(result.service, "sessions", [])
    result.argv_placeholders = [(session, "<session>") for session in sessions]
    rec.wait_flushed()

    # The recorder is read once: each query re-scans every event of the day (and descends_from too, per event).
    everything = rec.events(to_epoch(result.run.report["started"]) - 1, time.time(),
                            namespace=NAMESPACE, pod=_kube.VICTIM, container=_kube.VICTIM)

    def victim(since, until):
        """The victim's events of a window; its execs only under php-fpm (their recorded parent chain)."""
        return [e for e in everything if since <= e["ts"] <= until
                and (e["event"] != "exec" or any(a["comm"].startswith("php-fpm") for a in e.get("ancestors", [])))]
    result.recorder = rec
    result.records = {t["id"]: t for t in result.run.report["techniques"]}
    for technique_id in TECHNIQUES:
        record = result.records[technique_id]
        started = to_epoch(record["started"])
        finished = to_epoch(record["finished"]) if record.get("finished") else started + record["duration"]
        result.our_events.append((technique_id, victim(started - SLACK, finished + SLACK)))
    result.original_events = [(scenario, victim(*windows[scenario])) for scenario in ORIGINALS]
    write_summary(result)
    return result


def execs(events):
    return [e for _name, group in events for e in group if e["event"] == "exec"]


def comparison(result):
    return pair_processes(execs(result.original_events), execs(result.our_events), result.argv_placeholders)


def write_summary(result):
    pairs, missing, extra = comparison(result)
    lines = ["# Clouds: %s (%s)" % (result.cloud, datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC")), "",
             "Microsoft's scenario scripts and the collection's techniques (all and webshell), sent to the same "
             "victim under the same metadata service; processes recorded in the victim under php-fpm.", "",
             "Original processes reproduced: %d of %d" % (len(pairs), len(pairs) + len(missing)), ""]
    lines += ["- reproduced: `%s`" % result.line(original) for original, unused in pairs]
    lines += ["- NOT reproduced: `%s`" % result.line(e) for e in missing]
    lines += ["- added by the collection: `%s`" % result.line(e) for e in extra]
    text = "\n".join(lines) + "\n"
    out = ROOT / "reports"
    out.mkdir(exist_ok=True)
    path = out / ("clouds-%s-%s.md" % (result.cloud, datetime.datetime.utcnow().strftime("%Y%m%dT%H%M%SZ")))
    path.write_text(text)
    print("\n" + text + "(written to %s)" % path)


def test_every_technique_passed_and_found_what_its_cloud_gives(cloud_run):
    run = cloud_run.run
    assert run.returncode == 0, cloud_run.cut(repr(run))
    assert [t["id"] for t in run.report["techniques"]] == TECHNIQUES
    assert all(t["status"] == "passed" for t in run.report["techniques"]), cloud_run.cut(str(run.report["techniques"]))
    lateral = cloud_run.records["lateral_movement.metadata_token"]["output"]
    secret_env = cloud_run.records["secrets.cloud_secret_env"]["output"].strip()
    service = cloud_run.service
    if service is None:
        assert lateral.strip().endswith("No token found"), cloud_run.cut(lateral)
        assert secret_env == "AZURE_CREDENTIAL_FILE is not set"
        found = "No token found" in cloud_run.original_output["lateral_movement"]
        assert found, "Microsoft's script found a token where no metadata service answers"
        return
    cloud_name = {"azure": "Azure", "aws": "AWS", "gcp": "GCP"}[cloud_run.cloud]
    # The token's first characters are shown, cut in the victim (head -c 30, then 8 kept).
    assert "cloud: %s" % cloud_name in lateral and "token: %s...(cut)" % service.token[:8] in lateral, \
        cloud_run.cut(lateral)
    assert secret_env == {"azure": "AZURE_CREDENTIAL_FILE is not set", "aws": "AWS_SECRET_ACCESS_KEY is not set",
                          "gcp": "GOOGLE_DEFAULT_CLIENT_SECRET is not set"}[cloud_run.cloud]
    if cloud_run.cloud == "aws":
        assert "role: %s" % service.role in lateral
        assert any(r.startswith("/latest/meta-data/iam/security-credentials/" + service.role) for r in service.requests)
    if cloud_run.cloud == "azure":
        tokens = [r for r in service.requests if r.startswith("/metadata/identity/oauth2/token")]
        # The first request fails (several identities on an AKS node); the retry names the kubelet identity.
        assert any("msi_res_id=" + service.kubelet["resource_id"] in r for r in tokens), tokens
    # The original, sent to the same victim, found the same cloud (its output is not shown: its cut is short).
    found = "%s token: " % cloud_name in cloud_run.original_output["lateral_movement"]
    assert found, "Microsoft's script found no %s token under the same stand-in" % cloud_name


def test_no_secret_is_whole_in_the_output_at_vvv_the_report_files_or_the_artifact(cloud_run):
    run = cloud_run.run
    assert "CUSTOM STATS" in run.output and "defender_simulation" in run.output
    places = {"the playbook's output at -vvv": run.output}
    places.update((path.name, path.read_text()) for path in run.report_files)
    assert sorted(p.suffix for p in run.report_files) == [".json", ".md", ".xml"]
    secrets = [cloud_run.token] + (cloud_run.service.secrets() if cloud_run.service else [])
    assert cloud_run.token.startswith("eyJ")
    # Booleans first: pytest would print both sides of a failing `in`, the secret with them.
    leaks = ["%s: secret %d of %d %s" % (where, index + 1, len(secrets), "whole" if secret in text else "second half")
             for where, text in places.items() for index, secret in enumerate(secrets)
             if secret[len(secret) // 2:] in text]
    leaks += ["%s: the git credentials' password" % where for where, text in places.items() if "user:pass@" in text]
    assert not leaks, leaks


def test_every_process_of_microsofts_scripts_is_reproduced(cloud_run):
    pairs, missing, _extra = comparison(cloud_run)
    assert pairs, "nothing recorded for the original's scripts"
    assert not missing, "%s: %d of %d original processes not reproduced:\n%s" % (
        cloud_run.cloud, len(missing), len(pairs) + len(missing),
        "\n".join(cloud_run.line(e) for e in missing))


def test_the_collection_asks_the_metadata_service_only_what_the_original_asks(cloud_run):
    """The same branches: no request to 169.254.169.254 of ours lacks its counterpart in the original's run."""
    _pairs, _missing, extra = comparison(cloud_run)
    ours = [e for e in extra if any(IMDS in arg for arg in e["argv"])]
    assert not ours, "\n".join(cloud_run.line(e) for e in ours)


@pytest.mark.parametrize("technique_id", TECHNIQUES)
def test_each_event_of_the_clouds_row_is_seen(cloud_run, technique_id):
    events = dict(cloud_run.our_events)[technique_id]
    rows = _signals.signals(technique_id, cloud_run.cloud)
    found = check_row(rows, events, cloud_run.addresses.get, lambda e: cloud_run.recorder.descends_from(e, "php-fpm"),
                      _signals.WEB_SHELL_SUFFIXES)
    missing = [describe(row) for row, event in zip(rows, found) if event is None]
    assert not missing, "%s on %s: not seen: %s" % (technique_id, cloud_run.cloud, missing)


def test_the_cluster_identity_comes_from_the_nodes_on_aks_only(cloud_run):
    cluster = cloud_run.run.report["cluster"]
    if cloud_run.cloud != "azure":
        # An EKS or GKE node (or none) is not taken for an AKS identity: the report names the kubeconfig context.
        assert cluster["aks_resource_id"] is None and cluster["subscription_id"] is None, cluster
        assert cluster["name"] != "sim-aks", cluster
        return
    assert cluster["name"] == "sim-aks" and cluster["aks_resource_id"] == AKS_ID, cluster
    assert cluster["subscription_id"] == AzureImds.compute["subscriptionId"]
    verification = cloud_run.run.report["verification"]
    assert verification and verification["missing"] == [], cloud_run.cut(json.dumps(verification)[:3000])
    assert verification["seen"] == verification["expected"] == len(_catalog.alerts_for(_catalog.normalize_scenarios(SCENARIOS)))
    assert sorted(a["display_name"] for a in verification["alerts"] if a["status"] == "seen") == \
        sorted(a["display_name"] for a in _catalog.alerts_for(_catalog.normalize_scenarios(SCENARIOS)))
