"""Detection coverage over time, on the real cluster: a scripted series of runs with the Azure stand-in (fake ARM) as
Defender for Cloud and Azurite as the history's blob store; the regressions, the verdicts and the picture, opened in
a real headless Chromium, are what they should be.

The series (scenario crypto, one cluster): all seen; seen; one alert missing (a regression); the sensor gone (a
DaemonSet name that does not exist, so other tests' sensor stand-in is left alone: a regression); recovered.
"""
import datetime
import html.parser
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tests" / "azurite"))
sys.path.insert(0, str(ROOT / "plugins" / "module_utils"))
from azurite import Azurite  # noqa: E402  pylint: disable=wrong-import-position,import-error
import _catalog  # noqa: E402  pylint: disable=wrong-import-position,import-error

pytestmark = pytest.mark.usefixtures("leaves_nothing_behind")

SUB, RG = "6f1c8f5e-0000-4000-8000-00000000a11e", "rg-aks"
CLUSTER = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ContainerService/managedClusters/aks-sim" % (SUB, RG)
TENANT, CLIENT, SECRET = "00000000-0000-0000-0000-0000000000aa", "11111111-2222-3333-4444-555555555555", "s3cr3t-value-do-not-print"
HOST = "localhost"
PRELOAD = "Command within a container accessed ld.so.preload"
DRIFT = "A drift binary detected executing in the container"
CRYPTO_ALERTS = [a["display_name"] for a in _catalog.alerts_for(["crypto"])]
CONTAINER = "coverage-e2e"


def iso(seconds_from_now):
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds_from_now)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


class FakeArm:
    def __init__(self, state_dir):
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "arm_server" / "fake_arm.py"),  # pylint: disable=consider-using-with
                                      "--state-dir", state_dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(state_dir, "port")
        for _attempt in range(100):
            if os.path.exists(port_file):
                break
            time.sleep(0.1)
        self.url = "https://127.0.0.1:%s" % open(port_file).read().strip()
        self.ca = os.path.join(state_dir, "ca.pem")

    def raise_alerts(self, names):
        """The alerts Defender raises for the next run: generated 20 s after now, for this cluster."""
        import ssl  # pylint: disable=import-outside-toplevel
        import urllib.request  # pylint: disable=import-outside-toplevel
        alerts = [dict(name="a%d-%d" % (i, time.time_ns()), subscription=SUB, resource_group=RG, display_name=name,
                       cluster_resource_id=CLUSTER, compromised_entity="aks-sim", start=iso(15), generated=iso(20))
                  for i, name in enumerate(names)]
        body = json.dumps(dict(tenant=TENANT, client_id=CLIENT, client_secret=SECRET, alerts=alerts)).encode()
        context = ssl.create_default_context(cafile=self.ca)
        with urllib.request.urlopen(urllib.request.Request(self.url + "/_control/scenario", data=body), context=context):
            pass

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


