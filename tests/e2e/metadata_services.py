"""Stand-ins for the cloud instance metadata services, written from each cloud's documented API.

What Microsoft's lateral-movement and secrets scripts ask 169.254.169.254 differs per cloud, and so do the
answers; each class here answers as its cloud documents it, with fake secrets shaped like the real ones (so that
the collection's cutting of secrets meets what it meets in a real cluster):

- ``AzureImds``: Azure Instance Metadata Service (learn.microsoft.com/azure/virtual-machines/instance-metadata-service,
  .../managed-identities-azure-resources/how-to-use-vm-token). Every request needs ``Metadata: true`` and an
  ``api-version``; ``/metadata/instance/compute/<field>?format=text`` answers the field as text; the token endpoint
  answers as an AKS node does, whose VM scale set carries several user-assigned identities: without an identity
  selector, 400 "Multiple user assigned identities exist"; with ``msi_res_id`` (or ``mi_res_id``, ``client_id``,
  ``object_id``) of the kubelet identity ``<cluster>-agentpool``, the token (compact JSON, as IMDS sends it).
- ``AwsImdsV2``: EC2 instance metadata, IMDSv2 required (docs.aws.amazon.com/AWSEC2/latest/UserGuide/
  configuring-instance-metadata-service.html, instancedata-data-retrieval.html). ``PUT /latest/api/token`` with
  ``X-aws-ec2-metadata-token-ttl-seconds`` (1..21600) gives a session token; every GET needs it in
  ``X-aws-ec2-metadata-token`` (401 otherwise); ``/latest/meta-data/iam/security-credentials/`` lists the
  instance profile's role and ``.../<role>`` answers its temporary credentials, pretty-printed as EC2 does
  (``"Token" : "..."``).
- ``GcpMetadata``: Compute Engine / GKE metadata server (cloud.google.com/compute/docs/metadata/querying-metadata,
  .../access/authenticate-workloads). Every request needs ``Metadata-Flavor: Google`` (403 otherwise) and no
  ``X-Forwarded-For``; answers carry ``Metadata-Flavor: Google``; ``/computeMetadata/v1/`` is a directory listing;
  ``instance/service-accounts/default/token`` answers ``{"access_token":"ya29...","expires_in":...,"token_type":"Bearer"}``.

Safety: a service listens on 169.254.169.254 only in the sealed cluster's network namespace (``defender-sim``):
the address goes on that namespace's ``lo`` (the node's namespace, which the pods reach through their default
route) and comes off again at ``close``; anywhere else the constructor refuses before touching anything. On
127.0.0.1 (the unit tests, tests/harness) a service needs no namespace.
"""
import base64
import datetime
import http.server
import json
import os
import secrets
import string
import subprocess
import threading
import urllib.parse
import uuid

IMDS_ADDRESS = "169.254.169.254"


def in_the_sealed_namespace():
    """True only when this process runs in the test cluster's own network namespace, never on the host's."""
    sealed = "/run/netns/%s" % os.environ.get("CLUSTER_NETNS", "defender-sim")
    return os.path.exists(sealed) and os.stat("/proc/self/ns/net").st_ino == os.stat(sealed).st_ino


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _random(alphabet, length):
    return "".join(secrets.choice(alphabet) for unused in range(length))


def _uuid():
    return str(uuid.uuid4())


def fake_jwt(claims):
    """A token shaped like Entra ID's: base64url header, claims and a 256-byte RS256 signature (random)."""
    header = {"typ": "JWT", "alg": "RS256", "x5t": _b64url(secrets.token_bytes(20)), "kid": _b64url(secrets.token_bytes(20))}
    return ".".join([_b64url(json.dumps(header, separators=(",", ":")).encode()),
                     _b64url(json.dumps(claims, separators=(",", ":")).encode()), _b64url(secrets.token_bytes(256))])


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


class Answer:
    def __init__(self, status, body="", content_type="text/plain; charset=utf-8", headers=None):
        self.status, self.body, self.content_type, self.headers = status, body, content_type, headers or {}


