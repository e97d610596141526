#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: defender_alerts_info
short_description: List Microsoft Defender for Cloud security alerts
version_added: 1.0.0
description:
  - Lists the security alerts of a subscription (or one resource group) through Azure Resource Manager,
    C(GET /subscriptions/{subscription}[/resourceGroups/{group}]/providers/Microsoft.Security/alerts?api-version=2022-01-01),
    following C(nextLink) until every page is read (at most O(max_pages), never to a page already read).
  - Filters them by time, cluster, display name, alert type and status, and returns them flattened.
  - Calls go through C(azure-core)'s pipeline, as Microsoft's SDKs do. Throttling (HTTP 429, honouring C(Retry-After)),
    server errors (408, 500, 502, 503, 504), connection errors and read timeouts are retried with exponential backoff
    within O(max_retries) and O(max_retry_wait).
  - An answer that is not what the API's schema says does not crash the module. An alert that is not an object, or
    whose times cannot be read, is left out and counted in RV(malformed). A page that is not an alert list fails the
    module with RV(transient=true), so a caller that polls can try again at its next poll.
  - The access token comes from C(azure-identity) and is never returned or logged.
  - Use M(defender.attack_simulation.simulation_verify) or the C(defender.attack_simulation.verify) role to check
    a simulation run's expected alerts against this list.
author:
  - Contributors to defender.attack_simulation (!UNKNOWN)
requirements:
  - python >= 3.8
  - azure-identity >= 1.15
  - azure-core >= 1.30
extends_documentation_fragment:
  - defender.attack_simulation._attributes
  - defender.attack_simulation._attributes.info_module
  - defender.attack_simulation._attributes.idempotent_not_modify_state
