# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Azure Resource Manager client for listing Defender for Cloud security alerts.

Tokens come from azure-identity; the calls go through azure-core's pipeline (the one Microsoft's SDKs use): its
RetryPolicy retries 429, 5xx, connection errors and read timeouts, honouring Retry-After, here bounded by
``max_retries`` and ``max_retry_wait``. Pages are read and checked here rather than through azure-mgmt-security's
models: their deserializer fails a whole page on one malformed alert, and a malformed alert must only be skipped
and counted. The token never leaves the pipeline: it is neither returned nor put in an error message.

Deadlines are wall clock (``_deadline.py``): each request to ARM, its whole answer read, at most ``timeout``
seconds (a socket timeout bounds each read only, and a server sending a byte at a time would hold it); a token
request, azure-identity's own retries and its transport's timeouts included, at most ``timeout`` seconds times
``max_retries + 1``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
import traceback

from ansible.module_utils.basic import env_fallback, missing_required_lib
from ansible.module_utils.six.moves.urllib.parse import urlencode, urlparse
from ansible_collections.defender.attack_simulation.plugins.module_utils._deadline import DeadlinePassed, call_within

from ansible_collections.defender.attack_simulation.plugins.module_utils._azure_cloud import (
    CLOUD_ARGUMENT_SPEC,
    apply_cloud,
    user_credential,
    uses_user,
)

try:
    from azure.core import PipelineClient
    from azure.core.exceptions import AzureError, ClientAuthenticationError, ServiceResponseTimeoutError
    from azure.core.pipeline.policies import BearerTokenCredentialPolicy, HeadersPolicy, RetryPolicy
    from azure.core.pipeline.transport import RequestsTransport
    from azure.core.rest import HttpRequest
    from azure.identity import (
        AzureAuthorityHosts,
        AzureCliCredential,
        ClientSecretCredential,
        DefaultAzureCredential,
        ManagedIdentityCredential,
        UsernamePasswordCredential,
    )
except ImportError:
    HAS_AZURE = False
    AZURE_IMPORT_ERROR = traceback.format_exc()
    # the subclasses below must still be definable for the import error to be reported
    RetryPolicy = RequestsTransport = object
else:
    HAS_AZURE = True
    AZURE_IMPORT_ERROR = None

API_VERSION = "2022-01-01"
DEFAULT_ARM_ENDPOINT = "https://management.azure.com"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
MAX_BACKOFF = 30

ARM_ARGUMENT_SPEC = dict(
    subscription_id=dict(type="str", fallback=(env_fallback, ["AZURE_SUBSCRIPTION_ID"])),
    resource_group=dict(type="str"),
    auth_source=dict(type="str", default="auto", choices=["auto", "credentials", "env", "msi", "cli"],
                     fallback=(env_fallback, ["ANSIBLE_AZURE_AUTH_SOURCE"])),
    client_id=dict(type="str", fallback=(env_fallback, ["AZURE_CLIENT_ID"])),
    secret=dict(type="str", no_log=True, fallback=(env_fallback, ["AZURE_SECRET"])),
    tenant=dict(type="str", fallback=(env_fallback, ["AZURE_TENANT"])),
    # Unset: those of cloud_environment (_azure_cloud.py), the public cloud's by default.
    arm_endpoint=dict(type="str"),
    authority=dict(type="str"),
    validate_certs=dict(type="bool", default=True),
    ca_cert=dict(type="path"),
    max_retries=dict(type="int", default=5),
    max_retry_wait=dict(type="int", default=300),
    timeout=dict(type="int", default=30),
    max_pages=dict(type="int", default=100),
    **CLOUD_ARGUMENT_SPEC
)
ARM_REQUIRED_TOGETHER = [("secret", "client_id"), ("ad_user", "password")]
# A service principal (client_id, secret, tenant) or a user (ad_user, password): AWX's Azure RM credential injects one.
ARM_REQUIRED_IF = [
    ("auth_source", "credentials", ("secret", "password"), True),
    ("auth_source", "env", ("secret", "password"), True),
]
ARM_REQUIRED_BY = {"secret": ("client_id", "tenant")}
ARM_REQUIRED_ARGS = ["subscription_id"]


