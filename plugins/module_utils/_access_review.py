# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which of a list of actions the caller may do: one SelfSubjectAccessReview per action, sent side by side."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import (
    ApiException,
    KubeError,
    api_call,
    api_reason,
)
from ansible_collections.defender.attack_simulation.plugins.module_utils._permissions import describe

# Reviews in flight at once: the API server answers each in milliseconds; the round trips are the cost.
PARALLEL_REVIEWS = 8
FIELDS = ("verb", "resource", "subresource", "name", "group", "namespace")


def resource_of(action):
    return action["resource"] + ("/" + action["subresource"] if action.get("subresource") else "")


def review_body(action):
    return {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {key: action[key] for key in FIELDS if action.get(key)}},
    }


def review(api, action):
    """The API server's verdict on one action, as the module returns it (with ``allowed``)."""
    try:
        status = api_call(api.create_self_subject_access_review, review_body(action)).status
    except ApiException as exc:
        raise KubeError("access review for '%s' failed: %s" % (describe(action), api_reason(exc)))
    return dict(action=describe(action), verb=action["verb"], resource=resource_of(action),
                name=action.get("name") or "", namespace=action.get("namespace") or "", reason=status.reason or status.evaluation_error or "",
                allowed=bool(status.allowed))


def review_all(api, actions):
    """Every action's verdict, in the order given, split into (allowed, denied)."""
    with ThreadPoolExecutor(max_workers=PARALLEL_REVIEWS) as pool:
        results = list(pool.map(lambda action: review(api, action), actions))
    strip = [dict((key, value) for key, value in result.items() if key != "allowed") for result in results]
    return ([short for short, full in zip(strip, results) if full["allowed"]],
            [short for short, full in zip(strip, results) if not full["allowed"]])
