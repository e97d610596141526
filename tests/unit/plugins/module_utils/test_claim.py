# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The namespace claim: the pure decision branch by branch, then the claim loop against a mocked API."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import socket
import subprocess
import sys
from types import SimpleNamespace

import pytest

from ansible_collections.defender.attack_simulation.plugins.module_utils import _claim
from ansible_collections.defender.attack_simulation.plugins.module_utils._kube import ApiException, KubeError
from ansible_collections.defender.attack_simulation.plugins.module_utils._time import format_time, utcnow

NOW = datetime.datetime(2026, 11, 28, 10, 0, 0, tzinfo=datetime.timezone.utc)
OWNED = {"app.kubernetes.io/managed-by": "defender.attack_simulation"}


def namespace(run_id="other-run", owner="other-controller:1", expires_in=600, labels=None, phase="Active",
              resource_version="41", now=None, claim_token=None):
    expires = (now or utcnow()) + datetime.timedelta(seconds=expires_in)
    labels = dict(OWNED if labels is None else labels)
    if run_id:
        labels["defender.attack-simulation/run-id"] = run_id
    annotations = {_claim.OWNER: owner, _claim.STARTED_AT: "2026-11-28T09:55:00Z", _claim.EXPIRES_AT: format_time(expires)}
    if claim_token:
        annotations[_claim.CLAIM_TOKEN] = claim_token
    return SimpleNamespace(
        metadata=SimpleNamespace(name="mdc-simulation", labels=labels, resource_version=resource_version,
                                 annotations=annotations, uid="uid-1"),
        status=SimpleNamespace(phase=phase))


def holder(**kwargs):
    kwargs.setdefault("now", NOW)
    return _claim.Holder.of(namespace(**kwargs))


def decide(found, owner_gone=False, waited=0, wait_timeout=0, run_id="this-run", owner="ctl:7", claim_token="tok-this"):
    return _claim.decide(found, run_id, NOW, owner_gone, waited, wait_timeout, owner=owner, claim_token=claim_token)


def finished_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


# The decision, branch by branch.

def test_no_namespace_is_created():
    assert decide(None).action == _claim.CREATE


def test_a_namespace_without_the_label_is_refused_and_named():
    decision = decide(holder(labels={"team": "someone-else"}, run_id=None))
    assert decision.action == _claim.REFUSE
    assert decision.reason.startswith("namespace mdc-simulation exists and is not owned by defender.attack_simulation")


def test_a_terminating_namespace_is_waited_for_then_refused_after_the_grace():
    terminating = holder(phase="Terminating")
    assert decide(terminating, waited=0).action == _claim.WAIT
    assert decide(terminating, waited=_claim.TERMINATING_GRACE - 1).action == _claim.WAIT
    late = decide(terminating, waited=10 + _claim.TERMINATING_GRACE, wait_timeout=10)
    assert late.action == _claim.REFUSE
    assert late.reason == "namespace mdc-simulation is still terminating after %d seconds" % (10 + _claim.TERMINATING_GRACE)


def test_a_terminating_namespace_is_never_taken_over_even_when_its_run_is_gone():
    assert decide(holder(phase="Terminating", expires_in=-60), owner_gone=True).action == _claim.WAIT


def test_the_runs_own_namespace_is_kept():
    assert decide(holder(run_id="this-run", owner="ctl:7", claim_token="tok-this")).action == _claim.KEEP


@pytest.mark.parametrize("other", [dict(claim_token="tok-other"), dict(claim_token=None), dict(owner="ctl:8")],
                         ids=["another-token", "no-token", "another-owner"])
def test_another_live_run_with_the_same_run_id_is_refused_not_kept(other):
    found = holder(**dict(dict(run_id="this-run", owner="ctl:7", claim_token="tok-this"), **other))
    decision = decide(found)
    assert decision.action == _claim.REFUSE
    assert "is in use by run this-run" in decision.reason and "(another run with the same run id)" in decision.reason


def test_a_gone_run_with_the_same_run_id_is_taken_over():
    found = holder(run_id="this-run", owner="ctl:7", claim_token="tok-gone", expires_in=-1)
    assert decide(found).action == _claim.TAKE_OVER


def test_an_expired_claim_is_taken_over():
    assert decide(holder(expires_in=-1)).action == _claim.TAKE_OVER


def test_a_claim_whose_owner_is_gone_is_taken_over_before_it_expires():
    decision = decide(holder(expires_in=600), owner_gone=True)
    assert decision.action == _claim.TAKE_OVER and "run other-run" in decision.reason