class ArmError(Exception):
    """A failed ARM call: ``msg`` names the scope and the reason; ``details`` go into fail_json.

    ``transient`` is true when the next poll may well succeed (throttling, 5xx, the network, an answer that is
    not what the schema says), false when it cannot without a change (credentials, role, arguments)."""

    def __init__(self, msg, transient=False, **details):
        super(ArmError, self).__init__(msg)
        self.msg = msg
        self.transient = transient
        self.details = dict(details, transient=transient)


def check_libraries(module):
    """fail_json with missing_required_lib when azure-identity (and its azure-core) cannot be imported."""
    if not HAS_AZURE:
        module.fail_json(msg=missing_required_lib("azure-identity and azure-core"), exception=AZURE_IMPORT_ERROR)


def _verify_setting(params):
    if not params["validate_certs"]:
        return False
    return params.get("ca_cert") or True


def _uses_credentials(params):
    if params["auth_source"] in ("credentials", "env"):
        return True
    return params["auth_source"] == "auto" and bool(params.get("secret") or uses_user(params))


def build_credential(params):
    """The azure-identity credential that ``auth_source`` asks for, and a description for messages."""
    verify = _verify_setting(params)
    apply_cloud(params)
    authority = params["authority"].rstrip("/")
    if _uses_credentials(params):
        host = urlparse(authority if "://" in authority else "https://" + authority).hostname
        known = (AzureAuthorityHosts.AZURE_PUBLIC_CLOUD, AzureAuthorityHosts.AZURE_GOVERNMENT,
                 AzureAuthorityHosts.AZURE_CHINA)
        if uses_user(params):
            return user_credential(UsernamePasswordCredential, params, authority, verify, host not in known)
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


class _RetryBudgetExceeded(Exception):
    """A wait that would go past max_retry_wait: fail now rather than sleep past the caller's bound.
    Not an AzureError, so that the retry loop does not take it for one more error to retry."""

    def __init__(self, delay, status):
        super(_RetryBudgetExceeded, self).__init__("a wait of %.0f s" % delay)
        self.delay = delay
        self.status = status


class BoundedRetryPolicy(RetryPolicy):
    """azure-core's RetryPolicy (429, 5xx, connection errors and read timeouts; Retry-After honoured), with every
    wait counted against ``max_retry_wait`` and counted for the result."""

    def __init__(self, max_retries, max_retry_wait, sleep=time.sleep):
        super(BoundedRetryPolicy, self).__init__(
            retry_total=max_retries, retry_connect=max_retries, retry_read=max_retries, retry_status=max_retries,
            retry_backoff_factor=0.5, retry_backoff_max=MAX_BACKOFF)
        self.max_retry_wait = max_retry_wait
        self.retries = 0
        self.waited = 0.0
        self.last_error = None
        self._sleep = sleep

    def increment(self, settings, response=None, error=None):
        self.last_error = error
        more = super(BoundedRetryPolicy, self).increment(settings, response=response, error=error)
        if more:
            self.retries += 1
        return more

    def sleep(self, settings, transport, response=None):
        delay = self.get_retry_after(response) if response is not None else None
        if delay is None:
            delay = self.get_backoff_time(settings)
        if self.waited + delay > self.max_retry_wait:
            status = response.http_response.status_code if response is not None else None
            raise _RetryBudgetExceeded(delay, status)
        self.waited += delay
        if delay > 0:
            self._sleep(delay)


class _TokenTimedOut(Exception):
    """No token within its bound. Not an AzureError, so that the retry loop does not retry it."""

    def __init__(self, seconds):
        super(_TokenTimedOut, self).__init__("no token within %s seconds" % seconds)
        self.seconds = seconds


