# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Azure cloud and the user sign-in that AWX's "Microsoft Azure Resource Manager" credential injects.

AWX (ansible/awx-plugins, credentials/injectors.py, azure_rm) injects AZURE_CLOUD_ENVIRONMENT when the credential
names a cloud, and AZURE_AD_USER with AZURE_PASSWORD instead of the service principal's AZURE_CLIENT_ID, AZURE_SECRET
and AZURE_TENANT when the credential has no client id and tenant. The cloud's names are those of azure.azcollection
and the Azure CLI (msrestazure's AzureCloud, AzureUSGovernment, AzureChinaCloud)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback

# name: (Azure Resource Manager endpoint, Microsoft Entra authority host)
CLOUDS = {
    "AzureCloud": ("https://management.azure.com", "https://login.microsoftonline.com"),
    "AzureUSGovernment": ("https://management.usgovcloudapi.net", "https://login.microsoftonline.us"),
    "AzureChinaCloud": ("https://management.chinacloudapi.cn", "https://login.chinacloudapi.cn"),
}
# Other spellings of the same clouds: msrestazure's constant names, as azure.azcollection also accepts them.
ALIASES = {"AZURE_PUBLIC_CLOUD": "AzureCloud", "AZUREPUBLICCLOUD": "AzureCloud",
           "AZURE_US_GOV_CLOUD": "AzureUSGovernment", "AZURE_CHINA_CLOUD": "AzureChinaCloud"}
DEFAULT_CLOUD = "AzureCloud"
# The Azure CLI's public client: the application azure.azcollection signs a user in with when no client id is given.
AZURE_CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"

CLOUD_ARGUMENT_SPEC = dict(
    cloud_environment=dict(type="str", fallback=(env_fallback, ["AZURE_CLOUD_ENVIRONMENT"])),
    ad_user=dict(type="str", fallback=(env_fallback, ["AZURE_AD_USER"])),
    password=dict(type="str", no_log=True, fallback=(env_fallback, ["AZURE_PASSWORD"])),
)


def cloud_name(value):
    """The canonical name of the cloud ``value`` names (empty: the public cloud); ValueError naming the known ones."""
    if not value:
        return DEFAULT_CLOUD
    by_upper = dict((name.upper(), name) for name in CLOUDS)
    by_upper.update(ALIASES)
    name = by_upper.get(value.strip().upper())
    if name:
        return name
    if value.strip().upper() in ("AZUREGERMANCLOUD", "AZURE_GERMAN_CLOUD"):
        raise ValueError("cloud_environment %s: Microsoft Cloud Germany closed in October 2021" % value)
    raise ValueError("cloud_environment %s is not one of %s; for another cloud (Azure Stack Hub, a private cloud) "
                     "set arm_endpoint and authority instead" % (value, ", ".join(CLOUDS)))


def apply_cloud(params):
    """Set arm_endpoint and authority that were not given to those of params' cloud_environment; returns the cloud."""
    name = cloud_name(params.get("cloud_environment"))
    arm_endpoint, authority = CLOUDS[name]
    if not params.get("arm_endpoint"):
        params["arm_endpoint"] = arm_endpoint
    if not params.get("authority"):
        params["authority"] = authority
    return name


def uses_user(params):
    """A user sign-in: a user and password given, and no service principal secret (the secret wins, as in AWX)."""
    return bool(params.get("ad_user") and params.get("password")) and not params.get("secret")


def user_credential(credential_class, params, authority, verify, disable_instance_discovery):
    """azure-identity's UsernamePasswordCredential for params' ad_user, and a description for messages."""
    client_id = params.get("client_id") or AZURE_CLI_CLIENT_ID
    tenant = params.get("tenant") or "organizations"
    credential = credential_class(client_id, params["ad_user"], params["password"], authority=authority,
                                  tenant_id=tenant, disable_instance_discovery=disable_instance_discovery,
                                  connection_verify=verify)
    return credential, "user %s with client %s in tenant %s (authority %s)" % (
        params["ad_user"], client_id, tenant, authority)