options:
  subscription_id:
    description:
      - The subscription whose alerts to list.
      - If not set, the environment variable E(AZURE_SUBSCRIPTION_ID) is used.
    type: str
    required: true
  resource_group:
    description:
      - List only the alerts of this resource group (the resource-group scope of the API).
    type: str
  auth_source:
    description:
      - How to get the token.
      - V(credentials) and V(env) use the service principal O(client_id), O(secret) and O(tenant), or the user
        O(ad_user) with O(password) (which default to the environment variables of Ansible's C(azure.azcollection)
        and AWX's Azure RM credential, in either of its modes).
      - V(msi) uses the managed identity of the machine (a user-assigned one when O(client_id) is set).
      - V(cli) uses the login of the Azure CLI (C(az login)).
      - V(auto) uses the service principal when O(secret) is set, else the user when O(ad_user) and O(password) are
        set, otherwise tries the managed identity, then the Azure CLI login.
      - If not set, the environment variable E(ANSIBLE_AZURE_AUTH_SOURCE) is used.
    type: str
    default: auto
    choices: [auto, credentials, env, msi, cli]
  client_id:
    description:
      - The service principal's application (client) id, or the client id of a user-assigned managed identity.
      - With O(ad_user), the application the user signs in to; the Azure CLI's public client
        (C(04b07795-8ddb-461a-bbee-02f9e1bf7b46)) when not set, as C(azure.azcollection) does.
      - If not set, the environment variable E(AZURE_CLIENT_ID) is used.
    type: str
  secret:
    description:
      - The service principal's client secret.
      - If not set, the environment variable E(AZURE_SECRET) is used.
    type: str
  tenant:
    description:
      - The tenant (directory) id of the service principal, or of the user (V(organizations) when not set).
      - If not set, the environment variable E(AZURE_TENANT) is used.
    type: str
  ad_user:
    description:
      - A Microsoft Entra work or school user to sign in as, with O(password), through azure-identity's
        C(UsernamePasswordCredential). It has no multifactor authentication, so a user that needs it cannot sign in
        this way; prefer a service principal.
      - If not set, the environment variable E(AZURE_AD_USER) is used (AWX's Azure RM credential with a username
        and password instead of a client id and tenant).
    type: str
  password:
    description:
      - The password of O(ad_user).
      - If not set, the environment variable E(AZURE_PASSWORD) is used.
    type: str
  cloud_environment:
    description:
      - The Azure cloud whose Resource Manager endpoint and Microsoft Entra authority to use when O(arm_endpoint) or
        O(authority) is not set, one of V(AzureCloud) (the default), V(AzureUSGovernment) and V(AzureChinaCloud)
        (case-insensitive; msrestazure's names such as V(AZURE_US_GOV_CLOUD) too).
      - If not set, the environment variable E(AZURE_CLOUD_ENVIRONMENT) is used (AWX's Azure RM credential sets it
        from its I(Azure Cloud Environment) field).
    type: str
  arm_endpoint:
    description:
      - The Azure Resource Manager endpoint; the token is requested for C({arm_endpoint}/.default).
      - If not set, the one of O(cloud_environment), V(https://management.azure.com) for the public cloud.
    type: str
  authority:
    description:
      - The Microsoft Entra authority host that issues the token (C(azure-identity)'s C(authority)).
      - Must be C(https). For a host other than the public, US Government and China clouds' hosts,
        instance discovery is turned off (it would ask login.microsoftonline.com about the host).
      - If not set, the one of O(cloud_environment), V(https://login.microsoftonline.com) for the public cloud.
    type: str
  validate_certs:
    description:
      - Whether to validate the TLS certificates of ARM and of the authority.
    type: bool
    default: true
  ca_cert:
    description:
      - A PEM file of CA certificates to validate ARM and the authority with (a private CA or a test server).
    type: path
  max_retries:
    description:
      - How many times to retry one request answered with 408, 429, 500, 502, 503 or 504, or that met a connection
        error or a read timeout.
    type: int
    default: 5
  max_pages:
    description:
      - The most pages to read by following C(nextLink). The module warns when it stops there.
    type: int
    default: 100
  max_retry_wait:
    description:
      - The most seconds to spend waiting between retries, for the whole listing.
      - A C(Retry-After) that would go beyond it fails the module at once.
    type: int
    default: 300
  timeout:
    description:
      - Seconds one HTTP request to ARM may take, its whole answer read, by the wall clock (an answer sent a byte at a
        time is cut there and retried as a read timeout).
      - Getting the access token, the authority's answers and C(azure-identity)'s own retries included, may take
        O(timeout) times O(max_retries) + 1 seconds.
      - So one listing takes at most that, plus O(max_pages) times (O(max_retries) + 1) times O(timeout), plus
        O(max_retry_wait).
    type: int
    default: 30
  since:
    description:
      - Only alerts whose start time (C(startTimeUtc), or C(timeGeneratedUtc) when absent) is at or after
        this ISO 8601 timestamp, for example V(2026-11-28T10:15:00Z).
    type: str
  until:
    description:
      - Only alerts whose start time is at or before this ISO 8601 timestamp.
    type: str
  cluster_resource_id:
    description:
      - Only alerts that name this resource id in C(resourceIdentifiers[].azureResourceId) (case-insensitive),
        for example the AKS cluster's C(/subscriptions/.../providers/Microsoft.ContainerService/managedClusters/NAME).
      - Takes precedence over O(cluster_name).
    type: str
  cluster_name:
    description:
      - Only alerts whose C(compromisedEntity) is this cluster name (case-insensitive).
    type: str
  display_names:
    description:
      - Only alerts with one of these display names (case-insensitive, a trailing C( (Preview)) ignored).
      - For a name in the collection's alert catalog, its older spellings and its documented alert type match too.
    type: list
    elements: str
  alert_types:
    description:
      - Only alerts of one of these alert types, for example V(K8S.NODE_ImdsCall) (case-insensitive).
    type: list
    elements: str
  statuses:
    description:
      - Only alerts in one of these states.
    type: list
    elements: str
    choices: [Active, InProgress, Resolved, Dismissed]
notes:
  - The identity needs the B(Security Reader) role (or any role with C(Microsoft.Security/alerts/read))
    on the subscription or resource group.
  - The API has no server-side filter; every alert of the scope is read and the filters apply afterwards.
seealso:
  - name: Alerts - List (REST API 2022-01-01)
    description: The Resource Manager API this module calls.
    link: https://learn.microsoft.com/rest/api/defenderforcloud/alerts/list
  - module: defender.attack_simulation.simulation_verify
"""

EXAMPLES = r"""
- name: List the active container alerts of one AKS cluster since a simulation run started
  defender.attack_simulation.defender_alerts_info:
    subscription_id: 00000000-0000-0000-0000-000000000000
    since: "2026-11-28T10:15:00Z"
    cluster_resource_id: >-
      /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/aks-prod-1
    statuses: [Active]
  register: defender

- name: Look for one alert by name with a service principal (AWX Azure RM credential variables)
  defender.attack_simulation.defender_alerts_info:
    auth_source: credentials
    client_id: "{{ lookup('ansible.builtin.env', 'AZURE_CLIENT_ID') }}"
    secret: "{{ lookup('ansible.builtin.env', 'AZURE_SECRET') }}"
    tenant: "{{ lookup('ansible.builtin.env', 'AZURE_TENANT') }}"
    resource_group: rg-aks
    display_names:
      - Possible Cryptocoinminer download detected
  register: miner

- name: Use the machine's managed identity in Azure US Government
  defender.attack_simulation.defender_alerts_info:
    auth_source: msi
    cloud_environment: AzureUSGovernment
    alert_types: [K8S.NODE_ImdsCall]
"""

RETURN = r"""
alerts:
  description: The alerts that passed the filters, flattened, in the order ARM returned them.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: The alert's resource id.
      type: str
      sample: /subscriptions/0000/resourceGroups/rg-aks/providers/Microsoft.Security/locations/westeurope/alerts/2516959193578229999_6b0b6f1e
    name:
      description: The alert's resource name.
      type: str
    alert_type:
      description: The alert type (C(alertType)).
      type: str
      sample: K8S.NODE_ImdsCall
    display_name:
      description: The display name (C(alertDisplayName)).
      type: str
      sample: Access to cloud metadata service detected
    catalog_name:
      description: The display name of the collection's catalog alert this alert stands for, or null.
      type: str
    system_alert_id:
      description: C(systemAlertId).
      type: str
    severity:
      description: C(severity) (Informational, Low, Medium, High).
      type: str
    intent:
      description: The kill-chain intent.
      type: str
    status:
      description: C(status) (Active, InProgress, Resolved, Dismissed).
      type: str
    start_time:
      description: C(startTimeUtc), when the detected activity started.
      type: str
      sample: "2026-11-28T10:15:31.1234567Z"
    end_time:
      description: C(endTimeUtc).
      type: str
    time_generated:
      description: C(timeGeneratedUtc), when Defender generated the alert.
      type: str
    compromised_entity:
      description: C(compromisedEntity), the cluster name for container alerts.
      type: str
      sample: aks-prod-1
    resource_ids:
      description: The C(azureResourceId) of each C(resourceIdentifiers) entry.
      type: list
      elements: str
    alert_uri:
      description: C(alertUri), a link to the alert in the Azure portal.
      type: str
    product_component:
      description: C(productComponentName), C(Containers) for Defender for Containers.
      type: str
    extended_properties:
      description: C(extendedProperties) as returned (its keys are not documented).
      type: dict
    entities:
      description: How many entities the alert names.
      type: int
listed:
  description: How many alerts ARM returned before filtering.
  returned: success
  type: int
  sample: 42
pages:
  description: How many pages were read (C(nextLink) followed).
  returned: success
  type: int
  sample: 3
retries:
  description: How many requests were retried (429, 5xx, connection errors, read timeouts).
  returned: success
  type: int
  sample: 0
malformed:
  description: How many listed alerts were left out because they are not what the API's schema says.
  returned: success
  type: int
  sample: 0
malformed_alerts:
  description: The left-out alerts, each with its C(id) (when it has one) and the C(reason).
  returned: success
  type: list
  elements: dict
stopped:
  description:
    - Why the listing stopped before the last page (C(nextLink) pointing back to a page already read, or
      O(max_pages) reached), or null when every page was read. The module also warns.
  returned: success
  type: str
transient:
  description:
    - On failure, whether a later call may well succeed (throttling, server errors, the network, an answer that is
      not an alert list) rather than needing a change (credentials, role, arguments).
  returned: failure
  type: bool
  sample: true
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.defender.attack_simulation.plugins.module_utils._alert_filter import filter_alerts, usable_alerts
from ansible_collections.defender.attack_simulation.plugins.module_utils._time import parse_time
from ansible_collections.defender.attack_simulation.plugins.module_utils._arm import (
    ARM_ARGUMENT_SPEC,
    ARM_REQUIRED_BY,
    ARM_REQUIRED_IF,
    ARM_REQUIRED_TOGETHER,
    ArmClient,
    ArmError,
    check_libraries,
)

FILTERS = ("since", "until", "cluster_resource_id", "cluster_name", "display_names", "alert_types", "statuses")


def argument_spec():
    spec = dict(ARM_ARGUMENT_SPEC)
    spec["subscription_id"] = dict(spec["subscription_id"], required=True)
    spec.update(
        since=dict(type="str"),
        until=dict(type="str"),
        cluster_resource_id=dict(type="str"),
        cluster_name=dict(type="str"),
        display_names=dict(type="list", elements="str"),
        alert_types=dict(type="list", elements="str"),
        statuses=dict(type="list", elements="str", choices=["Active", "InProgress", "Resolved", "Dismissed"]),
    )
    return spec


def execute_module(module):
    for name in ("since", "until"):
        try:
            parse_time(module.params[name])
        except ValueError as exc:
            module.fail_json(msg="%s: %s" % (name, exc))
    try:
        listing = ArmClient(module.params).list_alerts()
    except ArmError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    flat, malformed = usable_alerts(listing["alerts"])
    malformed += [dict(id=None, reason="an item of a page's value is not a JSON object")] * listing["not_objects"]
    for warning in listing["warnings"]:
        module.warn(warning)
    if malformed:
        module.warn("%d listed alert(s) left out, not what the API's schema says: %s"
                    % (len(malformed), "; ".join(m["reason"] for m in malformed[:3])))
    alerts = filter_alerts(flat, **dict((name, module.params[name]) for name in FILTERS))
    module.exit_json(changed=False, alerts=alerts, listed=len(listing["alerts"]) + listing["not_objects"],
                     pages=listing["pages"], retries=listing["retries"], malformed=len(malformed),
                     malformed_alerts=malformed, stopped=listing["warnings"][0] if listing["warnings"] else None)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), required_together=ARM_REQUIRED_TOGETHER,
                           required_if=ARM_REQUIRED_IF, required_by=ARM_REQUIRED_BY, supports_check_mode=True)
    check_libraries(module)
    execute_module(module)


if __name__ == "__main__":
    main()