class DeadlineCredential(object):
    """``credential`` whose get_token returns within ``seconds`` of wall clock or raises _TokenTimedOut:
    azure-identity retries a silent authority itself, each attempt with a 300 s read timeout."""

    def __init__(self, credential, seconds):
        self.credential = credential
        self.seconds = seconds

    def get_token(self, *scopes, **kwargs):
        try:
            return call_within(self.seconds, "token request", self.credential.get_token, *scopes, **kwargs)
        except DeadlinePassed:
            raise _TokenTimedOut(self.seconds)

    def close(self):
        close = getattr(self.credential, "close", None)
        if close:
            close()


class DeadlineTransport(RequestsTransport):
    """azure-core's requests transport with each request, its whole answer read, bounded by ``seconds`` of wall
    clock; a request past it is a ServiceResponseTimeoutError, which the RetryPolicy retries as a read timeout."""

    def __init__(self, seconds, **kwargs):
        super(DeadlineTransport, self).__init__(**kwargs)
        self.seconds = seconds

    def send(self, request, **kwargs):  # pylint: disable=arguments-differ
        try:
            return call_within(self.seconds, "%s %s" % (request.method, request.url),
                               super(DeadlineTransport, self).send, request, **kwargs)
        except DeadlinePassed as exc:
            raise ServiceResponseTimeoutError(str(exc))


def _arm_error_text(response):
    try:
        error = response.json().get("error") or {}
        return "%s: %s" % (error.get("code"), error.get("message"))
    except (ValueError, AttributeError):
        return (response.text() or "").strip()[:300]


