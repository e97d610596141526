# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A local HTTPS server that answers like Azure Resource Manager (Defender for Cloud alerts) and Microsoft Entra ID.

    python fake_arm.py --state-dir DIR [--scenario scenario.json]

Writes DIR/ca.pem (the self-signed certificate for 127.0.0.1, also the CA to trust) and DIR/port, then serves
on https://127.0.0.1:PORT until killed. Both the ARM endpoint and the authority are that URL.

What azure-identity (MSAL) requests with authority https://127.0.0.1:PORT and disable_instance_discovery=True:
  1. GET  /{tenant}/v2.0/.well-known/openid-configuration   (tenant discovery; token_endpoint comes from it)
  2. POST /{tenant}/oauth2/v2.0/token   grant_type=client_credentials, client_id, client_secret, scope
A user's sign-in (UsernamePasswordCredential, tenant "organizations" unless given) first asks for the user's realm:
  GET  /common/userrealm/{username}?api-version=1.0            (answered "Managed": no federation)
  POST /{tenant}/oauth2/v2.0/token   grant_type=password, client_id, username, password, scope
Without disable_instance_discovery MSAL would first ask https://login.microsoftonline.com/common/discovery/instance
about the host: a request this server never sees. Any request it does not know is answered 404 and logged.

ARM:
  GET /subscriptions/{sub}[/resourceGroups/{rg}]/providers/Microsoft.Security/alerts?api-version=2022-01-01
      bearer token required (401 without or with a wrong one); 403 for subscriptions in "forbidden";
      pages of "page_size" alerts linked by nextLink ($skipToken); api-version other than 2022-01-01 -> 400.

Scenario (JSON; file at start, or POST /_control/scenario at any time, which also clears the counters):
  {"tenant": "...", "client_id": "...", "client_secret": "...",
   "user": "...", "user_password": "...", "user_client_id": "...",   # the user who may sign in, and through which app
   "page_size": 2, "forbidden": ["sub-id"],
   "throttle": {"on": [2], "retry_after": 1},      # 429 with Retry-After on these list requests (1-based)
   "unavailable": {"on": [3]},                     # 503 on these list requests
   "disconnect": {"on": [1]},                      # close the connection without an answer (a connection error)
   "stall": {"on": [1], "seconds": 5},             # answer only after this long (a read timeout for the client)
   "trickle": {"on": [1], "seconds": 2},           # send the answer one byte every this many seconds (2 min at most)
   "token_silence": {"seconds": 60},               # the token endpoint takes the request and says nothing this long
   "raw": {"on": [1], "body": null},               # answer 200 with this JSON body instead of an alert page
   "loop": true,                                   # every nextLink points back to the first page
   "alerts": [{"name": "...", "subscription": "...", "resource_group": "...", "location": "westeurope",
               "display_name": "...", "alert_type": "...", "severity": "Medium", "status": "Active",
               "cluster_resource_id": "...", "compromised_entity": "...", "namespace": "mdc-simulation",
               "start": "2026-...Z", "generated": "2026-...Z",
               "visible_after": 0}]}                # shown only once this many list calls were answered before