class MetadataService:
    """One cloud's metadata service on ``address``:``port``; subclasses answer (``answer``). ``requests`` lists
    what it was asked ("PATH" for a GET, "METHOD PATH" otherwise); ``log`` the same with the headers it read."""

    cloud = None

    def __init__(self, address=IMDS_ADDRESS, port=80):
        if address == IMDS_ADDRESS and not in_the_sealed_namespace():
            raise RuntimeError("refusing to put an address on %s outside the sealed cluster's network namespace"
                               % IMDS_ADDRESS)
        self.requests, self.log = [], []
        self.address = address
        self._address_added = False
        service = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest's output clean
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                path = urllib.parse.urlsplit(self.path).path
                service.requests.append(self.path if self.command == "GET" else "%s %s" % (self.command, self.path))
                service.log.append({"method": self.command, "path": self.path, "headers": dict(self.headers.items())})
                answer = service.answer(self.command, path, dict(urllib.parse.parse_qsl(
                    urllib.parse.urlsplit(self.path).query, keep_blank_values=True)), self.headers)
                data = answer.body.encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = _serve  # noqa: N815

        if address == IMDS_ADDRESS:
            subprocess.run(["ip", "address", "add", address + "/32", "dev", "lo"], check=True)
            self._address_added = True

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):  # a client that hung up (curl's -m): not a failure
                pass

        try:
            self.server = Server((address, port), Handler)
        except OSError:
            self._remove_address()
            raise
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://%s:%d" % (self.address, self.port)

    def answer(self, method, path, query, headers):
        raise NotImplementedError

    def secrets(self):
        """Every secret this service handed out or can hand out, whole: none of them may reach an output."""
        raise NotImplementedError

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self._remove_address()

    def _remove_address(self):
        if self._address_added:
            subprocess.run(["ip", "address", "del", self.address + "/32", "dev", "lo"], check=True)
            self._address_added = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _json(status, body, **kwargs):
    return Answer(status, json.dumps(body, separators=(",", ":")), "application/json; charset=utf-8", **kwargs)


