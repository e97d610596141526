# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The history in an Azure Blob Storage container, against Azurite (Microsoft's emulator) on 127.0.0.1: the store,
and the simulation_history module run by ansible as a user runs it (no cluster)."""

from __future__ import absolute_import, division, print_function

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, os.path.join(ROOT, "tests", "azurite"))
from azurite import Azurite  # noqa: E402  pylint: disable=wrong-import-position,import-error

from azure.storage import blob as azure_blob  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="module")
def azurite(tmp_path_factory):
    server = Azurite(str(tmp_path_factory.mktemp("azurite")))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def collections(tmp_path_factory):
    base = tmp_path_factory.mktemp("collections")
    os.makedirs(str(base / "ansible_collections" / "defender"))
    os.symlink(ROOT, str(base / "ansible_collections" / "defender" / "attack_simulation"))
    sys.path.insert(0, str(base))
    return base


def report(run_id, started, missing=()):
    from ansible_collections.defender.attack_simulation.plugins.module_utils._catalog import alerts_for, techniques_for
    scenarios = ["lateral_movement"]
    alerts = alerts_for(scenarios)
    return {"run_id": run_id, "started": started, "scenarios": scenarios, "cluster": {"name": "aks-prod-1"},
            "techniques": [dict(id=t["id"], status="passed") for t in techniques_for(scenarios)],
            "expected_alerts": [dict(display_name=a["display_name"], triggered=True) for a in alerts],
            "verification": {"alerts": [dict(display_name=a["display_name"], latency_seconds=20.0,
                                             status="missing" if a["display_name"] in missing else "seen")
                                        for a in alerts]},
            "status": "passed", "problems": []}


def run_module(collections, azurite, runs):
    args = dict(runs=runs, store=dict(type="azure_blob", container="history", prefix="nightly"))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
               AZURE_STORAGE_CONNECTION_STRING=azurite.connection_string, PATH=BIN + os.pathsep + os.environ["PATH"])
    proc = subprocess.run([os.path.join(BIN, "ansible"), "localhost", "-c", "local", "-o", "-m",
                           "defender.attack_simulation.simulation_history", "-a", json.dumps(args)],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    line = [l for l in proc.stdout.splitlines() if l.startswith("localhost |")]
    assert line, proc.stdout + proc.stderr
    return proc, json.loads(line[0].split("=> ", 1)[1])


def test_runs_kept_in_a_blob_container_are_compared_with_the_next_run(collections, azurite):
    imds = "Access to cloud metadata service detected"
    proc, first = run_module(collections, azurite, [dict(host="aks-prod-1", report=report("r1", "2026-12-01T02:00:00Z"))])
    assert proc.returncode == 0, proc.stdout
    assert first["regressions"] == [] and first["runs"][0]["status"] == "passed"
    # The next job has none of the first one's files: only the container remembers.
    regressed = report("r2", "2026-12-02T02:00:00Z", missing=[imds])
    proc, second = run_module(collections, azurite, [dict(host="aks-prod-1", report=regressed)])
    assert proc.returncode == 0, proc.stdout
    assert [(r["kind"], r["alert"]) for r in second["regressions"]] == [("alert_regressed", imds)]
    assert second["runs"][0]["report"]["status"] == "failed"
    assert "detection regressed: aks-prod-1: alert '%s' was seen in the run before and is missing now" % imds \
        in second["runs"][0]["report"]["problems"]
    # The secret connection string is never echoed.
    assert azurite.connection_string.split("AccountKey=")[1].split(";")[0] not in proc.stdout + proc.stderr
    container = azure_blob.BlobServiceClient.from_connection_string(azurite.connection_string).get_container_client("history")
    names = sorted(b.name for b in container.list_blobs())
    assert names == [
        "nightly/history/aks-prod-1/20261201T020000Z_r1.json", "nightly/history/aks-prod-1/20261202T020000Z_r2.json",
        "nightly/runs/defender-simulation-aks-prod-1-r1.html", "nightly/runs/defender-simulation-aks-prod-1-r1.json",
        "nightly/runs/defender-simulation-aks-prod-1-r1.layer.json",
        "nightly/runs/defender-simulation-aks-prod-1-r2.html", "nightly/runs/defender-simulation-aks-prod-1-r2.json",
        "nightly/runs/defender-simulation-aks-prod-1-r2.layer.json"]
    page = container.download_blob("nightly/runs/defender-simulation-aks-prod-1-r2.html")
    assert page.properties.content_settings.content_type == "text/html; charset=utf-8"
    html = page.readall().decode()
    assert 'data-alert="%s" data-status="missing"' % imds in html and 'class="regression" data-kind="alert_regressed"' in html
    stored = json.loads(container.download_blob("nightly/runs/defender-simulation-aks-prod-1-r2.json").readall())
    assert stored["status"] == "failed" and stored["regressions"][0]["alert"] == imds


def test_a_wrong_account_key_fails_naming_the_container_without_the_key(collections, azurite):
    wrong = azurite.connection_string.replace(azurite.connection_string.split("AccountKey=")[1].split(";")[0],
                                              "d3Jvbmcta2V5LXZhbHVlLW5vdC10aGUtcmVhbC1vbmU=")
    args = dict(runs=[dict(host="aks-prod-1", report=report("r3", "2026-12-03T02:00:00Z"))],
                store=dict(type="azure_blob", container="history", connection_string=wrong))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    proc = subprocess.run([os.path.join(BIN, "ansible"), "localhost", "-c", "local", "-o", "-m",
                           "defender.attack_simulation.simulation_history", "-a", json.dumps(args)],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode != 0
    assert "blob container history" in proc.stdout and "Traceback" not in proc.stdout + proc.stderr
    assert "d3Jvbmcta2V5LXZhbHVlLW5vdC10aGUtcmVhbC1vbmU=" not in proc.stdout + proc.stderr
