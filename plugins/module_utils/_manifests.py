# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The objects a deploy applies, built as data from the deploy role's variables.

Every value reaches the manifests as a value of a dict, never as text pasted into YAML, so that no input can add a
field; inputs Kubernetes would take in a surprising way (an image reference with a newline, a label key with a
space) are refused first, with a message naming the variable."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import re

from ansible.module_utils.six import string_types

from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import (
    ATTACKER, MANAGED_BY_LABEL, MANAGED_BY_VALUE, REGISTRY_SECRET, RUN_ID_LABEL, VICTIM,
)

PART_OF = "mdc-simulation"
COMPONENT_LABEL = "app.kubernetes.io/component"

# distribution/reference's grammar (what containerd and the kubelet parse), anchored on both ends.
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = r"(?:%s(?:\.%s)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?" % (_DOMAIN_COMPONENT, _DOMAIN_COMPONENT)
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = r"(?:%s/)?%s(?:/%s)*" % (_DOMAIN, _PATH_COMPONENT, _PATH_COMPONENT)
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
IMAGE_REFERENCE = re.compile(r"(?P<name>%s)(?::%s)?(?:@%s)?" % (_NAME, _TAG, _DIGEST))
_NAME_MAX = 255

# Kubernetes' own syntax for label keys (optional DNS-subdomain prefix, then a name) and values.
_LABEL_NAME = re.compile(r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*")
_DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")


def _full(pattern, value):
    """The whole value matches (re.fullmatch is not in every Python ansible-test checks)."""
    return re.match(r"(?:%s)\Z" % pattern.pattern, value)


class ManifestError(ValueError):
    """A variable whose value cannot go into a manifest; the message names the variable."""


def _type_name(value):
    for kind, name in ((bool, "boolean"), (int, "number"), (float, "number"), (dict, "dictionary"), (list, "list")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _shown(value):
    # repr shows a newline or a trailing space that the message would otherwise hide.
    return repr(str(value)) if isinstance(value, string_types) else "%r (a %s)" % (value, _type_name(value))


def image_reference(variable, value):
    if not isinstance(value, string_types) or not _full(IMAGE_REFERENCE, value):
        raise ManifestError("%s: %s is not a valid image reference ([registry[:port]/]path[:tag][@digest], "
                            "lower-case path, no spaces or newlines), for example "
                            "ghcr.io/microsoft/defender-for-cloud/attacksimulation/victim:latest"
                            % (variable, _shown(value)))
    if len(_full(IMAGE_REFERENCE, value).group("name")) > _NAME_MAX:
        raise ManifestError("%s: the image name in %s is longer than %d characters" % (variable, _shown(value), _NAME_MAX))
    return value


def label_key(variable, key):
    """A label or annotation key: [prefix/]name, the prefix a DNS subdomain of at most 253 characters."""
    valid = isinstance(key, string_types)
    if valid:
        prefix, _slash, name = key.rpartition("/")
        valid = bool(_full(_LABEL_NAME, name)) and (
            not _slash or (len(prefix) <= 253 and bool(_full(_DNS_SUBDOMAIN, prefix))))
    if not valid:
        raise ManifestError("%s: key %s is not a valid Kubernetes label or annotation key ([prefix/]name: name up "
                            "to 63 characters of letters, digits, '-', '_', '.', starting and ending with a letter "
                            "or digit; prefix a lower-case DNS subdomain)" % (variable, _shown(key)))
    return key


def label_value(variable, key, value):
    if not isinstance(value, string_types) or not (value == "" or _full(_LABEL_NAME, value)):
        raise ManifestError("%s: the value of %s, %s, is not a valid Kubernetes label value (a string of up to 63 "
                            "letters, digits, '-', '_', '.', starting and ending with a letter or digit; quote "
                            "numbers)" % (variable, key, _shown(value)))
    return value


def labels(variable, value):
    _mapping(variable, value)
    return dict((label_key(variable, k), label_value(variable, k, v)) for k, v in value.items())


def annotations(variable, value):
    _mapping(variable, value)
    for key, text in value.items():
        label_key(variable, key)
        if not isinstance(text, string_types):
            raise ManifestError("%s: the value of %s, %s, must be a string (quote it)" % (variable, key, _shown(text)))
    return dict(value)


def _mapping(variable, value):
    if not isinstance(value, dict):
        raise ManifestError("%s: %s must be a dictionary" % (variable, _shown(value)))
    return value


def dns_label(variable, value):
    if not isinstance(value, string_types) or not _full(_DNS_LABEL, value):
        raise ManifestError("%s: %s is not a valid Kubernetes name (lower-case letters, digits and '-', at most 63, "
                            "starting and ending with a letter or digit)" % (variable, _shown(value)))
    return value


def dns_subdomain(variable, value):
    if not isinstance(value, string_types) or len(value) > 253 or not _full(_DNS_SUBDOMAIN, value):
        raise ManifestError("%s: %s is not a valid Kubernetes object name (a lower-case DNS subdomain)"
                            % (variable, _shown(value)))
    return value


def positive_int(variable, value):
    """An integer, also when given as a string (every -e key=value is one)."""
    if isinstance(value, bool):
        value = None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number < 1 or (not isinstance(value, string_types) and number != value):
        raise ManifestError("%s: %s is not a whole number of seconds above 0" % (variable, _shown(value)))
    return number


def _optional_pull_policy(variable, value):
    if value in (None, ""):
        return None
    if value not in PULL_POLICIES:
        raise ManifestError("%s: %s is not one of %s" % (variable, _shown(value), ", ".join(PULL_POLICIES)))
    return value


def settings(variables):
    """The deploy role's variables, checked and normalised; raises ManifestError naming the first bad one."""
    v = variables
    registry = v.get("deploy_registry_credentials") or {}
    pull_secrets = [dns_subdomain("deploy_image_pull_secrets", name) for name in v.get("deploy_image_pull_secrets") or []]
    if registry:
        pull_secrets.append(REGISTRY_SECRET)
    for name, kind in (("deploy_node_selector", dict), ("deploy_resources", dict), ("deploy_tolerations", list)):
        if not isinstance(v.get(name) or kind(), kind):
            raise ManifestError("%s: %s must be a %s" % (name, _shown(v.get(name)), "list" if kind is list else "dictionary"))
    return dict(
        namespace=dns_label("simulation_namespace", v.get("simulation_namespace")),
        run_id=label_value("simulation_run_id", RUN_ID_LABEL, v.get("simulation_run_id")),
        scenarios=[str(s) for s in (v.get("simulation_plan") or {}).get("scenarios") or []],
        victim_image=image_reference("deploy_victim_image", v.get("deploy_victim_image")),
        attacker_image=image_reference("deploy_attacker_image", v.get("deploy_attacker_image")),
        image_pull_policy=_optional_pull_policy("deploy_image_pull_policy", v.get("deploy_image_pull_policy")),
        image_pull_secrets=pull_secrets,
        node_selector=labels("deploy_node_selector", v.get("deploy_node_selector") or {}),
        tolerations=list(v.get("deploy_tolerations") or []),
        resources=dict(v.get("deploy_resources") or {}),
        extra_labels=labels("deploy_extra_labels", v.get("deploy_extra_labels") or {}),
        extra_annotations=annotations("deploy_extra_annotations", v.get("deploy_extra_annotations") or {}),
        pod_deadline=positive_int("deploy_pod_deadline", v.get("deploy_pod_deadline", 3600)),
        ready_timeout=positive_int("deploy_ready_timeout", v.get("deploy_ready_timeout", 300)),
    )


def object_labels(s, component=None):
    """The labels every object of a run carries; cleanup selects on the managed-by label."""
    result = dict(s["extra_labels"])
    result.update({MANAGED_BY_LABEL: MANAGED_BY_VALUE, "app.kubernetes.io/part-of": PART_OF, RUN_ID_LABEL: s["run_id"]})
    if component:
        result[COMPONENT_LABEL] = component
    return result


def _metadata(s, name, component):
    return dict(name=name, namespace=s["namespace"], labels=object_labels(s, component),
                annotations=dict(s["extra_annotations"]))


def _peer(name):
    return ATTACKER if name == VICTIM else VICTIM


def service_account(s):
    # The victim's token is what the recon and secrets techniques read.
    return dict(apiVersion="v1", kind="ServiceAccount", metadata=_metadata(s, VICTIM, "victim"),
                automountServiceAccountToken=True)


def service(s, name, component):
    # Headless, so that http://<name>/ resolves to the pod, as in the original chart.
    return dict(apiVersion="v1", kind="Service", metadata=_metadata(s, name, component), spec=dict(
        clusterIP="None", selector=dict(name=name), ports=[dict(name="http", port=80, targetPort=80)]))


def network_policy(s, name, component):
    # Only the attacker may reach the victim's web shell, and only the victim the attacker's payload server.
    ingress = {"from": [dict(podSelector=dict(matchLabels=dict(name=_peer(name))))],
               "ports": [dict(protocol="TCP", port=80)]}
    return dict(apiVersion="networking.k8s.io/v1", kind="NetworkPolicy",
                metadata=_metadata(s, name + "-ingress", component), spec=dict(
                    podSelector=dict(matchLabels=dict(name=name)), policyTypes=["Ingress"], ingress=[ingress]))


def pod(s, name, component):
    metadata = _metadata(s, name, component)
    metadata["labels"]["name"] = name
    container = dict(
        name=name,
        image=s["victim_image"] if name == VICTIM else s["attacker_image"],
        ports=[dict(name="http", containerPort=80)],
        readinessProbe=dict(tcpSocket=dict(port=80), periodSeconds=1),
        resources=s["resources"],
    )
    if s["image_pull_policy"]:  # otherwise Kubernetes' default, as the chart: Always for :latest
        container["imagePullPolicy"] = s["image_pull_policy"]
    spec = dict(
        hostname=component,
        subdomain=name,
        restartPolicy="Never",
        # Neither main process handles SIGTERM as PID 1, and neither holds anything to save: no 30-second wait.
        terminationGracePeriodSeconds=3,
        # Pods left behind by a killed run expire by themselves.
        activeDeadlineSeconds=s["pod_deadline"],
        imagePullSecrets=[dict(name=secret) for secret in s["image_pull_secrets"]],
        nodeSelector=s["node_selector"],
        tolerations=s["tolerations"],
        containers=[container],
    )
    if name == VICTIM:
        spec.update(serviceAccountName=VICTIM, automountServiceAccountToken=True)
    else:
        spec.update(automountServiceAccountToken=False)
        # Serve the payload folder (xmrig) to the victim; the techniques are driven through exec, not its script.
        container.update(workingDir="/simulation", command=["python3", "-m", "http.server", "80"],
                         env=[dict(name="SCENARIO", value=",".join(s["scenarios"]))])
    return dict(apiVersion="v1", kind="Pod", metadata=metadata, spec=spec)


def registry_secret(s, credentials):
    """The pull Secret for deploy_registry_credentials (server, username, password); the caller keeps it out of logs."""
    auth = "%s:%s" % (credentials["username"], credentials["password"])
    config = {"auths": {credentials["server"]: dict(
        username=credentials["username"], password=credentials["password"],
        auth=base64.b64encode(auth.encode("utf-8")).decode("ascii"))}}
    return dict(apiVersion="v1", kind="Secret", type="kubernetes.io/dockerconfigjson",
                metadata=_metadata(s, REGISTRY_SECRET, None),
                data={".dockerconfigjson": base64.b64encode(json.dumps(config).encode("utf-8")).decode("ascii")})


def manifests(s):
    """Every object of a deploy but the registry Secret, in the order they are applied."""
    objects = [service_account(s)]
    for name, component in ((VICTIM, "victim"), (ATTACKER, "attacker")):
        objects += [service(s, name, component), network_policy(s, name, component), pod(s, name, component)]
    return objects
