# -*- coding: utf-8 -*-
# Copyright: Contributors to the defender.attack_simulation collection
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest

from ansible_collections.defender.attack_simulation.plugins.module_utils import _catalog, _signals

SCRIPTS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "techniques", "files")


def test_every_technique_of_the_catalog_has_one_row_and_no_row_is_extra():
    assert sorted(_signals.SIGNALS) == sorted(t["id"] for t in _catalog.TECHNIQUES)


@pytest.mark.parametrize("technique_id", sorted(_signals.SIGNALS))
def test_every_event_has_the_documented_shape(technique_id):
    events = _signals.SIGNALS[technique_id]
    assert events, technique_id
    for event in events:
        kind = event["event"]
        assert kind in ("exec", "open", "connect"), event
        if kind == "exec":
            assert set(event) == {"event", "argv"} and event["argv"] and all(isinstance(a, str) for a in event["argv"])
        elif kind == "open":
            assert set(event) == {"event", "path"} and event["path"].startswith(("/", "<"))
        else:
            assert set(event) == {"event", "address", "port"} and isinstance(event["port"], int)


def test_no_token_or_run_specific_value_is_written_in_the_table():
    # Run-specific values are placeholders: a JWT or a base64 payload in the table would be a leak or a stale value.
    text = repr(_signals.SIGNALS)
    assert "eyJ" not in text
    assert not re.search(r"[A-Za-z0-9+/]{60,}", text)


@pytest.mark.parametrize("technique_id", sorted(t for t in _signals.SIGNALS if t != "webshell.whoami"))
def test_every_program_of_a_row_is_named_in_the_technique_script(technique_id):
    """The scripts are what run in the victim: each program of the row (its name and its literal arguments,
    in order) must be written in the technique's script, the delivery's three aside."""
    with open(os.path.join(SCRIPTS, technique_id.replace(".", "/") + ".sh"), encoding="utf-8") as script:
        text = script.read()
    for event in _signals.SIGNALS[technique_id][len(_signals.DELIVERY):]:
        if event["event"] != "exec":
            continue
        position = 0
        for word in event["argv"]:
            literal = re.split(r"<[a-z_0-9]+>", word)[0]
            if not literal:
                continue  # a run-specific value from the start (a path found at run time): nothing literal to find
            found = text.find(literal, position)
            assert found >= 0, "%s: %r of %s is not in the script in that order" % (technique_id, word, event["argv"])
            position = found + len(literal)


def test_an_unknown_technique_is_named():
    with pytest.raises(KeyError, match="crypto.nothing"):
        _signals.signals("crypto.nothing")
