# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Azure Resource Manager client for listing Defender for Cloud security alerts.

Tokens come from azure-identity (never hand-written token code); the HTTP calls to ARM go through requests.
The token never leaves this file: it is neither returned nor put in an error message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
import traceback
from email.utils import parsedate_to_datetime

from ansible.module_utils.basic import env_fallback, missing_required_lib
from ansible.module_utils.six.moves.urllib.parse import urlencode, urlparse

try:
    import requests
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

try:
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import (
        AzureAuthorityHosts,
        AzureCliCredential,
        ClientSecretCredential,
        DefaultAzureCredential,
        ManagedIdentityCredential,
    )
except ImportError:
    HAS_AZURE_IDENTITY = False
    AZURE_IDENTITY_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_AZURE_IDENTITY = True
    AZURE_IDENTITY_IMPORT_ERROR = None

API_VERSION = "2022-01-01"
DEFAULT_ARM_ENDPOINT = "https://management.azure.com"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_BACKOFF = 30

ARM_ARGUMENT_SPEC = dict(
    subscription_id=dict(type="str", fallback=(env_fallback, ["AZURE_SUBSCRIPTION_ID"])),
    resource_group=dict(type="str"),
    auth_source=dict(type="str", default="auto", choices=["auto", "credentials", "env", "msi", "cli"],
                     fallback=(env_fallback, ["ANSIBLE_AZURE_AUTH_SOURCE"])),
    client_id=dict(type="str", fallback=(env_fallback, ["AZURE_CLIENT_ID"])),
    secret=dict(type="str", no_log=True, fallback=(env_fallback, ["AZURE_SECRET"])),
    tenant=dict(type="str", fallback=(env_fallback, ["AZURE_TENANT"])),
    arm_endpoint=dict(type="str", default=DEFAULT_ARM_ENDPOINT),
    authority=dict(type="str", default=DEFAULT_AUTHORITY),
    validate_certs=dict(type="bool", default=True),
    ca_cert=dict(type="path"),
    max_retries=dict(type="int", default=5),
    max_retry_wait=dict(type="int", default=300),
    timeout=dict(type="int", default=30),
)
ARM_REQUIRED_TOGETHER = [("secret", "client_id")]
ARM_REQUIRED_IF = [
    ("auth_source", "credentials", ("client_id", "secret", "tenant")),
    ("auth_source", "env", ("client_id", "secret", "tenant")),
]
ARM_REQUIRED_ARGS = ["subscription_id"]


class ArmError(Exception):
    """A failed ARM call: ``msg`` names the scope and the reason; ``details`` go into fail_json."""

    def __init__(self, msg, **details):
        super(ArmError, self).__init__(msg)
        self.msg = msg
        self.details = details


def check_libraries(module):
    """fail_json with missing_required_lib for the first library that cannot be imported."""
    if not HAS_AZURE_IDENTITY:
        module.fail_json(msg=missing_required_lib("azure-identity"), exception=AZURE_IDENTITY_IMPORT_ERROR)
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)


def _verify_setting(params):
    if not params["validate_certs"]:
        return False
    return params.get("ca_cert") or True


def _uses_credentials(params):
    if params["auth_source"] in ("credentials", "env"):
        return True
    return params["auth_source"] == "auto" and bool(params.get("secret"))


def build_credential(params):
    """The azure-identity credential that ``auth_source`` asks for, and a description for messages."""
    verify = _verify_setting(params)
    authority = params["authority"].rstrip("/")
    if _uses_credentials(params):
        host = urlparse(authority if "://" in authority else "https://" + authority).hostname
        known = (AzureAuthorityHosts.AZURE_PUBLIC_CLOUD, AzureAuthorityHosts.AZURE_GOVERNMENT,
                 AzureAuthorityHosts.AZURE_CHINA)
        credential = ClientSecretCredential(
            params["tenant"], params["client_id"], params["secret"], authority=authority,
            # Instance discovery asks login.microsoftonline.com about the host; a private authority is not listed.
            disable_instance_discovery=host not in known,
            connection_verify=verify)
        return credential, "client %s in tenant %s (authority %s)" % (params["client_id"], params["tenant"], authority)
    if params["auth_source"] == "msi":
        return (ManagedIdentityCredential(client_id=params.get("client_id"), connection_verify=verify),
                "managed identity%s" % (" " + params["client_id"] if params.get("client_id") else ""))
    if params["auth_source"] == "cli":
        return AzureCliCredential(tenant_id=params.get("tenant") or ""), "Azure CLI login"
    return (DefaultAzureCredential(
        authority=authority, managed_identity_client_id=params.get("client_id"),
        exclude_environment_credential=True, exclude_workload_identity_credential=True,
        exclude_shared_token_cache_credential=True, exclude_visual_studio_code_credential=True,
        exclude_developer_cli_credential=True, exclude_powershell_credential=True,
        exclude_interactive_browser_credential=True, exclude_broker_credential=True,
        exclude_managed_identity_credential=False, exclude_cli_credential=False),
        "managed identity or Azure CLI login (auth_source=auto without client_id/secret/tenant)")


