# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Alert and report samples shared by the alert filter and verification tests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.defender.attack_simulation.plugins.module_utils._catalog import alerts_for

CLUSTER = "/subscriptions/sub1/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/aks-prod-1"
OTHER = "/subscriptions/sub1/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/aks-test-9"
MINER = "Possible Cryptocoinminer download detected"
MINING = "Digital currency mining related behavior detected"
DRIFT = "A drift binary detected executing in the container"


def raw_alert(name, display_name, generated, cluster=CLUSTER, entity="aks-prod-1", alert_type=None, start=None):
    return {
        "id": "/subscriptions/sub1/resourceGroups/rg-aks/providers/Microsoft.Security/locations/westeurope/alerts/" + name,
        "name": name,
        "properties": {
            "alertType": alert_type, "alertDisplayName": display_name, "systemAlertId": name,
            "productComponentName": "Containers", "severity": "High", "status": "Active",
            "startTimeUtc": start or generated, "timeGeneratedUtc": generated, "compromisedEntity": entity,
            "resourceIdentifiers": [{"type": "AzureResource", "azureResourceId": cluster}],
            "entities": [{"type": "K8s-namespace", "Name": "mdc-simulation"}],
            "extendedProperties": {"Namespace": "mdc-simulation"}, "alertUri": "https://portal.azure.com/#alert/" + name,
        },
    }


def crypto_report(statuses=None):
    statuses = statuses or {}
    techniques = [dict(id=t, scenario="crypto", status=statuses.get(t, "passed"), started="2026-11-28T10:15:%02d.1Z" % (30 + i))
                  for i, t in enumerate(["crypto.cpu_optimization", "crypto.ld_so_preload",
                                         "crypto.miner_download", "crypto.miner_run"])]
    return {"run_id": "20261128-101500-ab12cd", "started": "2026-11-28T10:15:00Z", "namespace": "mdc-simulation",
            "cluster": {"name": "aks-prod-1", "aks_resource_id": CLUSTER, "server": "https://aks"},
            "scenarios": ["crypto"], "techniques": techniques,
            "expected_alerts": [dict(a, triggered=None) for a in alerts_for(["crypto"])], "verification": None}


def by_name(verification):
    return dict((a["display_name"], a) for a in verification["alerts"])
