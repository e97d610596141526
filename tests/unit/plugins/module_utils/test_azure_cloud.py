# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Azure cloud and user sign-in of AWX's Azure RM credential: endpoints by cloud, the user when no secret."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.defender.attack_simulation.plugins.module_utils import _azure_cloud


@pytest.mark.parametrize("given, arm_endpoint, authority", [
    (None, "https://management.azure.com", "https://login.microsoftonline.com"),
    ("AzureUSGovernment", "https://management.usgovcloudapi.net", "https://login.microsoftonline.us"),
    ("azurechinacloud", "https://management.chinacloudapi.cn", "https://login.chinacloudapi.cn"),
    ("AZURE_US_GOV_CLOUD", "https://management.usgovcloudapi.net", "https://login.microsoftonline.us"),
])
def test_the_cloud_gives_the_endpoint_and_the_authority(given, arm_endpoint, authority):
    params = dict(cloud_environment=given, arm_endpoint=None, authority=None)
    _azure_cloud.apply_cloud(params)
    assert (params["arm_endpoint"], params["authority"]) == (arm_endpoint, authority)


def test_an_endpoint_given_wins_over_the_cloud():
    params = dict(cloud_environment="AzureChinaCloud", arm_endpoint="https://127.0.0.1:8443", authority=None)
    assert _azure_cloud.apply_cloud(params) == "AzureChinaCloud"
    assert (params["arm_endpoint"], params["authority"]) == ("https://127.0.0.1:8443", "https://login.chinacloudapi.cn")


@pytest.mark.parametrize("given, message", [
    ("AzureGermanCloud", "Microsoft Cloud Germany closed in October 2021"),
    ("https://adminmanagement.local.azurestack.external", "set arm_endpoint and authority instead"),
])
def test_a_cloud_it_cannot_serve_is_refused_by_name(given, message):
    with pytest.raises(ValueError, match=message):
        _azure_cloud.cloud_name(given)


@pytest.mark.parametrize("params, user", [
    (dict(ad_user="u@contoso.example", password="p"), True),
    (dict(ad_user="u@contoso.example", password="p", secret="s"), False),
    (dict(ad_user="u@contoso.example", password=""), False),
])
def test_a_user_signs_in_only_without_a_secret(params, user):
    assert _azure_cloud.uses_user(params) is user


def test_the_user_credential_defaults_to_the_azure_cli_client_and_the_organizations_tenant():
    made = {}

    def fake_credential(client_id, username, password, **kwargs):
        made.update(kwargs, client_id=client_id, username=username, password=password)
        return "credential"

    credential, description = _azure_cloud.user_credential(
        fake_credential, dict(ad_user="u@contoso.example", password="p"), "https://login.microsoftonline.us", True,
        False)
    assert credential == "credential"
    assert made == dict(client_id=_azure_cloud.AZURE_CLI_CLIENT_ID, username="u@contoso.example", password="p",
                        authority="https://login.microsoftonline.us", tenant_id="organizations",
                        disable_instance_discovery=False, connection_verify=True)
    assert description == ("user u@contoso.example with client %s in tenant organizations (authority "
                           "https://login.microsoftonline.us)" % _azure_cloud.AZURE_CLI_CLIENT_ID)