class DomReader(html.parser.HTMLParser):
    """The cells, regressions and trend boxes of the page Chromium rendered (its --dump-dom), by their data-*."""

    def __init__(self):
        super().__init__()
        self.cells, self.regressions, self.runs, self._open = {}, [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "td" and "cell" in classes:
            self._open = ("cell", (attrs["data-scenario"], attrs["data-alert"]), attrs["data-status"], [])
        elif tag == "li" and "regression" in classes:
            self._open = ("regression", attrs["data-kind"], None, [])
        elif tag == "div" and "run" in classes:
            self.runs.append(dict(status=attrs["data-status"], regressed="regressed" in classes, run=attrs["data-run"]))

    def handle_data(self, data):
        if self._open:
            self._open[3].append(data)

    def handle_endtag(self, tag):
        if self._open and tag in ("td", "li"):
            kind, key, status, text = self._open
            if kind == "cell":
                self.cells[key] = (status, " ".join(" ".join(text).split()))
            else:
                self.regressions.append((key, "".join(text)))
            self._open = None


def chromium(*args):
    binary = shutil.which("chromium")
    if not binary:
        pytest.fail("Chromium is not installed: run `make chromium` (Debian's package)")
    return subprocess.run([binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-dev-shm-usage"] + list(args),
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory):
    arm = FakeArm(str(tmp_path_factory.mktemp("fake_arm")))
    azurite = Azurite(str(tmp_path_factory.mktemp("azurite")))
    yield arm, azurite
    arm.stop()
    azurite.stop()


def test_a_series_of_runs_finds_exactly_its_regressions_and_draws_them(simulate, stand_ins, tmp_path):
    arm, azurite = stand_ins
    env = dict(AZURE_SUBSCRIPTION_ID=SUB, AZURE_CLIENT_ID=CLIENT, AZURE_SECRET=SECRET, AZURE_TENANT=TENANT,
               AZURE_STORAGE_CONNECTION_STRING=azurite.connection_string)
    common = dict(scenario="crypto", verify=True, simulation_cluster_resource_id=CLUSTER,
                  verify_arm_endpoint=arm.url, verify_authority=arm.url, verify_ca_cert=arm.ca,
                  verify_deadline=40, verify_poll_interval=2, history_store="azure_blob",
                  history_blob_container=CONTAINER, report_dir=str(tmp_path / "reports"))
    everything_but_drift = [a for a in CRYPTO_ALERTS if a != DRIFT]

    reports = tmp_path / "reports"

    def run(alerts, **extra):
        """One run of the series, with its own report (None when it stopped before one), in the shared folder."""
        arm.raise_alerts(alerts)
        before = set(reports.glob("defender-simulation-*.json"))
        result = simulate(env=env, **dict(common, **extra))
        written = sorted(set(reports.glob("defender-simulation-*.json")) - before)
        result.report = json.loads(written[0].read_text()) if written else None
        return result

    runs = []
    for alerts, extra in ((everything_but_drift, {}), (everything_but_drift, {}),
                          ([a for a in everything_but_drift if a != PRELOAD], {}),
                          (everything_but_drift, {"prerequisites_sensor_daemonsets": [
                              {"namespace": "kube-system", "name": "microsoft-defender-collector-ds-removed"}]}),
                          (everything_but_drift, {})):
        runs.append(run(alerts, **extra))

    from azure.storage.blob import BlobServiceClient  # pylint: disable=import-outside-toplevel
    container = BlobServiceClient.from_connection_string(azurite.connection_string).get_container_client(CONTAINER)
    entries = [json.loads(container.download_blob(b.name).readall())
               for b in sorted(container.list_blobs(name_starts_with="history/%s/" % HOST), key=lambda b: b.name)]
    assert len(entries) == 5, [e.get("run_id") for e in entries]
    if os.environ.get("COVERAGE_RECORD_HISTORY"):  # the recorded history of the unit tests (history_samples/)
        pathlib.Path(os.environ["COVERAGE_RECORD_HISTORY"]).write_text(json.dumps(entries, indent=1, sort_keys=True) + "\n")

    # The verdicts: passed, passed, failed (a regression), failed (no sensor: a regression), passed.
    assert [r.returncode for r in runs] == [0, 0, 2, 2, 0], runs
    assert [e["status"] for e in entries] == ["passed", "passed", "failed", "failed", "passed"]
    # The regressions: exactly the missing alert, then exactly the sensor gone; none when all is well again.
    assert [[(r["kind"], r["alert"]) for r in e["regressions"]] for e in entries] == [
        [], [], [("alert_regressed", PRELOAD)], [("sensor_lost", None)], []]
    assert "detection regressed: %s: alert '%s' was seen in the run before and is missing now" % (HOST, PRELOAD) \
        in runs[2].output
    # The run stopped at its prerequisites (that failure ends the play); the history still names the regression.
    assert "- %s: the Defender sensor was there in the run before and is gone now" % HOST in runs[3].output
    assert runs[2].report["status"] == "failed" and runs[2].report["regressions"][0]["alert"] == PRELOAD
    assert runs[4].report["status"] == "passed" and runs[4].report["regressions"] == []
    notices = sorted((n["kind"], n["alert"]) for n in runs[4].report["regression_notices"])
    assert notices == [("recovered", PRELOAD), ("sensor_back", None)]
    assert SECRET not in "".join(r.output for r in runs)

    # The picture of the recovered run, from the blob store, in a real browser: each cell says what the report says.
    page = tmp_path / "coverage.html"
    page.write_bytes(container.download_blob("runs/defender-simulation-%s-%s.html" % (HOST, runs[4].report["run_id"])).readall())
    dumped = chromium("--dump-dom", page.as_uri())
    assert dumped.returncode == 0, dumped.stderr
    dom = DomReader()
    dom.feed(dumped.stdout)
    verified = dict((a["display_name"], a) for a in runs[4].report["verification"]["alerts"])
    assert sorted(name for _scenario, name in dom.cells) == sorted(verified)
    for (scenario, name), (status, text) in dom.cells.items():
        assert scenario == "crypto" and status == verified[name]["status"], (name, status)
        if status == "seen":
            assert text == "seen %.0f s" % verified[name]["latency_seconds"], text
    assert dom.cells[("crypto", DRIFT)] == ("needs_cluster_setting", "needs a setting")
    assert dom.regressions == []
    assert [(b["status"], b["regressed"]) for b in dom.runs] == [
        ("passed", False), ("passed", False), ("failed", True), ("failed", True), ("passed", False)]

    # The picture of the run that regressed: the regression on top, the missing cell.
    regressed = tmp_path / "regressed.html"
    regressed.write_bytes(container.download_blob("runs/defender-simulation-%s-%s.html" % (HOST, runs[2].report["run_id"])).readall())
    dumped = chromium("--dump-dom", regressed.as_uri())
    dom = DomReader()
    dom.feed(dumped.stdout)
    assert dom.regressions == [("alert_regressed", "%s: alert '%s' was seen in the run before and is missing now" % (HOST, PRELOAD))]
    assert dom.cells[("crypto", PRELOAD)] == ("missing", "missing")
    screenshot = tmp_path / "coverage.png"
    shot = chromium("--screenshot=%s" % screenshot, "--window-size=1100,1000", "--hide-scrollbars", regressed.as_uri())
    assert shot.returncode == 0 and screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot.stderr
    if os.environ.get("COVERAGE_SCREENSHOT"):
        shutil.copyfile(screenshot, os.environ["COVERAGE_SCREENSHOT"])

    # The Navigator layer of the run that regressed: T1574.006 (ld.so.preload: its alert missing, the web shell's
    # seen) scored 50, T1105 (the download: web shell, miner download and mining alerts all seen) 100.
    layer = json.loads(container.download_blob("runs/defender-simulation-%s-%s.layer.json" % (HOST, runs[2].report["run_id"])).readall())
    scores = dict((t["techniqueID"], t.get("score")) for t in layer["techniques"])
    assert scores["T1574.006"] == 50 and scores["T1105"] == 100 and layer["versions"]["layer"] == "4.5"
