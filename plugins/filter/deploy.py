# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.defender.attack_simulation.plugins.module_utils._manifests import (
    ManifestError, manifests, registry_secret, settings,
)


def deploy_manifests(variables):
    try:
        return manifests(settings(variables or {}))
    except ManifestError as exc:
        raise AnsibleFilterError(str(exc))


def deploy_registry_secret(variables):
    credentials = (variables or {}).get("deploy_registry_credentials") or {}
    if not all(credentials.get(key) for key in ("server", "username", "password")):
        raise AnsibleFilterError("deploy_registry_credentials: server, username and password are all needed")
    try:
        return registry_secret(settings(variables), credentials)
    except ManifestError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"deploy_manifests": deploy_manifests, "deploy_registry_secret": deploy_registry_secret}