def _retry_after(response, attempt):
    header = response.headers.get("Retry-After")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(header).timestamp() - time.time())
            except (TypeError, ValueError):
                pass
    return float(min(2 ** attempt, MAX_BACKOFF))


def _arm_error_text(response):
    try:
        error = response.json().get("error") or {}
        return "%s: %s" % (error.get("code"), error.get("message"))
    except (ValueError, AttributeError):
        return (response.text or "").strip()[:300]


class ArmClient(object):
    """GETs against ARM with bounded retries for throttling (429, honouring Retry-After) and 5xx."""

    def __init__(self, params, credential=None, sleep=time.sleep):
        self.params = params
        self.endpoint = params["arm_endpoint"].rstrip("/")
        self.credential, self.identity = credential or build_credential(params)
        self.sleep = sleep
        self.session = requests.Session()
        self.verify = _verify_setting(params)
        self.retries = 0
        self.waited = 0.0
        self._token = None

    def _bearer(self):
        if self._token is None:
            scope = self.endpoint + "/.default"
            try:
                self._token = self.credential.get_token(scope).token
            except ClientAuthenticationError as exc:
                raise ArmError(self._scrub("could not get a token for %s as %s: %s"
                                           % (scope, self.identity, exc.message or exc)))
            except ValueError as exc:  # a malformed tenant or authority
                raise ArmError(self._scrub("could not get a token for %s as %s: %s" % (scope, self.identity, exc)))
        return self._token

    def _scrub(self, text):
        for secret in (self.params.get("secret"), self._token):
            if secret:
                text = text.replace(secret, "********")
        return text

    def get(self, url, what):
        """The JSON body of GET ``url``; ``what`` names the object for error messages."""
        attempt = 0
        while True:
            try:
                # verify per request: a session-level setting loses to REQUESTS_CA_BUNDLE in the environment.
                response = self.session.get(url, timeout=self.params["timeout"], verify=self.verify, headers={
                    "Authorization": "Bearer " + self._bearer(), "Accept": "application/json"})
            except requests.RequestException as exc:
                raise ArmError("%s: request to %s failed: %s" % (what, urlparse(url).netloc, exc))
            if response.status_code not in RETRY_STATUSES:
                break
            delay = _retry_after(response, attempt)
            if attempt >= self.params["max_retries"] or self.waited + delay > self.params["max_retry_wait"]:
                raise ArmError(
                    "%s: ARM answered %s %s after %d retries (%.0f s waited; max_retries=%d, max_retry_wait=%d s)"
                    % (what, response.status_code, _arm_error_text(response) or response.reason, self.retries,
                       self.waited, self.params["max_retries"], self.params["max_retry_wait"]),
                    status=response.status_code, retries=self.retries)
            attempt += 1
            self.retries += 1
            self.waited += delay
            self.sleep(delay)
        if response.status_code == 401:
            raise ArmError(
                "%s: ARM did not accept the token of %s (401 %s): check that tenant, authority and arm_endpoint "
                "belong to the same cloud; the identity needs the Security Reader role on %s"
                % (what, self.identity, _arm_error_text(response), self.role_scope()), status=401)
        if response.status_code == 403:
            raise ArmError(
                "%s: ARM answered 403 %s: the identity (%s) needs the Security Reader role on %s"
                % (what, _arm_error_text(response), self.identity, self.role_scope()), status=403)
        if response.status_code != 200:
            raise ArmError("%s: ARM answered %s %s" % (what, response.status_code, _arm_error_text(response)),
                           status=response.status_code)
        try:
            return response.json()
        except ValueError:
            raise ArmError("%s: ARM answered 200 with a body that is not JSON" % what)

    def role_scope(self):
        scope = "subscription %s" % self.params["subscription_id"]
        if self.params.get("resource_group"):
            scope = "resource group %s in %s (or the whole subscription)" % (self.params["resource_group"], scope)
        return scope

    def alerts_url(self):
        path = "/subscriptions/%s" % self.params["subscription_id"]
        if self.params.get("resource_group"):
            path += "/resourceGroups/%s" % self.params["resource_group"]
        query = urlencode({"api-version": API_VERSION})
        return "%s%s/providers/Microsoft.Security/alerts?%s" % (self.endpoint, path, query)

    def list_alerts(self):
        """All alert resources in the scope, following nextLink; dict(alerts, pages, retries)."""
        url, pages, alerts = self.alerts_url(), 0, []
        what = "listing Defender for Cloud alerts in %s" % self.role_scope()
        while url:
            body = self.get(url, what)
            pages += 1
            alerts.extend(body.get("value") or [])
            url = body.get("nextLink")
            # The bearer token goes only to the configured ARM host.
            if url and urlparse(url).netloc.lower() != urlparse(self.endpoint).netloc.lower():
                raise ArmError("%s: nextLink points to %s, not to %s; refusing to send the token there"
                               % (what, urlparse(url).netloc, urlparse(self.endpoint).netloc), pages=pages)
        return dict(alerts=alerts, pages=pages, retries=self.retries)
