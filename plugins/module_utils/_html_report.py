# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A picture of detection coverage: one self-contained HTML page per run or per fleet.

Clusters by scenarios by alerts, each cell seen (with its latency) / missing / not triggered / needs a setting; a trend
strip per cluster over its last runs; the regressions on top. No script, no external resource (its
Content-Security-Policy forbids any fetch), so it opens the same from disk or from a blob store. Every text that
comes from a cluster or a report is HTML-escaped.

Each cell carries ``data-host``, ``data-scenario``, ``data-alert`` and ``data-status`` (the history entry's status),
so a test or a script reads the page as a person does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from html import escape

from ansible_collections.defender.attack_simulation.plugins.module_utils._catalog import ALERTS, SCENARIOS, SCENARIO_TITLES

CELL_TEXT = {
    "seen": "seen",
    "missing": "missing",
    "not_triggered": "not triggered",
    "needs_cluster_setting": "needs a setting",
    "unverified": "not verified",
    "not_run": "not run",
    None: "not planned",
}

_STYLE = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d1d1f;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
.meta{color:#555;margin:0 0 12px}.verdict{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:600}
.verdict.passed{background:#d9f2dc;color:#1b5e20}.verdict.failed{background:#fadbd8;color:#8e1b10}
#regressions{border:2px solid #c0392b;border-radius:6px;padding:8px 16px;background:#fdf0ee}
#regressions.none{border-color:#2e7d32;background:#eef8ef}
ul{margin:4px 0;padding-left:20px}li.regression{color:#8e1b10;font-weight:600}li.notice{color:#5d4037}
table{border-collapse:collapse;margin-top:4px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th.scenario{background:#eef1f5}td.cell{text-align:center;min-width:110px}
td.seen{background:#d9f2dc}td.missing{background:#f5b7b1;font-weight:600}td.not_triggered{background:#eee;color:#555}
td.needs_cluster_setting{background:#fff3c4}td.unverified,td.not_run{background:#f4f4f4;color:#777}
td.none{color:#aaa}.latency{display:block;font-size:12px;color:#2e7d32}
.strip{display:flex;gap:3px;align-items:center}.run{width:44px;height:30px;border-radius:4px;font-size:11px;
display:flex;align-items:center;justify-content:center;color:#fff}.run.passed{background:#43a047}
.run.failed{background:#e53935}.run.regressed{outline:3px solid #6a1b9a}.run.current{box-shadow:0 0 0 2px #000}
.legend span{margin-right:12px}
"""


def _e(value):
    return escape("" if value is None else str(value), quote=True)


def _latency_text(seconds):
    if seconds is None:
        return ""
    return "%.0f s" % seconds if seconds < 120 else "%.1f min" % (seconds / 60.0)


def _rows(columns):
    """(scenario, alert) pairs of every cluster's run, in catalog order."""
    scenarios = [s for s in SCENARIOS if any(s in c["entry"].get("scenarios", []) for c in columns)]
    rows = []
    for scenario in scenarios:
        for alert in ALERTS:
            name = alert["display_name"]
            if scenario in alert["scenarios"] and any(name in c["entry"].get("alerts", {}) for c in columns):
                rows.append((scenario, name))
    return scenarios, rows


def _cell(column, scenario, name):
    entry = column["entry"]
    alert = entry.get("alerts", {}).get(name) if scenario in entry.get("scenarios", []) else None
    status = alert.get("status") if alert else None
    text = CELL_TEXT.get(status, status)
    latency = _latency_text(alert.get("latency")) if alert and status == "seen" else ""
    return ('<td class="cell %s" data-host="%s" data-scenario="%s" data-alert="%s" data-status="%s">%s%s</td>'
            % (_e(status or "none"), _e(entry["host"]), _e(scenario), _e(name), _e(status or "none"), _e(text),
               '<span class="latency">%s</span>' % _e(latency) if latency else ""))


def _grid(columns):
    scenarios, rows = _rows(columns)
    out = ['<table id="coverage"><thead><tr><th>Scenario / alert</th>']
    out.extend('<th data-host="%s">%s<br><small>%s</small></th>'
               % (_e(c["entry"]["host"]), _e(c["entry"]["host"]), _e(c["entry"].get("cluster") or "")) for c in columns)
    out.append("</tr></thead><tbody>")
    for scenario in scenarios:
        out.append('<tr><th class="scenario" colspan="%d">%s <small>(%s)</small></th></tr>'
                   % (len(columns) + 1, _e(SCENARIO_TITLES.get(scenario, scenario)), _e(scenario)))
        for row_scenario, name in rows:
            if row_scenario == scenario:
                out.append("<tr><td>%s</td>%s</tr>" % (_e(name), "".join(_cell(c, scenario, name) for c in columns)))
    out.append("</tbody></table>")
    return "".join(out)


def _strip(column):
    boxes = []
    strip = column.get("strip") or []
    for index, run in enumerate(strip):
        classes = ["run", "passed" if run.get("status") == "passed" else "failed"]
        if run.get("regressions"):
            classes.append("regressed")
        if index == len(strip) - 1:
            classes.append("current")
        label = "%s/%s" % (run.get("seen"), run.get("verified")) if run.get("verified") else (
            "no report" if not run.get("reached") else "-")
        title = "run %s at %s: %s%s; sensor %s" % (run.get("run_id") or "(none)", run.get("started") or "?",
                                                   run.get("status"), ", %d regression(s)" % run["regressions"]
                                                   if run.get("regressions") else "", run.get("sensor"))
        boxes.append('<div class="%s" title="%s" data-run="%s" data-status="%s">%s</div>'
                     % (" ".join(classes), _e(title), _e(run.get("run_id") or ""), _e(run.get("status")), _e(label)))
    return ('<tr><th data-host="%s">%s</th><td><div class="strip">%s</div></td></tr>'
            % (_e(column["entry"]["host"]), _e(column["entry"]["host"]), "".join(boxes)))


def _findings(columns):
    regressions = [f for c in columns for f in c.get("regressions") or []]
    notices = [f for c in columns for f in c.get("notices") or []]
    out = ['<section id="regressions" class="%s"><h2>Regressions (%d)</h2>'
           % ("some" if regressions else "none", len(regressions))]
    if regressions:
        out.append("<ul>%s</ul>" % "".join(
            '<li class="regression" data-kind="%s" data-host="%s">%s</li>'
            % (_e(f["kind"]), _e(f["host"]), _e(f["message"])) for f in regressions))
    else:
        out.append("<p>None: nothing that was detected before is undetected now.</p>")
    if notices:
        out.append("<h2>Notices</h2><ul>%s</ul>" % "".join(
            '<li class="notice" data-kind="%s" data-host="%s">%s</li>'
            % (_e(f["kind"]), _e(f["host"]), _e(f["message"])) for f in notices))
    out.append("</section>")
    return "".join(out)


def _verdicts(columns):
    out = ['<table id="verdicts"><tr><th>Cluster</th><th>Run</th><th>Verdict</th><th>Why</th></tr>']
    for column in columns:
        entry = column["entry"]
        out.append('<tr data-host="%s"><td>%s</td><td>%s<br><small>%s</small></td>'
                   '<td><span class="verdict %s">%s</span></td><td>%s</td></tr>'
                   % (_e(entry["host"]), _e(entry["host"]), _e(entry.get("run_id") or "(no report)"),
                      _e(entry.get("started") or ""), _e(entry.get("status")), _e(entry.get("status")),
                      "<br>".join(_e(p) for p in column.get("problems") or []) or "&nbsp;"))
    out.append("</table>")
    return "".join(out)


def coverage_html(columns, title, generated):
    """The page (a str). ``columns``: one per cluster, each dict(entry=history entry, regressions, notices,
    strip=run_strip, problems=[the run's problem lines])."""
    legend = "".join('<span><b>%s</b>: %s</span>' % (_e(CELL_TEXT[k]), _e(v)) for k, v in (
        ("seen", "Defender raised it (latency from the technique's start)"),
        ("missing", "expected and not raised"),
        ("not_triggered", "its technique did not pass"),
        ("needs_cluster_setting", "raised only with a cluster setting"),
        ("unverified", "the run was not checked in Defender for Cloud")))
    return "".join([
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        # Nothing may be fetched: the page is one file, read from disk or from a blob store.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        "<title>%s</title><style>%s</style></head><body>" % (_e(title), _STYLE),
        "<h1>%s</h1>" % _e(title),
        '<p class="meta">generated %s by defender.attack_simulation</p>' % _e(generated),
        _findings(columns),
        "<h2>Verdicts</h2>", _verdicts(columns),
        "<h2>Coverage: clusters by scenarios by alerts</h2>", _grid(columns),
        '<p class="legend">%s</p>' % legend,
        "<h2>Trend: each cluster's last runs (seen / verified alerts; outlined: a regression)</h2>",
        '<table id="trends">%s</table>' % "".join(_strip(c) for c in columns),
        "</body></html>\n"])