def test_a_live_run_makes_the_claim_wait_within_the_wait_timeout():
    assert decide(holder(), waited=5, wait_timeout=60).action == _claim.WAIT


def test_a_live_run_is_refused_at_once_without_a_wait_naming_the_run_start_and_owner():
    decision = decide(holder())
    assert decision.action == _claim.REFUSE
    assert decision.reason.startswith(
        "namespace mdc-simulation is in use by run other-run (started 2026-11-28T09:55:00Z by other-controller:1, "
        "claim expires 2026-11-28T10:10:00Z): another simulation is running")


def test_a_live_run_is_refused_when_the_wait_is_over():
    assert decide(holder(), waited=60, wait_timeout=60).action == _claim.REFUSE


def test_an_unreadable_expiry_counts_as_not_expired():
    unreadable = holder()._replace(expires_at="next tuesday")
    assert decide(unreadable).action == _claim.REFUSE


def test_an_expiry_out_of_range_counts_as_not_expired_instead_of_crashing():
    # 0001-01-01T00:00:00+01:00 is before year 1 in UTC: it overflowed datetime ("date value out of range").
    odd = holder()._replace(expires_at="0001-01-01T00:00:00+01:00")
    assert decide(odd).action == _claim.REFUSE
    assert _claim.holder_info(odd, NOW)["live"] is True


# Is the owner gone (the one impure input of the decision).

def test_a_live_run_on_this_controller_is_not_abandoned():
    assert not _claim.owner_is_gone("%s:%d" % (socket.gethostname(), os.getpid()))


def test_a_killed_run_on_this_controller_is_abandoned_before_its_claim_expires():
    owner = "%s:%d" % (socket.gethostname(), finished_pid())
    assert _claim.owner_is_gone(owner)
    assert _claim.is_abandoned(holder(owner=owner), NOW, _claim.owner_is_gone(owner))


def test_a_run_on_another_controller_counts_as_live_until_its_claim_expires():
    assert not _claim.owner_is_gone("other-controller:1")
    assert not _claim.is_abandoned(holder(expires_in=600), NOW, False)
    assert _claim.is_abandoned(holder(expires_in=-1), NOW, False)


def test_claimed_metadata_labels_the_namespace_as_owned_and_stamps_the_run():
    metadata = _claim.claimed_metadata("mdc-simulation", "r1", "host:1", 60, {"team": "sec"}, {}, NOW)
    assert metadata["labels"] == {"team": "sec", "app.kubernetes.io/managed-by": "defender.attack_simulation",
                                  "defender.attack-simulation/run-id": "r1"}
    assert metadata["annotations"] == {_claim.OWNER: "host:1", _claim.STARTED_AT: "2026-11-28T10:00:00Z",
                                       _claim.EXPIRES_AT: "2026-11-28T10:01:00Z"}


def test_holder_info_says_live_or_not_as_a_claim_judges():
    assert _claim.holder_info(None, NOW) is None
    assert _claim.holder_info(holder(), NOW)["live"] is True
    assert _claim.holder_info(holder(expires_in=-1), NOW)["live"] is False
    assert _claim.holder_info(holder(phase="Terminating"), NOW)["live"] is False
    foreign = _claim.holder_info(holder(labels={}, run_id=None), NOW)
    assert foreign["owned"] is False and foreign["live"] is False


# The claim loop, against a mocked CoreV1Api.

class FakeApi:
    """Answers read_namespace from a script of namespaces (None: 404) and records the writes."""

    def __init__(self, reads, create_errors=(), patch_errors=()):
        self.reads = list(reads)
        self.create_errors = list(create_errors)
        self.patch_errors = list(patch_errors)
        self.created, self.patched = [], []

    def read_namespace(self, name):
        found = self.reads.pop(0) if len(self.reads) > 1 else self.reads[0]
        if found is None:
            raise ApiException(status=404, reason="Not Found")
        return found

    def create_namespace(self, body):
        if self.create_errors:
            raise self.create_errors.pop(0)
        self.created.append(body)

    def patch_namespace(self, name, body):
        if self.patch_errors:
            raise self.patch_errors.pop(0)
        self.patched.append((name, body))


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def claim(api, wait_timeout=0, check_mode=False, clock=None, claim_token="tok-this"):
    clock = clock or Clock()
    result = _claim.NamespaceClaim(api, "mdc-simulation", "this-run", "ctl:7", wait_timeout=wait_timeout,
                                   check_mode=check_mode, sleep=clock.sleep, clock=clock,
                                   claim_token=claim_token).claim()
    return result, clock


def conflict():
    return ApiException(status=409, reason="Conflict")


