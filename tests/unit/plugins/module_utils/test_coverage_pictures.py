# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ATT&CK Navigator layers (checked against the layer format 4.5's schema) and the HTML coverage page."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import html.parser
import json
import os

import jsonschema
import pytest

from ansible_collections.defender.attack_simulation.plugins.module_utils._catalog import TECHNIQUES
from ansible_collections.defender.attack_simulation.plugins.module_utils._coverage import record_runs
from ansible_collections.defender.attack_simulation.plugins.module_utils._history_store import DirectoryStore
from ansible_collections.defender.attack_simulation.plugins.module_utils._html_report import coverage_html
from ansible_collections.defender.attack_simulation.plugins.module_utils._navigator import navigator_layer

HERE = os.path.dirname(os.path.abspath(__file__))
IMDS = "Access to cloud metadata service detected"
WEBSHELL = "Possible Web Shell activity detected"
PRELOAD = "Command within a container accessed ld.so.preload"


@pytest.fixture(scope="module")
def schema():
    with open(os.path.join(HERE, "navigator", "layerformat-4.5.schema.json")) as f:
        return json.load(f)


def entry(host, alerts, techniques=None, scenarios=("lateral_movement",)):
    return dict(format=1, host=host, cluster=host, run_id="r1", started="2026-12-03T02:00:00Z", reached=True,
                stage="done", status="passed", sensor="present", scenarios=list(scenarios), verified=True,
                techniques=techniques or {"lateral_movement.metadata_token": "passed"},
                alerts=dict((n, dict(status=s, latency=12.0 if s == "seen" else None)) for n, s in alerts.items()),
                regressions=[])


def test_a_run_layer_is_valid_layer_format_4_5_scored_by_what_was_seen(schema):
    layer = navigator_layer([entry("aks-a", {IMDS: "missing", WEBSHELL: "seen"})], "aks-a r1")
    jsonschema.validate(layer, schema)
    assert (layer["domain"], layer["versions"]["layer"]) == ("enterprise-attack", "4.5")
    [technique] = layer["techniques"]
    # lateral_movement.metadata_token (T1552.005) triggers the web shell alert and the metadata one: 1 of 2 seen.
    assert (technique["techniqueID"], technique["score"]) == ("T1552.005", 50)
    assert technique["comment"] == ("techniques: lateral_movement.metadata_token. seen: %s. missing: %s" % (WEBSHELL, IMDS))


def test_a_fleet_layer_names_the_clusters_and_covers_every_technique_of_the_catalog(schema):
    all_ids = dict((t["id"], "passed") for t in TECHNIQUES)
    a = entry("aks-a", {IMDS: "seen", WEBSHELL: "seen", PRELOAD: "seen"}, all_ids)
    b = entry("aks-b", {IMDS: "seen", WEBSHELL: "seen", PRELOAD: "missing"}, all_ids)
    layer = navigator_layer([a, b], "fleet")
    jsonschema.validate(layer, schema)
    assert sorted(t["techniqueID"] for t in layer["techniques"]) == sorted(set(t["mitre"] for t in TECHNIQUES))
    preload = [t for t in layer["techniques"] if t["techniqueID"] == "T1574.006"][0]
    # Its alerts: ld.so.preload (seen on aks-a, missing on aks-b) and the web shell's (seen on both): 3 of 4.
    assert preload["score"] == 75 and "seen: %s (aks-a)" % PRELOAD in preload["comment"]
    assert "missing: %s (aks-b)" % PRELOAD in preload["comment"]


def test_an_unverified_technique_is_left_unscored(schema):
    layer = navigator_layer([entry("aks-a", {IMDS: "unverified", WEBSHELL: "unverified"})], "r")
    jsonschema.validate(layer, schema)
    assert "score" not in layer["techniques"][0]
    assert "not verified or not expected" in layer["techniques"][0]["comment"]


def test_the_schema_refuses_what_the_navigator_would(schema):
    layer = navigator_layer([entry("aks-a", {IMDS: "seen"})], "r")
    for broken in (dict(layer, domain="containers"), dict(layer, versions=dict(layer="4.4", navigator="5.1.0")),
                   dict(layer, techniques=[dict(techniqueID="1552.005")])):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)