class AzureImds(MetadataService):
    """Azure IMDS of an AKS node (VM scale set with the kubelet identity and add-on identities)."""

    cloud = "azure"
    compute = {"subscriptionId": "6f1c8f5e-4b7d-4c1e-9a2f-5d3c2b1a0e9f", "resourceGroupName": "MC_sim-rg_sim-aks_westeurope",
               "location": "westeurope", "name": "aks-nodepool1-12345678-vmss_0", "vmScaleSetName": "aks-nodepool1-12345678-vmss",
               "osType": "Linux", "vmSize": "Standard_D2s_v3", "zone": "", "azEnvironment": "AzurePublicCloud"}
    cluster = "sim-aks"
    resource = "https://management.azure.com"

    def __init__(self, address=IMDS_ADDRESS, port=80):
        sub, group = self.compute["subscriptionId"], self.compute["resourceGroupName"]
        identities = "/subscriptions/%s/resourcegroups/%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" % (sub, group)
        # The kubelet identity and an add-on's, as AKS puts on the node pool's scale set.
        self.identities = {name: {"client_id": _uuid(), "object_id": _uuid(), "resource_id": identities + name}
                           for name in ("%s-agentpool" % self.cluster, "omsagent-%s" % self.cluster)}
        kubelet = self.identities["%s-agentpool" % self.cluster]
        issued = int(_now().timestamp())
        self.token = fake_jwt({"aud": self.resource, "iss": "https://sts.windows.net/%s/" % _uuid(), "iat": issued,
                               "nbf": issued, "exp": issued + 86400, "appid": kubelet["client_id"],
                               "idtyp": "app", "oid": kubelet["object_id"], "sub": kubelet["object_id"],
                               "xms_mirid": kubelet["resource_id"], "ver": "1.0"})
        self.kubelet = kubelet
        super().__init__(address, port)

    def secrets(self):
        return [self.token]

    def answer(self, method, path, query, headers):
        if "X-Forwarded-For" in headers:
            return _json(400, {"error": "invalid_request", "error_description": "X-Forwarded-For header is not allowed"})
        if (headers.get("Metadata") or "").lower() != "true":
            return _json(400, {"error": "Bad request. Required metadata header not specified"})
        if method != "GET":
            return _json(405, {"error": "Bad request. Only GET is supported"})
        if not query.get("api-version"):
            return _json(400, {"error": "Bad request. api-version was not specified in the request. "
                                        "For more information refer to aka.ms/azureimds",
                               "newest-versions": ["2023-07-01", "2021-12-13", "2021-11-15"]})
        if path.startswith("/metadata/instance/compute/"):
            field = path[len("/metadata/instance/compute/"):]
            if field not in self.compute:
                return _json(404, {"error": "Not found"})
            if query.get("format") != "text":
                return _json(400, {"error": "Bad request. Leaf nodes only support the text format"})
            return Answer(200, self.compute[field])
        if path == "/metadata/identity/oauth2/token":
            return self._token(query)
        return _json(404, {"error": "Not found"})

    def _token(self, query):
        if not query.get("resource"):
            return _json(400, {"error": "invalid_request", "error_description": "Required audience parameter not specified"})
        selectors = {"msi_res_id": "resource_id", "mi_res_id": "resource_id", "client_id": "client_id",
                     "object_id": "object_id"}
        chosen = [(field, query[name]) for name, field in selectors.items() if query.get(name)]
        if not chosen:
            return _json(400, {"error": "invalid_request", "error_description":
                               "Multiple user assigned identities exist, please specify the clientId / resourceId "
                               "of the identity in the token request"})
        field, value = chosen[0]
        if value.lower() != self.kubelet[field].lower():
            return _json(400, {"error": "invalid_request", "error_description": "Identity not found"})
        issued = int(_now().timestamp())
        return _json(200, {"access_token": self.token, "client_id": self.kubelet["client_id"], "expires_in": "86399",
                           "expires_on": str(issued + 86399), "ext_expires_in": "86399", "not_before": str(issued),
                           "resource": query["resource"], "token_type": "Bearer"})


_AWS_404 = ('<?xml version="1.0" encoding="iso-8859-1"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n'
            '\t"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml" '
            'xml:lang="en" lang="en">\n <head>\n  <title>404 - Not Found</title>\n </head>\n <body>\n  '
            '<h1>404 - Not Found</h1>\n </body>\n</html>\n')


