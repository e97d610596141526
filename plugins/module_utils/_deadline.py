# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Wall-clock deadlines for blocking calls and streams.

A socket timeout bounds each read, not an answer: a server that sends one byte every few seconds keeps a
request going for as long as it likes. Here the blocking call runs in a daemon thread and the caller stops
waiting for it at the deadline; the abandoned thread ends with the module's process."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import queue
import threading


class DeadlinePassed(Exception):
    """The call did not return within its wall-clock bound; ``seconds`` is the bound."""

    def __init__(self, what, seconds):
        super(DeadlinePassed, self).__init__("%s: no complete answer within %s seconds" % (what, _seconds(seconds)))
        self.what = what
        self.seconds = seconds


def _seconds(value):
    return ("%.1f" % value).rstrip("0").rstrip(".")


def call_within(seconds, what, function, *args, **kwargs):
    """``function(*args, **kwargs)``, or DeadlinePassed naming ``what`` when it has not returned after
    ``seconds`` (wall clock). Its exception, if it raised one in time, is raised here."""
    outcome = {}

    def run():
        try:
            outcome["value"] = function(*args, **kwargs)
        except BaseException as exc:  # pylint: disable=broad-except  # handed to the caller as it is
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="deadline: %s" % what)
    worker.daemon = True
    worker.start()
    worker.join(max(0.0, seconds))
    if worker.is_alive():
        raise DeadlinePassed(what, seconds)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


_EVENT, _END, _ERROR = "event", "end", "error"


def stream_until(events, deadline, clock):
    """The items of the iterable ``events`` (a watch stream) until it ends or ``clock()`` reaches ``deadline``,
    however slowly its server sends them. An error of the stream is raised here."""
    pending = queue.Queue()

    def pump():
        try:
            for event in events:
                pending.put((_EVENT, event))
            pending.put((_END, None))
        except BaseException as exc:  # pylint: disable=broad-except  # handed to the consumer
            pending.put((_ERROR, exc))

    worker = threading.Thread(target=pump, name="deadline: stream")
    worker.daemon = True
    worker.start()
    while True:
        remaining = deadline - clock()
        if remaining <= 0:
            return
        try:
            kind, value = pending.get(timeout=remaining)
        except queue.Empty:
            return
        if kind == _END:
            return
        if kind == _ERROR:
            raise value
        yield value
