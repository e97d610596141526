# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The checks the deploy role applies to its variables before building the manifests (the manifests themselves:
tests/manifests)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.defender.attack_simulation.plugins.module_utils._manifests import (
    ManifestError, image_reference, label_key, label_value, positive_int,
)


@pytest.mark.parametrize("image", [
    "victim", "ghcr.io/microsoft/defender-for-cloud/attacksimulation/victim:latest", "localhost:5000/sec/victim",
    "[::1]:5000/victim:v1.2_x", "registry.example.com/a/b__c/d-e.f@sha256:" + "a" * 64,
    "registry.example.com/victim:1.0@sha256:" + "0" * 64, "docker.io/library/nginx:1.27-alpine",
])
def test_valid_image_references_are_taken_unchanged(image):
    assert image_reference("deploy_victim_image", image) == image


@pytest.mark.parametrize("image", [
    "", "Registry.example.com/UPPER:1.0", "ghcr.io/x/victim:latest ", "ghcr.io/x/victim:latest\n",
    "ghcr.io/x/victim:latest\nhostPID: true", "ghcr.io/x/victim:1.0; rm -rf /", "ghcr.io/x/victim:-tag",
    "ghcr.io/x/victim@sha256:abc", "ghcr.io//victim", None, 5,
])
def test_invalid_image_references_are_refused_naming_the_variable(image):
    with pytest.raises(ManifestError, match=r"^deploy_attacker_image: .* is not a valid image reference"):
        image_reference("deploy_attacker_image", image)


@pytest.mark.parametrize("key", ["team", "example.com/team", "app.kubernetes.io/managed-by", "a_b.c-d", "A1"])
def test_valid_label_keys(key):
    assert label_key("deploy_extra_labels", key) == key


@pytest.mark.parametrize("key", ["", "-team", "team-", "Example.com/team", "a/b/c", "team\nhostPID: true",
                                 "x" * 64, "/team", "example.com/", 3])
def test_invalid_label_keys_are_refused(key):
    with pytest.raises(ManifestError, match="^deploy_extra_labels: key .* is not a valid Kubernetes label"):
        label_key("deploy_extra_labels", key)


@pytest.mark.parametrize("value", ["", "secops", "v1.2_3-x", "x" * 63])
def test_valid_label_values(value):
    assert label_value("deploy_node_selector", "team", value) == value


@pytest.mark.parametrize("value", ["x" * 64, "-a", "a b", "a\nb", 7, True, None])
def test_invalid_label_values_are_refused(value):
    with pytest.raises(ManifestError, match="^deploy_node_selector: the value of team, .* is not a valid"):
        label_value("deploy_node_selector", "team", value)


@pytest.mark.parametrize("value, number", [(600, 600), ("600", 600), (" 60", 60)])
def test_numbers_also_as_strings(value, number):
    assert positive_int("deploy_ready_timeout", value) == number


@pytest.mark.parametrize("value", ["10m", "", "0", -1, 1.5, True, None])
def test_what_is_not_a_whole_number_of_seconds_is_refused(value):
    with pytest.raises(ManifestError, match="^deploy_ready_timeout: .* is not a whole number of seconds"):
        positive_int("deploy_ready_timeout", value)