class AwsImdsV2(MetadataService):
    """EC2 instance metadata of an EKS node, IMDSv2 required (HttpTokens=required), with its node role."""

    cloud = "aws"
    role = "eksctl-sim-eks-nodegroup-ng-1-NodeInstanceRole-Q2W3E4R5T6Y7"
    region, zone = "eu-west-1", "eu-west-1a"
    instance_id = "i-0a1b2c3d4e5f60718"

    def __init__(self, address=IMDS_ADDRESS, port=80):
        self.sessions = []
        upper = string.ascii_uppercase + string.digits
        self.access_key_id = "ASIA" + _random(upper, 16)
        self.secret_access_key = _random(string.ascii_letters + string.digits + "/+", 40)
        # STS session tokens start with IQoJb3JpZ2luX2Vj ("\x21\n\x09origin_ec" in base64) and run near 1 KB.
        self.token = "IQoJb3JpZ2luX2Vj" + base64.b64encode(secrets.token_bytes(720)).decode()
        super().__init__(address, port)

    def secrets(self):
        return [self.token, self.secret_access_key] + list(self.sessions)

    def credentials(self):
        now = _now().replace(microsecond=0)
        fields = [("Code", "Success"), ("LastUpdated", now.strftime("%Y-%m-%dT%H:%M:%SZ")), ("Type", "AWS-HMAC"),
                  ("AccessKeyId", self.access_key_id), ("SecretAccessKey", self.secret_access_key),
                  ("Token", self.token),
                  ("Expiration", (now + datetime.timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ"))]
        return "{\n" + ",\n".join('  "%s" : "%s"' % field for field in fields) + "\n}"

    def answer(self, method, path, query, headers):
        if path == "/latest/api/token":
            if method != "PUT":
                return Answer(405, "", "text/html")
            if "X-Forwarded-For" in headers:
                return Answer(403, "", "text/html")
            ttl = headers.get("X-aws-ec2-metadata-token-ttl-seconds") or ""
            if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                return Answer(400, "", "text/html")
            session = base64.b64encode(b"\x01\x00\x04\x00" + secrets.token_bytes(38)).decode()
            self.sessions.append(session)
            return Answer(200, session, "text/plain", {"X-Aws-Ec2-Metadata-Token-Ttl-Seconds": ttl})
        if method != "GET":
            return Answer(405, "", "text/html")
        if (headers.get("X-aws-ec2-metadata-token") or "") not in self.sessions:
            return Answer(401, "", "text/html")
        listing = "/latest/meta-data/iam/security-credentials"
        if path in (listing, listing + "/"):
            return Answer(200, self.role)
        if path == "%s/%s" % (listing, self.role):
            return Answer(200, self.credentials())
        known = {"/latest/meta-data/instance-id": self.instance_id,
                 "/latest/meta-data/placement/region": self.region,
                 "/latest/meta-data/placement/availability-zone": self.zone}
        if path in known:
            return Answer(200, known[path])
        return Answer(404, _AWS_404, "text/html")


class GcpMetadata(MetadataService):
    """The metadata server of a GKE node (the node's service account)."""

    cloud = "gcp"
    project, zone, cluster = "sim-project-123456", "europe-west1-b", "sim-gke"
    service_account = "sim-gke-nodes@sim-project-123456.iam.gserviceaccount.com"

    def __init__(self, address=IMDS_ADDRESS, port=80):
        # OAuth access tokens of Google's metadata server: ya29.c. then base64url text, often 1 KB or more.
        self.token = "ya29.c." + _random(string.ascii_letters + string.digits + "_-", 1000)
        super().__init__(address, port)

    def secrets(self):
        return [self.token]

    def answer(self, method, path, query, headers):
        flavor = {"Metadata-Flavor": "Google"}
        if "X-Forwarded-For" in headers or headers.get("Metadata-Flavor") != "Google":
            return Answer(403, "Your client does not have permission to get URL <code>%s</code> from this server. "
                          "Missing Metadata-Flavor:Google header." % path, "text/html; charset=UTF-8", flavor)
        if method != "GET":
            return Answer(405, "Method Not Allowed", "text/html; charset=UTF-8", flavor)
        base = "/computeMetadata/v1/"
        sa = base + "instance/service-accounts/default/"
        known = {base: "instance/\noslogin/\nproject/\n",
                 base + "project/project-id": self.project,
                 base + "instance/zone": "projects/123456789012/zones/%s" % self.zone,
                 base + "instance/attributes/cluster-name": self.cluster,
                 base + "instance/attributes/cluster-location": self.zone.rsplit("-", 1)[0],
                 sa + "email": self.service_account,
                 sa + "scopes": "https://www.googleapis.com/auth/cloud-platform\n"}
        if path == sa + "token":
            body = json.dumps({"access_token": self.token, "expires_in": 3599, "token_type": "Bearer"},
                              separators=(",", ":"))
            return Answer(200, body, "application/json", flavor)
        if path in known:
            return Answer(200, known[path], "application/text", flavor)
        return Answer(404, "Not Found", "text/html; charset=UTF-8", flavor)


SERVICES = {"azure": AzureImds, "aws": AwsImdsV2, "gcp": GcpMetadata}
CLOUDS = ("none",) + tuple(SERVICES)