def test_the_page_escapes_what_comes_from_the_cluster_and_fetches_nothing():
    hostile = entry('<img src=x onerror="alert(1)">', {IMDS: "missing", WEBSHELL: "seen"})
    hostile["cluster"] = "</td><script>alert(2)</script>"
    column = dict(entry=hostile, strip=[dict(run_id="<b>r1</b>", started="t", status="failed", regressions=1, seen=1,
                                             verified=2, reached=True, sensor="present")],
                  regressions=[dict(kind="alert_regressed", host=hostile["host"], message="<script>alert(3)</script>")],
                  notices=[], problems=["<iframe src=//x>"])
    page = coverage_html([column], "run <r1>", "2026-12-03T02:00:00Z")
    assert "<script" not in page and "<img" not in page and "<iframe" not in page and "<b>r1" not in page
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in page and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    # Nothing to fetch: no src, no href, no url(), and a policy that forbids any fetch.
    attributes = []

    class Tags(html.parser.HTMLParser):
        def handle_starttag(self, tag, attrs):
            attributes.extend(name for name, _value in attrs)

    Tags().feed(page)
    assert not set(attributes) & {"src", "href", "srcset", "action", "formaction", "poster", "background"}
    assert "url(" not in page and "@import" not in page
    assert "default-src 'none'" in page


def test_the_page_says_in_each_cell_what_the_run_saw():
    column = dict(entry=entry("aks-a", {IMDS: "missing", WEBSHELL: "seen"}), strip=[], regressions=[], notices=[],
                  problems=[])
    page = coverage_html([column], "r", "now")
    assert ('data-alert="%s" data-status="missing">missing</td>' % IMDS) in page
    assert ('data-alert="%s" data-status="seen">seen<span class="latency">12 s</span></td>' % WEBSHELL) in page
    assert '<section id="regressions" class="none"><h2>Regressions (0)</h2>' in page


def test_record_runs_writes_entry_report_page_and_layer_and_the_next_run_compares(tmp_path):
    store = DirectoryStore(str(tmp_path))

    def report(run_id, started, imds):
        return dict(run_id=run_id, started=started, scenarios=["lateral_movement"], status="passed", problems=[],
                    cluster=dict(name="aks-a"), techniques=[dict(id="lateral_movement.metadata_token", status="passed")],
                    expected_alerts=[dict(display_name=IMDS, triggered=True), dict(display_name=WEBSHELL, triggered=True)],
                    verification=dict(alerts=[dict(display_name=IMDS, status=imds), dict(display_name=WEBSHELL, status="seen")]))

    first = record_runs(store, [dict(host="aks-a", report=report("r1", "2026-12-01T02:00:00Z", "seen"))])
    assert sorted(first["runs"][0]["files"]) == ["entry", "html", "layer", "report"]
    second = record_runs(store, [dict(host="aks-a", report=report("r2", "2026-12-02T02:00:00Z", "missing"))],
                         fleet=True, columns=[first["runs"][0]["column"]])
    assert [r["kind"] for r in second["regressions"]] == ["alert_regressed"]
    assert second["runs"][0]["report"]["status"] == "failed" and second["regressions_by_host"] == {"aks-a": second["regressions"]}
    assert sorted(os.listdir(str(tmp_path / "history" / "aks-a"))) == ["20261201T020000Z_r1.json", "20261202T020000Z_r2.json"]
    assert os.path.exists(second["fleet"]["html"]) and second["fleet"]["layer"].endswith(".layer.json")
    # The same run recorded again (verified later) replaces its entry instead of comparing with itself.
    again = record_runs(store, [dict(host="aks-a", report=report("r2", "2026-12-02T02:00:00Z", "missing"))])
    assert [r["kind"] for r in again["regressions"]] == ["alert_regressed"]
    assert len(os.listdir(str(tmp_path / "history" / "aks-a"))) == 2
