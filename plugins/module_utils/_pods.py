# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tell a pod that is still starting from one that will never start, from its status alone."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Waiting reasons after which a container will not start without someone changing something.
FATAL_WAITING_REASONS = frozenset((
    "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable",
    "CrashLoopBackOff", "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
))


def _name(pod):
    metadata = pod.get("metadata", {})
    return "%s/%s" % (metadata.get("namespace"), metadata.get("name"))


def _images(pod):
    return dict((c.get("name"), c.get("image")) for c in pod.get("spec", {}).get("containers", []))


def pod_is_ready(pod):
    conditions = pod.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def pod_problem(pod):
    """A dict naming the pod, container, reason, message and image when the pod cannot start, else None."""
    status = pod.get("status", {})
    images = _images(pod)
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        waiting = state.get("waiting") or {}
        terminated = state.get("terminated") or {}
        if waiting.get("reason") in FATAL_WAITING_REASONS:
            reason, message = waiting.get("reason"), waiting.get("message", "")
        elif terminated and not pod_is_ready(pod):
            reason = terminated.get("reason") or "Terminated"
            message = "exit code %s %s" % (terminated.get("exitCode"), terminated.get("message") or "")
        else:
            continue
        return dict(pod=_name(pod), container=container.get("name"), reason=reason, message=message.strip(),
                    image=images.get(container.get("name"), container.get("image")))
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "Unschedulable":
            return dict(pod=_name(pod), container=None, reason="Unschedulable",
                        message=condition.get("message", ""), image=", ".join(images.values()))
    if status.get("phase") in ("Failed", "Succeeded"):
        return dict(pod=_name(pod), container=None, reason=status.get("reason") or status.get("phase"),
                    message=status.get("message", ""), image=", ".join(images.values()))
    return None


def describe_problem(problem):
    container = " container %s" % problem["container"] if problem["container"] else ""
    return "pod %s%s cannot start: %s: %s (image %s)" % (
        problem["pod"], container, problem["reason"], problem["message"] or "no message", problem["image"])


def readiness(pods, expected):
    """Summary of ``pods`` (k8s_info resources) against the ``expected`` pod names."""
    by_name = dict((p.get("metadata", {}).get("name"), p) for p in pods)
    problems = [pod_problem(p) for p in by_name.values()]
    problems = [p for p in problems if p]
    return dict(
        ready=all(name in by_name and pod_is_ready(by_name[name]) for name in expected),
        not_ready=[name for name in expected if name not in by_name or not pod_is_ready(by_name[name])],
        problems=problems,
        messages=[describe_problem(p) for p in problems],
    )


def wait_ready(core, watch_class, namespace, names, label_selector, timeout, clock=None):
    """Watch the pods until every one of ``names`` is Ready, one cannot start, or ``timeout`` seconds pass (wall
    clock, however slowly the API server sends the list or the watch's events); returns the readiness() summary.
    ``core`` is a kubernetes CoreV1Api, ``watch_class`` kubernetes.watch.Watch."""
    import time

    from ansible_collections.defender.attack_simulation.plugins.module_utils._deadline import (
        DeadlinePassed, call_within, stream_until,
    )
    from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import (
        ApiException, KubeError, api_reason,
    )

    clock = clock or time.monotonic
    deadline = clock() + timeout
    pods = {}
    serialize = core.api_client.sanitize_for_serialization

    def relist():
        try:
            listing = call_within(max(deadline - clock(), 0.001), "list pods in namespace %s" % namespace,
                                  core.list_namespaced_pod, namespace, label_selector=label_selector)
        except DeadlinePassed:
            raise KubeError("cannot list pods in namespace %s: no complete answer within the %s seconds of timeout"
                            % (namespace, timeout))
        except ApiException as exc:
            raise KubeError("cannot list pods in namespace %s: %s" % (namespace, api_reason(exc)))
        except Exception as exc:  # pylint: disable=broad-except  # connection errors: say which call failed
            raise KubeError("cannot list pods in namespace %s: %s: %s" % (namespace, type(exc).__name__, exc))
        pods.clear()
        pods.update((pod.metadata.name, serialize(pod)) for pod in listing.items)
        return listing.metadata.resource_version

    def done(summary):
        return summary["ready"] or summary["problems"] or clock() >= deadline

    resource_version = relist()
    while True:
        summary = readiness(list(pods.values()), names)
        if done(summary):
            return summary
        remaining = max(1, int(deadline - clock()))
        try:
            events = watch_class().stream(core.list_namespaced_pod, namespace, label_selector=label_selector,
                                          resource_version=resource_version, timeout_seconds=remaining,
                                          _request_timeout=remaining + 5)
            # The server ends the watch after timeout_seconds if it is well; stream_until ends it at the deadline.
            for event in stream_until(events, deadline, clock):
                pod = event["object"]
                if event["type"] == "ERROR" or not hasattr(pod, "metadata"):
                    resource_version = relist()  # the watch expired (410): start again from a fresh list
                    break
                resource_version = pod.metadata.resource_version
                if event["type"] == "DELETED":
                    pods.pop(pod.metadata.name, None)
                else:
                    pods[pod.metadata.name] = serialize(pod)
                summary = readiness(list(pods.values()), names)
                if done(summary):
                    return summary
        except ApiException as exc:
            if exc.status != 410:
                raise KubeError("cannot watch pods in namespace %s: %s" % (namespace, api_reason(exc)))
            resource_version = relist()
        except KubeError:
            raise
        except Exception as exc:  # pylint: disable=broad-except  # a dropped connection: list again and go on watching
            if clock() >= deadline:
                raise KubeError("cannot watch pods in namespace %s: %s: %s" % (namespace, type(exc).__name__, exc))
            resource_version = relist()
