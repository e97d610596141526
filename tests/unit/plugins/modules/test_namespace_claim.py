# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a claim tells an abandoned run from a live one (the claim itself is exercised on the real cluster: tests/e2e)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import socket
import subprocess
import sys
from types import SimpleNamespace

from ansible_collections.defender.attack_simulation.plugins.modules import namespace_claim


def namespace(owner, expires_in):
    expires = namespace_claim.utcnow() + datetime.timedelta(seconds=expires_in)
    return SimpleNamespace(metadata=SimpleNamespace(labels={}, annotations={
        namespace_claim.OWNER: owner, namespace_claim.EXPIRES_AT: namespace_claim.isoformat(expires)}))


def finished_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_live_run_on_this_controller_is_not_abandoned():
    assert not namespace_claim.is_abandoned(namespace("%s:%d" % (socket.gethostname(), os.getpid()), 600))


def test_a_killed_run_on_this_controller_is_abandoned_before_its_claim_expires():
    assert namespace_claim.is_abandoned(namespace("%s:%d" % (socket.gethostname(), finished_pid()), 600))


def test_a_run_on_another_controller_counts_as_live_until_its_claim_expires():
    assert not namespace_claim.is_abandoned(namespace("other-controller:1", 600))
    assert namespace_claim.is_abandoned(namespace("other-controller:1", -1))


def test_claimed_metadata_labels_the_namespace_as_owned_and_stamps_the_run():
    metadata = namespace_claim.claimed_metadata(dict(
        name="mdc-simulation", run_id="r1", owner="host:1", expires_in=60, labels={"team": "sec"}, annotations={}))
    assert metadata["labels"] == {"team": "sec", "app.kubernetes.io/managed-by": "defender.attack_simulation",
                                  "defender.attack-simulation/run-id": "r1"}
    assert metadata["annotations"][namespace_claim.OWNER] == "host:1"
