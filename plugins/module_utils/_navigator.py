# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""MITRE ATT&CK Navigator layers (layer format 4.5, enterprise domain) of what Defender detected.

One technique object per MITRE id of the catalog's techniques that ran, scored 0-100 by the share of its verified
alerts that were seen (over every cluster, for a fleet), the alert names in its comment. A technique whose alerts
were not verified is left unscored, with a comment saying so: a score is only given for what was looked for.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.defender.attack_simulation.plugins.module_utils._catalog import ALERTS, TECHNIQUES

LAYER_VERSION = "4.5"
NAVIGATOR_VERSION = "5.1.0"
DOMAIN = "enterprise-attack"
GRADIENT = dict(colors=["#e05252", "#f2c94c", "#6fcf73"], minValue=0, maxValue=100)
LEGEND = [dict(label="every alert seen", color="#6fcf73"), dict(label="some alerts seen", color="#f2c94c"),
          dict(label="no alert seen", color="#e05252")]


def _alerts_of(technique_id):
    return [a["display_name"] for a in ALERTS if technique_id in a["triggered_by"]]


def _by_mitre_id(entries):
    """{MITRE id: {"techniques": [catalog ids], "seen": {alert: [hosts]}, "missing": {...}, "other": {...}}}."""
    found = {}
    for entry in entries:
        for technique in TECHNIQUES:
            if technique["id"] not in (entry.get("techniques") or {}):
                continue
            slot = found.setdefault(technique["mitre"], dict(techniques=[], seen={}, missing={}, other={}))
            if technique["id"] not in slot["techniques"]:
                slot["techniques"].append(technique["id"])
            for name in _alerts_of(technique["id"]):
                status = ((entry.get("alerts") or {}).get(name) or {}).get("status")
                if status is None:
                    continue
                bucket = slot["seen"] if status == "seen" else slot["missing"] if status == "missing" else slot["other"]
                hosts = bucket.setdefault(name, [])
                if entry["host"] not in hosts:
                    hosts.append(entry["host"])
    return found


def _comment(slot, fleet):
    def names(bucket):
        return "; ".join("%s%s" % (name, " (%s)" % ", ".join(hosts) if fleet else "")
                         for name, hosts in sorted(bucket.items()))
    parts = ["techniques: %s" % ", ".join(slot["techniques"])]
    if slot["seen"]:
        parts.append("seen: %s" % names(slot["seen"]))
    if slot["missing"]:
        parts.append("missing: %s" % names(slot["missing"]))
    if slot["other"]:
        parts.append("not verified or not expected: %s" % names(slot["other"]))
    return ". ".join(parts)


def navigator_layer(entries, name, description=""):
    """A layer (a dict, JSON-ready) of the history entries of one run (one entry) or a fleet (one per cluster)."""
    fleet = len(entries) > 1
    techniques = []
    for mitre_id, slot in sorted(_by_mitre_id(entries).items()):
        seen = sum(len(h) for h in slot["seen"].values())
        verified = seen + sum(len(h) for h in slot["missing"].values())
        names = sorted(set(slot["seen"]) | set(slot["missing"]) | set(slot["other"]))
        technique = dict(techniqueID=mitre_id, comment=_comment(slot, fleet), enabled=True,
                         metadata=[dict(name="alert", value=n) for n in names])
        if verified:
            technique["score"] = round(100.0 * seen / verified)
        techniques.append(technique)
    return dict(
        name=name, versions=dict(layer=LAYER_VERSION, navigator=NAVIGATOR_VERSION), domain=DOMAIN,
        description=description or "Defender for Containers detections of the defender.attack_simulation run(s): "
        "score = share of the technique's verified alerts that were seen",
        sorting=3, hideDisabled=False, techniques=techniques, gradient=GRADIENT, legendItems=LEGEND,
        layout=dict(layout="side", showID=True, showName=True))
