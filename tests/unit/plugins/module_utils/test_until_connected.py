# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A delivery whose curl never reached the web shell is made again, for a bounded time; any other is final."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.defender.attack_simulation.plugins.module_utils._technique import until_connected

ANSWERED = dict(stdout="nginx\n", stderr="", rc=0, timed_out=False, error=None)
NOT_CONNECTED = dict(stdout="", stderr="curl: (7) Failed to connect to mdc-simulation-victim port 80 after 3059 ms",
                     rc=7, timed_out=False, error=None)
NOT_RESOLVED = dict(stdout="", stderr="curl: (6) Could not resolve host: mdc-simulation-victim", rc=6,
                    timed_out=False, error=None)


def deliveries(*answers):
    """exec_once for until_connected: the given deliveries in turn, then the last one again; counts the calls."""
    calls = []

    def exec_once():
        calls.append(time.monotonic())
        return answers[min(len(calls), len(answers)) - 1]
    return exec_once, calls


def test_a_victim_whose_old_address_was_still_answered_is_reached_on_a_later_attempt():
    exec_once, calls = deliveries(NOT_CONNECTED, NOT_RESOLVED, ANSWERED)
    delivery, attempts = until_connected(exec_once, retry_for=5, pause=0.01)
    assert delivery == ANSWERED
    assert attempts == len(calls) == 3


def test_a_web_shell_that_stays_unreachable_is_told_once_the_retry_time_is_over():
    exec_once, calls = deliveries(NOT_CONNECTED)
    started = time.monotonic()
    delivery, attempts = until_connected(exec_once, retry_for=0.5, pause=0.1)
    assert delivery == NOT_CONNECTED
    assert 2 <= attempts == len(calls) <= 6
    assert time.monotonic() - started < 0.5 + 0.2


def test_a_delivery_that_reached_the_web_shell_or_failed_otherwise_is_never_made_again():
    reached = [
        ANSWERED,
        dict(ANSWERED, rc=22, stdout="", stderr="curl: (22) The requested URL returned error: 500"),
        dict(ANSWERED, rc=28, stdout="", stderr="curl: (28) Operation timed out after 30001 milliseconds"),
        dict(ANSWERED, rc=None, timed_out=True),
        dict(NOT_CONNECTED, error="the exec in pod mdc-simulation/mdc-simulation-attacker failed: Forbidden (HTTP 403)"),
    ]
    for delivery in reached:
        exec_once, calls = deliveries(delivery)
        assert until_connected(exec_once, retry_for=5, pause=0.01) == (delivery, 1)
        assert len(calls) == 1
