# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The permission review: every action in one call, in order, split into allowed and denied."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
from types import SimpleNamespace

import pytest

from ansible_collections.defender.attack_simulation.plugins.module_utils import _access_review
from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import ApiException, KubeError


def action(verb, resource, namespace="", subresource="", group=""):
    return dict(verb=verb, resource=resource, namespace=namespace, subresource=subresource, group=group)


class FakeAuthorization:
    """Allows what ``allowed`` lists (verb, resource/subresource); records every review it was sent."""

    def __init__(self, allowed, fail_on=None):
        self.allowed = allowed
        self.fail_on = fail_on
        self.bodies = []
        self.threads = set()

    def create_self_subject_access_review(self, body):
        self.bodies.append(body)
        self.threads.add(threading.current_thread().name)
        attributes = body["spec"]["resourceAttributes"]
        subresource = "/" + attributes["subresource"] if "subresource" in attributes else ""
        key = (attributes["verb"], attributes["resource"] + subresource)
        if key == self.fail_on:
            raise ApiException(status=500, reason="Internal Server Error")
        allowed = key in self.allowed
        return SimpleNamespace(status=SimpleNamespace(allowed=allowed, evaluation_error=None,
                                                      reason="RBAC: allowed by RoleBinding" if allowed else None))


ACTIONS = [action("get", "namespaces"), action("create", "pods", "mdc-simulation"),
           action("create", "pods", "mdc-simulation", subresource="exec"),
           action("list", "networkpolicies", "mdc-simulation", group="networking.k8s.io")]


def test_every_action_is_reviewed_once_and_split_in_the_given_order():
    api = FakeAuthorization({("get", "namespaces"), ("create", "pods/exec")})
    allowed, denied = _access_review.review_all(api, ACTIONS)
    assert [a["action"] for a in allowed] == ["get namespaces", "create pods/exec in namespace mdc-simulation"]
    assert [d["action"] for d in denied] == ["create pods in namespace mdc-simulation",
                                             "list networkpolicies in namespace mdc-simulation"]
    assert allowed[0]["reason"] == "RBAC: allowed by RoleBinding" and "allowed" not in allowed[0]
    assert len(api.bodies) == len(ACTIONS)


def test_the_review_sends_only_the_attributes_that_are_set():
    api = FakeAuthorization(set())
    _access_review.review_all(api, [ACTIONS[0], ACTIONS[3]])
    sent = sorted((b["spec"]["resourceAttributes"] for b in api.bodies), key=lambda a: a["verb"])
    assert sent == [{"verb": "get", "resource": "namespaces"},
                    {"verb": "list", "resource": "networkpolicies", "group": "networking.k8s.io",
                     "namespace": "mdc-simulation"}]


def test_reviews_are_sent_side_by_side():
    barrier = threading.Barrier(3, timeout=5)

    class Concurrent(FakeAuthorization):
        def create_self_subject_access_review(self, body):
            barrier.wait()  # three reviews must be in flight at once, or this times out
            return super(Concurrent, self).create_self_subject_access_review(body)

    allowed, denied = _access_review.review_all(Concurrent(set()), ACTIONS[:3])
    assert allowed == [] and len(denied) == 3


def test_a_failed_review_names_the_action_and_the_reason():
    api = FakeAuthorization(set(), fail_on=("create", "pods/exec"))
    with pytest.raises(KubeError, match=r"access review for 'create pods/exec in namespace mdc-simulation' failed: "
                                        r"Internal Server Error \(HTTP 500\)"):
        _access_review.review_all(api, ACTIONS)


def test_a_named_action_is_reviewed_for_that_object_and_described_with_its_name():
    api = FakeAuthorization(set())
    named = dict(action("delete", "namespaces"), name="mdc-simulation")
    _allowed, denied = _access_review.review_all(api, [named])
    assert api.bodies[0]["spec"]["resourceAttributes"] == {"verb": "delete", "resource": "namespaces",
                                                           "name": "mdc-simulation"}
    assert denied[0]["action"] == "delete namespaces mdc-simulation" and denied[0]["name"] == "mdc-simulation"