def test_the_claim_creates_a_missing_namespace_labelled_and_stamped():
    api = FakeApi([None])
    result, _clock = claim(api)
    assert result["created"] and result["changed"] and result["taken_over"] is None
    labels = api.created[0]["metadata"]["labels"]
    assert labels["defender.attack-simulation/run-id"] == "this-run"
    assert api.created[0]["metadata"]["annotations"][_claim.OWNER] == "ctl:7"
    assert api.created[0]["metadata"]["annotations"][_claim.CLAIM_TOKEN] == "tok-this"


def test_check_mode_reports_the_creation_and_creates_nothing():
    api = FakeApi([None])
    result, _clock = claim(api, check_mode=True)
    assert result["created"] and api.created == []


def test_a_409_on_create_reads_again_and_then_refuses_the_run_that_won():
    api = FakeApi([None, namespace(run_id="winner")], create_errors=[conflict()])
    with pytest.raises(KubeError, match="namespace mdc-simulation is in use by run winner"):
        claim(api)
    assert api.created == []


def test_a_take_over_is_a_compare_and_swap_on_the_read_resource_version():
    api = FakeApi([namespace(run_id="killed", expires_in=-5, resource_version="77")])
    result, _clock = claim(api)
    assert result["taken_over"] == "killed" and not result["created"]
    name, body = api.patched[0]
    assert name == "mdc-simulation" and body["metadata"]["resourceVersion"] == "77"
    assert body["metadata"]["labels"]["defender.attack-simulation/run-id"] == "this-run"
    assert body["metadata"]["annotations"][_claim.CLAIM_TOKEN] == "tok-this"


def test_a_take_over_without_a_token_removes_the_gone_runs_token():
    api = FakeApi([namespace(run_id="killed", expires_in=-5, claim_token="tok-killed")])
    claim(api, claim_token=None)
    assert api.patched[0][1]["metadata"]["annotations"][_claim.CLAIM_TOKEN] is None  # a merge patch's null deletes


def test_a_409_on_take_over_means_another_run_took_it_first_and_is_refused():
    api = FakeApi([namespace(run_id="killed", expires_in=-5), namespace(run_id="faster")],
                  patch_errors=[conflict()])
    with pytest.raises(KubeError, match="in use by run faster"):
        claim(api)
    assert api.patched == []


def test_endless_conflicts_end_with_a_message():
    api = FakeApi([None], create_errors=[conflict()] * _claim.MAX_CONFLICTS)
    with pytest.raises(KubeError, match="changed by another run 5 times"):
        claim(api)


def test_the_claim_waits_for_a_live_run_to_finish_then_creates():
    api = FakeApi([namespace(), namespace(), None])
    result, clock = claim(api, wait_timeout=60)
    assert result["created"] and clock.sleeps == [_claim.POLL_SECONDS] * 2


def test_the_claim_waits_for_a_terminating_namespace_to_go():
    api = FakeApi([namespace(phase="Terminating"), None])
    result, clock = claim(api)
    assert result["created"] and clock.sleeps == [_claim.POLL_SECONDS]


def test_the_wait_for_a_live_run_ends_with_a_refusal_at_the_timeout():
    clock = Clock()
    with pytest.raises(KubeError, match="in use by run other-run"):
        claim(FakeApi([namespace()]), wait_timeout=9, clock=clock)
    assert clock.sleeps == [_claim.POLL_SECONDS] * 3 and clock.now == 9  # looked at 0, 3, 6, 9 s; refused at 9


def test_the_runs_own_namespace_is_kept_unchanged():
    api = FakeApi([namespace(run_id="this-run", owner="ctl:7", claim_token="tok-this")])
    result, _clock = claim(api)
    assert not result["changed"] and api.created == [] and api.patched == []


def test_a_second_invocation_with_the_runs_id_is_refused_and_changes_nothing():
    # Two runs given -e simulation_run_id=fixed-run-1: the second must not answer ok.
    api = FakeApi([namespace(run_id="this-run", owner="ctl:6", claim_token="tok-first")])
    with pytest.raises(KubeError, match=r"in use by run this-run .*\(another run with the same run id\)"):
        claim(api, claim_token="tok-second")
    assert api.created == [] and api.patched == []


def test_a_read_error_names_the_namespace_and_the_reason():
    class Forbidden(FakeApi):
        def read_namespace(self, name):
            raise ApiException(status=403, reason="Forbidden")

    with pytest.raises(KubeError, match=r"namespace mdc-simulation: cannot read it: Forbidden \(HTTP 403\)"):
        claim(Forbidden([None]))