Control: GET /_control/log (the requests seen, without secrets or tokens), POST /_control/scenario.
"""

from __future__ import absolute_import, division, print_function

import argparse
import base64
import datetime
import ipaddress
import json
import os
import secrets
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

API_VERSION = "2022-01-01"
DEFAULT_SCENARIO = dict(tenant="00000000-0000-0000-0000-0000000000aa", client_id="11111111-2222-3333-4444-555555555555",
                        client_secret="s3cr3t-value-do-not-print", user="reader@contoso.example",
                        user_password="p4ssw0rd-value-do-not-print",
                        user_client_id="04b07795-8ddb-461a-bbee-02f9e1bf7b46", page_size=50, forbidden=[], throttle={},
                        unavailable={}, disconnect={}, stall={}, raw={}, trickle={}, token_silence={}, loop=False,
                        alerts=[])
# No slow answer lasts longer than this, whatever a scenario asks: a loop that always ends.
SLOW_CAP = 120


def make_certificate(state_dir):
    """A self-signed certificate for 127.0.0.1 (cryptography), written as cert.pem/key.pem and ca.pem."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, u"127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(u"127.0.0.1")),
                                                        x509.DNSName(u"localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = os.path.join(state_dir, "ca.pem"), os.path.join(state_dir, "key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path


class State(object):
    def __init__(self, scenario):
        self.lock = threading.Lock()
        self.load(scenario)

    def load(self, scenario):
        with self.lock:
            self.scenario = dict(DEFAULT_SCENARIO, **scenario)
            self.tokens = set()
            self.list_calls = 0      # alert list requests answered 200 (first pages only), for visible_after
            self.list_requests = 0   # every alert list request, for throttle/unavailable
            self.log = []


def alert_resource(alert, base):
    sub, rg = alert["subscription"], alert["resource_group"]
    loc = alert.get("location", "westeurope")
    ns = alert.get("namespace", "mdc-simulation")
    rid = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Security/locations/%s/alerts/%s" % (
        sub, rg, loc, alert["name"])
    identifiers = [{"type": "AzureResource", "azureResourceId": alert["cluster_resource_id"]}] \
        if alert.get("cluster_resource_id") else []
    identifiers.append({"type": "LogAnalytics", "workspaceId": "3b1d8e16-0000-0000-0000-000000000000",
                        "workspaceSubscriptionId": sub, "workspaceResourceGroup": rg, "agentId": "n/a"})
    return {
        "id": rid, "name": alert["name"], "type": "Microsoft.Security/Locations/alerts",
        "properties": {
            "status": alert.get("status", "Active"),
            "timeGeneratedUtc": alert["generated"],
            "processingEndTimeUtc": alert["generated"],
            "version": "2022-01-01.0",
            "vendorName": "Microsoft",
            "productName": "Microsoft Defender for Cloud",
            "productComponentName": "Containers",
            "alertType": alert.get("alert_type") or "K8S.NODE_Unmapped",
            "startTimeUtc": alert["start"],
            "endTimeUtc": alert.get("end", alert["start"]),
            "severity": alert.get("severity", "Medium"),
            "isIncident": False,
            "systemAlertId": alert["name"],
            "correlationKey": "c2VjcmV0LWNvcnJlbGF0aW9u",
            "intent": alert.get("intent", "Execution"),
            "resourceIdentifiers": identifiers,
            "compromisedEntity": alert.get("compromised_entity"),
            "alertDisplayName": alert["display_name"],
            "description": "Simulated: %s" % alert["display_name"],
            "remediationSteps": ["Review the pod."],
            "extendedProperties": {"Namespace": ns, "Pod name": "mdc-simulation-victim", "resourceType": "Kubernetes Service"},
            "entities": [{"$id": "1", "type": "K8s-namespace", "Name": ns},
                         {"$id": "2", "type": "K8s-pod", "Name": "mdc-simulation-victim", "Namespace": {"$ref": "1"}}],
            "alertUri": "https://portal.azure.com/#blade/Microsoft_Azure_Security_AzureDefenderForData/AlertBlade/"
                        "alertId/%s/subscriptionId/%s/resourceGroup/%s/referencedFrom/alertDeepLink/location/%s"
                        % (alert["name"], sub, rg, loc),
        },
    }


