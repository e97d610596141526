# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Defender for Cloud alerts: flatten ARM's alert resources, and keep the ones of one cluster and time.

Pure functions; the modules hand in ARM payloads and get back plain dicts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.defender.attack_simulation.plugins.module_utils._catalog import (
    SCENARIOS,
    alert_matches,
    alerts_for,
)
from ansible_collections.defender.attack_simulation.plugins.module_utils._time import parse_time


def flatten_alert(raw):
    """One ARM alert resource as a flat dict; an already flat alert is returned unchanged."""
    if "properties" not in raw and "display_name" in raw:
        return dict(raw)
    props = raw.get("properties") or {}
    flat = dict(
        id=raw.get("id"),
        name=raw.get("name"),
        alert_type=props.get("alertType"),
        display_name=props.get("alertDisplayName"),
        system_alert_id=props.get("systemAlertId"),
        severity=props.get("severity"),
        intent=props.get("intent"),
        status=props.get("status"),
        start_time=props.get("startTimeUtc"),
        end_time=props.get("endTimeUtc"),
        time_generated=props.get("timeGeneratedUtc"),
        compromised_entity=props.get("compromisedEntity"),
        resource_ids=[r.get("azureResourceId") for r in props.get("resourceIdentifiers") or []
                      if r.get("azureResourceId")],
        alert_uri=props.get("alertUri"),
        product_component=props.get("productComponentName"),
        extended_properties=props.get("extendedProperties") or {},
        entities=len(props.get("entities") or []),
    )
    flat["catalog_name"] = catalog_name(flat)
    return flat


def usable_alerts(raw_alerts):
    """(flat alerts, malformed) from ARM alert resources: an alert that is not an object, or whose times cannot be
    read, is left out and described in ``malformed`` (its id and the reason) instead of failing the whole listing."""
    flat, malformed = [], []
    for position, raw in enumerate(raw_alerts):
        if not isinstance(raw, dict) or not isinstance(raw.get("properties", {}), dict):
            malformed.append(dict(id=None, reason="alert %d is not an alert resource: %.80r" % (position, raw)))
            continue
        alert = flatten_alert(raw)
        try:
            for field in ("start_time", "time_generated"):
                parse_time(alert.get(field))
        except ValueError as exc:
            malformed.append(dict(id=alert.get("id") or alert.get("name"), reason="%s: %s" % (field, exc)))
            continue
        flat.append(alert)
    return flat, malformed


def _catalog_entry(display_name=None, alert_type=None):
    for entry in alerts_for(SCENARIOS):
        if alert_matches(entry, display_name=display_name, alert_type=alert_type):
            return entry
    return None


def catalog_name(alert):
    """The catalog display name a flat alert stands for (older spellings, " (Preview)" and
    documented types included), or None for an alert the catalog does not know."""
    entry = _catalog_entry(alert.get("display_name"), alert.get("alert_type"))
    return entry["display_name"] if entry else None


def _alert_time(alert):
    # startTimeUtc is when the activity happened; timeGeneratedUtc is the fallback when it is absent.
    return parse_time(alert.get("start_time") or alert.get("time_generated"))


def _same_cluster(alert, cluster_resource_id=None, cluster_name=None):
    if cluster_resource_id:
        wanted = cluster_resource_id.rstrip("/").casefold()
        return any((rid or "").rstrip("/").casefold() == wanted for rid in alert.get("resource_ids") or [])
    if cluster_name:
        return (alert.get("compromised_entity") or "").casefold() == cluster_name.casefold()
    return True


def filter_alerts(alerts, since=None, until=None, cluster_resource_id=None, cluster_name=None,
                  display_names=None, alert_types=None, statuses=None):
    """The flat alerts that pass every filter given; names, types and statuses compare case-insensitively,
    display names also ignore a trailing " (Preview)"."""
    since, until = parse_time(since), parse_time(until)
    types = set(t.casefold() for t in alert_types or [])
    wanted_statuses = set(s.casefold() for s in statuses or [])
    names = [_catalog_entry(n) or dict(display_name=n, alert_type=None, aliases=[]) for n in display_names or []]
    kept = []
    for alert in alerts:
        when = _alert_time(alert)
        if since and (when is None or when < since):
            continue
        if until and (when is None or when > until):
            continue
        if not _same_cluster(alert, cluster_resource_id, cluster_name):
            continue
        if types and (alert.get("alert_type") or "").casefold() not in types:
            continue
        if wanted_statuses and (alert.get("status") or "").casefold() not in wanted_statuses:
            continue
        if names and not any(alert_matches(n, display_name=alert.get("display_name"),
                                           alert_type=alert.get("alert_type")) for n in names):
            continue
        kept.append(alert)
    return kept