class ArmClient(object):
    """GETs against ARM through azure-core's pipeline, and the alert listing with bounded, checked pages."""

    def __init__(self, params, credential=None, sleep=time.sleep):
        self.params = params
        try:
            apply_cloud(params)
        except ValueError as exc:
            raise ArmError(str(exc))
        self.endpoint = params["arm_endpoint"].rstrip("/")
        self.credential, self.identity = credential or build_credential(params)
        self.credential = DeadlineCredential(self.credential, params["timeout"] * (params["max_retries"] + 1))
        self.retry = BoundedRetryPolicy(params["max_retries"], params["max_retry_wait"], sleep=sleep)
        verify = _verify_setting(params)
        self.client = PipelineClient(self.endpoint, policies=[
            HeadersPolicy({"Accept": "application/json"}),
            self.retry,
            BearerTokenCredentialPolicy(self.credential, self.endpoint + "/.default"),
        ], transport=DeadlineTransport(params["timeout"], connection_verify=verify,
                                       connection_timeout=params["timeout"], read_timeout=params["timeout"]))

    @property
    def retries(self):
        return self.retry.retries

    def _scrub(self, text):
        for secret in (self.params.get("secret"), self.params.get("password")):
            text = text.replace(secret, "********") if secret else text
        return text

    def _send(self, url, what):
        try:
            return self.client.send_request(HttpRequest("GET", url))
        except ClientAuthenticationError as exc:
            raise ArmError(self._scrub("%s: could not get a token for %s/.default as %s: %s"
                                       % (what, self.endpoint, self.identity, exc.message or exc)))
        except _TokenTimedOut as exc:
            raise ArmError("%s: could not get a token for %s/.default as %s: the authority gave no complete answer "
                           "within %s seconds (timeout=%d times max_retries=%d + 1)"
                           % (what, self.endpoint, self.identity, exc.seconds, self.params["timeout"],
                              self.params["max_retries"]), transient=True)
        except _RetryBudgetExceeded as exc:
            raise ArmError(
                "%s: ARM asked to wait %.0f s more (%s) after %d retries (%.0f s waited; max_retries=%d, "
                "max_retry_wait=%d s)" % (what, exc.delay, exc.status or "no answer", self.retry.retries,
                                          self.retry.waited, self.params["max_retries"], self.params["max_retry_wait"]),
                transient=True, status=exc.status, retries=self.retry.retries)
        except AzureError as exc:
            raise ArmError("%s: request to %s failed after %d retries: %s"
                           % (what, urlparse(url).netloc, self.retry.retries, self._scrub(str(exc.message or exc))),
                           transient=True, retries=self.retry.retries)
        except ValueError as exc:  # a malformed tenant or authority, from azure-identity
            raise ArmError(self._scrub("%s: could not get a token as %s: %s" % (what, self.identity, exc)))

    def get(self, url, what):
        """The JSON body of GET ``url``; ``what`` names the object for error messages."""
        response = self._send(url, what)
        status = response.status_code
        if status == 401:
            raise ArmError(
                "%s: ARM did not accept the token of %s (401 %s): check that tenant, authority and arm_endpoint "
                "belong to the same cloud; the identity needs the Security Reader role on %s"
                % (what, self.identity, _arm_error_text(response), self.role_scope()), status=401)
        if status == 403:
            raise ArmError(
                "%s: ARM answered 403 %s: the identity (%s) needs the Security Reader role on %s"
                % (what, _arm_error_text(response), self.identity, self.role_scope()), status=403)
        if status in (408, 429) or status >= 500:
            raise ArmError(
                "%s: ARM answered %s %s after %d retries (%.0f s waited; max_retries=%d, max_retry_wait=%d s)"
                % (what, status, _arm_error_text(response) or response.reason, self.retry.retries, self.retry.waited,
                   self.params["max_retries"], self.params["max_retry_wait"]),
                transient=True, status=status, retries=self.retry.retries)
        if status != 200:
            raise ArmError("%s: ARM answered %s %s" % (what, status, _arm_error_text(response)), status=status)
        try:
            return response.json()
        except ValueError:
            raise ArmError("%s: ARM answered 200 with a body that is not JSON" % what, transient=True)

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

    def _page(self, url, what, number):
        body = self.get(url, what)
        if not isinstance(body, dict) or not isinstance(body.get("value"), list):
            shape = type(body).__name__ if not isinstance(body, dict) else "'value' of type %s" % type(
                body.get("value")).__name__
            raise ArmError("%s: page %d of the answer is not an alert list (a JSON object with a 'value' list), got %s"
                           % (what, number, shape), transient=True, pages=number)
        next_link = body.get("nextLink")
        if next_link is not None and not isinstance(next_link, str):
            raise ArmError("%s: page %d has a nextLink that is not a URL: %r" % (what, number, next_link),
                           transient=True, pages=number)
        return body["value"], next_link or None

    def list_alerts(self):
        """All alert resources in the scope, following nextLink at most ``max_pages`` times and never to a page
        already read; dict(alerts, pages, retries, warnings). Items that are not JSON objects are left out and
        counted (``not_objects``)."""
        url, pages, alerts, seen, warnings, not_objects = self.alerts_url(), 0, [], set(), [], 0
        what = "listing Defender for Cloud alerts in %s" % self.role_scope()
        while url:
            if url in seen:
                warnings.append("%s: nextLink of page %d points back to a page already read; stopped there"
                                % (what, pages))
                break
            if pages >= self.params["max_pages"]:
                warnings.append("%s: stopped after max_pages=%d pages; later alerts were not read"
                                % (what, self.params["max_pages"]))
                break
            seen.add(url)
            value, next_link = self._page(url, what, pages + 1)
            pages += 1
            # A page served twice under another link must not count its alerts twice.
            known = set(a.get("id") for a in alerts if a.get("id"))
            alerts.extend(item for item in value if isinstance(item, dict) and not (item.get("id") and item["id"] in known))
            not_objects += len([item for item in value if not isinstance(item, dict)])
            url = next_link
            # The bearer token goes only to the configured ARM host.
            if url and urlparse(url).netloc.lower() != urlparse(self.endpoint).netloc.lower():
                raise ArmError("%s: nextLink points to %s, not to %s; refusing to send the token there"
                               % (what, urlparse(url).netloc, urlparse(self.endpoint).netloc), pages=pages)
        return dict(alerts=alerts, pages=pages, retries=self.retry.retries, warnings=warnings, not_objects=not_objects)