class Handler(BaseHTTPRequestHandler):
    server_version = "FakeARM/1.0"

    def log_message(self, fmt, *args):  # quiet; the log endpoint tells the tests what happened
        pass

    @property
    def state(self):
        return self.server.state

    def base(self):
        return "https://127.0.0.1:%d" % self.server.server_address[1]

    def reply(self, status, body, headers=None, pace=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if not pace:
            return self.wfile.write(data)
        ends = time.monotonic() + SLOW_CAP
        for byte in data:  # one byte every `pace` seconds: each read gets an answer, the response never ends
            if time.monotonic() > ends:
                return None
            try:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            except OSError:  # the client gave up
                return None
            time.sleep(pace)
        return None

    def record(self, status, **extra):
        with self.state.lock:
            self.state.log.append(dict(method=self.command, path=urlparse(self.path).path,
                                       query=urlparse(self.path).query, status=status, **extra))

    def arm_error(self, status, code, message, headers=None):
        self.record(status)
        self.reply(status, {"error": {"code": code, "message": message}}, headers)

    def do_GET(self):
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        if url.path == "/_control/log":
            with self.state.lock:
                return self.reply(200, dict(log=list(self.state.log), list_calls=self.state.list_calls))
        if len(parts) == 4 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            return self.openid_configuration(parts[0])
        if len(parts) == 3 and parts[:2] == ["common", "userrealm"]:
            self.record(200)
            return self.reply(200, {"ver": "1.0", "account_type": "Managed", "domain_name": parts[2].split("@")[-1],
                                    "cloud_instance_name": "microsoftonline.com",
                                    "cloud_audience_urn": "urn:federation:MicrosoftOnline"})
        if len(parts) >= 4 and parts[0].lower() == "subscriptions" and \
                [p.lower() for p in parts[-3:]] == ["providers", "microsoft.security", "alerts"]:
            return self.list_alerts(parts, parse_qs(url.query))
        self.record(404)
        self.reply(404, {"error": {"code": "NotFound", "message": "fake ARM does not know %s" % url.path}})

    def do_POST(self):
        url = urlparse(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = [p for p in url.path.split("/") if p]
        if url.path == "/_control/scenario":
            self.state.load(json.loads(body or b"{}"))
            return self.reply(200, {"ok": True})
        if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
            return self.token(parts[0], parse_qs(body.decode()))
        self.record(404)
        self.reply(404, {"error": "not_found"})

    def openid_configuration(self, tenant):
        self.record(200)
        base = "%s/%s" % (self.base(), tenant)
        self.reply(200, {
            "token_endpoint": base + "/oauth2/v2.0/token",
            "authorization_endpoint": base + "/oauth2/v2.0/authorize",
            "device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
            "issuer": base + "/v2.0",
            "jwks_uri": base + "/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": "EU",
        })

    def token(self, tenant, form):
        scenario = self.state.scenario
        if scenario.get("token_silence"):
            self.record(0, silent=True)
            time.sleep(min(scenario["token_silence"].get("seconds", 60), SLOW_CAP))
            self.close_connection = True
            return None
        first = dict((k, v[0]) for k, v in form.items())
        if first.get("grant_type") == "password":
            good = (tenant in (scenario["tenant"], "organizations")
                    and first.get("client_id") == scenario["user_client_id"]
                    and first.get("username") == scenario["user"] and first.get("password") == scenario["user_password"])
        else:
            good = (tenant == scenario["tenant"] and first.get("client_id") == scenario["client_id"]
                    and first.get("client_secret") == scenario["client_secret"]
                    and first.get("grant_type") == "client_credentials")
        self.record(200 if good else 401, grant_type=first.get("grant_type"), scope=first.get("scope"),
                    client_id=first.get("client_id"), tenant=tenant, username=first.get("username"))
        if not good:
            return self.reply(401, {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent "
                                     "in the request is the client secret value, not the client secret ID, "
                                     "for a secret added to app '%s'." % first.get("client_id"),
                "error_codes": [7000215], "timestamp": "2026-11-28 10:20:00Z",
                "trace_id": "00000000-0000-0000-0000-000000000001",
                "correlation_id": "00000000-0000-0000-0000-000000000002"})
        token = "fake-arm-token-" + secrets.token_hex(16)
        with self.state.lock:
            self.state.tokens.add(token)
        answer = {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}
        if first.get("grant_type") == "password":
            answer.update(self.user_identity(scenario, first))
        self.reply(200, answer)

    def user_identity(self, scenario, form):
        """What Entra adds for a user: an ID token (MSAL reads it unverified) and client_info; azure-identity needs both."""
        def b64(value):
            return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
        now = int(time.time())
        uid, utid = "99999999-0000-0000-0000-000000000001", scenario["tenant"]
        claims = dict(aud=form.get("client_id"), iss="%s/%s/v2.0" % (self.base(), utid), iat=now, nbf=now,
                      exp=now + 3600, oid=uid, sub=uid, tid=utid, preferred_username=form.get("username"), ver="2.0")
        return {"id_token": "%s.%s." % (b64(dict(alg="none", typ="JWT")), b64(claims)),
                "client_info": b64(dict(uid=uid, utid=utid)), "scope": form.get("scope", "")}

    def list_alerts(self, parts, query):
        scenario = self.state.scenario
        auth = self.headers.get("Authorization") or ""
        if not auth.startswith("Bearer ") or auth[len("Bearer "):] not in self.state.tokens:
            return self.arm_error(401, "InvalidAuthenticationToken", "The access token is invalid.",
                                  {"WWW-Authenticate": 'Bearer authorization_uri="%s/%s"' % (self.base(), scenario["tenant"])})
        if query.get("api-version") != [API_VERSION]:
            return self.arm_error(400, "InvalidApiVersionParameter",
                                  "The api-version '%s' is invalid. The supported versions are '%s'."
                                  % (",".join(query.get("api-version", [])), API_VERSION))
        sub = parts[1]
        rg = parts[3] if len(parts) == 7 and parts[2].lower() == "resourcegroups" else None
        with self.state.lock:
            self.state.list_requests += 1
            number = self.state.list_requests
        if number in (scenario.get("throttle") or {}).get("on", []):
            return self.arm_error(429, "TooManyRequests", "Rate limit exceeded.",
                                  {"Retry-After": str(scenario["throttle"].get("retry_after", 1))})
        if number in (scenario.get("unavailable") or {}).get("on", []):
            return self.arm_error(503, "ServiceUnavailable", "The service is temporarily unavailable.")
        if number in (scenario.get("disconnect") or {}).get("on", []):
            self.record(0)
            self.close_connection = True
            return self.connection.close()
        if number in (scenario.get("stall") or {}).get("on", []):
            time.sleep(scenario["stall"].get("seconds", 5))
        if number in (scenario.get("raw") or {}).get("on", []):
            self.record(200, raw=True)
            return self.reply(200, scenario["raw"].get("body"))
        if sub in (scenario.get("forbidden") or []):
            return self.arm_error(403, "AuthorizationFailed",
                                  "The client '%s' with object id '%s' does not have authorization to perform action "
                                  "'Microsoft.Security/alerts/read' over scope '/subscriptions/%s' or the scope is "
                                  "invalid." % (scenario["client_id"], scenario["client_id"], sub))
        skip = int((query.get("$skipToken") or ["0"])[0])
        with self.state.lock:
            if skip == 0:
                self.state.list_calls += 1
            calls = self.state.list_calls
        visible = [a for a in scenario["alerts"]
                   if a["subscription"] == sub and (rg is None or a["resource_group"].lower() == rg.lower())
                   and calls > a.get("visible_after", 0)]
        size = int(scenario.get("page_size") or 50)
        page = visible[skip:skip + size]
        body = {"value": [alert_resource(a, self.base()) for a in page]}
        if scenario.get("loop"):
            body["nextLink"] = "%s%s?%s" % (self.base(), urlparse(self.path).path,
                                            urlencode({"api-version": API_VERSION, "$skipToken": 0}))
        elif skip + size < len(visible):
            body["nextLink"] = "%s%s?%s" % (self.base(), urlparse(self.path).path,
                                            urlencode({"api-version": API_VERSION, "$skipToken": skip + size}))
        self.record(200, alerts=len(page), list_call=calls)
        trickle = scenario.get("trickle") or {}
        self.reply(200, body, pace=trickle.get("seconds", 2) if number in trickle.get("on", []) else None)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", required=True, help="where ca.pem, key.pem and port are written")
    parser.add_argument("--scenario", help="a scenario JSON file (see the module docstring)")
    args = parser.parse_args(argv)
    os.makedirs(args.state_dir, exist_ok=True)
    scenario = {}
    if args.scenario:
        with open(args.scenario) as f:
            scenario = json.load(f)
    cert, key = make_certificate(args.state_dir)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.state = State(scenario)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    tmp = os.path.join(args.state_dir, "port.tmp")
    with open(tmp, "w") as f:
        f.write(str(port))
    os.rename(tmp, os.path.join(args.state_dir, "port"))  # atomic: readers never see a half-written port
    print("fake ARM listening on https://127.0.0.1:%d" % port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
